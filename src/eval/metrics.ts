/**
 * Retrieval metrics computed the way BEIR computes them: BEIR's `EvaluateRetrieval.evaluate` hands the run to
 * pytrec_eval, which runs trec_eval 9.0.x's measure code; BEIR's MRR@k is its own Python (custom_metrics.mrr).
 * Semantics (each checked against the sources, see README.md beside this file):
 * - Ranking: by score descending, ties broken by document id DESCENDING in byte order (trec_eval's
 *   form_res_rels.c `comp_sim_docno`: `strcmp(p2->docno, p1->docno)`). The run's own order is ignored.
 * - Relevant: grade >= 1 (trec_eval relevance_level 1). nDCG gain is the grade itself, discount log2(rank + 1),
 *   ideal DCG from all judged docs with grade > 0 (`ndcg_cut`). Unjudged and negative-grade docs gain 0.
 * - recall@k and map@k divide by the number of relevant judged docs; precision@k divides by k even when fewer
 *   were retrieved ("nonrelevant docs fill in the rest").
 * - `map` is trec_eval's `map` (whole list); `map@k` is `map_cut_k`, what BEIR reports as MAP@k.
 * - `recip_rank` is trec_eval's (whole list, trec_eval tie order); `mrr@k` is BEIR's: Python's stable sort by
 *   score, so ties keep the run's order, then 1/rank of the first doc with grade > 0 within the top k.
 * - Queries: only queries present in both run and qrels are scored (pytrec_eval skips run queries without
 *   judgments; BEIR averages over pytrec_eval's output). A judged query with no relevant doc is NOT skipped:
 *   it scores 0 on every metric and counts in the mean, as in pytrec_eval and BEIR.
 * - Identical ids: BEIR's `evaluate(..., ignore_identical_ids=True)` is the default and drops every retrieved
 *   doc whose id equals the query id before scoring; `ignoreIdenticalIds` defaults to true for that reason.
 */

import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';

/** Relevance judgments: query id → (document id → integer grade). Grade > 0 means relevant. */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface ScoredDocument {
  docId: string;
  /** Higher is better. */
  score: number;
}

/** A retrieval run: query id → the retrieved documents with their scores, in any order. */
export type Run = ReadonlyMap<string, readonly ScoredDocument[]>;

export interface EvaluateRunOptions {
  /** Cutoffs for ndcg@k, recall@k, precision@k, map@k and mrr@k. Default: BEIR's [1, 3, 5, 10, 100, 1000]. */
  k?: readonly number[];
  /** Drop retrieved docs whose id equals the query id, as BEIR's evaluate does by default. Default true. */
  ignoreIdenticalIds?: boolean;
}

export interface RunEvaluation {
  /** The cutoffs used, ascending. */
  k: number[];
  /** Every metric name, in report order: per k `ndcg@k map@k recall@k precision@k mrr@k`, then `map`, `recip_rank`. */
  metricNames: string[];
  /** Arithmetic mean over the evaluated queries (no rounding; BEIR rounds its printout to 5 places). */
  mean: Record<string, number>;
  perQuery: Map<string, Record<string, number>>;
  evaluatedQueries: number;
  /** Judged queries absent from the run. Excluded from the means, as pytrec_eval does; check this is empty. */
  queriesMissingFromRun: string[];
  /** Run queries without any judgment; skipped. */
  queriesWithoutJudgments: string[];
  /** Judged queries whose judgments have no grade > 0; they score 0 and are counted in the means. */
  queriesWithoutRelevant: string[];
  /** How many retrieved docs were dropped because their id equals the query id. */
  identicalIdsRemoved: number;
}

export const BEIR_DEFAULT_CUTOFFS: readonly number[] = [1, 3, 5, 10, 100, 1000];

/**
 * Compares two strings in Unicode code point order, which is the byte order of their UTF-8 forms, i.e. what
 * C's strcmp sees in trec_eval. JavaScript's `<` compares UTF-16 code units and differs for astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) must sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** trec_eval's ranking: score descending, then document id descending (byte order). Returns a new array. */
export function rankLikeTrecEval<T extends ScoredDocument>(docs: readonly T[]): T[] {
  return [...docs].sort((a, b) => {
    if (a.score > b.score) return -1;
    if (a.score < b.score) return 1;
    return compareCodePoints(b.docId, a.docId);
  });
}

/** BEIR's ranking for MRR: Python's stable sort by score descending, so ties keep the run's order. */
export function rankLikeBeirMrr<T extends ScoredDocument>(docs: readonly T[]): T[] {
  return [...docs].sort((a, b) => (a.score > b.score ? -1 : a.score < b.score ? 1 : 0));
}

/** Metric values for one query, given its judgments and its retrieved docs (already validated). */
export function evaluateQuery(
  judgments: ReadonlyMap<string, number>,
  docs: readonly ScoredDocument[],
  cutoffs: readonly number[],
): Record<string, number> {
  const grades = rankLikeTrecEval(docs).map((doc) => judgments.get(doc.docId) ?? 0);
  const beirGrades = rankLikeBeirMrr(docs).map((doc) => judgments.get(doc.docId) ?? 0);
  const idealGains = [...judgments.values()].filter((grade) => grade > 0).sort((a, b) => b - a);
  const numRelevant = idealGains.length;

  const values: Record<string, number> = {};
  for (const k of cutoffs) {
    const dcg = discountedGain(grades, k);
    const idealDcg = discountedGain(idealGains, k);
    let relevantInTopK = 0;
    let precisionSum = 0;
    for (let i = 0; i < Math.min(k, grades.length); i++) {
      if ((grades[i] ?? 0) >= 1) {
        relevantInTopK++;
        precisionSum += relevantInTopK / (i + 1);
      }
    }
    values[`ndcg@${k}`] = idealDcg > 0 ? dcg / idealDcg : 0;
    values[`map@${k}`] = numRelevant > 0 ? precisionSum / numRelevant : 0;
    values[`recall@${k}`] = numRelevant > 0 ? relevantInTopK / numRelevant : 0;
    values[`precision@${k}`] = relevantInTopK / k;
    values[`mrr@${k}`] = reciprocalRankWithin(beirGrades, k);
  }

  let relevantSoFar = 0;
  let precisionSum = 0;
  let firstRelevantRank = 0;
  for (let i = 0; i < grades.length; i++) {
    if ((grades[i] ?? 0) >= 1) {
      relevantSoFar++;
      precisionSum += relevantSoFar / (i + 1);
      if (firstRelevantRank === 0) firstRelevantRank = i + 1;
    }
  }
  values.map = numRelevant > 0 ? precisionSum / numRelevant : 0;
  values.recip_rank = firstRelevantRank > 0 ? 1 / firstRelevantRank : 0;
  return values;
}

/**
 * Scores a run against qrels. Throws INVALID_OPTION for bad cutoffs, non-numeric or NaN scores, non-integer
 * grades, a document retrieved twice for one query (trec_eval refuses those too), or a run sharing no query
 * with the qrels.
 */
const EVALUATE_RUN_OPTIONS = declareOptions<EvaluateRunOptions>('evaluateRun', {
  k: 'array',
  ignoreIdenticalIds: 'boolean',
});

export function evaluateRun(run: Run, qrels: Qrels, options: EvaluateRunOptions = {}): RunEvaluation {
  checkOptions(EVALUATE_RUN_OPTIONS, options);
  const cutoffs = validateCutoffs(options.k ?? BEIR_DEFAULT_CUTOFFS);
  const ignoreIdenticalIds = options.ignoreIdenticalIds ?? true;
  const metricNames = [
    ...cutoffs.flatMap((k) => [`ndcg@${k}`, `map@${k}`, `recall@${k}`, `precision@${k}`, `mrr@${k}`]),
    'map',
    'recip_rank',
  ];

  const perQuery = new Map<string, Record<string, number>>();
  const queriesWithoutJudgments: string[] = [];
  const queriesWithoutRelevant: string[] = [];
  let identicalIdsRemoved = 0;

  for (const [queryId, retrieved] of run) {
    const judgments = qrels.get(queryId);
    if (judgments === undefined) {
      queriesWithoutJudgments.push(queryId);
      continue;
    }
    validateJudgments(queryId, judgments);
    validateRetrieved(queryId, retrieved);
    const docs = ignoreIdenticalIds ? retrieved.filter((doc) => doc.docId !== queryId) : retrieved;
    identicalIdsRemoved += retrieved.length - docs.length;
    if (![...judgments.values()].some((grade) => grade > 0)) queriesWithoutRelevant.push(queryId);
    perQuery.set(queryId, evaluateQuery(judgments, docs, cutoffs));
  }

  if (perQuery.size === 0) {
    throw kbError(
      'INVALID_OPTION',
      `The run has no query id in common with the qrels (run has ${run.size} queries, qrels ${qrels.size}); ` +
        'pass the run of the same dataset split, keyed by the BEIR query ids.',
      { input: 'run' },
    );
  }

  const mean: Record<string, number> = {};
  for (const name of metricNames) {
    let sum = 0;
    for (const values of perQuery.values()) sum += values[name] ?? 0;
    mean[name] = sum / perQuery.size;
  }

  return {
    k: cutoffs,
    metricNames,
    mean,
    perQuery,
    evaluatedQueries: perQuery.size,
    queriesMissingFromRun: [...qrels.keys()].filter((queryId) => !run.has(queryId)),
    queriesWithoutJudgments,
    queriesWithoutRelevant,
    identicalIdsRemoved,
  };
}

/** DCG of the first k gains, trec_eval style: only gains > 0 count, gain / log2(rank + 1). */
function discountedGain(gains: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 0; i < Math.min(k, gains.length); i++) {
    const gain = gains[i] ?? 0;
    if (gain > 0) sum += gain / Math.log2(i + 2);
  }
  return sum;
}

function reciprocalRankWithin(grades: readonly number[], k: number): number {
  for (let i = 0; i < Math.min(k, grades.length); i++) {
    if ((grades[i] ?? 0) > 0) return 1 / (i + 1);
  }
  return 0;
}

function validateCutoffs(k: readonly number[]): number[] {
  if (!Array.isArray(k) || k.length === 0) {
    throw kbError(
      'INVALID_OPTION',
      'Option k must be a non-empty array of positive integers, e.g. [10, 100].',
      {
        input: 'k',
      },
    );
  }
  for (const value of k) {
    if (!Number.isInteger(value) || value < 1) {
      throw kbError('INVALID_OPTION', `Option k must hold positive integers; got ${String(value)}.`, {
        input: 'k',
      });
    }
  }
  return [...new Set(k)].sort((a, b) => a - b);
}

function validateJudgments(queryId: string, judgments: ReadonlyMap<string, number>): void {
  for (const [docId, grade] of judgments) {
    if (!Number.isInteger(grade)) {
      throw kbError(
        'INVALID_OPTION',
        `Qrels grade for query ${queryId}, document ${docId} must be an integer (trec_eval reads integer grades); got ${String(grade)}.`,
        { input: `qrels:${queryId}:${docId}` },
      );
    }
  }
}

function validateRetrieved(queryId: string, docs: readonly ScoredDocument[]): void {
  if (!Array.isArray(docs)) {
    throw kbError('INVALID_OPTION', `Run entry for query ${queryId} must be an array of { docId, score }.`, {
      input: `run:${queryId}`,
    });
  }
  const seen = new Set<string>();
  for (const doc of docs) {
    if (typeof doc?.docId !== 'string' || typeof doc.score !== 'number' || Number.isNaN(doc.score)) {
      throw kbError(
        'INVALID_OPTION',
        `Run entry for query ${queryId} has an item that is not { docId: string, score: number (not NaN) }: ${JSON.stringify(doc)}.`,
        { input: `run:${queryId}` },
      );
    }
    if (seen.has(doc.docId)) {
      throw kbError(
        'INVALID_OPTION',
        `Run for query ${queryId} retrieves document ${doc.docId} twice; keep one entry per document (e.g. the best-scoring chunk per document).`,
        { input: `run:${queryId}:${doc.docId}` },
      );
    }
    seen.add(doc.docId);
  }
}
