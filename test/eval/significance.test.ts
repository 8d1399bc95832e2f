import { describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import { evaluateRun } from '../../src/eval/metrics.js';
import { pairedRandomizationTest, perQueryMetric } from '../../src/eval/significance.js';

/** Per-query scores q1, q2, … from a list. */
const scores = (...values: number[]) => new Map(values.map((v, i) => [`q${i + 1}`, v]));

function expectCode(fn: () => unknown, code: string, input?: string): void {
  try {
    fn();
  } catch (error) {
    expect(isLocalKbError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (input) expect((error as { input?: string }).input).toBe(input);
    return;
  }
  throw new Error(`expected ${code}`);
}

/** The exact two-sided p-value by brute force over every sign assignment, written independently. */
function bruteForceP(differences: number[]): number {
  const observed = Math.abs(differences.reduce((a, b) => a + b, 0));
  let hits = 0;
  const total = 2 ** differences.length;
  for (let mask = 0; mask < total; mask++) {
    const flipped = differences.map((d, i) => ((mask >> i) & 1 ? -d : d));
    if (Math.abs(flipped.reduce((a, b) => a + b, 0)) >= observed - 1e-12) hits++;
  }
  return hits / total;
}

describe('pairedRandomizationTest', () => {
  it('enumerates all 8 sign assignments of 3 queries: three equal gains give p = 2/8', () => {
    const result = pairedRandomizationTest(scores(0, 0, 0), scores(1, 1, 1), { bootstrap: 0 });
    expect(result).toMatchObject({ queries: 3, exact: true, permutations: 8, pValue: 0.25 });
    expect(result.difference).toBe(1);
    expect(result.meanA).toBe(0);
    expect(result.meanB).toBe(1);
    expect(result.interval).toBeUndefined();
  });

  it('counts every assignment at least as extreme: differences 3 and 1 reach |4| in 2 of 4', () => {
    // Sums over the four assignments: 4, 2, -2, -4.
    const result = pairedRandomizationTest(scores(0, 0), scores(3, 1), { bootstrap: 0 });
    expect(result.pValue).toBe(0.5);
  });

  it('gives p = 1 when a gain is cancelled by a loss', () => {
    // Differences 1, 1, -1: every assignment sums to ±1 or ±3, all ≥ |1|.
    const result = pairedRandomizationTest(scores(0, 0, 1), scores(1, 1, 0), { bootstrap: 0 });
    expect(result.pValue).toBe(1);
    expect(result.difference).toBeCloseTo(1 / 3, 12);
  });

  it('gives p = 1 and a zero interval for identical runs', () => {
    const a = scores(0.2, 0.5, 0.9, 0.4);
    const result = pairedRandomizationTest(a, a);
    expect(result.pValue).toBe(1);
    expect(result.difference).toBe(0);
    expect(result.interval).toMatchObject({ lower: 0, upper: 0, level: 0.95, resamples: 10_000 });
  });

  it('is two-sided: swapping the runs flips the difference, not the p-value', () => {
    const a = scores(0.1, 0.4, 0.3, 0.8, 0.2);
    const b = scores(0.3, 0.5, 0.2, 0.9, 0.6);
    const forward = pairedRandomizationTest(a, b);
    const backward = pairedRandomizationTest(b, a);
    expect(backward.pValue).toBe(forward.pValue);
    expect(backward.difference).toBeCloseTo(-forward.difference, 12);
  });

  it('matches brute-force enumeration when every assignment fits in the budget', () => {
    const differences = [0.12, -0.05, 0.3, 0.07, -0.2, 0.15, 0.01, 0.09, -0.11, 0.22];
    const result = pairedRandomizationTest(
      scores(...differences.map(() => 0.5)),
      scores(...differences.map((d) => 0.5 + d)),
      { bootstrap: 0 },
    );
    expect(result.exact).toBe(true);
    expect(result.permutations).toBe(1024);
    expect(result.pValue).toBeCloseTo(bruteForceP(differences), 12);
  });

  it('samples when 2^queries exceeds the budget, close to the exact p-value', () => {
    const differences = [0.12, -0.05, 0.3, 0.07, -0.2, 0.15, 0.01, 0.09, -0.11, 0.22, 0.04, -0.03];
    const a = scores(...differences.map(() => 0.5));
    const b = scores(...differences.map((d) => 0.5 + d));
    const sampled = pairedRandomizationTest(a, b, { permutations: 4000, bootstrap: 0 });
    expect(sampled.exact).toBe(false);
    expect(sampled.permutations).toBe(4000);
    // 4000 draws: standard error of a p near 0.2 is about 0.006.
    expect(Math.abs(sampled.pValue - bruteForceP(differences))).toBeLessThan(0.03);
  });

  it('never reports p = 0 from samples: 20 equal gains and no extreme draw give 1 / (draws + 1)', () => {
    // The exact p is 2 / 2^20 ≈ 1.9e-6, so 1000 draws almost surely hit no assignment as extreme.
    const result = pairedRandomizationTest(scores(...Array(20).fill(0)), scores(...Array(20).fill(1)), {
      permutations: 1000,
      bootstrap: 0,
    });
    expect(result.pValue).toBe(1 / 1001);
  });

  it('is reproducible from its seed and varies with it', () => {
    // Differences (i·7 mod 5 − 1.6) / 10: a mean gain of 0.04 against a spread of 0.14, p near 0.1.
    const a = scores(...Array.from({ length: 40 }, (_, i) => (i % 10) / 10));
    const b = scores(...Array.from({ length: 40 }, (_, i) => (i % 10) / 10 + (((i * 7) % 5) - 1.6) / 10));
    const first = pairedRandomizationTest(a, b, { seed: 7 });
    expect(pairedRandomizationTest(a, b, { seed: 7 })).toEqual(first);
    const other = pairedRandomizationTest(a, b, { seed: 8 });
    expect(other.pValue).not.toBe(first.pValue);
    expect(other.difference).toBe(first.difference);
  });

  it('bootstraps the mean difference: differences 0 and 1 give a 95% interval of [0, 1]', () => {
    // Resampled means of two draws are 0, 0.5 or 1 with probability 1/4, 1/2, 1/4: both 2.5% tails are the ends.
    const result = pairedRandomizationTest(scores(0, 0), scores(0, 1));
    expect(result.interval).toMatchObject({ lower: 0, upper: 1 });
    const narrow = pairedRandomizationTest(scores(0, 0), scores(0, 1), { confidence: 0.4 });
    expect(narrow.interval).toMatchObject({ lower: 0.5, upper: 0.5, level: 0.4 });
  });

  it('pairs queries by id and leaves out those only one run scored', () => {
    const a = new Map([
      ['x', 0.5],
      ['y', 0.1],
      ['only-a', 1],
    ]);
    const b = new Map([
      ['y', 0.3],
      ['x', 0.5],
      ['only-b', 0],
    ]);
    const result = pairedRandomizationTest(a, b, { bootstrap: 0 });
    expect(result.queries).toBe(2);
    expect(result.difference).toBeCloseTo(0.1, 12);
  });

  it('rejects runs with no query in common, non-finite scores and bad options', () => {
    expectCode(
      () => pairedRandomizationTest(new Map([['a', 1]]), new Map([['b', 1]])),
      'INVALID_OPTION',
      'b',
    );
    expectCode(() => pairedRandomizationTest(scores(1), scores(Number.NaN)), 'INVALID_OPTION', 'b');
    expectCode(() => pairedRandomizationTest(scores(1), scores(1), { permutations: 0 }), 'INVALID_OPTION');
    expectCode(() => pairedRandomizationTest(scores(1), scores(1), { bootstrap: -1 }), 'INVALID_OPTION');
    expectCode(
      () => pairedRandomizationTest(scores(1), scores(1), { confidence: 95 }),
      'INVALID_OPTION',
      'confidence',
    );
    expectCode(
      () => pairedRandomizationTest(scores(1), scores(1), { permutation: 10 } as never),
      'INVALID_OPTION',
    );
  });
});

describe('perQueryMetric', () => {
  it('takes one metric of every evaluated query from an evaluation', () => {
    const qrels = new Map([
      ['q1', new Map([['d1', 1]])],
      ['q2', new Map([['d2', 1]])],
    ]);
    const run = new Map([
      ['q1', [{ docId: 'd1', score: 1 }]],
      ['q2', [{ docId: 'd9', score: 1 }]],
    ]);
    const evaluation = evaluateRun(run, qrels, { k: [10] });
    expect(perQueryMetric(evaluation, 'ndcg@10')).toEqual(
      new Map([
        ['q1', 1],
        ['q2', 0],
      ]),
    );
    expectCode(() => perQueryMetric(evaluation, 'ndcg@5'), 'INVALID_OPTION', 'metric');
  });
});
