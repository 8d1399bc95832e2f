/**
 * The emulator's knowledge-base services reached by the real SDK clients: bedrock-agent-runtime (Retrieve,
 * RetrieveAndGenerate(Stream), Rerank) and bedrock-agent, backed by real local knowledge bases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentClient,
  CreateKnowledgeBaseCommand,
  GetKnowledgeBaseDocumentsCommand,
  IngestKnowledgeBaseDocumentsCommand,
  type InlineContent,
  ListDataSourcesCommand,
  ListKnowledgeBasesCommand,
} from '@aws-sdk/client-bedrock-agent';
import {
  BedrockAgentRuntimeClient,
  RetrieveAndGenerateCommand,
  RetrieveAndGenerateStreamCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { BEDROCK_RERANK_MODELS, BedrockReranker } from '../../src/retrieve/bedrock-reranker.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { CORPUS } from '../kb-contract/corpus.js';

const CREDENTIALS = { accessKeyId: 'AKIDKBTESTS', secretAccessKey: 'kb-tests-secret' };

let dir: string;
let emulator: BedrockEmulator;
let runtime: BedrockAgentRuntimeClient;
let agent: BedrockAgentClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-emulator-kb-'));
  // An existing local store, exposed as knowledge base FIELDNOTES (what `localkb emulator --db` does).
  const local = await LocalKnowledgeBase.open(path.join(dir, 'existing.db'), { embedder: 'none' });
  await local.ingest(CORPUS);
  await local.close();
  emulator = await startBedrockEmulator({
    credentials: CREDENTIALS,
    transitionMs: 1,
    knowledgeBases: { FIELDNOTES: path.join(dir, 'existing.db') },
  });
  const config = { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1) };
  runtime = new BedrockAgentRuntimeClient(config);
  agent = new BedrockAgentClient(config);
});

afterAll(async () => {
  runtime.destroy();
  agent.destroy();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => emulator.reset());

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & Partial<LocalKbError> & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('an existing local store served as a knowledge base', () => {
  it('answers Retrieve with the local store’s own results, in Bedrock’s shape, over HTTP/2', async () => {
    const response = await runtime.send(
      new RetrieveCommand({
        knowledgeBaseId: 'FIELDNOTES',
        retrievalQuery: { text: 'honey bees dance' },
        retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: 2 } },
      }),
    );
    const local = await LocalKnowledgeBase.open(path.join(dir, 'existing.db'));
    const expected = await local.retrieve('honey bees dance', { k: 2 });
    await local.close();
    expect(response.retrievalResults?.map((r) => [r.documentId, r.score, r.content?.text])).toEqual(
      expected.map((r) => [r.documentId, r.score, r.content.text]),
    );
    expect(response.retrievalResults?.[0]).toMatchObject({
      location: { type: 'CUSTOM', customDocumentLocation: { id: 'bees' } },
      metadata: { topic: 'insects', 'x-amz-bedrock-kb-chunk-id': expected[0]!.chunkId },
    });
    expect(emulator.requests[0]).toMatchObject({
      operation: 'Retrieve',
      knowledgeBaseId: 'FIELDNOTES',
      http2: true,
      status: 200,
    });
  });

  it('has a CUSTOM data source for direct ingestion', async () => {
    const { dataSourceSummaries } = await agent.send(
      new ListDataSourcesCommand({ knowledgeBaseId: 'FIELDNOTES' }),
    );
    expect(dataSourceSummaries).toEqual([expect.objectContaining({ name: 'custom', status: 'AVAILABLE' })]);
  });

  const askFieldNotes = (text: string, sessionId?: string) => ({
    input: { text },
    ...(sessionId === undefined ? {} : { sessionId }),
    retrieveAndGenerateConfiguration: {
      type: 'KNOWLEDGE_BASE' as const,
      knowledgeBaseConfiguration: {
        knowledgeBaseId: 'FIELDNOTES',
        modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
      },
    },
  });

  it('refuses a session id it never issued, as Bedrock does, and continues one it issued', async () => {
    const invented = await rejection(
      runtime.send(
        new RetrieveAndGenerateCommand(askFieldNotes('Why do bees dance?', 'my-own-session-0001')),
      ),
    );
    expect(invented).toMatchObject({
      name: 'ValidationException',
      message: 'Session with Id my-own-session-0001 is not valid. Please check and try again.',
      $metadata: { httpStatusCode: 400 },
    });
    const streamed = await rejection(
      runtime.send(new RetrieveAndGenerateStreamCommand(askFieldNotes('Why?', 'my-own-session-0001'))),
    );
    expect(streamed).toMatchObject({ name: 'ValidationException' });
    const malformed = await rejection(
      runtime.send(new RetrieveAndGenerateCommand(askFieldNotes('Why?', 'not a session!'))),
    );
    expect(malformed.message).toContain("Value 'not a session!' at 'sessionId' failed to satisfy constraint");
    const first = await runtime.send(new RetrieveAndGenerateCommand(askFieldNotes('Why do bees dance?')));
    const second = await runtime.send(
      new RetrieveAndGenerateCommand(askFieldNotes('And owls?', first.sessionId)),
    );
    expect(second.sessionId).toBe(first.sessionId);
  });

  it('streams RetrieveAndGenerate as output and citation events with the session id in a header', async () => {
    const issued = await runtime.send(new RetrieveAndGenerateCommand(askFieldNotes('Why do bees dance?')));
    const response = await runtime.send(
      new RetrieveAndGenerateStreamCommand(askFieldNotes('Why do honey bees dance?', issued.sessionId)),
    );
    expect(response.sessionId).toBe(issued.sessionId);
    const fresh = await runtime.send(
      new RetrieveAndGenerateStreamCommand(askFieldNotes('Why do owls hunt?')),
    );
    expect(fresh.sessionId).toMatch(/^[0-9a-zA-Z._:-]{2,100}$/);
    expect(fresh.sessionId).not.toBe(issued.sessionId);
    for await (const _event of fresh.stream ?? []) {
      // drained
    }
    const events = [];
    for await (const event of response.stream ?? []) events.push(event);
    const text = events.flatMap((e) => (e.output ? [e.output.text] : [])).join('');
    expect(text.startsWith('Honey bees dance to tell their hive where flowers are. ')).toBe(true);
    expect(text).not.toContain('[1]');
    const citation = events.find((e) => e.citation)?.citation;
    expect(citation?.generatedResponsePart?.textResponsePart?.text).toBe(
      'Honey bees dance to tell their hive where flowers are.',
    );
    expect(citation?.retrievedReferences?.[0]?.location?.customDocumentLocation?.id).toBe('bees');
  });

  it('refuses a model that cannot write text, and an unknown knowledge base', async () => {
    const badModel = await rejection(
      new BedrockKnowledgeBase({
        knowledgeBaseId: 'FIELDNOTES',
        clientConfig: emulator.clientConfig(),
      }).retrieveAndGenerate('bees?', { modelId: 'amazon.titan-embed-text-v2:0' }),
    );
    expect(badModel.details).toMatchObject({ awsErrorName: 'ValidationException' });
    expect(badModel.message).toMatch(/cannot generate text/);
    const missing = await rejection(
      runtime.send(new RetrieveCommand({ knowledgeBaseId: 'NOSUCHKB01', retrievalQuery: { text: 'bees' } })),
    );
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  it('answers a knowledge base id of the wrong shape with ValidationException, not 404', async () => {
    const malformed = await rejection(
      runtime.send(new RetrieveCommand({ knowledgeBaseId: 'bad-kb-id!', retrievalQuery: { text: 'bees' } })),
    );
    expect(malformed).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(malformed.message).toContain(
      "Value 'bad-kb-id!' at 'knowledgeBaseId' failed to satisfy constraint",
    );
    const short = await rejection(
      runtime.send(new RetrieveCommand({ knowledgeBaseId: 'NOPE', retrievalQuery: { text: 'bees' } })),
    );
    expect(short.message).toContain('Member must have length greater than or equal to 10');
  });
});

describe('Rerank', () => {
  const documents = [
    { id: 'a', text: 'Salmon return to their home river.' },
    { id: 'b', text: 'Honey bees dance; the waggle dance shows bees the way to flowers.' },
    { id: 'c', text: 'Bees visit a bee orchid by mistake.' },
  ];

  it('reranks through BedrockReranker and the real RerankCommand, best first', async () => {
    const reranker = new BedrockReranker({ clientConfig: emulator.clientConfig() });
    const results = await reranker.rerank('why do bees dance', documents, { topN: 2 });
    expect(results.map((r) => r.id)).toEqual(['b', 'c']);
    expect(results[0]!.score).toBeGreaterThan(results[1]!.score);
    const request = emulator.requests.find((r) => r.operation === 'Rerank');
    expect(request?.modelId).toBe(
      `arn:aws:bedrock:us-east-1::foundation-model/${BEDROCK_RERANK_MODELS.amazon}`,
    );
    await reranker.close();
  });

  it('sends large lists in batches and merges them by score', async () => {
    const reranker = new BedrockReranker({
      modelId: BEDROCK_RERANK_MODELS.cohere,
      clientConfig: emulator.clientConfig(),
      batchSize: 2,
    });
    const results = await reranker.rerank('why do bees dance', documents);
    expect(results.map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(emulator.requests.filter((r) => r.operation === 'Rerank')).toHaveLength(2);
    await reranker.close();
  });

  it('maps a model that cannot rerank to BEDROCK_ERROR and throttling to THROTTLED', async () => {
    const wrongModel = new BedrockReranker({
      modelId: 'anthropic.claude-v2',
      clientConfig: emulator.clientConfig(),
    });
    const error = await rejection(wrongModel.rerank('bees', documents));
    expect(error).toMatchObject({ code: 'BEDROCK_ERROR', details: { awsErrorName: 'ValidationException' } });
    emulator.faults.throttle(3, { operation: 'Rerank' });
    const reranker = new BedrockReranker({
      clientConfig: { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1) },
    });
    expect((await rejection(reranker.rerank('bees', documents))).code).toBe('THROTTLED');
    await wrongModel.close();
    await reranker.close();
  });

  it('reranks Retrieve results when the request asks for a reranking model', async () => {
    const kb = new BedrockKnowledgeBase({
      knowledgeBaseId: 'FIELDNOTES',
      clientConfig: emulator.clientConfig(),
      reranking: { modelId: BEDROCK_RERANK_MODELS.amazon, numberOfRerankedResults: 2 },
    });
    const results = await kb.retrieve('field notes on bees and flowers', { k: 8 });
    expect(results).toHaveLength(2);
    expect(results[0]!.documentId).toBe('bees');
    for (const result of results) expect(result.score).toBeGreaterThan(0);
    const vector = (
      emulator.requests.at(-1)!.body as { retrievalConfiguration: { vectorSearchConfiguration: unknown } }
    ).retrievalConfiguration.vectorSearchConfiguration;
    expect(vector).toMatchObject({
      rerankingConfiguration: {
        type: 'BEDROCK_RERANKING_MODEL',
        bedrockRerankingConfiguration: {
          modelConfiguration: {
            modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${BEDROCK_RERANK_MODELS.amazon}`,
          },
          numberOfRerankedResults: 2,
        },
      },
    });
    const unranked = await kb.retrieve('field notes on bees and flowers', { k: 8, reranking: null });
    expect(unranked).toHaveLength(8);
    await kb.close();
  });
});

describe('bedrock-agent', () => {
  it('verifies SigV4 on control-plane calls too: a wrong secret is refused', async () => {
    const intruder = new BedrockAgentClient({
      ...emulator.clientConfig(),
      credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    const error = await rejection(intruder.send(new ListKnowledgeBasesCommand({})));
    expect(error).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    intruder.destroy();
  });

  it('retries a throttled control-plane call', async () => {
    emulator.faults.throttle(1, { operation: 'ListKnowledgeBases' });
    const { knowledgeBaseSummaries } = await agent.send(new ListKnowledgeBasesCommand({}));
    expect(knowledgeBaseSummaries?.map((s) => s.knowledgeBaseId)).toContain('FIELDNOTES');
    expect(emulator.requests.map((r) => [r.operation, r.status])).toEqual([
      ['ListKnowledgeBases', 429],
      ['ListKnowledgeBases', 200],
    ]);
  });

  it('creates knowledge bases that start CREATING and validates what Bedrock validates', async () => {
    const created = await agent.send(
      new CreateKnowledgeBaseCommand({
        name: 'fresh',
        roleArn: 'arn:aws:iam::123456789012:role/kb',
        knowledgeBaseConfiguration: {
          type: 'VECTOR',
          vectorKnowledgeBaseConfiguration: {
            embeddingModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/cohere.embed-english-v3',
          },
        },
        storageConfiguration: {
          type: 'PINECONE',
          pineconeConfiguration: {
            connectionString: 'x',
            credentialsSecretArn: 'y',
            fieldMapping: { textField: 't', metadataField: 'm' },
          },
        },
      }),
    );
    expect(created.knowledgeBase).toMatchObject({ name: 'fresh', status: 'CREATING' });
    expect(created.knowledgeBase?.createdAt).toBeInstanceOf(Date);
    expect(created.$metadata.httpStatusCode).toBe(202);
    const badRole = await rejection(
      agent.send(
        new CreateKnowledgeBaseCommand({
          name: 'bad-role',
          roleArn: 'not-an-arn',
          knowledgeBaseConfiguration: created.knowledgeBase!.knowledgeBaseConfiguration!,
          storageConfiguration: created.knowledgeBase!.storageConfiguration!,
        }),
      ),
    );
    expect(badRole.name).toBe('ValidationException');
    expect(badRole.message).toContain("Value at 'roleArn' failed to satisfy constraint");
  });

  it('ingests documents directly: STARTING, then INDEXED, or FAILED with a reason', async () => {
    const { dataSourceSummaries } = await agent.send(
      new ListDataSourcesCommand({ knowledgeBaseId: 'FIELDNOTES' }),
    );
    const dataSourceId = dataSourceSummaries![0]!.dataSourceId!;
    const custom = (id: string, inlineContent: InlineContent) => ({
      content: {
        dataSourceType: 'CUSTOM' as const,
        custom: { customDocumentIdentifier: { id }, sourceType: 'IN_LINE' as const, inlineContent },
      },
    });
    const ingested = await agent.send(
      new IngestKnowledgeBaseDocumentsCommand({
        knowledgeBaseId: 'FIELDNOTES',
        dataSourceId,
        documents: [
          custom('kestrel', { type: 'TEXT', textContent: { data: 'Kestrels hover over motorway verges.' } }),
          custom('scan', {
            type: 'BYTE',
            byteContent: { mimeType: 'image/png', data: new Uint8Array([1, 2, 3]) },
          }),
        ],
      }),
    );
    expect(ingested.documentDetails?.map((d) => d.status)).toEqual(['STARTING', 'STARTING']);
    const identifiers = ['kestrel', 'scan'].map((id) => ({
      dataSourceType: 'CUSTOM' as const,
      custom: { id },
    }));
    let details = (
      await agent.send(
        new GetKnowledgeBaseDocumentsCommand({
          knowledgeBaseId: 'FIELDNOTES',
          dataSourceId,
          documentIdentifiers: identifiers,
        }),
      )
    ).documentDetails!;
    for (
      let tries = 0;
      details.some((d) => d.status !== 'INDEXED' && d.status !== 'FAILED') && tries < 200;
      tries++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      details = (
        await agent.send(
          new GetKnowledgeBaseDocumentsCommand({
            knowledgeBaseId: 'FIELDNOTES',
            dataSourceId,
            documentIdentifiers: identifiers,
          }),
        )
      ).documentDetails!;
    }
    expect(details[0]).toMatchObject({ status: 'INDEXED', identifier: { custom: { id: 'kestrel' } } });
    expect(details[1]).toMatchObject({
      status: 'FAILED',
      statusReason: expect.stringContaining('image/png'),
    });
    const { retrievalResults } = await runtime.send(
      new RetrieveCommand({ knowledgeBaseId: 'FIELDNOTES', retrievalQuery: { text: 'kestrels hover' } }),
    );
    expect(retrievalResults?.[0]?.documentId).toBe('kestrel');
  });
});

describe('over HTTP/1.1', () => {
  it('answers the agent-runtime client with NodeHttpHandler as well', async () => {
    const http1 = new BedrockAgentRuntimeClient({
      ...emulator.clientConfig(),
      requestHandler: new NodeHttpHandler(),
    });
    const response = await http1.send(
      new RetrieveCommand({ knowledgeBaseId: 'FIELDNOTES', retrievalQuery: { text: 'owls' } }),
    );
    expect(response.retrievalResults?.[0]?.documentId).toBe('owls');
    expect(emulator.requests[0]?.http2).toBe(false);
    http1.destroy();
  });
});
