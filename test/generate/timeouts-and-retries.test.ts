/**
 * Every remote call localkb makes ends: against real endpoints on 127.0.0.1 that never complete a handshake,
 * accept and never answer, or send headers and then stall, generators, streams, embedders, rerankers, managed
 * knowledge bases and serve's RetrieveAndGenerate fail with TIMEOUT naming the call, the endpoint, the timeout
 * and the option that raises it. Generators and embedders share one retry policy, so under 50% throttling both
 * succeed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BedrockAgentRuntimeClient, RetrieveAndGenerateCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CohereEmbedder, TitanEmbedder } from '../../src/embed/bedrock-embedders.js';
import type { LocalKbError } from '../../src/errors.js';
import { BedrockConverseGenerator, BedrockInvokeGenerator } from '../../src/generate/index.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { BedrockReranker } from '../../src/retrieve/bedrock-reranker.js';
import { startKnowledgeBaseServer } from '../../src/serve/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import {
  STALLED_STREAM_TEXT,
  type StalledEndpoint,
  startHeadersThenStallServer,
  startSilentServer,
  startUnreachableEndpoint,
} from '../helpers/stalled-servers.js';
import { CORPUS } from '../kb-contract/corpus.js';
import { collect, rejectionOf } from './emulator-client.js';

const KEYS = { accessKeyId: 'AKIDTIMEOUT', secretAccessKey: 'timeout-secret' };
const IDLE_MS = 300;
const FAST = { timeouts: { connectMs: 300, idleMs: IDLE_MS }, retry: { baseDelayMs: 1, maxDelayMs: 5 } };
const MESSAGES = [{ role: 'user' as const, content: 'Are you there?' }];

function config(target: StalledEndpoint) {
  return { endpoint: target.endpoint, region: 'us-east-1', credentials: KEYS };
}

let silent: StalledEndpoint;
let stalling: StalledEndpoint;

beforeAll(async () => {
  silent = await startSilentServer();
  stalling = await startHeadersThenStallServer();
});
afterAll(async () => {
  await silent.close();
  await stalling.close();
});

async function timeoutOf(promise: Promise<unknown>): Promise<LocalKbError> {
  const started = performance.now();
  const error = (await rejectionOf(promise)) as LocalKbError;
  // Two timed-out attempts at most, plus a little backoff: never the SDK's eight.
  expect(performance.now() - started).toBeLessThan(IDLE_MS * 2 + 3000);
  return error;
}

function expectTimeout(error: LocalKbError, target: StalledEndpoint, operation: string): void {
  expect(error.code).toBe('TIMEOUT');
  expect(error.message).toContain(operation);
  expect(error.message).toContain(target.endpoint);
  expect(error.message).toContain(`${IDLE_MS} ms (timeouts.idleMs)`);
  expect(error.message).toMatch(/raise it, e\.g\. \{ timeouts: \{ idleMs: \d+ \} \}/);
  expect(error.details).toMatchObject({ kind: 'idle', ms: IDLE_MS, endpoint: target.endpoint });
}

describe('an endpoint that accepts the connection and never answers', () => {
  it('ends generate with TIMEOUT after at most two attempts', async () => {
    const before = silent.connections;
    const generator = new BedrockConverseGenerator({ ...FAST, clientConfig: config(silent) });
    const error = await timeoutOf(generator.generate(MESSAGES));
    expectTimeout(error, silent, 'Converse');
    expect(error.input).toBe('anthropic.claude-3-haiku-20240307-v1:0');
    expect(silent.connections - before).toBe(2);
  });

  it('ends stream with TIMEOUT', async () => {
    const generator = new BedrockConverseGenerator({ ...FAST, clientConfig: config(silent) });
    expectTimeout(await timeoutOf(collect(generator.stream(MESSAGES))), silent, 'ConverseStream');
  });

  it('ends InvokeModel generation and its stream with TIMEOUT', async () => {
    const generator = new BedrockInvokeGenerator({
      ...FAST,
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      clientConfig: config(silent),
    });
    expectTimeout(await timeoutOf(generator.generate(MESSAGES)), silent, 'InvokeModel');
    expectTimeout(
      await timeoutOf(collect(generator.stream(MESSAGES))),
      silent,
      'InvokeModelWithResponseStream',
    );
  });

  it('ends Titan and Cohere embeddings with TIMEOUT', async () => {
    const titan = new TitanEmbedder({ ...FAST, clientConfig: config(silent) });
    expectTimeout(
      await timeoutOf(titan.embedDocuments(['one', 'two'])),
      silent,
      'amazon.titan-embed-text-v2:0',
    );
    const cohere = new CohereEmbedder({ ...FAST, clientConfig: config(silent) });
    expectTimeout(await timeoutOf(cohere.embedQuery('one')), silent, 'cohere.embed-english-v3');
  });

  it('ends a managed knowledge base retrieve and a Bedrock rerank with TIMEOUT', async () => {
    const managed = new BedrockKnowledgeBase({
      ...FAST,
      knowledgeBaseId: 'KBTIMEOUT1',
      clientConfig: config(silent),
    });
    expectTimeout(await timeoutOf(managed.retrieve('anything')), silent, 'KBTIMEOUT1');
    await managed.close();
    const reranker = new BedrockReranker({ ...FAST, clientConfig: config(silent) });
    const error = await timeoutOf(reranker.rerank('query', [{ id: 'd1', text: 'a document' }]));
    expectTimeout(error, silent, 'Rerank');
  });

  it('ends ask (retrieveAndGenerate) on a local knowledge base with TIMEOUT', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-timeout-'));
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), {
      embedder: 'none',
      generation: { generator: new BedrockConverseGenerator({ ...FAST, clientConfig: config(silent) }) },
    });
    try {
      await kb.ingest(CORPUS);
      expectTimeout(await timeoutOf(kb.retrieveAndGenerate('Why do honey bees dance?')), silent, 'Converse');
    } finally {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers serve's RetrieveAndGenerate with BadGatewayException naming the timeout", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-timeout-'));
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), {
      embedder: 'none',
      generation: { generator: new BedrockConverseGenerator({ ...FAST, clientConfig: config(silent) }) },
    });
    await kb.ingest(CORPUS);
    const server = await startKnowledgeBaseServer({ knowledgeBase: kb, credentials: KEYS });
    const client = new BedrockAgentRuntimeClient({
      ...config(silent),
      endpoint: server.endpoint,
      maxAttempts: 1,
    });
    try {
      const error = (await timeoutOf(
        client.send(
          new RetrieveAndGenerateCommand({
            input: { text: 'Why do honey bees dance?' },
            retrieveAndGenerateConfiguration: {
              type: 'KNOWLEDGE_BASE',
              knowledgeBaseConfiguration: {
                knowledgeBaseId: server.knowledgeBaseId,
                modelArn: 'anthropic.claude-3-haiku-20240307-v1:0',
              },
            },
          }),
        ),
      )) as Error & { $metadata?: { httpStatusCode?: number } };
      expect(error.name).toBe('BadGatewayException');
      expect(error.$metadata?.httpStatusCode).toBe(502);
      expect(error.message).toContain(`${silent.endpoint} sent nothing for ${IDLE_MS} ms (timeouts.idleMs)`);
    } finally {
      client.destroy();
      await server.close();
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an endpoint that sends headers and then stalls', () => {
  it('ends generate with TIMEOUT while the body is read', async () => {
    const generator = new BedrockConverseGenerator({ ...FAST, clientConfig: config(stalling) });
    expectTimeout(await timeoutOf(generator.generate(MESSAGES)), stalling, 'Converse');
  });

  it('ends a stream that stops between events with TIMEOUT, keeping the text received so far', async () => {
    const generator = new BedrockConverseGenerator({ ...FAST, clientConfig: config(stalling) });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of generator.stream(MESSAGES)) if (event.type === 'text') seen.push(event.text);
    })();
    const error = await timeoutOf(reading);
    expectTimeout(error, stalling, 'ConverseStream');
    expect(seen).toEqual([STALLED_STREAM_TEXT]);
    expect(error.details?.partialText).toBe(STALLED_STREAM_TEXT);
  });

  it('ends an embedding with TIMEOUT', async () => {
    const titan = new TitanEmbedder({ ...FAST, clientConfig: config(stalling) });
    expectTimeout(await timeoutOf(titan.embedQuery('one')), stalling, 'amazon.titan-embed-text-v2:0');
  });
});

describe('an endpoint whose handshake never completes', () => {
  let unreachable: StalledEndpoint;
  beforeAll(async () => {
    unreachable = await startUnreachableEndpoint();
  });
  afterAll(async () => {
    await unreachable.close();
  });

  it('ends generate with TIMEOUT naming timeouts.connectMs', async () => {
    const generator = new BedrockConverseGenerator({ ...FAST, clientConfig: config(unreachable) });
    const error = await timeoutOf(generator.generate(MESSAGES));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain(
      `no connection to ${unreachable.endpoint} within 300 ms (timeouts.connectMs)`,
    );
    expect(error.details).toMatchObject({ kind: 'connect', ms: 300 });
  });
});

describe('timeout and retry options', () => {
  it.each([
    [{ timeouts: { idleMs: 0 } }, 'timeouts.idleMs'],
    [{ timeouts: { connectMs: -1 } }, 'timeouts.connectMs'],
    [{ timeouts: { idleMs: Number.POSITIVE_INFINITY } }, 'timeouts.idleMs'],
    [{ timeouts: { idle: 5 } }, 'timeouts.idle'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ retry: { baseDelayMs: 10, maxDelayMs: 5 } }, 'retry.maxDelayMs'],
  ])('refuses %j with INVALID_OPTION', (options, input) => {
    for (const make of [
      () => new BedrockConverseGenerator(options as never),
      () => new TitanEmbedder(options as never),
    ]) {
      let error: LocalKbError | undefined;
      try {
        make();
      } catch (e) {
        error = e as LocalKbError;
      }
      expect(error?.code).toBe('INVALID_OPTION');
      expect(error?.input).toBe(input);
    }
  });
});

describe('timeouts from the environment (the CLI and serve take no options)', () => {
  afterEach(() => {
    delete process.env.LOCALKB_IDLE_TIMEOUT_MS;
    delete process.env.LOCALKB_CONNECT_TIMEOUT_MS;
  });

  it('uses LOCALKB_IDLE_TIMEOUT_MS when the code gives no timeouts, and names it in the error', async () => {
    process.env.LOCALKB_IDLE_TIMEOUT_MS = '250';
    const generator = new BedrockConverseGenerator({
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      clientConfig: config(silent),
    });
    const error = await timeoutOf(generator.generate(MESSAGES));
    expect(error.code).toBe('TIMEOUT');
    expect(error.details).toMatchObject({ kind: 'idle', ms: 250 });
    expect(error.message).toContain('LOCALKB_IDLE_TIMEOUT_MS=1000');
  });

  it('lets options in code win, and refuses a variable that is not a number of milliseconds', () => {
    process.env.LOCALKB_IDLE_TIMEOUT_MS = 'soon';
    expect(() => new TitanEmbedder({})).toThrow(/LOCALKB_IDLE_TIMEOUT_MS must be a whole number/);
    expect(() => new TitanEmbedder({ timeouts: { idleMs: 1000 } })).not.toThrow();
    process.env.LOCALKB_IDLE_TIMEOUT_MS = '';
    process.env.LOCALKB_CONNECT_TIMEOUT_MS = '0';
    expect(() => new TitanEmbedder({})).toThrow(/LOCALKB_CONNECT_TIMEOUT_MS/);
  });
});

describe('one retry policy under 50% throttling', () => {
  let emulator: BedrockEmulator;
  beforeAll(async () => {
    emulator = await startBedrockEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  afterEach(() => emulator.reset());

  async function outcomes(
    call: () => Promise<unknown>,
    calls = 40,
  ): Promise<{ ok: number; throttled: number }> {
    let ok = 0;
    let throttled = 0;
    for (let i = 0; i < calls; i++) {
      try {
        await call();
        ok += 1;
      } catch (error) {
        if ((error as LocalKbError).code !== 'THROTTLED') throw error;
        throttled += 1;
      }
    }
    return { ok, throttled };
  }

  it("fails some generations with the SDK's standard 3 attempts (the baseline, as before)", async () => {
    emulator.faults.throttleShare(0.5, { seed: 15 });
    const generator = new BedrockConverseGenerator({
      clientConfig: { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1) },
    });
    const result = await outcomes(() => generator.generate(MESSAGES));
    expect(result.throttled).toBeGreaterThan(0);
  });

  it('lets every generation and every embedding succeed with the shared policy', async () => {
    emulator.faults.throttleShare(0.5, { seed: 15 });
    const retry = { baseDelayMs: 1, maxDelayMs: 5 };
    const generator = new BedrockConverseGenerator({ clientConfig: emulator.clientConfig(), retry });
    expect(await outcomes(() => generator.generate(MESSAGES))).toEqual({ ok: 40, throttled: 0 });
    const streams = await outcomes(() => collect(generator.stream(MESSAGES)), 20);
    expect(streams).toEqual({ ok: 20, throttled: 0 });
    const embedder = new TitanEmbedder({ clientConfig: emulator.clientConfig(), retry, concurrency: 4 });
    expect(await outcomes(() => embedder.embedDocuments(['a', 'b', 'c', 'd']), 10)).toEqual({
      ok: 10,
      throttled: 0,
    });
    const statuses = emulator.requests.map((request) => request.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(statuses.length / 3);
  });
});
