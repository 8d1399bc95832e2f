import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, type Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isLocalKbError } from '../../src/errors.js';
import { CrossEncoderReranker } from '../../src/retrieve/cross-encoder-reranker.js';
import type { RerankDocument } from '../../src/retrieve/rerank.js';
import { TINY_CROSS_ENCODER_PATH } from '../helpers/models.js';

// The generated model has random weights: these tests check the mechanics (encoding, batching, truncation,
// ordering, loading), not that relevant passages win.
const DOCUMENTS: RerankDocument[] = [
  { id: 'cat', text: 'the cat sat on the mat' },
  { id: 'gluons', text: 'quantum chromodynamics describes gluons and quarks' },
  { id: 'bread', text: 'bake the bread at two hundred degrees for forty minutes' },
  { id: 'short', text: 'rome' },
];
const QUERY = 'where did the cat sit';

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: ErrorCode; input?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: ErrorCode };
  }
  throw new Error('expected a rejection');
}

function scoresById(results: { id: string; score: number }[]): Map<string, number> {
  return new Map(results.map((r) => [r.id, r.score]));
}

describe('CrossEncoderReranker on the generated tiny cross-encoder', () => {
  let reranker: CrossEncoderReranker;
  beforeAll(async () => {
    reranker = new CrossEncoderReranker({ modelPath: TINY_CROSS_ENCODER_PATH, dtype: 'fp32', offline: true });
    await reranker.init();
  });
  afterAll(async () => {
    await reranker.close();
  });

  it('scores each pair as transformers.js encodes a text pair, through a sigmoid', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(TINY_CROSS_ENCODER_PATH, {
      local_files_only: true,
    });
    const model = await AutoModelForSequenceClassification.from_pretrained(TINY_CROSS_ENCODER_PATH, {
      local_files_only: true,
      dtype: 'fp32',
    });
    const inputs = tokenizer(
      DOCUMENTS.map(() => QUERY),
      { text_pair: DOCUMENTS.map((d) => d.text), padding: true, truncation: true },
    );
    const { logits } = (await model(inputs)) as { logits: Tensor };
    const expected = Array.from(logits.data as Float32Array, (logit) => 1 / (1 + Math.exp(-logit)));
    await model.dispose();

    const scores = scoresById(await reranker.rerank(QUERY, DOCUMENTS));
    DOCUMENTS.forEach((document, i) => {
      expect(scores.get(document.id)).toBeCloseTo(expected[i]!, 5);
    });
    // Random weights still separate the passages, so the order check below is not vacuous.
    expect(new Set(expected.map((s) => s.toFixed(4))).size).toBe(DOCUMENTS.length);
  });

  it('returns every document best first, with its input index, and cuts to topN', async () => {
    const results = await reranker.rerank(QUERY, DOCUMENTS);
    expect(results.map((r) => r.id).sort()).toEqual(DOCUMENTS.map((d) => d.id).sort());
    for (const r of results) expect(DOCUMENTS[r.index]!.id).toBe(r.id);
    for (let i = 1; i < results.length; i++)
      expect(results[i - 1]!.score).toBeGreaterThanOrEqual(results[i]!.score);
    const top = await reranker.rerank(QUERY, DOCUMENTS, { topN: 2 });
    expect(top).toEqual(results.slice(0, 2));
  });

  it('gives the same score whatever the batch size or document order', async () => {
    const single = new CrossEncoderReranker({
      modelPath: TINY_CROSS_ENCODER_PATH,
      dtype: 'fp32',
      offline: true,
      batchSize: 1,
    });
    try {
      const batched = scoresById(await reranker.rerank(QUERY, DOCUMENTS));
      const oneByOne = scoresById(await single.rerank(QUERY, [...DOCUMENTS].reverse()));
      for (const document of DOCUMENTS)
        expect(oneByOne.get(document.id)).toBeCloseTo(batched.get(document.id)!, 5);
    } finally {
      await single.close();
    }
  });

  it("returns raw logits with activation 'none'", async () => {
    const raw = new CrossEncoderReranker({
      modelPath: TINY_CROSS_ENCODER_PATH,
      dtype: 'fp32',
      offline: true,
      activation: 'none',
    });
    try {
      const logits = scoresById(await raw.rerank(QUERY, DOCUMENTS));
      const probabilities = scoresById(await reranker.rerank(QUERY, DOCUMENTS));
      // sigmoid(logit) reproduces the default scores, which a second sigmoid over probabilities would not.
      for (const [id, logit] of logits)
        expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(probabilities.get(id)!, 6);
    } finally {
      await raw.close();
    }
  });

  it('cuts long pairs from the passage end and keeps the whole query', async () => {
    const short = new CrossEncoderReranker({
      modelPath: TINY_CROSS_ENCODER_PATH,
      dtype: 'fp32',
      offline: true,
      maxLength: 24,
    });
    try {
      const words =
        'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';
      const documents = [
        { id: 'long', text: `${words} ${words} ${words}` },
        { id: 'longer', text: `${words} ${words} ${words} sixteen seventeen eighteen` },
        { id: 'different', text: `ten ${words}` },
      ];
      const scores = scoresById(await short.rerank('cat on a mat', documents));
      expect(scores.get('longer')).toBeCloseTo(scores.get('long')!, 6);
      expect(scores.get('different')).not.toBeCloseTo(scores.get('long')!, 4);
      // The query survives truncation: changing its last word changes the score of the same long passage.
      const other = scoresById(await short.rerank('cat on a rug', documents));
      expect(other.get('long')).not.toBeCloseTo(scores.get('long')!, 4);
    } finally {
      await short.close();
    }
  });

  it('reads passages longer than the model allows without failing', async () => {
    const results = await reranker.rerank(QUERY, [{ id: 'huge', text: 'cat '.repeat(5000) }]);
    expect(results).toHaveLength(1);
    expect(Number.isFinite(results[0]!.score)).toBe(true);
  });

  it('returns nothing for no documents', async () => {
    expect(await reranker.rerank(QUERY, [])).toEqual([]);
  });

  it('rejects an empty query, malformed documents and a bad topN', async () => {
    expect((await rejection(reranker.rerank('  ', DOCUMENTS))).code).toBe('INVALID_QUERY');
    const badDocument = await rejection(reranker.rerank(QUERY, [{ id: 'x' } as RerankDocument]));
    expect(badDocument.code).toBe('INVALID_OPTION');
    expect(badDocument.message).toMatch(/documents\[0\] must be \{ id: string, text: string \}/);
    expect((await rejection(reranker.rerank(QUERY, DOCUMENTS, { topN: 0 }))).code).toBe('INVALID_OPTION');
  });

  it('stops with ABORTED when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(reranker.rerank(QUERY, DOCUMENTS, { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
  });
});

describe('CrossEncoderReranker loading', () => {
  let emptyDir: string;
  beforeAll(() => {
    emptyDir = mkdtempSync(path.join(tmpdir(), 'localkb-rerank-'));
  });
  afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

  it('reports MODEL_NOT_FOUND naming the missing files of a model folder', async () => {
    const error = await rejection(new CrossEncoderReranker({ modelPath: emptyDir }).init());
    expect(isLocalKbError(error, 'MODEL_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('LOCALKB_RERANK_MODEL_PATH');
    expect(error.message).toContain('onnx/model_quantized.onnx');
    expect(error.input).toBe(emptyDir);
  });

  it('reports MODEL_NOT_FOUND with instructions when offline and not cached', async () => {
    const error = await rejection(new CrossEncoderReranker({ cacheDir: emptyDir, offline: true }).init());
    expect(isLocalKbError(error, 'MODEL_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('Xenova/ms-marco-MiniLM-L-6-v2');
    expect(error.message).toContain('offline');
    expect(error.message).toContain(`models--Xenova--ms-marco-MiniLM-L-6-v2`);
    expect(error.message).toContain(emptyDir);
  });

  it('takes the model folder from LOCALKB_RERANK_MODEL_PATH', async () => {
    const previous = process.env.LOCALKB_RERANK_MODEL_PATH;
    process.env.LOCALKB_RERANK_MODEL_PATH = TINY_CROSS_ENCODER_PATH;
    try {
      const reranker = new CrossEncoderReranker({ offline: true });
      expect(reranker.id).toBe('cross-encoder:tiny-cross-encoder:q8');
      const results = await reranker.rerank(QUERY, DOCUMENTS, { topN: 1 });
      expect(results).toHaveLength(1);
      await reranker.close();
    } finally {
      if (previous === undefined) delete process.env.LOCALKB_RERANK_MODEL_PATH;
      else process.env.LOCALKB_RERANK_MODEL_PATH = previous;
    }
  });

  it('rejects unknown options and a maxLength beyond the model', async () => {
    expect(() => new CrossEncoderReranker({ dtpye: 'q8' } as never)).toThrow(
      /CrossEncoderReranker: unknown option "dtpye"; did you mean "dtype"\?/,
    );
    expect(() => new CrossEncoderReranker({ activation: 'softmax' as never })).toThrow(/activation must be/);
    const error = await rejection(
      new CrossEncoderReranker({
        modelPath: TINY_CROSS_ENCODER_PATH,
        offline: true,
        maxLength: 100_000,
      }).init(),
    );
    expect(isLocalKbError(error, 'INVALID_OPTION')).toBe(true);
    expect(error.message).toMatch(/at most 512/);
  });
});
