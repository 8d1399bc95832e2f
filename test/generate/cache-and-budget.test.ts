import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/cache/response-cache.js';
import { cachedEmbedder } from '../../src/embed/cached-embedder.js';
import { TitanEmbedder } from '../../src/embed/index.js';
import {
  BedrockConverseGenerator,
  Budget,
  budgetedGenerator,
  cachedGenerator,
} from '../../src/generate/index.js';
import { BedrockMetrics } from '../../src/observe/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { collect, emulatorClientConfig, rejectionOf } from './emulator-client.js';

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const ASK = [{ role: 'user' as const, content: 'What is a lighthouse?' }];
let emulator: BedrockEmulator;
let dir: string;
let cache: ResponseCache;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-cache-'));
});
afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.reset();
  cache?.close();
  cache = new ResponseCache(path.join(dir, `${Math.random()}.db`));
});

function converse(metrics?: BedrockMetrics) {
  return new BedrockConverseGenerator({
    modelId: MODEL,
    clientConfig: emulatorClientConfig(emulator),
    ...(metrics ? { onUsage: metrics.listener } : {}),
  });
}

describe('response cache', () => {
  it('answers a repeated request without calling the model, with zero usage reported as a cache hit', async () => {
    const metrics = new BedrockMetrics();
    const generator = cachedGenerator(converse(metrics), cache, { onUsage: metrics.listener });
    const first = await generator.generate(ASK, { maxTokens: 100 });
    const second = await generator.generate(ASK, { maxTokens: 100 });
    expect(second).toMatchObject({
      text: first.text,
      cached: true,
      usage: { inputTokens: 0, outputTokens: 0 },
    });
    expect(emulator.requests).toHaveLength(1);
    expect(metrics.snapshot(MODEL)).toMatchObject({ Invocations: 1, CacheHits: 1 });
  });

  it('keys on the parameters: another maxTokens calls the model again', async () => {
    const generator = cachedGenerator(converse(), cache);
    await generator.generate(ASK, { maxTokens: 100 });
    await generator.generate(ASK, { maxTokens: 50 });
    expect(emulator.requests).toHaveLength(2);
  });

  it('replays a cached answer as a stream of text events then done', async () => {
    const generator = cachedGenerator(converse(), cache);
    const live = await collect(generator.stream(ASK));
    const replay = await collect(generator.stream(ASK));
    const text = (events: typeof live) =>
      events.map((event) => (event.type === 'text' ? event.text : '')).join('');
    expect(text(replay)).toBe(text(live));
    expect(replay.filter((event) => event.type === 'text').length).toBeGreaterThan(1);
    expect(replay.at(-1)).toMatchObject({ type: 'done', generation: { cached: true } });
    expect(emulator.requests).toHaveLength(1);
  });

  it('expires entries after the TTL and keeps at most maxEntries', async () => {
    let now = 0;
    const small = new ResponseCache(path.join(dir, 'small.db'), {
      ttlMs: 1000,
      maxEntries: 2,
      now: () => now,
    });
    small.set('a', 'm', 1);
    small.set('b', 'm', 2);
    small.set('c', 'm', 3);
    expect(small.stats().entries).toBe(2);
    expect(small.get('a')).toBeUndefined();
    expect(small.get('c')).toBe(3);
    now = 1000;
    expect(small.get('c')).toBeUndefined();
    small.close();
  });

  it('embeds each text once across calls', async () => {
    const embedder = cachedEmbedder(
      new TitanEmbedder({
        modelId: 'amazon.titan-embed-text-v2:0',
        clientConfig: emulatorClientConfig(emulator),
      }),
      cache,
    );
    const [a] = await embedder.embedDocuments(['one lighthouse']);
    const [again, b] = await embedder.embedDocuments(['one lighthouse', 'two keepers']);
    expect(Array.from(again!)).toEqual(Array.from(a!).map((x) => Math.fround(x)));
    expect(b).toHaveLength(1024);
    expect(emulator.requests).toHaveLength(2);
  });
});

describe('budgets', () => {
  it('refuses a call whose tokens would pass maxTokensPerCall before sending it', async () => {
    const generator = budgetedGenerator(converse(), new Budget({ maxTokensPerCall: 500 }));
    const error = await rejectionOf(generator.generate(ASK, { maxTokens: 1000 }));
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED', input: 'maxTokensPerCall' });
    expect(emulator.requests).toHaveLength(0);
    await generator.generate(ASK, { maxTokens: 100 });
    expect(emulator.requests).toHaveLength(1);
  });

  it('stops at maxCostUsd using the pricing table and counts what calls really cost', async () => {
    const budget = new Budget({ maxCostUsd: 0.0002 });
    const generator = budgetedGenerator(converse(), budget);
    await generator.generate(ASK, { maxTokens: 100 });
    expect(budget.usage.spentUsd).toBeGreaterThan(0);
    await expect(generator.generate(ASK, { maxTokens: 200 })).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
    });
    expect(emulator.requests).toHaveLength(1);
  });

  it('caps tokens per minute and per lifetime, and concurrent requests', async () => {
    let now = 0;
    const perMinute = new Budget({ maxTokensPerMinute: 300 }, () => now);
    const generator = budgetedGenerator(converse(), perMinute);
    await generator.generate(ASK, { maxTokens: 200 });
    await expect(generator.generate(ASK, { maxTokens: 290 })).rejects.toMatchObject({
      input: 'maxTokensPerMinute',
    });
    now = 61_000;
    await generator.generate(ASK, { maxTokens: 290 });

    const concurrent = budgetedGenerator(converse(), new Budget({ maxConcurrentRequests: 1 }));
    emulator.faults.delay(200);
    const slow = concurrent.generate(ASK);
    await expect(concurrent.generate(ASK)).rejects.toMatchObject({ input: 'maxConcurrentRequests' });
    await slow;
    await expect(concurrent.generate(ASK)).resolves.toMatchObject({ text: expect.any(String) });
  });

  it('refuses unknown limits', () => {
    expect(() => new Budget({ maxDollars: 1 } as never)).toThrow(/Unknown budget limit "maxDollars"/);
  });
});
