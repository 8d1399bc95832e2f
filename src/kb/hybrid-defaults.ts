/**
 * The fusion a hybrid search uses when neither the query nor the store (`eval --tune`) names one. Each default was
 * chosen on SciFact's TRAIN split only (809 queries; `npm run bench:quality`, which prints every setting tried),
 * never on test. Users with their own labels should run `localkb eval --tune`: it keeps what it picks in the store,
 * and that replaces these defaults.
 *
 * Measured here (bench:quality, 2 December 2026; corpus = all 667 documents judged in train or test plus 607 others
 * of the 5,183, because embedding the whole corpus with USE did not fit the time; see the README):
 *
 * | fusion on a `use` store (sections for BM25, titled passages for USE)  | train nDCG@10 | p vs BM25 alone |
 * | --- | --- | --- |
 * | BM25 alone (`embedder none`)                                        | 0.7903 | — |
 * | RRF k=60, dense 1 : BM25 1 (the old default)                        | 0.6570 | 0.0001 (worse) |
 * | RRF, best weight (dense 0.05 : BM25 0.95)                           | 0.7866 | 0.34 |
 * | weighted, dense 0.5 : BM25 0.5                                      | 0.8050 | 0.0003 (better) |
 * | weighted, dense 0.5 : BM25 0.5, BM25 alone unless 1 of top 10 shared | 0.8038 | 0.0001 (better) |
 *
 * USE alone scores 0.42 on train; RRF gives its bad ranks as much say as BM25's good ones, while the convex
 * combination of [0, 1] scores (Bruch et al., ACM TOIS 2023) lets USE's compressed cosines break BM25's near-ties
 * without overturning clear BM25 wins. The agreement gate (HybridOptions.agreement) costs 0.0012 on train and makes
 * a dense side that is noise on a query fall back to BM25 for that query, so every default carries it.
 */
import type { HybridOptions } from '../retrieve/index.js';

/** Convex combination 0.5 : 0.5 with the agreement gate: chosen for USE on SciFact train (table above). */
const MEASURED_ON_SCIFACT_TRAIN: HybridOptions = {
  method: 'weighted',
  weights: { semantic: 0.5, bm25: 0.5 },
  agreement: { depth: 10, minShared: 1 },
};

/**
 * MiniLM-class sentence-transformers (transformers.js) and every other embedder: NOT measured here (no weights on
 * this machine). The same setting, on published evidence: all-MiniLM-L6-v2 scores nDCG@10 0.645 on SciFact (MTEB
 * results, embeddings-benchmark/results), beside BM25's 0.665 (BEIR paper, Thakur et al. 2021) and 0.679 (Anserini
 * flat). A dense side about as strong as BM25 is where an equal convex combination gains most (Bruch et al.), a
 * far weaker one (USE above) still gained with it on train, and the gate bounds the loss of one that fails.
 */
/** The default hybrid fusion for a store whose embedder has this id: one setting for all, for the reasons above. */
export function defaultHybridFor(_embedderId: string | undefined): HybridOptions {
  const chosen = MEASURED_ON_SCIFACT_TRAIN;
  return {
    ...chosen,
    ...(chosen.weights ? { weights: { ...chosen.weights } } : {}),
    ...(chosen.agreement ? { agreement: { ...chosen.agreement } } : {}),
  };
}
