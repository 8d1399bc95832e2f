import { describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  compareCodePoints,
  evaluateRun,
  type Qrels,
  type Run,
  rankLikeTrecEval,
  type ScoredDocument,
} from '../../src/eval/metrics.js';

function qrelsOf(entries: Record<string, Record<string, number>>): Qrels {
  return new Map(Object.entries(entries).map(([q, docs]) => [q, new Map(Object.entries(docs))]));
}

function runOf(entries: Record<string, Record<string, number>>): Run {
  return new Map(
    Object.entries(entries).map(([q, docs]) => [
      q,
      Object.entries(docs).map(([docId, score]) => ({ docId, score })),
    ]),
  );
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(isLocalKbError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('evaluateRun against pytrec_eval reference outputs', () => {
  // The example from pytrec_eval's README and tests/pytrec_eval_tests.py (cvangysel/pytrec_eval), whose
  // printed output is: q1 ndcg 0.5, map 0.3333333333333333; q2 ndcg 0.6934264036172708, map 0.5833333333333333.
  const qrels = qrelsOf({ q1: { d1: 0, d2: 1, d3: 0 }, q2: { d2: 1, d3: 1 } });
  const run = runOf({ q1: { d1: 1.0, d2: 0.0, d3: 1.5 }, q2: { d1: 1.5, d2: 0.2, d3: 0.5 } });

  it('reproduces the README values of ndcg (as ndcg@1000) and map for both queries', () => {
    const result = evaluateRun(run, qrels, { k: [1000] });
    expect(result.perQuery.get('q1')?.['ndcg@1000']).toBeCloseTo(0.5, 14);
    expect(result.perQuery.get('q1')?.map).toBeCloseTo(0.3333333333333333, 14);
    expect(result.perQuery.get('q2')?.['ndcg@1000']).toBeCloseTo(0.6934264036172708, 14);
    expect(result.perQuery.get('q2')?.map).toBeCloseTo(0.5833333333333333, 14);
  });

  it('reproduces the ndcg_cut.1,2,3,1000 test values 0, 0, 0.5, 0.5 for q1', () => {
    const q1 = evaluateRun(run, qrels, { k: [1, 2, 3, 1000] }).perQuery.get('q1');
    expect([q1?.['ndcg@1'], q1?.['ndcg@2'], q1?.['ndcg@3'], q1?.['ndcg@1000']]).toEqual([0, 0, 0.5, 0.5]);
  });

  it('reproduces the rank-2 value 0.6309297535714575 (1 / log2(3))', () => {
    const rankTwo = runOf({ q1: { d1: 4.0, d2: 2.0, d3: 1.5 } });
    expect(evaluateRun(rankTwo, qrels, { k: [1000] }).perQuery.get('q1')?.['ndcg@1000']).toBeCloseTo(
      0.6309297535714575,
      15,
    );
  });
});

describe('evaluateRun with graded relevance', () => {
  // Judged: a=2, b=1, c=0, d=2 (3 relevant docs). Retrieved by score: a, b, c, e (unjudged), d.
  const qrels = qrelsOf({ q: { a: 2, b: 1, c: 0, d: 2 } });
  const run = runOf({ q: { a: 0.9, b: 0.8, c: 0.7, e: 0.6, d: 0.5 } });
  const values = evaluateRun(run, qrels, { k: [1, 3, 5, 10] }).perQuery.get('q') ?? {};

  it('uses the grade as gain and log2(rank + 1) as discount', () => {
    // DCG@5  = 2/log2(2) + 1/log2(3) + 0 + 0 + 2/log2(6) = 2 + 0.6309298 + 0.7737056 = 3.4046354
    // IDCG@5 = 2/log2(2) + 2/log2(3) + 1/log2(4)         = 2 + 1.2618595 + 0.5       = 3.7618595
    expect(values['ndcg@5']).toBeCloseTo(3.404635368040541 / 3.761859507142915, 14);
    expect(values['ndcg@5']).toBeCloseTo(0.9050405422041714, 14);
    // DCG@3 = 2 + 0.6309298 = 2.6309298; IDCG@3 = 3.7618595 (all three ideal docs fit in 3 ranks)
    expect(values['ndcg@3']).toBeCloseTo(0.6993694869720469, 14);
    // Rank 1 holds a grade-2 doc and the ideal rank 1 is grade 2: 2/2.
    expect(values['ndcg@1']).toBe(1);
  });

  it('counts relevant as grade > 0 for recall, precision and map', () => {
    // Relevant docs at ranks 1, 2 and 5.
    expect(values['recall@3']).toBeCloseTo(2 / 3, 15);
    expect(values['recall@5']).toBe(1);
    expect(values['precision@3']).toBeCloseTo(2 / 3, 15);
    // P@10 divides by 10 even though only 5 docs were retrieved: 3/10.
    expect(values['precision@10']).toBeCloseTo(0.3, 15);
    // AP = (1/1 + 2/2 + 3/5) / 3 = 2.6 / 3; map@3 = (1/1 + 2/2) / 3.
    expect(values.map).toBeCloseTo(2.6 / 3, 15);
    expect(values['map@3']).toBeCloseTo(2 / 3, 15);
    expect(values['mrr@10']).toBe(1);
    expect(values.recip_rank).toBe(1);
  });

  it('treats negative grades as non-relevant with no gain', () => {
    // a=-1 at rank 1 gains nothing; b=1 at rank 2: DCG = 1/log2(3), IDCG = 1.
    const result = evaluateRun(runOf({ q: { a: 0.9, b: 0.8 } }), qrelsOf({ q: { a: -1, b: 1 } }), {
      k: [10],
    });
    const q = result.perQuery.get('q') ?? {};
    expect(q['ndcg@10']).toBeCloseTo(0.6309297535714575, 15);
    expect(q.recip_rank).toBe(0.5);
  });
});

describe('evaluateRun tie-breaking', () => {
  it('ranks equal scores by document id descending, as trec_eval does, ignoring the run order', () => {
    // All three tie; trec_eval orders d3, d2, d1, so the relevant d1 is at rank 3:
    // recip_rank = 1/3, ndcg@10 = (1/log2(4)) / 1 = 0.5, P@1 = 0.
    const qrels = qrelsOf({ q: { d1: 1 } });
    const run = runOf({ q: { d1: 0.5, d2: 0.5, d3: 0.5 } });
    const q = evaluateRun(run, qrels, { k: [1, 10] }).perQuery.get('q') ?? {};
    expect(q.recip_rank).toBeCloseTo(1 / 3, 15);
    expect(q['ndcg@10']).toBe(0.5);
    expect(q['precision@1']).toBe(0);
  });

  it('keeps the run order for ties in mrr@k, as BEIR’s Python stable sort does', () => {
    // BEIR sorts (d1, d2, d3) by score with a stable sort: d1 stays first, so MRR@10 = 1.
    const qrels = qrelsOf({ q: { d1: 1 } });
    const run = runOf({ q: { d1: 0.5, d2: 0.5, d3: 0.5 } });
    expect(evaluateRun(run, qrels, { k: [10] }).perQuery.get('q')?.['mrr@10']).toBe(1);
  });

  it('compares ids as strings, so "9" sorts after "10" and comes first in descending order', () => {
    // strcmp("9", "10") > 0, so the descending tie order is 9, 10: the relevant "10" is at rank 2.
    const q = evaluateRun(runOf({ q: { '10': 1, '9': 1 } }), qrelsOf({ q: { '10': 1 } }), {
      k: [10],
    }).perQuery.get('q');
    expect(q?.recip_rank).toBe(0.5);
  });

  it('gives the same trec_eval metrics whatever order the run lists its documents in', () => {
    const qrels = qrelsOf({ q: { a: 1, c: 2, e: 1 } });
    const docs: ScoredDocument[] = [
      { docId: 'a', score: 0.3 },
      { docId: 'b', score: 0.9 },
      { docId: 'c', score: 0.3 },
      { docId: 'd', score: 0.1 },
      { docId: 'e', score: 0.9 },
    ];
    const forward = evaluateRun(new Map([['q', docs]]), qrels, { k: [2, 3] }).perQuery.get('q') ?? {};
    const backward =
      evaluateRun(new Map([['q', [...docs].reverse()]]), qrels, { k: [2, 3] }).perQuery.get('q') ?? {};
    for (const name of ['ndcg@2', 'ndcg@3', 'map', 'recall@2', 'precision@3', 'recip_rank']) {
      expect(backward[name]).toBe(forward[name]);
    }
    // Order: e(0.9) > b(0.9) by id desc, then c(0.3) > a(0.3), then d: grades 1, 0, 2, 1, 0.
    expect(rankLikeTrecEval(docs).map((doc) => doc.docId)).toEqual(['e', 'b', 'c', 'a', 'd']);
  });
});

describe('evaluateRun edge cases', () => {
  it('scores zero for a query whose retrieved docs are all non-relevant', () => {
    const result = evaluateRun(runOf({ q: { c: 3, d: 2, e: 1 } }), qrelsOf({ q: { a: 1, b: 1 } }), {
      k: [10],
    });
    const q = result.perQuery.get('q') ?? {};
    for (const name of result.metricNames) expect(q[name]).toBe(0);
  });

  it('fills ranks beyond a short list with non-relevant docs when k exceeds its length', () => {
    // Three relevant docs, two retrieved (a relevant, x not):
    // P@10 = 1/10; recall@10 = 1/3; map@10 = (1/1)/3;
    // ndcg@10 = 1 / (1 + 1/log2(3) + 1/log2(4)) = 1 / 2.1309298 = 0.4692787.
    const q =
      evaluateRun(runOf({ q: { a: 0.9, x: 0.8 } }), qrelsOf({ q: { a: 1, b: 1, c: 1 } }), {
        k: [10],
      }).perQuery.get('q') ?? {};
    expect(q['precision@10']).toBeCloseTo(0.1, 15);
    expect(q['recall@10']).toBeCloseTo(1 / 3, 15);
    expect(q['map@10']).toBeCloseTo(1 / 3, 15);
    expect(q['ndcg@10']).toBeCloseTo(0.46927872602275644, 14);
  });

  it('counts a judged query without relevant docs as zero in the mean, as pytrec_eval does', () => {
    // q1 has only a grade-0 judgment: all metrics 0. q2 is perfect: ndcg@10 1. Mean = (0 + 1) / 2.
    const result = evaluateRun(
      runOf({ q1: { a: 1 }, q2: { b: 1 } }),
      qrelsOf({ q1: { a: 0 }, q2: { b: 1 } }),
      {
        k: [10],
      },
    );
    expect(result.evaluatedQueries).toBe(2);
    expect(result.queriesWithoutRelevant).toEqual(['q1']);
    expect(result.mean['ndcg@10']).toBe(0.5);
  });

  it('leaves out judged queries missing from the run and run queries without judgments, and lists both', () => {
    const result = evaluateRun(
      runOf({ q1: { a: 1 }, stray: { a: 1 } }),
      qrelsOf({ q1: { a: 1 }, q2: { b: 1 } }),
      {
        k: [10],
      },
    );
    expect(result.evaluatedQueries).toBe(1);
    expect(result.mean['ndcg@10']).toBe(1);
    expect(result.queriesMissingFromRun).toEqual(['q2']);
    expect(result.queriesWithoutJudgments).toEqual(['stray']);
  });

  it('drops documents whose id equals the query id by default, like BEIR’s evaluate', () => {
    // Judged 7 and 8 relevant for query 7. Without doc 7 only doc 8 remains at rank 1:
    // ndcg@10 = 1 / (1 + 1/log2(3)) = 0.6131472, recall@10 = 1/2.
    const run = runOf({ '7': { '7': 0.9, '8': 0.8 } });
    const qrels = qrelsOf({ '7': { '7': 1, '8': 1 } });
    const dropped = evaluateRun(run, qrels, { k: [10] });
    expect(dropped.identicalIdsRemoved).toBe(1);
    expect(dropped.mean['ndcg@10']).toBeCloseTo(0.6131471927654584, 14);
    expect(dropped.mean['recall@10']).toBe(0.5);
    const kept = evaluateRun(run, qrels, { k: [10], ignoreIdenticalIds: false });
    expect(kept.identicalIdsRemoved).toBe(0);
    expect(kept.mean['ndcg@10']).toBe(1);
  });

  it('names metrics per cutoff, then map and recip_rank, with BEIR’s cutoffs by default', () => {
    const result = evaluateRun(runOf({ q: { a: 1 } }), qrelsOf({ q: { a: 1 } }));
    expect(result.k).toEqual([1, 3, 5, 10, 100, 1000]);
    expect(result.metricNames.slice(0, 5)).toEqual(['ndcg@1', 'map@1', 'recall@1', 'precision@1', 'mrr@1']);
    expect(result.metricNames.slice(-2)).toEqual(['map', 'recip_rank']);
    expect(Object.keys(result.mean)).toEqual(result.metricNames);
  });
});

describe('evaluateRun input validation', () => {
  const qrels = qrelsOf({ q: { a: 1 } });

  it('rejects a document retrieved twice for one query', () => {
    const run: Run = new Map([
      [
        'q',
        [
          { docId: 'a', score: 1 },
          { docId: 'a', score: 0.5 },
        ],
      ],
    ]);
    expectCode(() => evaluateRun(run, qrels), 'INVALID_OPTION');
  });

  it('rejects NaN scores, bad cutoffs and non-integer grades', () => {
    expectCode(
      () => evaluateRun(new Map([['q', [{ docId: 'a', score: Number.NaN }]]]), qrels),
      'INVALID_OPTION',
    );
    expectCode(() => evaluateRun(runOf({ q: { a: 1 } }), qrels, { k: [0] }), 'INVALID_OPTION');
    expectCode(() => evaluateRun(runOf({ q: { a: 1 } }), qrels, { k: [2.5] }), 'INVALID_OPTION');
    expectCode(() => evaluateRun(runOf({ q: { a: 1 } }), qrelsOf({ q: { a: 0.5 } })), 'INVALID_OPTION');
  });

  it('rejects a run that shares no query with the qrels', () => {
    expectCode(() => evaluateRun(runOf({ other: { a: 1 } }), qrels), 'INVALID_OPTION');
  });
});

describe('compareCodePoints', () => {
  it('orders like strcmp on UTF-8 bytes, unlike JavaScript’s UTF-16 comparison for astral characters', () => {
    // U+1F600 (UTF-8 F0 9F 98 80) sorts after U+FF5E (EF BD 9E); as UTF-16 its D83D surrogate sorts before FF5E.
    expect(compareCodePoints('\u{1F600}', '\uFF5E')).toBeGreaterThan(0);
    expect('\u{1F600}' < '\uFF5E').toBe(true);
    expect(compareCodePoints('9', '10')).toBeGreaterThan(0);
    expect(compareCodePoints('abc', 'abcd')).toBeLessThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });
});
