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
 * Parts longer than this many characters are not counted or split whole: they are cut into windows of about
 * WINDOW_CHARS at whitespace first, so a 50 MB line never becomes millions of word spans at once.
 */
const HUGE_PART_CHARS = 1 << 20;
const WINDOW_CHARS = 1 << 16;

/**
 * Cuts `span` into pieces of at most `limit` tokens, preferring paragraph, then line, sentence and word
 * boundaries, and cutting inside a word only for a word longer than the limit. Each piece is counted once, and
 * a level is only tried on the spans too long for the level above, so the cost stays linear in the text.
 * Pieces are produced lazily, and a huge part is handled window by window, so memory stays bounded by the
 * window, not the part.
 */
export function* splitIntoPieces(
  text: string,
  span: Span,
  limit: number,
  counter: TokenCounter,
  layout: TextLayout = {},
): Generator<Piece> {
  function* visit(part: Span, partLevel: SplitLevel): Generator<Piece> {
    if (part.end - part.start > HUGE_PART_CHARS) {
      for (const window of whitespaceWindows(text, part, WINDOW_CHARS)) yield* visit(window, partLevel);
      return;
    }
    const tokens = counter.count(text.slice(part.start, part.end));
    if (tokens <= limit) {
      yield { ...part, tokens };
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
      yield* characterWindows(text, part, tokens, limit, counter);
      return;
    }
    for (const sub of parts) yield* visit(sub, finer as SplitLevel);
  }
  for (const part of paragraphSpans(text, span)) yield* visit(part, SplitLevel.Paragraph);
}

/** The paragraphs of `span`, trimmed, one at a time. */
function* paragraphSpans(text: string, span: Span): Generator<Span> {
  const source = text.slice(span.start, span.end);
  const breaks = new RegExp(PARAGRAPH_BREAK.source, 'g');
  let from = 0;
  for (let match = breaks.exec(source); match !== null; match = breaks.exec(source)) {
    const part = trimSpan(text, span.start + from, span.start + match.index);
    if (part.end > part.start) yield part;
    from = match.index + match[0].length;
  }
  const last = trimSpan(text, span.start + from, span.end);
  if (last.end > last.start) yield last;
}

/**
 * `span` in consecutive trimmed windows of about `size` characters, each ending at whitespace where there is
 * some in its second half (else at `size`, on a code point boundary).
 */
function* whitespaceWindows(text: string, span: Span, size: number): Generator<Span> {
  let start = span.start;
  while (start < span.end) {
    let end = Math.min(span.end, start + size);
    if (end < span.end) {
      let cut = end;
      while (cut > start + size / 2 && !isWhitespaceAt(text, cut)) cut--;
      end = cut > start + size / 2 ? cut : codePointBoundary(text, end);
    }
    const window = trimSpan(text, start, end);
    if (window.end > window.start) yield window;
    start = end;
  }
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
