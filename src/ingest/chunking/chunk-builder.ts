import type { Chunk, PageSpan, SourceDocument } from '../../types.js';
import type { Piece, TextLayout } from './spans.js';

/** Builds the public Chunk for a merged piece: its exact text, offsets, heading path and page. */
export function toChunk(
  doc: SourceDocument,
  piece: Piece,
  index: number,
  role: NonNullable<Chunk['role']>,
  headingPath: readonly string[],
): Chunk {
  const chunk: Chunk = {
    index,
    text: doc.text.slice(piece.start, piece.end),
    start: piece.start,
    end: piece.end,
    tokenCount: piece.tokens,
    role,
  };
  if (headingPath.length > 0) chunk.headingPath = [...headingPath];
  const page = doc.pages ? pageAt(doc.pages, piece.start) : undefined;
  if (page !== undefined) chunk.page = page;
  return chunk;
}

/** The page whose range holds `offset` (the last page starting at or before it). */
export function pageAt(pages: readonly PageSpan[], offset: number): number | undefined {
  let lo = 0;
  let hi = pages.length - 1;
  let found: PageSpan | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pages[mid]!.start <= offset) {
      found = pages[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found?.page;
}

/** PDF line breaks are page layout, not structure (see TextLayout). */
export function textLayoutOf(doc: SourceDocument): TextLayout {
  return { lineBreaksAreLayout: doc.format === 'pdf' };
}
