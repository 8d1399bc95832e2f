/**
 * OpenTelemetry spans of a local knowledge base, caught by the SDK's in-memory exporter: ingest, embed, retrieve and
 * generate, nested, with token and cost attributes; nothing when no tracer is given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import { BedrockConverseGenerator } from '../../src/generate/index.js';
import { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from '../../src/kb/local-knowledge-base.js';
import { estimateCost } from '../../src/observe/pricing.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';
import { CORPUS } from '../kb-contract/corpus.js';
import { MODEL, testClientConfig } from '../kb-contract/implementations.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
let emulator: BedrockEmulator;
let dir: string;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  emulator = await startBedrockEmulator();
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-tracing-'));
});
afterAll(async () => {
  await emulator.close();
  await provider.shutdown();
  context.disable();
  trace.disable();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => exporter.reset());

async function open(name: string, tracer?: LocalKnowledgeBaseOptions['tracer']) {
  return LocalKnowledgeBase.open(path.join(dir, `${name}.db`), {
    embedder: new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true }),
    embedWorkers: 0,
    generation: {
      generator: new BedrockConverseGenerator({ modelId: MODEL, clientConfig: testClientConfig(emulator) }),
    },
    ...(tracer !== undefined ? { tracer } : {}),
  });
}

const named = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('OpenTelemetry spans', () => {
  let kb: LocalKnowledgeBase;
  beforeAll(async () => {
    kb = await open('traced', provider.getTracer('test'));
  });
  afterAll(async () => {
    await kb.close();
  });

  it('traces an ingest with its counts, and each embedder call beneath it', async () => {
    const summary = await kb.ingest(CORPUS);
    const [ingest] = named('localkb.ingest');
    expect(ingest?.attributes).toMatchObject({
      'localkb.ingest.inputs': CORPUS.length,
      'localkb.ingest.documents_added': summary.documentsAdded,
      'localkb.ingest.chunks_embedded': summary.chunksEmbedded,
      'localkb.ingest.skipped': 0,
    });
    const embeds = named('localkb.embed');
    expect(embeds.length).toBeGreaterThan(0);
    for (const embed of embeds) {
      expect(parentOf(embed)).toBe(ingest?.spanContext().spanId);
      expect(embed.attributes).toMatchObject({
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.request.model': kb.embedder?.id,
        'localkb.embed.dimensions': kb.embedder?.dimensions,
      });
      expect(embed.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    }
    const texts = embeds.reduce((total, span) => total + Number(span.attributes['localkb.embed.texts']), 0);
    expect(texts).toBe(summary.chunksEmbedded);
  });

  it('traces retrieveAndGenerate: retrieve (with the query embedding) and generate beneath it, tokens and cost on both', async () => {
    const answer = await kb.retrieveAndGenerate('How do barn owls hunt?', { k: 2, searchType: 'semantic' });
    const [parent] = named('localkb.retrieve_and_generate');
    const [retrieve] = named('localkb.retrieve');
    const [generate] = named('localkb.generate');
    const [queryEmbed] = named('localkb.embed');
    expect(parentOf(retrieve!)).toBe(parent?.spanContext().spanId);
    expect(parentOf(generate!)).toBe(parent?.spanContext().spanId);
    expect(parentOf(queryEmbed!)).toBe(retrieve?.spanContext().spanId);
    expect(retrieve?.attributes).toMatchObject({
      'localkb.retrieve.k': 2,
      'localkb.retrieve.search_type': 'semantic',
      'localkb.retrieve.results': answer.retrievalResults.length,
      'localkb.retrieve.top_score': answer.retrievalResults[0]?.score,
    });
    const cost = estimateCost(MODEL, answer.usage!);
    expect(cost?.totalCost).toBeGreaterThan(0);
    expect(generate?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': MODEL,
      'gen_ai.response.model': MODEL,
      'gen_ai.usage.input_tokens': answer.usage?.inputTokens,
      'gen_ai.usage.output_tokens': answer.usage?.outputTokens,
      'localkb.cost.total_usd': cost?.totalCost,
    });
    expect(parent?.attributes).toMatchObject({
      'localkb.answer.citations': answer.citations.length,
      'gen_ai.usage.input_tokens': answer.usage?.inputTokens,
      'localkb.cost.total_usd': answer.cost?.totalCost,
    });
    // Queries and answers are not recorded: they may be private.
    expect(JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes))).not.toContain('owls');
  });

  it('traces a streamed answer until its last event', async () => {
    const events = [];
    for await (const event of kb.retrieveAndGenerateStream('How do barn owls hunt?', { k: 2 }))
      events.push(event);
    const done = events.find((event) => event.type === 'done');
    const [stream] = named('localkb.retrieve_and_generate');
    expect(stream?.attributes).toMatchObject({
      'localkb.stream': true,
      'gen_ai.usage.output_tokens': done?.type === 'done' ? done.answer.usage?.outputTokens : -1,
    });
    expect(named('localkb.generate')[0]?.attributes['localkb.stream']).toBe(true);
  });

  it('records a failure on its span as an exception with an error status', async () => {
    await expect(kb.retrieve('   ')).rejects.toMatchObject({ code: 'INVALID_QUERY' });
    const [failed] = named('localkb.retrieve');
    expect(failed?.status.code).toBe(2);
    expect(failed?.events.map((event) => event.name)).toContain('exception');
  });
});

describe('without a tracer', () => {
  it('records no span, even with a global tracer provider registered', async () => {
    trace.setGlobalTracerProvider(provider);
    const kb = await open('untraced');
    try {
      await kb.ingest(CORPUS.slice(0, 2));
      await kb.retrieveAndGenerate('bees', { k: 1 });
    } finally {
      await kb.close();
    }
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("tracer: true uses the global provider's localkb tracer", async () => {
    trace.setGlobalTracerProvider(provider);
    const kb = await open('global', true);
    try {
      await kb.ingest(CORPUS.slice(0, 2));
    } finally {
      await kb.close();
    }
    const [ingest] = named('localkb.ingest');
    expect(ingest?.instrumentationScope.name).toBe('localkb');
  });

  it('refuses a tracer option of the wrong type', async () => {
    await expect(open('wrong', 'yes' as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
