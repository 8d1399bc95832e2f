import { type Chunk, LOCALKB_METADATA_KEYS, type SourceDocument, type TokenCounter } from '../../types.js';
import { documentSections } from './sections.js';

/** Characters at a chunk's start that are searched for its title and headings before they are added again. */
const HEAD_WINDOW = 400;

/**
 * The document title a chunk is read with: the user's own `title` metadata, else localkb's `x-localkb-title`,
 * unless that is only the document's id (what in-memory documents fall back to), which names a record rather
 * than its subject.
 */
export function documentTitle(doc: SourceDocument): string | undefined {
  const title = doc.metadata?.title ?? doc.metadata?.[LOCALKB_METADATA_KEYS.title];
  if (typeof title !== 'string' || title.trim() === '' || title === doc.id) return undefined;
  return title.trim();
}

/**
 * "Title > Heading > Subheading" for a chunk, leaving out every part its text already begins with (the first
 * chunk of a section carries its heading lines; a BEIR document's text starts with its title). '' when nothing is left.
 */
export function chunkContext(
  title: string | undefined,
  headingPath: readonly string[],
  text: string,
): string {
  const head = fold(text.slice(0, HEAD_WINDOW));
  const parts: string[] = [];
  for (const part of [title, ...headingPath]) {
    if (part === undefined) continue;
    const folded = fold(part);
    if (folded === '' || head.includes(folded) || parts.some((p) => fold(p) === folded)) continue;
    parts.push(part.trim());
  }
  return parts.join(' > ');
}

/** Tokens kept free in every embedded chunk for its context: the longest context, at most a quarter of the limit. */
export function contextReserve(doc: SourceDocument, counter: TokenCounter, maxTokens: number): number {
  const title = documentTitle(doc);
  let longest = 0;
  for (const section of documentSections(doc.text, doc.format)) {
    const context = chunkContext(title, section.headingPath, '');
    if (context !== '') longest = Math.max(longest, counter.count(context));
  }
  return Math.min(longest, Math.floor(maxTokens / 4));
}

/**
 * Sets each chunk's `context`. Embedded chunks (leaves, children) get theirs cut to `reserve` tokens, the room the
 * chunker left them under the embedder's limit; parents are only searched, so theirs is whole.
 */
export function addChunkContexts(
  doc: SourceDocument,
  chunks: Chunk[],
  counter: TokenCounter,
  reserve: number,
): Chunk[] {
  const title = documentTitle(doc);
  for (const chunk of chunks) {
    const context = chunkContext(title, chunk.headingPath ?? [], chunk.text);
    if (context === '') continue;
    chunk.context = chunk.role === 'parent' ? context : fitTokens(context, counter, reserve);
    if (chunk.context === '') delete chunk.context;
  }
  return chunks;
}

/** What an embedder reads for a chunk: its context, a blank line, its text. */
export function embeddingText(chunk: Pick<Chunk, 'text' | 'context'>): string {
  return chunk.context ? `${chunk.context}\n\n${chunk.text}` : chunk.text;
}

function fitTokens(text: string, counter: TokenCounter, limit: number): string {
  if (limit <= 0) return '';
  if (counter.count(text) <= limit) return text;
  const words = text.split(/\s+/);
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (counter.count(words.slice(0, mid).join(' ')) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return words.slice(0, lo).join(' ');
}

function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
