/**
 * Is one run really better than another on the same queries? A paired randomization test (Fisher's sign-flip
 * permutation test on per-query differences) and a percentile bootstrap confidence interval of the mean difference.
 * Smucker, Allan & Carterette (CIKM 2007, "A comparison of statistical significance tests for information retrieval
 * evaluation") recommend the randomization test for IR metrics: it assumes only that, under the null hypothesis,
 * each query's two scores are exchangeable. Both are seeded, so a report can be reproduced to the digit.
 */
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { seededRandom } from '../seeded-random.js';
import type { RunEvaluation } from './metrics.js';

/** Per-query scores of one run: query id → metric (e.g. nDCG@10). */
export type PerQueryScores = ReadonlyMap<string, number>;

export interface PairedTestOptions {
  /** Random sign assignments drawn. Default 10,000. When 2^queries is no more, every assignment is enumerated. */
  permutations?: number;
  /** Bootstrap resamples for the confidence interval; 0 skips it. Default 10,000. */
  bootstrap?: number;
  /** Confidence level of the interval, in (0, 1). Default 0.95. */
  confidence?: number;
  /** Seed of the pseudo-random generator (a 32-bit integer). Default 1. */
  seed?: number;
}

const PAIRED_TEST_OPTIONS = declareOptions<PairedTestOptions>('pairedRandomizationTest', {
  permutations: 'integer',
  bootstrap: 'integer',
  confidence: 'number',
  seed: 'integer',
});

export interface PairedTestResult {
  /** Queries compared (present in both runs). */
  queries: number;
  meanA: number;
  meanB: number;
  /** meanB − meanA: positive when B scores higher. */
  difference: number;
  /**
   * Two-sided p-value of "A and B are exchangeable on every query": the share of sign assignments whose |mean
   * difference| reaches the observed one. Monte Carlo draws count the observed assignment too, (hits + 1) /
   * (draws + 1) (Phipson & Smyth 2010), so it is never 0; enumeration gives the exact share.
   */
  pValue: number;
  /** Sign assignments the p-value is over. */
  permutations: number;
  /** True when every one of the 2^queries assignments was counted. */
  exact: boolean;
  /** Percentile bootstrap interval of `difference`, when `bootstrap` > 0. */
  interval?: { level: number; lower: number; upper: number; resamples: number };
}

/**
 * Paired randomization test of run B against run A over the queries both score. Throws when the runs share no
 * query; queries only one run scores are left out (pass both runs' scores for the same queries to compare them all).
 */
export function pairedRandomizationTest(
  a: PerQueryScores,
  b: PerQueryScores,
  options: PairedTestOptions = {},
): PairedTestResult {
  checkOptions(PAIRED_TEST_OPTIONS, options);
  const permutations = options.permutations ?? 10_000;
  const resamples = options.bootstrap ?? 10_000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 1;
  requireCount('permutations', permutations, 1);
  requireCount('bootstrap', resamples, 0);
  if (!(confidence > 0 && confidence < 1)) {
    throw kbError(
      'INVALID_OPTION',
      `pairedRandomizationTest: confidence must be between 0 and 1 (e.g. 0.95), got ${String(confidence)}.`,
      { input: 'confidence' },
    );
  }
  const pairs = pairScores(a, b);
  const n = pairs.length;
  const differences = pairs.map(([x, y]) => y - x);
  const meanA = mean(pairs.map(([x]) => x));
  const meanB = mean(pairs.map(([, y]) => y));
  const observed = Math.abs(sum(differences));
  // Sums that differ from the observed one only by rounding must count as reaching it.
  const reaches = (total: number) => Math.abs(total) >= observed - 1e-9 * Math.max(1, observed);
  const random = seededRandom(seed);

  let hits = 0;
  let drawn: number;
  const exact = n < 31 && 2 ** n <= permutations;
  if (exact) {
    drawn = 2 ** n;
    for (let mask = 0; mask < drawn; mask++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += mask & (1 << i) ? -differences[i]! : differences[i]!;
      if (reaches(total)) hits++;
    }
  } else {
    drawn = permutations;
    for (let draw = 0; draw < drawn; draw++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += random() < 0.5 ? -differences[i]! : differences[i]!;
      if (reaches(total)) hits++;
    }
  }
  const pValue = exact ? hits / drawn : (hits + 1) / (drawn + 1);

  const result: PairedTestResult = {
    queries: n,
    meanA,
    meanB,
    difference: mean(differences),
    pValue,
    permutations: drawn,
    exact,
  };
  if (resamples > 0) {
    const means = new Float64Array(resamples);
    for (let r = 0; r < resamples; r++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += differences[Math.floor(random() * n)]!;
      means[r] = total / n;
    }
    means.sort();
    const tail = (1 - confidence) / 2;
    result.interval = {
      level: confidence,
      lower: quantile(means, tail),
      upper: quantile(means, 1 - tail),
      resamples,
    };
  }
  return result;
}

/** One metric of every evaluated query of a run, as pairedRandomizationTest takes it. */
export function perQueryMetric(evaluation: RunEvaluation, metric: string): Map<string, number> {
  if (!evaluation.metricNames.includes(metric)) {
    throw kbError(
      'INVALID_OPTION',
      `perQueryMetric: the evaluation has no metric "${metric}"; it has ${evaluation.metricNames.join(', ')}.`,
      { input: 'metric' },
    );
  }
  return new Map([...evaluation.perQuery].map(([id, scores]) => [id, scores[metric] ?? 0]));
}

function pairScores(a: PerQueryScores, b: PerQueryScores): [number, number][] {
  const pairs: [number, number][] = [];
  for (const [id, x] of a) {
    const y = b.get(id);
    if (y === undefined) continue;
    for (const [side, value] of [
      ['a', x],
      ['b', y],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw kbError(
          'INVALID_OPTION',
          `pairedRandomizationTest: ${side}'s score of query "${id}" must be a finite number, got ${String(value)}.`,
          { input: side },
        );
      }
    }
    pairs.push([x, y]);
  }
  if (pairs.length === 0) {
    throw kbError(
      'INVALID_OPTION',
      `pairedRandomizationTest: the runs share no query (a has ${a.size}, b has ${b.size}); compare runs over the same queries.`,
      { input: 'b' },
    );
  }
  return pairs;
}

function requireCount(name: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) {
    throw kbError(
      'INVALID_OPTION',
      `pairedRandomizationTest: ${name} must be a whole number ≥ ${least}, got ${String(value)}.`,
      { input: name },
    );
  }
}

const sum = (values: readonly number[]) => values.reduce((total, v) => total + v, 0);
const mean = (values: readonly number[]) => sum(values) / values.length;

/** The q-quantile of sorted values, linearly interpolated (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}
