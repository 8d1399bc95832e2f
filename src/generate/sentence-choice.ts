/**
 * How the extractive generator chooses what to quote: the retrieved sentences that answer the question, best first.
 * A sentence scores by BM25 over the retrieved sentences on Porter stems (the terms retrieval matched on), more
 * when it holds the question's words as a phrase, and more when it holds what the question asks for — a name for
 * "who", a date for "when", a place for "where", a number for "how many" — beyond the question's own words.
 * Near-duplicates (passages overlap) and fragments cut at a passage's edge give way to whole sentences.
 */
import { ENGLISH_STOP_WORDS, fold, lexicalTerms, POSSESSIVE, porterStem } from '../retrieve/index.js';
import type { ParsedSource } from './sources.js';

export type AnswerType = 'person' | 'date' | 'place' | 'number';

export interface Sentence {
  /** The source's id in the prompt. */
  sourceId: number;
  /** Rank of the source in the prompt, 0 first. */
  sourceRank: number;
  position: number;
  text: string;
  /** Porter stems of its searchable words, in order. */
  terms: string[];
  /** Where each stem's word starts in `text`. */
  offsets: number[];
  /** Stems of the headings above it in its source: what the source is about. */
  topic: ReadonlySet<string>;
  /** The sentence before it in its source, which its pronouns point back to. */
  previous?: Sentence;
}

export interface ScoredSentence {
  sentence: Sentence;
  score: number;
}

/** Words that ask rather than say: never matched against sentences. */
const QUESTION_WORDS = new Set(
  'who whom whose what when where which why how many much did does do was were is are has have had can could would should name called'.split(
    ' ',
  ),
);

/** Abbreviations after which a full stop does not end a sentence. */
const ABBREVIATIONS =
  /(?:^|\s)(?:mr|mrs|ms|dr|st|mt|no|vs|etc|e\.g|i\.e|c|ca|approx|fig|jr|sr|prof|gen|lt|col|sgt|capt)\.$/i;

/** Sentences of a source: cut after . ! ? before a capital, digit or quote, at blank lines and list items. */
export function sentencesOf(source: ParsedSource, sourceRank: number): Sentence[] {
  const pieces: string[] = [];
  const topic = new Set<string>();
  for (const block of source.text.split(/\n\s*\n|\n(?=\s*[-*•]\s)/)) {
    let current = '';
    for (const part of block.split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'“‘([])/u)) {
      current = current ? `${current} ${part}` : part;
      if (!ABBREVIATIONS.test(current)) {
        pieces.push(current);
        current = '';
      }
    }
    if (current) pieces.push(current);
  }
  const sentences: Sentence[] = [];
  for (const piece of pieces) {
    const text = piece.replace(/\s+/g, ' ').trim();
    // Headings name a topic but state nothing: never quoted, but they say what the sentences below are about.
    if (text.startsWith('#')) {
      for (const term of lexicalTerms(text)) topic.add(term);
      continue;
    }
    if (text === '') continue;
    const { terms, offsets } = stemsWithOffsets(text);
    const previous = sentences.at(-1);
    sentences.push({
      sourceId: source.id,
      sourceRank,
      position: sentences.length,
      text,
      terms,
      offsets,
      topic,
      ...(previous ? { previous } : {}),
    });
  }
  return sentences;
}

function stemsWithOffsets(text: string): { terms: string[]; offsets: number[] } {
  const terms: string[] = [];
  const offsets: number[] = [];
  // Possessives blanked, not removed, so offsets still point into the text.
  for (const match of text.replace(POSSESSIVE, (s) => ' '.repeat(s.length)).matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = fold(match[0]);
    if (ENGLISH_STOP_WORDS.has(word)) continue;
    terms.push(porterStem(word));
    offsets.push(match.index!);
  }
  return { terms, offsets };
}

/** What the question asks for, from its wh-word (and "how many/much/long/tall/old/far", "what year"). */
export function answerTypeOf(question: string): AnswerType | undefined {
  const q = question.toLowerCase();
  if (/\bhow\s+(many|much|long|tall|high|old|far|deep|wide|big|large|heavy)\b/.test(q)) return 'number';
  if (/\b(what|which)\s+(year|century|decade|date)\b|\bwhen\b/.test(q)) return 'date';
  if (/\bwho(m|se)?\b/.test(q)) return 'person';
  if (/\bwhere\b/.test(q)) return 'place';
  return undefined;
}

const MONTHS = 'january|february|march|april|may|june|july|august|september|october|november|december';
const NUMBER_WORDS =
  'one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|dozen';

/** A part of a sentence that could be an answer of the type, lower-cased, with where it starts. */
interface Candidate {
  text: string;
  start: number;
}

function matchesOf(text: string, pattern: RegExp, from = 0): Candidate[] {
  return [...text.slice(from).matchAll(pattern)].map((m) => ({
    text: m[0].toLowerCase(),
    start: m.index! + from,
  }));
}

const MONTH = new RegExp(`^(?:${MONTHS})$`, 'i');
const DATE = new RegExp(
  `\\b(?:\\d{1,2}\\s+)?(?:${MONTHS})(?:\\s+\\d{3,4})?\\b|\\b\\d{3,4}s?\\b|\\b\\d+\\s*(?:BC|AD|BCE|CE)\\b|\\b(?:AD|BC)\\s*\\d+\\b|\\b\\w+(?:th|st|nd|rd)\\s+centur(?:y|ies)\\b`,
  'gi',
);
const NUMBER = new RegExp(`\\b\\d[\\d,.]*\\b|\\b(?:${NUMBER_WORDS})(?:-(?:${NUMBER_WORDS}))?\\b`, 'gi');
// Capitalised words not at the sentence's start: names, with particles ("Sostratus of Cnidus").
const NAME = /\b\p{Lu}[\p{Ll}\p{M}'’-]+(?:\s+(?:of|de|van|von|da|di|le|la)?\s*\p{Lu}[\p{Ll}\p{M}'’-]+)*/gu;
const PLACE =
  /\b(?:in|at|on|near|off|from|of)\s+(?:the\s+)?\p{Lu}[\p{L}\p{M}'’-]*(?:\s+\p{Lu}[\p{L}\p{M}'’-]*)*/gu;

function candidatesOf(text: string, type: AnswerType): Candidate[] {
  switch (type) {
    case 'date':
      return matchesOf(text, DATE);
    case 'number':
      // "How many" asks for a count or a measure, not the year something happened.
      return matchesOf(text, NUMBER).filter((c) => !/^(1\d|20)\d\d$/.test(c.text));
    case 'person':
      return matchesOf(text, NAME, 1).filter((c) => !MONTH.test(c.text));
    case 'place':
      return matchesOf(text, PLACE);
  }
}

/**
 * True when the sentence holds an answer of the type that is not the question's own words, within a few words
 * of `near` (offsets of the question words it matched; anywhere when empty).
 */
export function hasAnswerOfType(
  text: string,
  type: AnswerType,
  questionTerms: ReadonlySet<string>,
  near: readonly number[] = [],
): boolean {
  return candidatesOf(text, type).some((candidate) => {
    if (near.length > 0 && !near.some((offset) => Math.abs(offset - candidate.start) <= ANSWER_WINDOW)) {
      return false;
    }
    const terms = lexicalTerms(candidate.text);
    // A bare number or date is new by itself; a name or place must bring a word the question lacks.
    if (type === 'number' || type === 'date') return !terms.every((term) => questionTerms.has(term));
    return terms.some((term) => !questionTerms.has(term) && !QUESTION_TERMS.has(term));
  });
}

/** Characters between a matched question word and the answer it introduces ("credit its design to Sostratus"). */
const ANSWER_WINDOW = 60;

const QUESTION_TERMS = new Set([...QUESTION_WORDS].flatMap((word) => lexicalTerms(word)));

/** The question's content terms (Porter stems, stopwords and question words out), repeats dropped. */
export function questionTerms(question: string): string[] {
  const words = question.match(/[\p{L}\p{N}]+/gu) ?? [];
  const kept = words.filter((word) => !QUESTION_WORDS.has(word.toLowerCase())).join(' ');
  return lexicalTerms(kept);
}

const K1 = 1.2;
/** How much a question word counts in a sentence whose headings already hold it. */
const TOPIC_WEIGHT = 0.35;
/** How much a question word counts when only the sentence's heading or the sentence before holds it. */
const CONTEXT_WEIGHT = 0.35;
const B = 0.75;

/**
 * Every sentence with a positive score, best first; ties keep source rank, then sentence order. A sentence that
 * shares no term with the question scores 0 and is left out.
 */
export function scoreSentences(sentences: readonly Sentence[], question: string): ScoredSentence[] {
  const terms = questionTerms(question);
  const unique = [...new Set(terms)];
  if (unique.length === 0 || sentences.length === 0) return [];
  const termSet = new Set(unique);
  const type = answerTypeOf(question);
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(sentence.terms))
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const idf = (term: string) => {
    const df = documentFrequency.get(term) ?? 0;
    return Math.log(1 + (sentences.length - df + 0.5) / (df + 0.5));
  };
  const averageLength = sentences.reduce((sum, s) => sum + s.terms.length, 0) / sentences.length || 1;
  const pairs = terms.slice(1).map((term, i) => `${terms[i]} ${term}`);

  const totalWeight = unique.reduce((sum, term) => sum + idf(term), 0);
  const scored = sentences.map((sentence) => {
    const counts = new Map<string, number>();
    for (const term of sentence.terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    // "tallest" answers "how tall": a comparative or superlative counts as its base word.
    for (const term of sentence.terms) {
      const base = /^(.{3,})(?:est|er)$/.exec(term)?.[1];
      if (base && termSet.has(base) && !counts.has(base)) counts.set(base, counts.get(term)!);
    }
    const context = new Set([...sentence.topic, ...(sentence.previous?.terms ?? [])]);
    let lexical = 0;
    let covered = 0;
    for (const term of unique) {
      const tf = counts.get(term) ?? 0;
      if (tf === 0) {
        // Named only by the heading above or the sentence before ("It was completed …"): it still counts, less.
        if (context.has(term)) {
          lexical += CONTEXT_WEIGHT * idf(term);
          covered += idf(term);
        }
        continue;
      }
      covered += idf(term);
      // Words of the heading the sentence sits under say what the whole source is about, not which sentence answers.
      const weight = sentence.topic.has(term) ? TOPIC_WEIGHT : 1;
      lexical +=
        (weight * idf(term) * tf * (K1 + 1)) /
        (tf + K1 * (1 - B + (B * sentence.terms.length) / averageLength));
    }
    if (lexical === 0 || !unique.some((term) => counts.has(term))) return { sentence, score: 0 };
    // A sentence that answers the whole question beats one that matches part of it often.
    lexical *= 0.5 + (0.5 * covered) / totalWeight;
    // The question's words side by side in the sentence: a phrase, not a scatter.
    const adjacent = new Set(sentence.terms.slice(1).map((term, i) => `${sentence.terms[i]} ${term}`));
    const phrases = pairs.filter((pair) => adjacent.has(pair)).length;
    let score = lexical * (1 + 0.25 * phrases);
    if (type) {
      // The answer sits near the words that set this sentence apart from the rest of its source.
      const focus = sentence.terms.flatMap((term, i) =>
        termSet.has(term) && !sentence.topic.has(term) ? [sentence.offsets[i]!] : [],
      );
      // A question asking more than the topic wants those words here; without them, no answer of the type counts.
      const asksMore = unique.some((term) => !sentence.topic.has(term));
      const found = (focus.length > 0 || !asksMore) && hasAnswerOfType(sentence.text, type, termSet, focus);
      score *= found ? 1.5 : 0.75;
    }
    // Cut at a passage's edge: a piece that starts mid-sentence or stops without an end.
    if (/^[\p{Ll},;:)]/u.test(sentence.text)) score *= 0.5;
    if (!/[.!?…"'”’)\]]$/.test(sentence.text)) score *= 0.8;
    // Retrieval's order is evidence too, if weak.
    score /= 1 + 0.1 * sentence.sourceRank;
    return { sentence, score };
  });
  return scored
    .filter((s) => s.score > 0)
    .sort(
      (a, b) =>
        b.score - a.score ||
        a.sentence.sourceRank - b.sentence.sourceRank ||
        a.sentence.position - b.sentence.position,
    );
}

/**
 * True when `candidate` says nearly what `kept` already says: most of its terms are in `kept` (Jaccard ≥ 0.6, or
 * 80 % of the shorter one's terms in the other) — overlapping passages repeat sentences, whole or cut.
 */
export function isNearDuplicate(candidate: Sentence, kept: Sentence): boolean {
  const a = new Set(candidate.terms);
  const b = new Set(kept.terms);
  if (a.size === 0 || b.size === 0) return candidate.text.toLowerCase() === kept.text.toLowerCase();
  let shared = 0;
  for (const term of a) if (b.has(term)) shared++;
  const jaccard = shared / (a.size + b.size - shared);
  return jaccard >= 0.6 || shared / Math.min(a.size, b.size) >= 0.8;
}

/** A sentence that opens with a pronoun ("It was completed …") reads only after the sentence it points back to. */
export function needsPrevious(sentence: Sentence): boolean {
  return (
    sentence.previous !== undefined &&
    /^(?:it|its|this|these|those|they|their|he|his|she|her|there)\b/i.test(sentence.text)
  );
}
