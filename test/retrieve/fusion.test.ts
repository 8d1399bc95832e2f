import { describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  cosine,
  fuseHybrid,
  type HybridCandidate,
  type MmrCandidate,
  maximalMarginalRelevance,
  type RankedList,
  reciprocalRankFusion,
  weightedFusion,
} from '../../src/retrieve/fusion.js';

const list = (...items: [string, number][]): RankedList => items.map(([id, score]) => ({ id, score }));

function expectCode(
  run: () => unknown,
  code: 'INVALID_OPTION' | 'DIMENSION_MISMATCH',
  pattern: RegExp,
): void {
  try {
    run();
  } catch (error) {
    expect(isLocalKbError(error, code)).toBe(true);
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an error');
}

describe('reciprocalRankFusion', () => {
  const bm25 = list(['a', 12], ['b', 8], ['c', 2]);
  const vector = list(['c', 0.9], ['a', 0.8], ['d', 0.5]);

  it('sums 1 / (k + rank) over the lists (hand-computed, k = 60)', () => {
    const fused = reciprocalRankFusion([bm25, vector]);
    expect(fused.map((r) => r.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[2]!.score).toBeCloseTo(1 / 62, 12);
    expect(fused[3]!.score).toBeCloseTo(1 / 63, 12);
    expect(fused.map((r) => r.ranks)).toEqual([
      [1, 2],
      [3, 1],
      [2, null],
      [null, 3],
    ]);
  });

  it('ignores the scores, only ranks count', () => {
    const rescaled = bm25.map((item) => ({ id: item.id, score: item.score * 1000 }));
    expect(reciprocalRankFusion([rescaled, vector])).toEqual(reciprocalRankFusion([bm25, vector]));
  });

  it('uses k: with k = 0 the score is the sum of 1 / rank', () => {
    const fused = reciprocalRankFusion([bm25, vector], { k: 0 });
    expect(fused.map((r) => [r.id, r.score])).toEqual([
      ['a', 1 + 1 / 2],
      ['c', 1 / 3 + 1],
      ['b', 1 / 2],
      ['d', 1 / 3],
    ]);
  });

  it('weights lists: weighting the vector list 3x puts c first', () => {
    const fused = reciprocalRankFusion([bm25, vector], { weights: [1, 3] });
    expect(fused.map((r) => r.id)).toEqual(['c', 'a', 'd', 'b']);
    expect(fused[0]!.score).toBeCloseTo(1 / 63 + 3 / 61, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 61 + 3 / 62, 12);
  });

  it('breaks ties by first appearance, scanning lists in the order given', () => {
    expect(reciprocalRankFusion([list(['x', 1]), list(['y', 1])]).map((r) => r.id)).toEqual(['x', 'y']);
    expect(reciprocalRankFusion([list(['y', 1]), list(['x', 1])]).map((r) => r.id)).toEqual(['y', 'x']);
  });

  it('counts an id repeated within one list at its first rank only', () => {
    const fused = reciprocalRankFusion([list(['a', 3], ['b', 2], ['a', 1])]);
    expect(fused.map((r) => [r.id, r.score, r.ranks])).toEqual([
      ['a', 1 / 61, [1]],
      ['b', 1 / 62, [2]],
    ]);
  });

  it('returns an empty list for empty input', () => {
    expect(reciprocalRankFusion([])).toEqual([]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  it('rejects a negative k and mismatched or negative weights', () => {
    expectCode(
      () => reciprocalRankFusion([bm25], { k: -1 }),
      'INVALID_OPTION',
      /k must be a finite number >= 0/,
    );
    expectCode(
      () => reciprocalRankFusion([bm25, vector], { weights: [1] }),
      'INVALID_OPTION',
      /one weight per list \(2\)/,
    );
    expectCode(() => reciprocalRankFusion([bm25], { weights: [-1] }), 'INVALID_OPTION', /weights\[0\]/);
  });
});

describe('weightedFusion', () => {
  // BM25 (−bm25()) and cosine scores on their natural, very different scales.
  const bm25 = list(['a', 12], ['b', 8], ['c', 2]);
  const vector = list(['b', 0.9], ['c', 0.8], ['d', 0.5]);

  it('min-max normalises each list before weighting (hand-computed)', () => {
    // bm25 → a 1, b 0.6, c 0; vector → b 1, c 0.75, d 0; an absent id gets 0.
    const fused = weightedFusion([bm25, vector], { weights: [0.5, 0.5], normalization: 'min-max' });
    expect(fused.map((r) => r.id)).toEqual(['b', 'a', 'c', 'd']);
    [0.8, 0.5, 0.375, 0].forEach((score, i) => {
      expect(fused[i]!.score).toBeCloseTo(score, 12);
    });
    expect(fused.map((r) => r.ranks)).toEqual([
      [2, 1],
      [1, null],
      [3, 2],
      [null, 3],
    ]);
  });

  it('z-score normalises each list; absent ids get the list’s lowest z-score (hand-computed)', () => {
    // [a 3, b 1] → z = [1, −1]; [z 30, y 20, a 10] → mean 20, std √(200/3) → z = [1.2247, 0, −1.2247].
    const fused = weightedFusion([list(['a', 3], ['b', 1]), list(['z', 30], ['y', 20], ['a', 10])], {
      weights: [1, 1],
      normalization: 'z-score',
    });
    const z = 10 / Math.sqrt(200 / 3);
    expect(fused.map((r) => r.id)).toEqual(['z', 'a', 'y', 'b']);
    expect(fused[0]!.score).toBeCloseTo(-1 + z, 12);
    expect(fused[1]!.score).toBeCloseTo(1 - z, 12);
    expect(fused[2]!.score).toBeCloseTo(-1, 12);
    expect(fused[3]!.score).toBeCloseTo(-1 - z, 12);
  });

  it('gives a list of equal scores 1 under min-max and 0 under z-score', () => {
    const flat = list(['p', 5], ['q', 5]);
    expect(weightedFusion([flat], { weights: [2], normalization: 'min-max' }).map((r) => r.score)).toEqual([
      2, 2,
    ]);
    expect(weightedFusion([flat], { weights: [2], normalization: 'z-score' }).map((r) => r.score)).toEqual([
      0, 0,
    ]);
  });

  it('weights decide between the lists', () => {
    const lexical = weightedFusion([bm25, vector], { weights: [1, 0], normalization: 'min-max' });
    expect(lexical.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    const semantic = weightedFusion([bm25, vector], { weights: [0, 1], normalization: 'min-max' });
    expect(semantic.map((r) => r.id)).toEqual(['b', 'c', 'a', 'd']);
  });

  it('rejects a missing normalisation, bad weights and non-finite scores', () => {
    expectCode(
      () => weightedFusion([bm25], { weights: [1], normalization: 'max' as 'min-max' }),
      'INVALID_OPTION',
      /normalization must be 'min-max' or 'z-score'/,
    );
    expectCode(
      () => weightedFusion([bm25, vector], { weights: [1, Number.NaN], normalization: 'min-max' }),
      'INVALID_OPTION',
      /weights\[1\]/,
    );
    expectCode(
      () =>
        weightedFusion([list(['a', Number.POSITIVE_INFINITY])], { weights: [1], normalization: 'z-score' }),
      'INVALID_OPTION',
      /lists\[0\]\[0\]\.score must be a finite number/,
    );
  });
});

describe('fuseHybrid agreement gate', () => {
  // Dense ranks d1, d2, s; BM25 ranks b1, b2, s: one unit (s) in both top 3s.
  const candidates: HybridCandidate[] = [
    { id: 'd1', semanticRank: 1, semantic: 0.9, bm25: 0.1 },
    { id: 'd2', semanticRank: 2, semantic: 0.8, bm25: 0 },
    { id: 's', semanticRank: 3, bm25Rank: 3, semantic: 0.7, bm25: 0.5 },
    { id: 'b1', bm25Rank: 1, semantic: 0.2, bm25: 0.9 },
    { id: 'b2', bm25Rank: 2, semantic: 0.1, bm25: 0.6 },
  ];
  const ids = (results: { id: string }[]) => results.map((r) => r.id);

  it('ranks by BM25 alone when fewer than minShared of the top units are shared', () => {
    const fused = fuseHybrid(candidates, {
      method: 'rrf',
      weights: { semantic: 1, bm25: 1 },
      agreement: { depth: 3, minShared: 2 },
    });
    expect(ids(fused)).toEqual(['b1', 'b2', 's', 'd1', 'd2']);
    // Scaled by the BM25-only ceiling 1 / (60 + 1): BM25's first is 1, dense-only units 0.
    expect(fused[0]).toMatchObject({ score: 1, rawScore: 1 / 61 });
    expect(fused[3]!.score).toBe(0);
  });

  it('fuses as usual when the sides share enough', () => {
    const gated = fuseHybrid(candidates, { method: 'rrf', agreement: { depth: 3, minShared: 1 } });
    expect(gated).toEqual(fuseHybrid(candidates, { method: 'rrf' }));
    // s is third on both sides: 2 / 63 beats 1 / 61.
    expect(ids(gated)[0]).toBe('s');
  });

  it('scores the fallback of weighted fusion by the BM25 score alone', () => {
    const fused = fuseHybrid(candidates, {
      method: 'weighted',
      weights: { semantic: 0.7, bm25: 0.3 },
      agreement: { depth: 2, minShared: 1 },
    });
    expect(fused.map((f) => [f.id, f.score])).toEqual([
      ['b1', 0.9],
      ['b2', 0.6],
      ['s', 0.5],
      ['d1', 0.1],
      ['d2', 0],
    ]);
  });

  it('keeps the dense ranking when BM25 found nothing', () => {
    const denseOnly = candidates.slice(0, 2).map(({ bm25: _bm25, ...c }) => c);
    const fused = fuseHybrid(denseOnly, { method: 'rrf', agreement: { depth: 10, minShared: 5 } });
    expect(ids(fused)).toEqual(['d1', 'd2']);
    expect(fused[0]!.score).toBeGreaterThan(0);
  });

  it('rejects a depth below 1 or a fractional minShared', () => {
    expectCode(
      () => fuseHybrid(candidates, { agreement: { depth: 0, minShared: 1 } }),
      'INVALID_OPTION',
      /agreement\.depth must be a whole number ≥ 1, got 0/,
    );
    expectCode(
      () => fuseHybrid(candidates, { agreement: { depth: 10, minShared: 1.5 } }),
      'INVALID_OPTION',
      /agreement\.minShared must be a whole number ≥ 0, got 1\.5/,
    );
  });
});

describe('maximalMarginalRelevance', () => {
  // Unit vectors; the query is (0.8, 0.6). Relevance: D 0.96, B 0.936, A 0.8, C 0.6.
  // Pairwise: A·B 0.96, A·C 0, A·D 0.6, B·C 0.28, B·D 0.8, C·D 0.8.
  const query = [0.8, 0.6];
  const candidates: MmrCandidate[] = [
    { id: 'A', vector: [1, 0], score: 0.31 },
    { id: 'B', vector: [0.96, 0.28], score: 0.32 },
    { id: 'C', vector: [0, 1], score: 0.33 },
    { id: 'D', vector: [0.6, 0.8], score: 0.34 },
  ];

  it('trades relevance for diversity at lambda 0.5 (hand-computed)', () => {
    const picked = maximalMarginalRelevance(query, candidates, { k: 4 });
    expect(picked.map((r) => r.id)).toEqual(['D', 'A', 'B', 'C']);
    // D: 0.5·0.96; A: 0.5·0.8 − 0.5·0.6; B: 0.5·0.936 − 0.5·0.96; C: 0.5·0.6 − 0.5·0.8.
    const expected = [0.48, 0.1, -0.012, -0.1];
    picked.forEach((r, i) => {
      expect(r.mmrScore).toBeCloseTo(expected[i]!, 12);
    });
    expect(picked.map((r) => r.score)).toEqual([0.34, 0.31, 0.32, 0.33]);
  });

  it('is plain relevance order at lambda 1', () => {
    expect(maximalMarginalRelevance(query, candidates, { k: 4, lambda: 1 }).map((r) => r.id)).toEqual([
      'D',
      'B',
      'A',
      'C',
    ]);
  });

  it('starts from the most relevant and then maximises diversity at lambda 0', () => {
    // After D: A −0.6, B −0.8, C −0.8 → A; then B −max(0.8, 0.96), C −max(0.8, 0) → C; then B.
    expect(maximalMarginalRelevance(query, candidates, { k: 4, lambda: 0 }).map((r) => r.id)).toEqual([
      'D',
      'A',
      'C',
      'B',
    ]);
  });

  it('stops at k and at the number of candidates', () => {
    expect(maximalMarginalRelevance(query, candidates, { k: 2 }).map((r) => r.id)).toEqual(['D', 'A']);
    expect(maximalMarginalRelevance(query, candidates, { k: 10 })).toHaveLength(4);
    expect(maximalMarginalRelevance(query, candidates, { k: 0 })).toEqual([]);
    expect(maximalMarginalRelevance(query, [], { k: 3 })).toEqual([]);
  });

  it('uses cosine similarity, so vector length does not matter', () => {
    const scaled = candidates.map((c, i) => ({ ...c, vector: Array.from(c.vector, (x) => x * (i + 2)) }));
    const picked = maximalMarginalRelevance([8, 6], scaled, { k: 4 });
    expect(picked.map((r) => r.id)).toEqual(['D', 'A', 'B', 'C']);
    expect(picked[1]!.mmrScore).toBeCloseTo(0.1, 12);
  });

  it('breaks ties in favour of the earlier candidate', () => {
    const twins: MmrCandidate[] = [
      { id: 'first', vector: new Float32Array([1, 0]), score: 1 },
      { id: 'second', vector: new Float32Array([1, 0]), score: 1 },
    ];
    expect(maximalMarginalRelevance([1, 0], twins, { k: 2 }).map((r) => r.id)).toEqual(['first', 'second']);
  });

  it('rejects vectors of another dimension and bad options', () => {
    expectCode(
      () => maximalMarginalRelevance([1, 0, 0], candidates, { k: 2 }),
      'DIMENSION_MISMATCH',
      /candidates\[0\] \(A\) has 2 dimensions, the query vector 3/,
    );
    expectCode(
      () => maximalMarginalRelevance(query, candidates, { k: 2, lambda: 1.5 }),
      'INVALID_OPTION',
      /lambda/,
    );
    expectCode(
      () => maximalMarginalRelevance(query, candidates, { k: 1.5 }),
      'INVALID_OPTION',
      /option "k" must be an integer/,
    );
  });
});

describe('cosine', () => {
  it('is 0 for a zero vector and 1 for parallel vectors', () => {
    expect(cosine([0, 0], [1, 2])).toBe(0);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 3])).toBe(0);
  });
});
