import type { DocumentFormat, TokenCounter } from '../../types.js';
import { findMarkdownHeadings } from '../markdown-headings.js';
import { type Piece, type Span, splitIntoPieces, type TextLayout, trimSpan } from './spans.js';

/** A part of a document under one heading; chunks never cross section boundaries. */
export interface Section extends Span {
  /** Headings above this section, outermost first; empty before the first heading and for plain text. */
  headingPath: string[];
  /** Where the text under the heading begins: after the section's heading lines (`start` when there are none). */
  bodyStart: number;
}

/** Formats whose text carries Markdown `#` headings (HTML is rendered with them by the HTML loader). */
const HEADED_FORMATS: readonly DocumentFormat[] = ['markdown', 'html'];

/**
 * Splits a document at its headings. A heading directly followed by a deeper heading (no text of its own) is
 * kept with the section below it, so no chunk is a lone heading line.
 */
export function documentSections(text: string, format: DocumentFormat): Section[] {
  const headings = HEADED_FORMATS.includes(format) ? findMarkdownHeadings(text) : [];
  const sections: Section[] = [];
  const first = headings[0];
  if (first === undefined || text.slice(0, first.start).trim() !== '') {
    sections.push({ start: 0, end: first?.start ?? text.length, headingPath: [], bodyStart: 0 });
  }
  const stack: Array<{ level: number; text: string }> = [];
  let carriedStart: number | undefined;
  headings.forEach((heading, i) => {
    while (stack.length > 0 && stack[stack.length - 1]!.level >= heading.level) stack.pop();
    stack.push({ level: heading.level, text: heading.text });
    const next = headings[i + 1];
    const end = next?.start ?? text.length;
    const start = carriedStart ?? heading.start;
    const headingOnly = text.slice(heading.end, end).trim() === '';
    if (headingOnly && next !== undefined && next.level > heading.level) {
      carriedStart = start;
      return;
    }
    carriedStart = undefined;
    sections.push({ start, end, headingPath: stack.map((h) => h.text), bodyStart: heading.end });
  });
  return sections;
}

/**
 * A section's pieces of at most `limit` tokens, its heading lines first, produced lazily. The piece after the
 * headings is cut small enough to share a chunk with them, so no chunk is a lone heading.
 */
export function* sectionPieces(
  text: string,
  section: Section,
  limit: number,
  counter: TokenCounter,
  layout: TextLayout = {},
): Generator<Piece> {
  const head = trimSpan(text, section.start, section.bodyStart);
  const headTokens = head.end > head.start ? counter.count(text.slice(head.start, head.end)) : 0;
  if (headTokens === 0 || headTokens > limit / 2) {
    yield* splitIntoPieces(text, section, limit, counter, layout);
    return;
  }
  yield { ...head, tokens: headTokens };
  const body = { start: section.bodyStart, end: section.end };
  let first = true;
  for (const piece of splitIntoPieces(text, body, limit, counter, layout)) {
    if (first && headTokens + piece.tokens > limit) {
      yield* splitIntoPieces(text, piece, limit - headTokens, counter, layout);
    } else {
      yield piece;
    }
    first = false;
  }
}
