/**
 * Query-term matching in JavaScript, on the terms BM25 matched on: words as FTS5's unicode61 tokenizer cuts them
 * (case and diacritics folded), Lucene's English stopwords dropped, Porter stems. Used to choose, among the
 * passages of a section BM25 ranked, the one that holds the query's words, and by the extractive generator.
 */
import { ENGLISH_STOP_WORDS, POSSESSIVE } from './bm25-query.js';
import { porterStem } from './porter-stemmer.js';

const WORD = /[\p{L}\p{N}]+/gu;

/** Stems of the searchable words of `text`, in order, repeats kept. */
export function lexicalTerms(text: string): string[] {
  const words = fold(text.replace(POSSESSIVE, '')).match(WORD) ?? [];
  return words.filter((word) => !ENGLISH_STOP_WORDS.has(word)).map(porterStem);
}

/** Case- and diacritic-folded text, as unicode61 with remove_diacritics sees it. */
export function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** A query term with its weight (an idf; 1 when no statistics are at hand). */
export interface WeightedTerm {
  term: string;
  weight: number;
}

/** The distinct stems of a query; each weighted by `weightOf(word)` of its first word (default 1). */
export function weightedQueryTerms(query: string, weightOf?: (word: string) => number): WeightedTerm[] {
  const words = (fold(query).match(WORD) ?? []).filter((word) => !ENGLISH_STOP_WORDS.has(word));
  const terms = new Map<string, number>();
  for (const word of words) {
    const term = porterStem(word);
    if (!terms.has(term)) terms.set(term, weightOf?.(word) ?? 1);
  }
  return [...terms].map(([term, weight]) => ({ term, weight }));
}

/**
 * BM25 (k1 = 1.2, b = 0.75) of each text against the query terms, the texts' mean length as the average: the
 * same shape of score as the section's, within one section's passages.
 */
export function lexicalScores(terms: readonly WeightedTerm[], texts: readonly string[]): number[] {
  const k1 = 1.2;
  const b = 0.75;
  const tokenised = texts.map(lexicalTerms);
  const averageLength = tokenised.reduce((sum, t) => sum + t.length, 0) / Math.max(1, tokenised.length) || 1;
  return tokenised.map((tokens) => {
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    let score = 0;
    for (const { term, weight } of terms) {
      const tf = counts.get(term) ?? 0;
      if (tf === 0) continue;
      score += (weight * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * tokens.length) / averageLength));
    }
    return score;
  });
}
