/**
 * Splits generated answers into sentences with their character ranges, and tells claims apart from headings,
 * code and short fragments. Rule-based on purpose: answers are short Markdown-ish prose, and a judge model
 * must see the very same claims that the citation check counts.
 */
import { checkOptions, declareOptions } from '../options.js';

export interface TextSegment {
  text: string;
  /** [start, end) offsets into the original text, trimmed of surrounding whitespace. */
  start: number;
  end: number;
}

export type SkipReason = 'heading' | 'code' | 'too-short' | 'not-prose';

export interface ClassifiedSentence extends TextSegment {
  /** True when the sentence states something that should carry a citation. */
  isClaim: boolean;
  skipReason?: SkipReason;
}

export interface ClassifyOptions {
  /** Sentences with fewer words than this are fragments, not claims. Default 4. */
  minClaimWords?: number;
}

// Words after which a period does not end a sentence (lower-cased, without the period).
const ABBREVIATIONS = new Set([
  'e.g',
  'i.e',
  'etc',
  'al',
  'fig',
  'figs',
  'eq',
  'ref',
  'refs',
  'cf',
  'vs',
  'approx',
  'no',
  'vol',
  'pp',
  'dr',
  'mr',
  'mrs',
  'ms',
  'prof',
  'st',
  'jr',
  'sr',
  'inc',
  'ltd',
  'co',
  'u.s',
  'u.k',
  'ca',
  'resp',
]);

const LIST_MARKER = /^(\s*)(?:[-*+•]|\d{1,3}[.)])\s+/;
const SENTENCE_END = /[.!?]+["'”’)\]]*(?=\s|$)/g;

/** Sentences of `text` in order, with offsets; line breaks always end a sentence. */
export function splitSentences(text: string): TextSegment[] {
  const segments: TextSegment[] = [];
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const marker = LIST_MARKER.exec(line);
    const contentStart = marker === null ? 0 : marker[0].length;
    let sentenceStart = contentStart;
    for (const match of line.slice(contentStart).matchAll(SENTENCE_END)) {
      const end = contentStart + (match.index ?? 0) + match[0].length;
      if (isAbbreviation(line, contentStart + (match.index ?? 0), match[0])) continue;
      pushTrimmed(segments, text, lineStart + sentenceStart, lineStart + end);
      sentenceStart = end;
    }
    pushTrimmed(segments, text, lineStart + sentenceStart, lineStart + line.length);
    lineStart += line.length + 1;
  }
  return segments;
}

/** Sentences with a claim/skip verdict: headings, fenced code, tables and short fragments are not claims. */
export const CLASSIFY_OPTIONS = declareOptions<ClassifyOptions>('classifySentences', {
  minClaimWords: 'integer',
});

export function classifySentences(text: string, options: ClassifyOptions = {}): ClassifiedSentence[] {
  checkOptions(CLASSIFY_OPTIONS, options);
  const minClaimWords = options.minClaimWords ?? 4;
  const codeRanges = fencedCodeRanges(text);
  return splitSentences(text).map((segment) => {
    const skipReason = skipReasonFor(text, segment, codeRanges, minClaimWords);
    return skipReason === undefined
      ? { ...segment, isClaim: true }
      : { ...segment, isClaim: false, skipReason };
  });
}

function skipReasonFor(
  text: string,
  segment: TextSegment,
  codeRanges: readonly [number, number][],
  minClaimWords: number,
): SkipReason | undefined {
  if (codeRanges.some(([start, end]) => segment.start >= start && segment.start < end)) return 'code';
  const line = lineAround(text, segment.start);
  const trimmedLine = line.trim();
  if (/^#{1,6}\s/.test(trimmedLine)) return 'heading';
  // A line that is only bold/italic text, or a short line ending in a colon, introduces content.
  if (trimmedLine === segment.text && /^(\*\*|__)[^*_]+(\*\*|__):?$/.test(trimmedLine)) return 'heading';
  if (trimmedLine === segment.text && trimmedLine.endsWith(':') && wordCount(trimmedLine) <= 8)
    return 'heading';
  if (/^\|.*\|$/.test(trimmedLine) || !/\p{L}/u.test(segment.text)) return 'not-prose';
  if (wordCount(segment.text) < minClaimWords) return 'too-short';
  return undefined;
}

function isAbbreviation(line: string, punctuationIndex: number, punctuation: string): boolean {
  if (!punctuation.startsWith('.') || punctuation.length > 1) return false;
  const before = line.slice(0, punctuationIndex);
  const word = /(\S+)$/.exec(before)?.[1] ?? '';
  const bare = word.replace(/^[("'[]+/, '');
  if (ABBREVIATIONS.has(bare.toLowerCase())) return true;
  // A lower-case next word continues the sentence (single capitals are not taken as initials: "vitamin D.").
  const after = line.slice(punctuationIndex + 1).trimStart();
  return /^\p{Ll}/u.test(after);
}

function pushTrimmed(segments: TextSegment[], text: string, start: number, end: number): void {
  let from = start;
  let to = end;
  while (from < to && /\s/.test(text[from] ?? '')) from++;
  while (to > from && /\s/.test(text[to - 1] ?? '')) to--;
  if (to > from) segments.push({ text: text.slice(from, to), start: from, end: to });
}

function fencedCodeRanges(text: string): [number, number][] {
  const ranges: [number, number][] = [];
  const fence = /^\s*(```|~~~)/gm;
  let open: number | undefined;
  for (const match of text.matchAll(fence)) {
    if (open === undefined) {
      open = match.index ?? 0;
    } else {
      const lineEnd = text.indexOf('\n', match.index ?? 0);
      ranges.push([open, lineEnd === -1 ? text.length : lineEnd]);
      open = undefined;
    }
  }
  if (open !== undefined) ranges.push([open, text.length]);
  return ranges;
}

function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const end = text.indexOf('\n', index);
  return text.slice(start, end === -1 ? text.length : end);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((word) => /[\p{L}\p{N}]/u.test(word)).length;
}
