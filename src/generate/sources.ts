import type { RetrievalResult } from '../types.js';

/** Escapes a value for a double-quoted attribute. */
function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Neutralises source-tag look-alikes inside chunk text, so a document cannot close its own block and speak
 * outside it. Only `<source` / `</source` are touched; other text reaches the model unchanged.
 */
function sourceBody(text: string): string {
  return text.replace(/<(\/?)(source)/gi, '&lt;$1$2');
}

/**
 * localkb's source block: one `<source id="n" uri="…" page="…">text</source>` per result, numbered from 1 in
 * rank order. The model cites a source with `[n]`.
 */
export function formatSources(results: readonly RetrievalResult[]): string {
  return results
    .map((result, i) => {
      const attributes = [`id="${i + 1}"`];
      if (result.location?.uri) attributes.push(`uri="${attribute(result.location.uri)}"`);
      if (result.location?.page !== undefined) attributes.push(`page="${result.location.page}"`);
      return `<source ${attributes.join(' ')}>\n${sourceBody(result.content.text)}\n</source>`;
    })
    .join('\n');
}

/** A source block read back from a prompt. */
export interface ParsedSource {
  id: number;
  uri?: string;
  page?: number;
  text: string;
}

/** Reads localkb source blocks back out of a prompt (what the extractive generator answers from). */
export function parseSources(prompt: string): ParsedSource[] {
  const sources: ParsedSource[] = [];
  const pattern = /<source\s+([^>]*)>([\s\S]*?)<\/source>/g;
  for (const match of prompt.matchAll(pattern)) {
    const attributes = Object.fromEntries(
      [...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, unescapeAttribute(a[2]!)]),
    );
    const id = Number(attributes.id);
    if (!Number.isInteger(id) || id < 1) continue;
    const source: ParsedSource = { id, text: match[2]!.trim().replace(/&lt;(\/?source)/gi, '<$1') };
    if (attributes.uri !== undefined) source.uri = attributes.uri;
    if (attributes.page !== undefined && Number.isFinite(Number(attributes.page)))
      source.page = Number(attributes.page);
    sources.push(source);
  }
  return sources;
}

function unescapeAttribute(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
