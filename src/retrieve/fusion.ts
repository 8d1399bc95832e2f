/**
 * Combining ranked lists (hybrid search: BM25 + vector) and diversifying a result list (MMR).
 *
 * Why two fusions: raw BM25 scores are unbounded and corpus-dependent (often 0–30), cosine similarities live in
 * [-1, 1] and cluster tightly (0.2–0.9), so adding raw scores lets BM25 dominate and the blend shifts from corpus to
 * corpus. Reciprocal rank fusion ignores scores and uses ranks only (robust, needs no tuning); weighted fusion first
 * puts each list's scores on a common scale (min-max or z-score) and then blends them with weights.
 */

import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { rrfCeiling } from './score-scale.js';

/** One ranked list, best first. `score` is higher-is-better (a similarity, or −bm25()). */
export type RankedList = readonly { readonly id: string; readonly score: number }[];

export interface FusedResult {
  id: string;
  /** Fused score, higher is better. */
  score: number;
  /** 1-based rank of the id in each input list (aligned with the lists given), null where it is absent. */
  ranks: (number | null)[];
}

export interface ReciprocalRankFusionOptions {
  /** The RRF constant: score = Σ weight / (k + rank). 60 as in Cormack et al. (2009). */
  k?: number;
  /** One non-negative weight per list; default 1 each. */
  weights?: readonly number[];
}

const RRF_OPTIONS = declareOptions<ReciprocalRankFusionOptions>('reciprocalRankFusion', {
  k: 'number',
  weights: 'array',
});

export type ScoreNormalization = 'min-max' | 'z-score';

export interface WeightedFusionOptions {
  /** One non-negative weight per list. */
  weights: readonly number[];
  normalization: ScoreNormalization;
}

const WEIGHTED_FUSION_OPTIONS = declareOptions<WeightedFusionOptions>('weightedFusion', {
  weights: 'array',
  normalization: 'string',
});

/**
 * Reciprocal rank fusion: score(id) = Σ_i weight_i / (k + rank_i(id)), summed over the lists containing id.
 * An id repeated within one list counts at its first (best) rank. Ties keep the order in which ids first appear,
 * scanning the lists in the order given.
 */
export function reciprocalRankFusion(
  lists: readonly RankedList[],
  options: ReciprocalRankFusionOptions = {},
): FusedResult[] {
  checkOptions(RRF_OPTIONS, options);
  const k = options.k ?? 60;
  if (typeof k !== 'number' || !Number.isFinite(k) || k < 0) {
    throw kbError(
      'INVALID_OPTION',
      `reciprocalRankFusion: k must be a finite number >= 0, got ${String(k)}.`,
      {
        input: 'k',
      },
    );
  }
  const weights = checkWeights('reciprocalRankFusion', lists, options.weights ?? lists.map(() => 1));
  const fused = collectRanks(lists);
  for (const entry of fused) {
    entry.score = entry.ranks.reduce<number>(
      (sum, rank, i) => (rank === null ? sum : sum + weights[i]! / (k + rank)),
      0,
    );
  }
  return sortStable(fused);
}

/**
 * Weighted score fusion: each list's scores are normalised ('min-max' to [0, 1], or 'z-score' to mean 0 and
 * standard deviation 1), then score(id) = Σ_i weight_i · normalised_i(id). An id absent from a list gets that
 * list's floor — 0 for min-max, the list's lowest z-score for z-score — since it ranked below the list's cut-off.
 * A list whose scores are all equal normalises to 1 (min-max) or 0 (z-score). Ties keep first-appearance order.
 */
export function weightedFusion(lists: readonly RankedList[], options: WeightedFusionOptions): FusedResult[] {
  checkOptions(WEIGHTED_FUSION_OPTIONS, options);
  const weights = checkWeights('weightedFusion', lists, options?.weights);
  const normalization = options.normalization;
  if (normalization !== 'min-max' && normalization !== 'z-score') {
    throw kbError(
      'INVALID_OPTION',
      `weightedFusion: normalization must be 'min-max' or 'z-score', got ${JSON.stringify(normalization)}.`,
      { input: 'normalization' },
    );
  }
  lists.forEach((list, i) => {
    list.forEach((item, j) => {
      if (typeof item.score !== 'number' || !Number.isFinite(item.score)) {
        throw kbError(
          'INVALID_OPTION',
          `weightedFusion: lists[${i}][${j}].score must be a finite number, got ${String(item.score)}.`,
          { input: `lists[${i}][${j}].score` },
        );
      }
    });
  });
  const normalised = lists.map((list) => normalizeScores(firstOccurrences(list), normalization));
  const fused = collectRanks(lists);
  for (const entry of fused) {
    entry.score = normalised.reduce(
      (sum, { byId, floor }, i) => sum + weights[i]! * (byId.get(entry.id) ?? floor),
      0,
    );
  }
  return sortStable(fused);
}

function normalizeScores(
  list: RankedList,
  normalization: ScoreNormalization,
): { byId: Map<string, number>; floor: number } {
  const scores = list.map((item) => item.score);
  let transform: (score: number) => number;
  if (normalization === 'min-max') {
    const min = scores.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    const range = scores.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY) - min;
    transform = range > 0 ? (s) => (s - min) / range : () => 1;
  } else {
    const mean = scores.reduce((a, b) => a + b, 0) / (scores.length || 1);
    const std = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / (scores.length || 1));
    transform = std > 0 ? (s) => (s - mean) / std : () => 0;
  }
  const byId = new Map(list.map((item) => [item.id, transform(item.score)]));
  // Absent ids ranked below the list's cut-off: they get its floor (0 for min-max, the lowest z-score).
  const floor = normalization === 'min-max' ? 0 : [...byId.values()].reduce((a, b) => Math.min(a, b), 0);
  return { byId, floor };
}

function firstOccurrences(list: RankedList): RankedList {
  const seen = new Set<string>();
  return list.filter((item) => !seen.has(item.id) && seen.add(item.id));
}

/** Every id in first-appearance order, with its 1-based rank in each list (first occurrence wins). */
function collectRanks(lists: readonly RankedList[]): FusedResult[] {
  const byId = new Map<string, FusedResult>();
  lists.forEach((list, i) => {
    list.forEach((item, position) => {
      let entry = byId.get(item.id);
      if (!entry) {
        entry = { id: item.id, score: 0, ranks: lists.map(() => null) };
        byId.set(item.id, entry);
      }
      if (entry.ranks[i] === null) entry.ranks[i] = position + 1;
    });
  });
  return [...byId.values()];
}

/** Array.prototype.sort is stable, so equal scores keep first-appearance order. */
function sortStable(results: FusedResult[]): FusedResult[] {
  return results.sort((a, b) => b.score - a.score);
}

function checkWeights(
  caller: string,
  lists: readonly RankedList[],
  weights: readonly number[] | undefined,
): readonly number[] {
  if (!Array.isArray(lists)) {
    throw kbError('INVALID_OPTION', `${caller}: lists must be an array of ranked lists.`, { input: 'lists' });
  }
  if (!Array.isArray(weights) || weights.length !== lists.length) {
    throw kbError(
      'INVALID_OPTION',
      `${caller}: weights must be an array with one weight per list (${lists.length}), got ${JSON.stringify(weights)}.`,
      { input: 'weights' },
    );
  }
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw kbError(
        'INVALID_OPTION',
        `${caller}: weights[${i}] must be a finite number >= 0, got ${String(w)}.`,
        {
          input: `weights[${i}]`,
        },
      );
    }
  });
  return weights;
}

export interface MmrCandidate {
  readonly id: string;
  readonly vector: ArrayLike<number>;
  /** The candidate's retrieval score; passed through untouched. */
  readonly score: number;
}

export interface MmrOptions {
  /** How many to select. */
  k: number;
  /** Trade-off between relevance (1) and diversity (0). Default 0.5. */
  lambda?: number;
}

const MMR_OPTIONS = declareOptions<MmrOptions>('maximalMarginalRelevance', {
  k: 'integer',
  lambda: 'number',
});

export interface MmrResult {
  id: string;
  /** The candidate's original score. */
  score: number;
  /** λ·cos(query, d) − (1−λ)·max cos(d, already selected), at the time d was picked. */
  mmrScore: number;
}

/**
 * Maximal marginal relevance (Carbonell & Goldstein, 1998): greedily picks the candidate maximising
 * λ·cos(query, d) − (1−λ)·max_{s ∈ selected} cos(d, s). Relevance is the cosine to the query vector (not the
 * candidate's own score), so both terms share one scale. The first pick is always the most relevant candidate;
 * ties go to the earlier candidate. Returns min(k, candidates) results in pick order.
 */
export function maximalMarginalRelevance(
  queryVector: ArrayLike<number>,
  candidates: readonly MmrCandidate[],
  options: MmrOptions,
): MmrResult[] {
  checkOptions(MMR_OPTIONS, options);
  const k = options?.k;
  const lambda = options?.lambda ?? 0.5;
  if (!Number.isInteger(k) || k < 0) {
    throw kbError(
      'INVALID_OPTION',
      `maximalMarginalRelevance: k must be an integer >= 0, got ${String(k)}.`,
      {
        input: 'k',
      },
    );
  }
  if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) {
    throw kbError(
      'INVALID_OPTION',
      `maximalMarginalRelevance: lambda must be in [0, 1], got ${String(lambda)}.`,
      {
        input: 'lambda',
      },
    );
  }
  candidates.forEach((c, i) => {
    if (c.vector.length !== queryVector.length) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `maximalMarginalRelevance: candidates[${i}] (${c.id}) has ${c.vector.length} dimensions, the query vector ${queryVector.length}.`,
        { input: `candidates[${i}].vector` },
      );
    }
  });

  const relevance = candidates.map((c) => cosine(queryVector, c.vector));
  // Highest similarity to anything selected so far, per candidate; updated after each pick.
  const redundancy = candidates.map(() => Number.NEGATIVE_INFINITY);
  const picked = candidates.map(() => false);
  const results: MmrResult[] = [];
  // The first pick ignores λ (λ·relevance would tie everything at λ = 0): it is the most relevant candidate.
  const selectionKey = (i: number) =>
    results.length === 0 ? relevance[i]! : lambda * relevance[i]! - (1 - lambda) * redundancy[i]!;
  while (results.length < Math.min(k, candidates.length)) {
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (!picked[i] && (best < 0 || selectionKey(i) > selectionKey(best))) best = i;
    }
    const mmrScore = results.length === 0 ? lambda * relevance[best]! : selectionKey(best);
    picked[best] = true;
    const chosen = candidates[best]!;
    results.push({ id: chosen.id, score: chosen.score, mmrScore });
    for (let i = 0; i < candidates.length; i++) {
      if (!picked[i]) redundancy[i] = Math.max(redundancy[i]!, cosine(candidates[i]!.vector, chosen.vector));
    }
  }
  return results;
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** How hybrid search combines its dense and BM25 sides. */
export interface HybridOptions {
  /**
   * 'rrf': reciprocal rank fusion of the two ranked lists. 'weighted': a convex combination of the two scores on
   * their [0, 1] scales (semantic (1 + cos) / 2, BM25 over its ceiling), every candidate scored on both sides —
   * Bruch et al.'s convex combination with theoretical min-max normalisation (ACM TOIS 2023, arXiv:2210.11934).
   */
  method?: 'rrf' | 'weighted';
  /** RRF constant. Default 60. */
  rrfK?: number;
  /** Weight of the dense side and the BM25 side. */
  weights?: { semantic: number; bm25: number };
  /**
   * Falls back to BM25 alone for a query whose two sides disagree: when fewer than `minShared` of the dense side's
   * top `depth` units are also in BM25's top `depth`, that query is fused with weights { semantic: 0, bm25: 1 }
   * (ties in BM25's order).
   * A weak embedder then costs little on the queries it gets wrong. Queries BM25 finds nothing for are left as
   * they are. Default: none here; hybrid-defaults.ts sets it per embedder.
   */
  agreement?: { depth: number; minShared: number };
}

/** A unit both sides may have scored: ranks in each side's list (1-based) and scores on [0, 1]. */
export interface HybridCandidate {
  id: string;
  semanticRank?: number;
  bm25Rank?: number;
  semantic?: number;
  bm25?: number;
}

export interface HybridResult {
  id: string;
  /** In [0, 1]: the RRF sum over what a unit first on both sides gets, or the convex combination. */
  score: number;
  /** The fused score before that scaling (the RRF sum; for weighted fusion the same as `score`). */
  rawScore: number;
}

/**
 * The one fusion of hybrid search, best first; the retriever and `eval --tune` both call it. Ties keep the
 * candidates' order.
 */
export function fuseHybrid(candidates: readonly HybridCandidate[], options: HybridOptions): HybridResult[] {
  const weights = options.weights ?? { semantic: 1, bm25: 1 };
  const pair = [weights.semantic, weights.bm25];
  checkWeights('hybrid', [[], []], pair);
  const total = pair[0]! + pair[1]!;
  if (!(total > 0)) {
    throw kbError(
      'INVALID_OPTION',
      `hybrid weights ${JSON.stringify(weights)} give both sides zero weight; give at least one a positive weight.`,
      { input: 'hybrid.weights' },
    );
  }
  const k = options.rrfK ?? 60;
  if (!Number.isFinite(k) || k < 0) {
    throw kbError('INVALID_OPTION', `hybrid rrfK must be a finite number >= 0, got ${String(k)}.`, {
      input: 'hybrid.rrfK',
    });
  }
  let ordered = candidates;
  if (options.agreement !== undefined && !agrees(candidates, options.agreement)) {
    pair[0] = 0;
    pair[1] = 1;
    // BM25's own order breaks ties, as in a BM25 search.
    const rank = (c: HybridCandidate) => c.bm25Rank ?? Number.POSITIVE_INFINITY;
    ordered = [...candidates].sort((a, b) => rank(a) - rank(b));
  }
  const ceiling = rrfCeiling(pair, k);
  const fused = ordered.map((c) => {
    if (options.method === 'weighted') {
      const score = (pair[0]! * (c.semantic ?? 0) + pair[1]! * (c.bm25 ?? 0)) / (pair[0]! + pair[1]!);
      return { id: c.id, score, rawScore: score };
    }
    const raw =
      (c.semanticRank === undefined ? 0 : pair[0]! / (k + c.semanticRank)) +
      (c.bm25Rank === undefined ? 0 : pair[1]! / (k + c.bm25Rank));
    return { id: c.id, score: Math.min(1, raw / ceiling), rawScore: raw };
  });
  return fused.sort((a, b) => b.score - a.score);
}

/** Whether the two sides share enough of their top units for fusion (HybridOptions.agreement). */
function agrees(
  candidates: readonly HybridCandidate[],
  agreement: { depth: number; minShared: number },
): boolean {
  const { depth, minShared } = agreement;
  for (const [name, value] of [
    ['depth', depth],
    ['minShared', minShared],
  ] as const) {
    if (!Number.isInteger(value) || value < (name === 'depth' ? 1 : 0)) {
      throw kbError(
        'INVALID_OPTION',
        `hybrid agreement.${name} must be a whole number ≥ ${name === 'depth' ? 1 : 0}, got ${String(value)}.`,
        { input: `hybrid.agreement.${name}` },
      );
    }
  }
  if (!candidates.some((c) => c.bm25Rank !== undefined)) return true;
  let shared = 0;
  for (const c of candidates) {
    if (
      (c.semanticRank ?? Number.POSITIVE_INFINITY) <= depth &&
      (c.bm25Rank ?? Number.POSITIVE_INFINITY) <= depth
    ) {
      shared++;
    }
  }
  return shared >= minShared;
}
