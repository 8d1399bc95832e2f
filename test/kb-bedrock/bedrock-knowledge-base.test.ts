/**
 * BedrockKnowledgeBase beyond the shared contract: Bedrock's request fields, paging, retries, error mapping and
 * configuration, all over the wire against the emulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/index.js';
import { isLocalKbError, type LocalKbError } from '../../src/errors.js';
import { BedrockKnowledgeBaseAdmin } from '../../src/kb/bedrock-kb-admin.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { AnswerStreamEvent } from '../../src/kb/types.js';
import type { UsageEvent } from '../../src/observe/usage.js';
import { type BedrockEmulator, type RecordedRequest, startBedrockEmulator } from '../../src/testing/index.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';
import { CORPUS } from '../kb-contract/corpus.js';
import { MODEL, openManaged, testClientConfig } from '../kb-contract/implementations.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read recorded request bodies of several shapes
type Json = any;

let emulator: BedrockEmulator;
let knowledgeBaseId: string;
let closeManaged: () => Promise<void>;
let kb: BedrockKnowledgeBase;

beforeAll(async () => {
  emulator = await startBedrockEmulator({ transitionMs: 1 });
  const managed = await openManaged(emulator, 'adapter');
  knowledgeBaseId = managed.knowledgeBaseId;
  closeManaged = managed.close;
  kb = managed.kb as BedrockKnowledgeBase;
  await kb.ingest(CORPUS);
});
afterAll(async () => {
  await closeManaged();
  await emulator.close();
});
beforeEach(() => emulator.reset());

async function rejection(promise: Promise<unknown> | AsyncIterable<unknown>): Promise<LocalKbError> {
  try {
    if (Symbol.asyncIterator in promise) for await (const _ of promise);
    else await promise;
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a rejection');
}

const calls = (operation: string): RecordedRequest[] =>
  emulator.requests.filter((r) => r.operation === operation);
const bodyOf = (operation: string): Json => calls(operation).at(-1)?.body;

function openOn(
  target: BedrockEmulator,
  id: string,
  extra: Partial<ConstructorParameters<typeof BedrockKnowledgeBase>[0]> = {},
) {
  return new BedrockKnowledgeBase({
    knowledgeBaseId: id,
    clientConfig: testClientConfig(target),
    pollIntervalMs: 5,
    ...extra,
  });
}

describe('retrieve', () => {
  it('sends numberOfResults, the search type and the filter as Bedrock fields', async () => {
    const filter = {
      andAll: [{ equals: { key: 'topic', value: 'birds' } }, { greaterThan: { key: 'year', value: 2016 } }],
    };
    await kb.retrieve('field notes', { k: 7, filter }).catch(() => undefined);
    const body = bodyOf('Retrieve');
    expect(body.retrievalQuery).toEqual({ text: 'field notes' });
    expect(body.retrievalConfiguration.vectorSearchConfiguration).toEqual({ numberOfResults: 7, filter });
    // A BM25-only store behind the emulator refuses vector search: the search type reached it.
    const error = await rejection(kb.retrieve('field notes', { searchType: 'semantic' }));
    expect(bodyOf('Retrieve').retrievalConfiguration.vectorSearchConfiguration.overrideSearchType).toBe(
      'SEMANTIC',
    );
    expect(error.code).toBe('KNOWLEDGE_BASE_ERROR');
    expect(error.details).toMatchObject({
      operation: 'Retrieve',
      awsErrorName: 'ValidationException',
      status: 400,
    });
  });

  it('refuses searchType bm25, which Bedrock does not have, before calling it', async () => {
    const error = await rejection(kb.retrieve('bees', { searchType: 'bm25' }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toMatch(/hybrid|semantic/i);
    expect(calls('Retrieve')).toHaveLength(0);
  });

  it('refuses k above Bedrock’s limit of 100', async () => {
    expect((await rejection(kb.retrieve('bees', { k: 101 }))).code).toBe('INVALID_OPTION');
  });

  it('follows nextToken until it has k results', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-paging-'));
    const local = await LocalKnowledgeBase.open(path.join(dir, 'paged.db'), { embedder: 'none' });
    await local.ingest(CORPUS);
    const paged = await startBedrockEmulator({ retrievePageSize: 2, knowledgeBases: { PAGEDKB001: local } });
    const managed = openOn(paged, 'PAGEDKB001');
    try {
      const results = await managed.retrieve('field notes', { k: 5 });
      const expected = await local.retrieve('field notes', { k: 5 });
      expect(results.map((r) => [r.documentId, r.score])).toEqual(
        expected.map((r) => [r.documentId, r.score]),
      );
      const retrieves = paged.requests.filter((r) => r.operation === 'Retrieve');
      expect(retrieves).toHaveLength(3);
      expect((retrieves[0]!.body as Json).nextToken).toBeUndefined();
      expect((retrieves[1]!.body as Json).nextToken).toEqual(expect.any(String));
    } finally {
      await managed.close();
      await paged.close();
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('retries throttled calls with backoff and counts the throttled attempts', async () => {
    const usage: UsageEvent[] = [];
    const counted = openOn(emulator, knowledgeBaseId, { onUsage: (event) => usage.push(event) });
    emulator.faults.throttle(2, { operation: 'Retrieve' });
    const results = await counted.retrieve('honey bees', { k: 1 });
    expect(results[0]?.documentId).toBe('bees');
    expect(calls('Retrieve').map((r) => [r.attempt, r.status])).toEqual([
      [1, 429],
      [2, 429],
      [3, 200],
    ]);
    expect(counted.throttledAttempts).toBe(2);
    expect(usage).toEqual([
      expect.objectContaining({ operation: 'Retrieve', modelId: knowledgeBaseId, throttledAttempts: 2 }),
    ]);
    expect((await counted.stats()).throttledAttempts).toBe(2);
    await counted.close();
  });

  it('reports THROTTLED naming the operation when throttling outlasts the retries', async () => {
    emulator.faults.throttle(5, { operation: 'Retrieve' });
    const error = await rejection(kb.retrieve('honey bees'));
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toContain('Retrieve');
    expect(error.details).toMatchObject({ operation: 'Retrieve', attempts: 3, status: 429 });
  });

  it('maps an unknown knowledge base to KNOWLEDGE_BASE_ERROR with the AWS error and a fix', async () => {
    const missing = openOn(emulator, 'NOSUCHKB01');
    const error = await rejection(missing.retrieve('bees'));
    expect(error.code).toBe('KNOWLEDGE_BASE_ERROR');
    expect(error.input).toBe('NOSUCHKB01');
    expect(error.message).toMatch(
      /Retrieve on knowledge base NOSUCHKB01 failed \(ResourceNotFoundException 404\)/,
    );
    expect(error.message).toContain('check the knowledge base id');
    await missing.close();
  });

  it('rejects with ABORTED when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(kb.retrieve('bees', { signal: controller.signal }))).code).toBe('ABORTED');
  });
});

describe('retrieveAndGenerate', () => {
  it('turns a bare model id into a foundation-model ARN and passes ARNs and inference profiles as they are', async () => {
    await kb.retrieveAndGenerate('Why do bees dance?');
    const modelArn = () =>
      bodyOf('RetrieveAndGenerate').retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.modelArn;
    expect(modelArn()).toBe(`arn:aws:bedrock:us-east-1::foundation-model/${MODEL}`);
    await kb.retrieveAndGenerate('Why do bees dance?', { modelId: `us.${MODEL}` });
    expect(modelArn()).toBe(`us.${MODEL}`);
    const arn = `arn:aws:bedrock:us-east-1::foundation-model/${MODEL}`;
    await kb.retrieveAndGenerate('Why do bees dance?', { modelId: arn });
    expect(modelArn()).toBe(arn);
  });

  it('sends the prompt template, inference config and guardrail, and the model follows them', async () => {
    emulator.respondTo(/claude/, (request) => ({
      text: (request.body as Json).prompt.includes('FIELD-GUIDE TEMPLATE')
        ? 'Template used [1].'
        : 'Default prompt.',
    }));
    const answer = await kb.retrieveAndGenerate('Why do bees dance?', {
      promptTemplate: 'FIELD-GUIDE TEMPLATE\n$search_results$\nQuestion: $query$',
      inferenceConfig: { maxTokens: 300, temperature: 0.2, topP: 0.9, stopSequences: ['STOP'] },
      guardrail: { id: 'gr-123', version: '2' },
    });
    const generation =
      bodyOf('RetrieveAndGenerate').retrieveAndGenerateConfiguration.knowledgeBaseConfiguration
        .generationConfiguration;
    expect(generation).toEqual({
      promptTemplate: { textPromptTemplate: 'FIELD-GUIDE TEMPLATE\n$search_results$\nQuestion: $query$' },
      inferenceConfig: {
        textInferenceConfig: { maxTokens: 300, temperature: 0.2, topP: 0.9, stopSequences: ['STOP'] },
      },
      guardrailConfiguration: { guardrailId: 'gr-123', guardrailVersion: '2' },
    });
    // Bedrock answers plain text, citations beside it
    expect(answer.text).toBe('Template used.');
    expect(answer.guardrailAction).toBe('NONE');
  });

  it('applies stop sequences on the generating side', async () => {
    const answer = await kb.retrieveAndGenerate('Why do honey bees dance?', {
      inferenceConfig: { stopSequences: [' where'] },
    });
    expect(answer.text).toBe('Honey bees dance to tell their hive');
  });

  it('reports a guardrail intervention', async () => {
    emulator.respondTo(/claude/, { guardrailIntervention: true, text: 'Sorry, I cannot answer that.' });
    const answer = await kb.retrieveAndGenerate('Why do bees dance?', {
      guardrail: { id: 'gr-1', version: 'DRAFT' },
    });
    expect(answer).toMatchObject({
      text: 'Sorry, I cannot answer that.',
      guardrailAction: 'INTERVENED',
      citations: [],
    });
  });

  it('requires $search_results$ in a prompt template', async () => {
    expect(
      (await rejection(kb.retrieveAndGenerate('bees?', { promptTemplate: 'Answer: $query$' }))).code,
    ).toBe('INVALID_OPTION');
  });

  it('reports a stream broken after some text as STREAM_INTERRUPTED with the text so far', async () => {
    emulator.faults.failStreamAfter(3, {
      operation: 'RetrieveAndGenerateStream',
      exceptionType: 'internalServerException',
    });
    const events: AnswerStreamEvent[] = [];
    let error: LocalKbError | undefined;
    try {
      for await (const event of kb.retrieveAndGenerateStream('Why do honey bees dance?')) events.push(event);
    } catch (caught) {
      error = caught as LocalKbError;
    }
    expect(error?.code).toBe('STREAM_INTERRUPTED');
    const partial = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    // the space after 'dance' is held back until it is known not to precede a [n] marker
    expect(partial).toBe('Honey bees dance');
    expect(error?.details).toMatchObject({ partialText: partial, awsErrorName: 'InternalServerException' });
  });

  it('reports a stream refused before any text with the mapped error, not STREAM_INTERRUPTED', async () => {
    emulator.faults.error(1, 'AccessDeniedException', 403, { operation: 'RetrieveAndGenerateStream' });
    const error = await rejection(kb.retrieveAndGenerateStream('Why do bees dance?'));
    expect(error.code).toBe('KNOWLEDGE_BASE_ERROR');
    expect(error.details).toMatchObject({
      operation: 'RetrieveAndGenerateStream',
      awsErrorName: 'AccessDeniedException',
    });
  });
});

describe('ingest, delete and stats', () => {
  it('sends inline text with metadata attributes of each Bedrock type, markdown as bytes with its MIME type', async () => {
    const summary = await kb.ingest([
      {
        id: 'note-1',
        text: 'Frogs call at dusk.',
        metadata: { pond: 'north', depth: 2, wet: true, tags: ['frogs'] },
      },
      { id: 'note-2', text: '# Newts\n\nNewts hide under stones.', format: 'markdown' },
    ]);
    expect(summary).toMatchObject({ documentsAdded: 2, skipped: [] });
    const [plain, markdown] = (bodyOf('IngestKnowledgeBaseDocuments') as Json).documents;
    expect(plain.content.custom).toEqual({
      customDocumentIdentifier: { id: 'note-1' },
      sourceType: 'IN_LINE',
      inlineContent: { type: 'TEXT', textContent: { data: 'Frogs call at dusk.' } },
    });
    expect(plain.metadata).toEqual({
      type: 'IN_LINE_ATTRIBUTE',
      inlineAttributes: [
        { key: 'pond', value: { type: 'STRING', stringValue: 'north' } },
        { key: 'depth', value: { type: 'NUMBER', numberValue: 2 } },
        { key: 'wet', value: { type: 'BOOLEAN', booleanValue: true } },
        { key: 'tags', value: { type: 'STRING_LIST', stringListValue: ['frogs'] } },
      ],
    });
    expect(markdown.content.custom.inlineContent.type).toBe('BYTE');
    expect(markdown.content.custom.inlineContent.byteContent.mimeType).toBe('text/markdown');
    const [newts] = await kb.retrieve('newts stones', { k: 1 });
    expect(newts).toMatchObject({ documentId: 'note-2', metadata: { 'x-localkb-title': 'Newts' } });
    expect(await kb.delete('note-1')).toBe(true);
    expect(await kb.delete('note-2')).toBe(true);
  });

  it('refuses prune and the deletion of an S3 document, saying what to do instead', async () => {
    expect((await rejection(kb.ingest(['.'], { prune: true }))).code).toBe('INVALID_OPTION');
    const error = await rejection(kb.delete('s3://bucket/report.pdf'));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('sync the data source');
  });

  it('asks for dataSourceId when the knowledge base has no CUSTOM data source, or several', async () => {
    const admin = new BedrockKnowledgeBaseAdmin({
      clientConfig: testClientConfig(emulator),
      pollIntervalMs: 5,
    });
    const created = await admin.createKnowledgeBase({
      name: 'no-custom',
      roleArn: 'arn:aws:iam::123456789012:role/r',
      embeddingModel: 'amazon.titan-embed-text-v2:0',
      storage: { type: 'S3_VECTORS', s3VectorsConfiguration: { indexName: 'i' } },
    });
    const id = created.knowledgeBaseId!;
    const bare = openOn(emulator, id);
    expect((await rejection(bare.ingest([{ id: 'a', text: 'x' }]))).message).toMatch(/no CUSTOM data source/);
    await admin.createDataSource(id, { name: 'one' });
    await admin.createDataSource(id, { name: 'two' });
    const error = await rejection(openOn(emulator, id).ingest([{ id: 'a', text: 'x' }]));
    expect(error).toMatchObject({ code: 'INVALID_OPTION', input: 'dataSourceId' });
    await bare.close();
    await admin.deleteKnowledgeBase(id);
    await admin.close();
  });

  it('reports stats from the knowledge base, its data sources and documents; chunk counts are unknown', async () => {
    const stats = await kb.stats();
    expect(stats).toMatchObject({
      documents: CORPUS.length,
      knowledgeBaseId,
      name: 'adapter',
      status: 'ACTIVE',
      storageType: 'OPENSEARCH_SERVERLESS',
      embedderId: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0',
      dataSources: [
        expect.objectContaining({ name: 'direct', status: 'AVAILABLE', documents: CORPUS.length }),
      ],
    });
    expect(stats).not.toHaveProperty('chunks');
  });

  it('checks its options when constructed', () => {
    expect(() => new BedrockKnowledgeBase({ knowledgeBaseId: 'not a kb id!' })).toThrow(/knowledgeBaseId/);
    expect(() => new BedrockKnowledgeBase({ knowledgeBaseId: 'ABC', pollInterval: 5 } as never)).toThrow(
      /BedrockKnowledgeBase: unknown option "pollInterval"; did you mean "pollIntervalMs"\?/,
    );
  });

  it('is unusable after close', async () => {
    const closed = openOn(emulator, knowledgeBaseId);
    await closed.close();
    expect(isLocalKbError(await rejection(closed.retrieve('bees')), 'STORE_CLOSED')).toBe(true);
  });
});

describe('standard AWS configuration', () => {
  it('reaches the endpoints in AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME and AWS_ENDPOINT_URL_BEDROCK_AGENT', async () => {
    const { accessKeyId, secretAccessKey } = emulator.clientConfig().credentials;
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME: emulator.endpoint,
      AWS_ENDPOINT_URL_BEDROCK_AGENT: emulator.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    });
    try {
      const fromEnvironment = new BedrockKnowledgeBase({ knowledgeBaseId });
      expect((await fromEnvironment.retrieve('honey bees', { k: 1 }))[0]?.documentId).toBe('bees');
      expect((await fromEnvironment.stats()).documents).toBe(CORPUS.length);
      await fromEnvironment.close();
      // localkb's clients speak HTTP/1.1 with keep-alive: its handler carries the connect and idle timeouts.
      expect(calls('Retrieve').at(-1)?.http2).toBe(false);
      expect(calls('GetKnowledgeBase').at(-1)?.http2).toBe(false);
    } finally {
      process.env = saved;
    }
  });
});

describe('vector search through the emulator', () => {
  it('returns for SEMANTIC and HYBRID what a local knowledge base with the same embedder returns', async () => {
    const tinyEmbedder = () =>
      new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true, dtype: 'fp32' });
    const vectors = await startBedrockEmulator({ transitionMs: 1, knowledgeBaseEmbedder: tinyEmbedder });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-vectors-'));
    const local = await LocalKnowledgeBase.open(path.join(dir, 'local.db'), { embedder: tinyEmbedder() });
    const managed = await openManaged(vectors, 'vectors');
    try {
      await local.ingest(CORPUS);
      await managed.kb.ingest(CORPUS);
      for (const searchType of ['semantic', 'hybrid'] as const) {
        const expected = await local.retrieve('insects that farm or dance', { k: 4, searchType });
        const actual = await managed.kb.retrieve('insects that farm or dance', { k: 4, searchType });
        expect(actual.map((r) => [r.documentId, r.chunkId, r.score])).toEqual(
          expected.map((r) => [r.documentId, r.chunkId, r.score]),
        );
        expect(actual).toHaveLength(4);
      }
      const overrides = vectors.requests
        .filter((r) => r.operation === 'Retrieve')
        .map((r) => (r.body as Json).retrievalConfiguration.vectorSearchConfiguration.overrideSearchType);
      expect(overrides).toEqual(['SEMANTIC', 'HYBRID']);
    } finally {
      await managed.close();
      await local.close();
      await vectors.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
