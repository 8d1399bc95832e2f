import type { BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  approximateBedrockTokenCount,
  CohereEmbedder,
  type EmbeddingUsageEvent,
  TitanEmbedder,
} from '../../src/embed/bedrock-embedders.js';
import type { LocalKbError } from '../../src/errors.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';

let emulator: BedrockEmulator;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.reset());

function clientConfig(): BedrockRuntimeClientConfig {
  return { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1) };
}

const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5 };

function norm(vector: Float32Array): number {
  return Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
}

function texts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `Passage number ${i} about topic ${i % 7}.`);
}

// biome-ignore lint/suspicious/noExplicitAny: request bodies as the emulator recorded them
type Json = any;

async function rejection(promise: Promise<unknown>): Promise<LocalKbError> {
  try {
    await promise;
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a rejection');
}

/**
 * Records, each time the emulator answers, how many requests it holds unanswered: the in-flight count. The
 * emulator delays each answer long enough (80 ms) for every request the client has started to arrive.
 */
function trackInFlight(model: RegExp): number[] {
  const samples: number[] = [];
  emulator.respondTo(model, () => {
    samples.push(emulator.requests.filter((request) => request.status === 0).length);
    return {};
  });
  return samples;
}

describe('TitanEmbedder', () => {
  it('embeds with Titan v2 at the requested dimensions, normalised, one request per text', async () => {
    const embedder = new TitanEmbedder({ dimensions: 256, clientConfig: clientConfig() });
    expect(embedder.id).toBe('bedrock:amazon.titan-embed-text-v2:0:256');
    expect(embedder.maxInputTokens).toBe(8192);
    const vectors = await embedder.embedDocuments(['alpha', 'beta', 'alpha']);
    expect(vectors.map((v) => v.length)).toEqual([256, 256, 256]);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 5);
    expect([...vectors[0]!]).toEqual([...vectors[2]!]);
    expect([...vectors[0]!]).not.toEqual([...vectors[1]!]);
    expect(emulator.requests.map((r) => (r.body as Json).inputText).sort()).toEqual([
      'alpha',
      'alpha',
      'beta',
    ]);
    expect(emulator.requests[0]!.body).toMatchObject({ dimensions: 256, normalize: true });
    expect(emulator.requests[0]!.modelId).toBe('amazon.titan-embed-text-v2:0');
  });

  it('defaults Titan v2 to 1024 dimensions and embeds queries like documents', async () => {
    const embedder = new TitanEmbedder({ clientConfig: clientConfig() });
    expect(embedder.dimensions).toBe(1024);
    const query = await embedder.embedQuery('alpha');
    const [document] = await embedder.embedDocuments(['alpha']);
    expect(query.length).toBe(1024);
    expect([...query]).toEqual([...document!]);
  });

  it('embeds with Titan v1 at 1536 dimensions with only inputText in the body', async () => {
    const embedder = new TitanEmbedder({
      modelId: 'amazon.titan-embed-text-v1',
      clientConfig: clientConfig(),
    });
    expect(embedder.id).toBe('bedrock:amazon.titan-embed-text-v1:1536');
    const vector = await embedder.embedQuery('hello');
    expect(vector.length).toBe(1536);
    expect(norm(vector)).toBeCloseTo(1, 5);
    expect(emulator.requests[0]!.body).toEqual({ inputText: 'hello' });
  });

  it('rejects dimensions the model does not offer and non-Titan models', () => {
    expect(() => new TitanEmbedder({ dimensions: 768 as never })).toThrow(/256, 512, 1024/);
    expect(() => new TitanEmbedder({ modelId: 'amazon.titan-embed-text-v1', dimensions: 1024 })).toThrow(
      /1536/,
    );
    expect(() => new TitanEmbedder({ modelId: 'cohere.embed-english-v3' })).toThrow(/not a Titan/);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const inFlight = trackInFlight(/titan-embed/);
    emulator.faults.delay(80, { count: 12 });
    const embedder = new TitanEmbedder({ concurrency: 3, clientConfig: clientConfig() });
    const vectors = await embedder.embedDocuments(texts(12));
    expect(vectors).toHaveLength(12);
    expect(emulator.requests).toHaveLength(12);
    expect(Math.max(...inFlight)).toBe(3);
  });

  it('uses four requests in flight by default', async () => {
    const inFlight = trackInFlight(/titan-embed/);
    emulator.faults.delay(80, { count: 12 });
    await new TitanEmbedder({ clientConfig: clientConfig() }).embedDocuments(texts(12));
    expect(Math.max(...inFlight)).toBe(4);
  });

  it('returns vectors in input order whatever order the answers arrive in', async () => {
    const embedder = new TitanEmbedder({ dimensions: 256, concurrency: 4, clientConfig: clientConfig() });
    const inputs = texts(12);
    const expected = await Promise.all(inputs.map((text) => embedder.embedQuery(text)));
    emulator.faults.delay(60, { count: 1 });
    const batch = await embedder.embedDocuments(inputs);
    expect(batch.map((v) => [...v])).toEqual(expected.map((v) => [...v]));
  });

  it('retries throttled requests under the shared retry policy, then succeeds', async () => {
    const usage: EmbeddingUsageEvent[] = [];
    emulator.faults.throttle(5);
    const embedder = new TitanEmbedder({
      concurrency: 1,
      retry: FAST_RETRY,
      clientConfig: emulator.clientConfig(),
      onUsage: (event) => usage.push(event),
    });
    const vector = await embedder.embedQuery('persistent');
    expect(vector.length).toBe(1024);
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 429, 429, 429, 429, 200]);
    expect(usage.map((e) => [e.errorClass, e.throttledAttempts])).toEqual([[undefined, 5]]);
  });

  it('fails with THROTTLED when throttling outlasts retry.maxAttempts', async () => {
    emulator.faults.throttle(100);
    const embedder = new TitanEmbedder({
      concurrency: 1,
      retry: { ...FAST_RETRY, maxAttempts: 3 },
      clientConfig: emulator.clientConfig(),
    });
    const error = await rejection(embedder.embedQuery('x'));
    expect(error.code).toBe('THROTTLED');
    expect(error.input).toBe('amazon.titan-embed-text-v2:0');
    expect(error.message).toContain('retry.maxAttempts');
    expect(emulator.requests).toHaveLength(3);
  });

  it('stops starting requests after one fails and reports that failure', async () => {
    emulator.faults.error(1, 'ValidationException', 400, { message: 'Input is too long.' });
    emulator.faults.delay(20, { count: 40 });
    const embedder = new TitanEmbedder({ concurrency: 2, clientConfig: clientConfig() });
    const error = await rejection(embedder.embedDocuments(texts(40)));
    expect(error.code).toBe('BEDROCK_ERROR');
    expect(error.details).toMatchObject({ awsErrorName: 'ValidationException', status: 400 });
    expect(emulator.requests.length).toBeLessThanOrEqual(3);
  });

  it('reports progress after each request, ending at the total', async () => {
    const progress: [number, number][] = [];
    await new TitanEmbedder({ clientConfig: clientConfig() }).embedDocuments(texts(5), {
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(progress).toEqual([
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
      [5, 5],
    ]);
  });

  it('stops with ABORTED when the signal aborts, starting no further requests', async () => {
    emulator.faults.delay(200, { count: 20 });
    const controller = new AbortController();
    const pending = rejection(
      new TitanEmbedder({ concurrency: 2, clientConfig: clientConfig() }).embedDocuments(texts(20), {
        signal: controller.signal,
      }),
    );
    // Abort once both slots are in flight (not after a fixed time, which a loaded machine may not honour).
    while (emulator.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ABORTED');
    expect(emulator.requests).toHaveLength(2);
  });

  it('rejects empty texts naming which one', async () => {
    const error = await rejection(
      new TitanEmbedder({ clientConfig: clientConfig() }).embedDocuments(['ok', '  ']),
    );
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.input).toBe('texts[1]');
    expect(emulator.requests).toHaveLength(0);
  });

  it('reports a vector of the wrong length as DIMENSION_MISMATCH', async () => {
    emulator.respondTo(/titan-embed/, { embedding: [0.1, 0.2, 0.3] });
    const error = await rejection(new TitanEmbedder({ clientConfig: clientConfig() }).embedQuery('x'));
    expect(error.code).toBe('DIMENSION_MISMATCH');
  });

  it('reports an unreadable body as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.faults.malformed(1);
    const error = await rejection(new TitanEmbedder({ clientConfig: clientConfig() }).embedQuery('x'));
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });

  it('emits one usage event per request with Bedrock’s token count', async () => {
    const usage: EmbeddingUsageEvent[] = [];
    await new TitanEmbedder({ clientConfig: clientConfig(), onUsage: (e) => usage.push(e) }).embedDocuments([
      'a'.repeat(40),
      'b'.repeat(8),
    ]);
    expect(usage.map((e) => e.inputTokens).sort((a, b) => a - b)).toEqual([2, 10]);
    expect(usage.every((e) => e.operation === 'InvokeModel' && e.outputTokens === 0)).toBe(true);
  });
});

describe('CohereEmbedder', () => {
  it('sends documents in batches of at most 96 as search_document', async () => {
    const embedder = new CohereEmbedder({ clientConfig: clientConfig() });
    expect(embedder.id).toBe('bedrock:cohere.embed-english-v3:1024');
    expect(embedder.maxInputTokens).toBe(512);
    const inputs = texts(200);
    const vectors = await embedder.embedDocuments(inputs);
    expect(vectors).toHaveLength(200);
    expect(vectors.every((v) => v.length === 1024)).toBe(true);
    const bodies = emulator.requests.map((r) => r.body as Json);
    expect(bodies.map((b) => b.texts.length).sort((a, b) => b - a)).toEqual([96, 96, 8]);
    expect(bodies.every((b) => b.input_type === 'search_document' && b.truncate === 'END')).toBe(true);
    expect(bodies.flatMap((b) => b.texts).sort()).toEqual([...inputs].sort());
  });

  it('keeps input order across batches', async () => {
    const embedder = new CohereEmbedder({ batchSize: 3, clientConfig: clientConfig() });
    const inputs = texts(10);
    emulator.faults.delay(50, { count: 1 });
    const batched = await embedder.embedDocuments(inputs);
    emulator.reset();
    const single = await new CohereEmbedder({ batchSize: 1, clientConfig: clientConfig() }).embedDocuments(
      inputs,
    );
    expect(batched.map((v) => [...v])).toEqual(single.map((v) => [...v]));
  });

  it('embeds queries as search_query', async () => {
    const vector = await new CohereEmbedder({
      modelId: 'cohere.embed-multilingual-v3',
      clientConfig: clientConfig(),
    }).embedQuery('¿dónde está la biblioteca?');
    expect(vector.length).toBe(1024);
    expect(norm(vector)).toBeCloseTo(1, 5);
    expect(emulator.requests[0]!.body).toEqual({
      texts: ['¿dónde está la biblioteca?'],
      input_type: 'search_query',
      truncate: 'END',
    });
    expect(emulator.requests[0]!.modelId).toBe('cohere.embed-multilingual-v3');
  });

  it('keeps at most `concurrency` batches in flight', async () => {
    const inFlight = trackInFlight(/cohere\.embed/);
    emulator.faults.delay(80, { count: 6 });
    await new CohereEmbedder({ batchSize: 10, concurrency: 2, clientConfig: clientConfig() }).embedDocuments(
      texts(60),
    );
    expect(emulator.requests).toHaveLength(6);
    expect(Math.max(...inFlight)).toBe(2);
  });

  it('rejects batch sizes over 96 and non-v3 models', () => {
    expect(() => new CohereEmbedder({ batchSize: 97 })).toThrow(/batchSize/);
    expect(() => new CohereEmbedder({ modelId: 'amazon.titan-embed-text-v2:0' })).toThrow(/Cohere Embed v3/);
  });

  it('reports a count of embeddings that does not match the batch as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.respondTo(/cohere\.embed/, {
      body: { embeddings: [[0.1]], response_type: 'embeddings_floats' },
    });
    const error = await rejection(
      new CohereEmbedder({ clientConfig: clientConfig() }).embedDocuments(['a', 'b']),
    );
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });
});

describe('approximateBedrockTokenCount', () => {
  it('counts conservatively: a third of ASCII characters, one per other character', () => {
    expect(approximateBedrockTokenCount('')).toBe(0);
    expect(approximateBedrockTokenCount('abcdef')).toBe(2);
    expect(approximateBedrockTokenCount('abcdefg')).toBe(3);
    expect(approximateBedrockTokenCount('日本語')).toBe(3);
  });

  it('overestimates English against the common 4-characters-per-token rule', async () => {
    const counter = await new CohereEmbedder().tokenCounter();
    const english = 'The quick brown fox jumps over the lazy dog. '.repeat(40);
    expect(counter.count(english)).toBeGreaterThan(english.length / 4);
  });
});
