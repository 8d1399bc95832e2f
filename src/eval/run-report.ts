/**
 * The retrieval part of what `localkb eval --output` writes: mean metrics, recall at several cutoffs and each
 * query's scores (what the playground's evaluation view draws as bars, curves and per-query differences).
 */
import type { RunEvaluation } from './metrics.js';

/** Cutoffs evaluated for the recall curve (and for every other @k metric). */
export const RECALL_CUTOFFS: readonly number[] = [1, 3, 5, 10, 20, 50, 100];

/** The mean metrics an eval report lists, in this order. */
const REPORTED_METRICS = ['ndcg@10', 'recall@10', 'recall@100', 'mrr@10', 'map', 'map@10', 'precision@10'];
/** The per-query metrics kept for each query. */
const PER_QUERY_METRICS = ['ndcg@10', 'recall@10', 'recall@100'];

export interface RetrievalReport {
  metrics: Record<string, number>;
  /** Mean recall keyed by cutoff k. */
  recallAtK: Record<string, number>;
  perQuery: ({ id: string; query?: string } & Record<string, number | string | undefined>)[];
}

/** `evaluation` must come from evaluateRun with `k: RECALL_CUTOFFS`; `queries` gives each id its text. */
export function retrievalReport(
  evaluation: RunEvaluation,
  queries: ReadonlyMap<string, string>,
): RetrievalReport {
  const metrics = Object.fromEntries(REPORTED_METRICS.map((name) => [name, evaluation.mean[name] ?? 0]));
  const recallAtK = Object.fromEntries(
    evaluation.k
      .filter((k) => RECALL_CUTOFFS.includes(k))
      .map((k) => [String(k), evaluation.mean[`recall@${k}`] ?? 0]),
  );
  const perQuery = [...evaluation.perQuery].map(([id, scores]) => ({
    id,
    ...(queries.has(id) ? { query: queries.get(id) } : {}),
    ...Object.fromEntries(PER_QUERY_METRICS.map((name) => [name, scores[name] ?? 0])),
  }));
  return { metrics, recallAtK, perQuery };
}
