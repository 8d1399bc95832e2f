/**
 * Turns free text into a safe FTS5 MATCH expression for BM25 search over a table tokenised with
 * `porter unicode61 remove_diacritics 2`.
 *
 * Each term is a quoted FTS5 string, so no user input is ever read as FTS5 syntax (AND, OR, NOT, NEAR(, *, ^,
 * column filters, parentheses); inside quotes FTS5 runs its own tokenizer (case folding, diacritics, Porter
 * stemming), so terms are passed as typed. Terms are OR-ed — a bag-of-words query, as Anserini/Lucene's BM25 does
 * by default — and English stopwords are dropped first (Lucene EnglishAnalyzer's list, Anserini's default).
 */

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the stopword list of Anserini's default analyzer. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'but',
  'by',
  'for',
  'if',
  'in',
  'into',
  'is',
  'it',
  'no',
  'not',
  'of',
  'on',
  'or',
  'such',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'they',
  'this',
  'to',
  'was',
  'will',
  'with',
]);

/** Longest query, in terms, that is kept; the rest is dropped (Lucene refuses more than 1024 clauses). */
export const MAX_QUERY_TERMS = 1024;

/**
 * FTS5 unicode61 token characters are letters, numbers and private-use characters. Combining marks are included
 * here too: with remove_diacritics 2 FTS5 folds them into the letter they follow, so "é" written as e + U+0301 stays
 * one token. Where this differs from SQLite's (older) Unicode tables, FTS5 re-tokenises the quoted term, so the
 * worst case is a short phrase instead of a single term — never a syntax error.
 */
const TOKEN = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;
/** English possessives ("Bedrock's" → "Bedrock"), as Lucene's EnglishPossessiveFilter strips them. */
export const POSSESSIVE = /(?<=[\p{L}\p{N}])['’\uFF07]s(?![\p{L}\p{N}\p{M}])/giu;

/** Splits text into the words FTS5's unicode61 tokenizer would see, minus possessives and English stopwords. */
export function queryTerms(text: string): string[] {
  const words = text.replace(POSSESSIVE, '').match(TOKEN) ?? [];
  return words.filter((word) => !ENGLISH_STOP_WORDS.has(foldForStopwords(word))).slice(0, MAX_QUERY_TERMS);
}

/**
 * Builds the FTS5 MATCH expression for a free-text query: `"term1" OR "term2" …`, or null when the text has no
 * searchable terms (only punctuation, emoji or stopwords) — the caller reports INVALID_QUERY.
 * Repeated words are kept, so they weigh more, as repeated clauses do in Lucene.
 */
export function buildFtsQuery(text: string): string | null {
  const phrases = queryPhrases(text);
  return phrases.length === 0 ? null : phrases.join(' OR ');
}

/** The quoted FTS5 phrases of a free-text query, one per term, repeats kept: the phrases BM25 sums over. */
export function queryPhrases(text: string): string[] {
  return queryTerms(text).map(quoteFtsString);
}

/** An FTS5 string literal: double quotes, with embedded quotes doubled. */
export function quoteFtsString(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

function foldForStopwords(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
