import type { TokenCounter } from '../../types.js';
import { isWhitespaceAt, type Piece, sentenceSpans, type TextLayout } from './spans.js';

/** Characters after which the next word starts a sentence. */
const SENTENCE_END = /[.!?…。！？]/;

export interface MergeLimits extends TextLayout {
  /** Target size: pieces are added while their summed tokens stay within it. */
  size: number;
  /** Tokens carried over from the end of one chunk to the start of the next. */
  overlap: number;
  /** Hard limit checked against the real count of each merged chunk. */
  ceiling: number;
}

/**
 * Merges consecutive pieces into chunks of up to `size` tokens, each next chunk starting with up to `overlap`
 * tokens from the end of the previous one. Sizes are sums of the pieces' counts; each merged chunk is counted
 * once more, because tokenizers do not always add up across a join, and a chunk over `ceiling` is split
 * between its pieces. Chunks are produced as the pieces arrive, so neither needs to be held whole.
 */
export function* mergePieces(
  text: string,
  pieces: Iterable<Piece>,
  limits: MergeLimits,
  counter: TokenCounter,
): Generator<Piece> {
  function* emit(window: readonly Piece[]): Generator<Piece> {
    const first = window[0]!;
    const last = window[window.length - 1]!;
    const tokens = window.length === 1 ? first.tokens : counter.count(text.slice(first.start, last.end));
    if (tokens <= limits.ceiling || window.length === 1) {
      yield { start: first.start, end: last.end, tokens };
      return;
    }
    const middle = Math.ceil(window.length / 2);
    yield* emit(window.slice(0, middle));
    yield* emit(window.slice(middle));
  }

  let window: Piece[] = [];
  let windowTokens = 0;
  let hasNewPiece = false; // false while the window only holds text already emitted (the overlap)
  for (const piece of pieces) {
    if (hasNewPiece && windowTokens + piece.tokens > limits.size) {
      yield* emit(window);
      const budget = Math.min(limits.overlap, limits.size - piece.tokens);
      window = overlapTail(text, window, budget, counter, limits);
      windowTokens = window.reduce((sum, p) => sum + p.tokens, 0);
      hasNewPiece = false;
    }
    window.push(piece);
    windowTokens += piece.tokens;
    hasNewPiece = true;
  }
  if (hasNewPiece) yield* emit(window);
}

/**
 * The end of `window` worth at most `budget` tokens, never the whole window (the next chunk must move on):
 * whole pieces, then part of the piece before them, from a sentence start, or from a word start when no whole
 * piece fitted.
 */
function overlapTail(
  text: string,
  window: readonly Piece[],
  budget: number,
  counter: TokenCounter,
  layout: TextLayout,
): Piece[] {
  if (budget <= 0) return [];
  const tail: Piece[] = [];
  let used = 0;
  let i = window.length - 1;
  while (i >= 1 && used + window[i]!.tokens <= budget) {
    tail.unshift(window[i]!);
    used += window[i]!.tokens;
    i--;
  }
  if (budget - used > 0 && i >= 0) {
    const options = { ...layout, sentenceOnly: tail.length > 0 };
    const suffix = trailingSuffix(text, window[i]!, budget - used, counter, options);
    if (suffix) tail.unshift(suffix);
  }
  return tail;
}

interface SuffixOptions extends TextLayout {
  /** Only a suffix that starts a sentence will do. */
  sentenceOnly: boolean;
}

/**
 * The longest word-aligned strict suffix of `piece` of at most `limit` tokens, found from the piece's
 * characters-per-token ratio in a few counts of short strings, then moved to a sentence start.
 */
function trailingSuffix(
  text: string,
  piece: Piece,
  limit: number,
  counter: TokenCounter,
  options: SuffixOptions,
): Piece | undefined {
  const charsPerToken = (piece.end - piece.start) / Math.max(1, piece.tokens);
  let chars = Math.ceil(limit * charsPerToken);
  for (let attempt = 0; attempt < 8 && chars > 0; attempt++) {
    const start = wordStartFrom(text, piece.end - chars, piece);
    if (start === undefined) return undefined;
    const tokens = counter.count(text.slice(start, piece.end));
    if (tokens <= limit) return atSentenceStart(text, { start, end: piece.end, tokens }, counter, options);
    chars = Math.floor(((piece.end - start) * limit) / tokens) - 1;
  }
  return undefined;
}

/** The first word start at or after `from`, strictly inside `piece`. */
function wordStartFrom(text: string, from: number, piece: Piece): number | undefined {
  let i = Math.max(from, piece.start + 1);
  while (i < piece.end && !(isWhitespaceAt(text, i - 1) && !isWhitespaceAt(text, i))) i++;
  return i < piece.end ? i : undefined;
}

/**
 * Moves the suffix's start to the next sentence start, so chunks rarely open mid-sentence: always with
 * `sentenceOnly`, otherwise when that keeps at least half of the suffix.
 */
function atSentenceStart(
  text: string,
  suffix: Piece,
  counter: TokenCounter,
  options: SuffixOptions,
): Piece | undefined {
  let before = suffix.start - 1;
  while (before >= 0 && isWhitespaceAt(text, before) && text[before] !== '\n') before--;
  const afterLineBreak = text[before] === '\n' && !options.lineBreaksAreLayout;
  if (before < 0 || afterLineBreak || SENTENCE_END.test(text[before]!)) return suffix;
  const next = sentenceSpans(text, suffix, options)[1];
  if (next === undefined) return options.sentenceOnly ? undefined : suffix;
  const keepsHalf = (suffix.end - next.start) * 2 >= suffix.end - suffix.start;
  if (!keepsHalf && !options.sentenceOnly) return suffix;
  return { start: next.start, end: suffix.end, tokens: counter.count(text.slice(next.start, suffix.end)) };
}
