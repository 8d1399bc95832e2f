import { kbError } from '../../errors.js';
import type { TokenCounter } from '../../types.js';

/** A character range [start, end) of the document text, trimmed: it neither starts nor ends with whitespace. */
export interface Span {
  start: number;
  end: number;
}

/** A span with its exact token count. */
export interface Piece extends Span {
  tokens: number;
}

/** Split levels, coarsest first; the recursive splitter goes one level finer only for spans that do not fit. */
export const SplitLevel = { Paragraph: 0, Line: 1, Sentence: 2, Word: 3, Character: 4 } as const;
export type SplitLevel = (typeof SplitLevel)[keyof typeof SplitLevel];

const PARAGRAPH_BREAK = /\n[ \t]*\n\s*/g;
const WHITESPACE = /\s+/g;
const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });

export function isWhitespaceAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c > 127 && /\s/.test(text[i]!);
}

export function trimSpan(text: string, start: number, end: number): Span {
  while (start < end && isWhitespaceAt(text, start)) start++;
  while (end > start && isWhitespaceAt(text, end - 1)) end--;
  return { start, end };
}

/**
 * How to read line breaks. In PDF text they come from the page layout (a sentence runs on over several lines),
 * so the splitter skips the line level and sentences are found across line breaks.
 */
export interface TextLayout {
  lineBreaksAreLayout?: boolean;
}

/** The non-empty trimmed parts of `span` between separators of the given level (Character is not handled here). */
export function splitSpan(text: string, span: Span, level: SplitLevel, layout: TextLayout = {}): Span[] {
  if (level === SplitLevel.Sentence) return sentenceSpans(text, span, layout);
  const separator =
    level === SplitLevel.Paragraph ? PARAGRAPH_BREAK : level === SplitLevel.Line ? /\n/g : WHITESPACE;
  const source = text.slice(span.start, span.end);
  const parts: Span[] = [];
  let from = 0;
  separator.lastIndex = 0;
  for (let match = separator.exec(source); match !== null; match = separator.exec(source)) {
    pushTrimmed(text, span.start + from, span.start + match.index, parts);
    from = match.index + match[0].length;
  }
  pushTrimmed(text, span.start + from, span.end, parts);
  return parts;
}

/** Sentences of `span` by Unicode sentence boundaries (Intl.Segmenter), trimmed. */
export function sentenceSpans(text: string, span: Span, layout: TextLayout = {}): Span[] {
  const parts: Span[] = [];
  const source = text.slice(span.start, span.end);
  // Same length, so segment offsets stay valid; Unicode ends a sentence at every line break otherwise.
  const segmented = layout.lineBreaksAreLayout ? source.replace(/\n(?![ \t]*\n)/g, ' ') : source;
  for (const segment of sentenceSegmenter.segment(segmented)) {
    const start = span.start + segment.index;
    pushTrimmed(text, start, start + segment.segment.length, parts);
  }
  return parts;
}

function pushTrimmed(text: string, start: number, end: number, into: Span[]): void {
  const span = trimSpan(text, start, end);
  if (span.end > span.start) into.push(span);
}

/**
 * Cuts `span` into pieces of at most `limit` tokens, preferring paragraph, then line, sentence and word
 * boundaries, and cutting inside a word only for a word longer than the limit. Each piece is counted once, and
 * a level is only tried on the spans too long for the level above, so the cost stays linear in the text.
 */
export function splitIntoPieces(
  text: string,
  span: Span,
  limit: number,
  counter: TokenCounter,
  layout: TextLayout = {},
): Piece[] {
  const pieces: Piece[] = [];
  const visit = (part: Span, partLevel: SplitLevel): void => {
    const tokens = counter.count(text.slice(part.start, part.end));
    if (tokens <= limit) {
      pieces.push({ ...part, tokens });
      return;
    }
    let finer: number = partLevel;
    let parts: Span[] = [part];
    // Skip levels that find no boundary inside this part (a paragraph of one line, a sentence of one word).
    while (parts.length === 1 && finer < SplitLevel.Character) {
      finer++;
      if (finer === SplitLevel.Line && layout.lineBreaksAreLayout) finer++;
      if (finer < SplitLevel.Character) parts = splitSpan(text, part, finer as SplitLevel, layout);
    }
    if (finer === SplitLevel.Character) {
      for (const window of characterWindows(text, part, tokens, limit, counter)) pieces.push(window);
      return;
    }
    for (const sub of parts) visit(sub, finer as SplitLevel);
  };
  for (const part of splitSpan(text, span, SplitLevel.Paragraph)) visit(part, SplitLevel.Paragraph);
  return pieces;
}

/**
 * Cuts one whitespace-free run (a monster word, or a sentence in a script without spaces) into windows of at
 * most `limit` tokens. Window widths come from the run's characters-per-token ratio, so each window is counted
 * about once or twice.
 */
function characterWindows(
  text: string,
  span: Span,
  tokens: number,
  limit: number,
  counter: TokenCounter,
): Piece[] {
  const pieces: Piece[] = [];
  const charsPerToken = (span.end - span.start) / Math.max(tokens, 1);
  let start = span.start;
  while (start < span.end) {
    let end = codePointBoundary(
      text,
      Math.min(span.end, start + Math.max(1, Math.floor(limit * charsPerToken * 0.9))),
    );
    if (end <= start) end = nextCodePoint(text, start);
    let count = counter.count(text.slice(start, end));
    while (count > limit) {
      const single = nextCodePoint(text, start);
      if (end === single) {
        throw kbError(
          'INVALID_OPTION',
          `The character at offset ${start} alone is ${count} tokens, more than the chunk size ${limit}; ` +
            'raise chunkSize.',
          { input: 'chunkSize' },
        );
      }
      end = Math.max(
        single,
        codePointBoundary(text, start + Math.floor(((end - start) * limit) / count) - 1),
      );
      count = counter.count(text.slice(start, end));
    }
    pieces.push({ start, end, tokens: count });
    start = end;
  }
  return pieces;
}

/** Moves `i` back by one if it would cut a surrogate pair in half. */
function codePointBoundary(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return i > 0 && c >= 0xdc00 && c <= 0xdfff ? i - 1 : i;
}

function nextCodePoint(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? i + 2 : i + 1;
}
