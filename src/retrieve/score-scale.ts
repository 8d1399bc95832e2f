/**
 * Every search type's score on one scale: [0, 1], higher is better. Each raw score is kept beside it (`rawScore`).
 *
 * - semantic: (1 + cosine) / 2 — OpenSearch's `cosinesimil` score, which Bedrock Knowledge Bases on OpenSearch
 *   Serverless return (https://docs.opensearch.org/latest/mappings/supported-field-types/knn-spaces/).
 * - bm25: the share of the most this query can score. FTS5's BM25 sums, per query phrase,
 *   idf · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)); each term is below idf·(k1+1), so raw / Σ idf·(k1+1) is in
 *   [0, 1), the same for a query's results in every store and independent of the other results.
 * - hybrid: RRF sums divided by the sum a unit ranked first by both sides gets (Σ wᵢ / (k + 1)); weighted fusion is
 *   already a weighted mean of [0, 1] min-max scores.
 * - reranked: the reranker's relevance when it is in [0, 1] (Bedrock Rerank, the cross-encoder's sigmoid), else its
 *   logistic.
 */

/** FTS5's fixed BM25 parameters (sqlite/ext/fts5/fts5_aux.c). */
export const FTS5_BM25_K1 = 1.2;
export const FTS5_BM25_B = 0.75;

export function semanticScore(cosine: number): number {
  return clamp01((1 + cosine) / 2);
}

/** FTS5's idf: log((N − n + 0.5) / (n + 0.5)), and 1e-6 where that is not positive. */
export function fts5Idf(sections: number, matching: number): number {
  const idf = Math.log((sections - matching + 0.5) / (matching + 0.5));
  return idf > 0 ? idf : 1e-6;
}

/** The supremum of a BM25 score over these phrases: Σ idf · (k1 + 1), repeated phrases counted each time. */
export function bm25Ceiling(sections: number, matching: readonly number[]): number {
  return matching.reduce((sum, n) => sum + fts5Idf(sections, n) * (FTS5_BM25_K1 + 1), 0);
}

export function bm25Score(raw: number, ceiling: number): number {
  return ceiling > 0 ? clamp01(raw / ceiling) : 0;
}

/** What RRF gives a unit ranked first in every list: Σ wᵢ / (k + 1). */
export function rrfCeiling(weights: readonly number[], k: number): number {
  return weights.reduce((sum, w) => sum + w, 0) / (k + 1);
}

export function rerankScore(raw: number): number {
  return raw >= 0 && raw <= 1 ? raw : 1 / (1 + Math.exp(-raw));
}

function clamp01(value: number): number {
  return Math.min(Math.max(value, 0), 1);
}
