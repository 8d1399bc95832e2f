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

/** A stretch of the answer and the sources its `[n]` markers cite. */
export interface CitationMarker {
  /** Character range [start, end) of the supported text, without the markers. */
  span: { start: number; end: number };
  /** 1-based source numbers, as they appear in the prompt's source blocks; in marker order, no duplicates. */
  sourceIds: number[];
}

/** `[1]`, `[1, 2]`, `[1][3]`, `[1], [3]`: bracketed groups of source numbers in a row. */
const MARKER_RUN = /\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\](?:[\s,;]*\[\s*\d+(?:\s*,\s*\d+)*\s*\])*/g;

/**
 * Finds the `[n]` markers in generated text. Each run of markers cites the text between the previous run (or
 * the start) and itself, trimmed of surrounding whitespace; text after the last marker is uncited.
 */
export function parseCitationMarkers(text: string): CitationMarker[] {
  const markers: CitationMarker[] = [];
  let segmentStart = 0;
  for (const match of text.matchAll(MARKER_RUN)) {
    const runStart = match.index!;
    const runEnd = runStart + match[0].length;
    const sourceIds = [...new Set([...match[0].matchAll(/\d+/g)].map((n) => Number(n[0])))].filter(
      (n) => n >= 1,
    );
    let start = segmentStart;
    let end = runStart;
    // Punctuation right after the marker ("… sky [1].") belongs to the cited sentence's end, not the next one.
    const trailing = /^[.,;:!?]+/.exec(text.slice(runEnd));
    const nextStart = runEnd + (trailing ? trailing[0].length : 0);
    while (start < end && /\s/.test(text[start]!)) start++;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    if (end > start && sourceIds.length > 0) markers.push({ span: { start, end }, sourceIds });
    segmentStart = nextStart;
  }
  return markers;
}

/**
 * Numbers the sources an answer cites 1..n in the order it first cites them (`[3] … [1][3]` becomes
 * `[1] … [2][1]`), dropping numbers `isCitable` refuses; `sources[i]` is the prompt's source number of `[i + 1]`.
 */
export function renumberCitationMarkers(
  text: string,
  isCitable: (sourceId: number) => boolean = () => true,
): { text: string; sources: number[] } {
  const sources: number[] = [];
  const renumbered = text.replace(MARKER_RUN, (run) => {
    const leading = /^\s*/.exec(run)![0];
    const groups = [...run.matchAll(/\[([^\]]*)\]/g)].flatMap((group) => {
      const ids = [...new Set([...group[1]!.matchAll(/\d+/g)].map((n) => Number(n[0])))].filter(
        (n) => n >= 1 && isCitable(n),
      );
      if (ids.length === 0) return [];
      const numbers = ids.map((id) => {
        if (!sources.includes(id)) sources.push(id);
        return sources.indexOf(id) + 1;
      });
      return [`[${numbers.join(', ')}]`];
    });
    return groups.length === 0 ? '' : `${leading}${groups.join('')}`;
  });
  return { text: renumbered, sources };
}

/**
 * The answer without its markers, and the markers' spans moved onto that clean text (Bedrock answers carry no
 * inline markers; its citations point into the plain text).
 */
export function stripCitationMarkers(text: string): { text: string; markers: CitationMarker[] } {
  const markers = parseCitationMarkers(text);
  // Offsets in the original text → offsets in the clean text, by removing every marker run.
  const removed: { start: number; end: number }[] = [];
  for (const match of text.matchAll(MARKER_RUN)) {
    const start = match.index!;
    // Keep the whitespace before a marker only when the marker is followed by a word (mid-sentence marker).
    const leading = /^\s*/.exec(match[0])![0].length;
    const after = text[start + match[0].length];
    const keepSpace = after !== undefined && /\w/.test(after) && leading > 0;
    removed.push({ start: keepSpace ? start + 1 : start, end: start + match[0].length });
  }
  const shift = (offset: number) =>
    offset - removed.reduce((total, r) => total + (r.end <= offset ? r.end - r.start : 0), 0);
  let clean = '';
  let cursor = 0;
  for (const r of removed) {
    clean += text.slice(cursor, r.start);
    cursor = r.end;
  }
  clean += text.slice(cursor);
  return {
    text: clean,
    markers: markers.map((m) => ({
      span: { start: shift(m.span.start), end: shift(m.span.end) },
      sourceIds: m.sourceIds,
    })),
  };
}
