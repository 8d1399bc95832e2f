/**
 * startKnowledgeBaseServer: a local knowledge base behind the bedrock-agent-runtime wire protocol, reached by the
 * unmodified AWS SDK client (HTTP/2 by default, HTTP/1.1 with NodeHttpHandler) and by BedrockKnowledgeBase.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentRuntimeClient,
  RetrieveAndGenerateCommand,
  RetrieveAndGenerateStreamCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { BedrockConverseGenerator } from '../../src/generate/index.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { BedrockReranker } from '../../src/retrieve/bedrock-reranker.js';
import { CrossEncoderReranker } from '../../src/retrieve/cross-encoder-reranker.js';
import { type KnowledgeBaseServer, startKnowledgeBaseServer } from '../../src/serve/index.js';
import { startBedrockEmulator } from '../../src/testing/index.js';
import { TINY_CROSS_ENCODER_PATH } from '../helpers/models.js';
import { CORPUS } from '../kb-contract/corpus.js';

const KEYS = { accessKeyId: 'AKIDSERVE', secretAccessKey: 'serve-secret' };
const MODEL_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';

let dir: string;
let kb: LocalKnowledgeBase;
let server: KnowledgeBaseServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-serve-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'served.db'), { embedder: 'none' });
  await kb.ingest(CORPUS);
  server = await startKnowledgeBaseServer({ knowledgeBase: kb });
});

afterAll(async () => {
  await server.close();
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

function clientFor(target: KnowledgeBaseServer, extra: Record<string, unknown> = {}) {
  return new BedrockAgentRuntimeClient({
    endpoint: target.endpoint,
    region: 'us-east-1',
    credentials: KEYS,
    maxAttempts: 1,
    ...extra,
  });
}

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

const retrieve = (text: string, extra: object = {}) =>
  new RetrieveCommand({ knowledgeBaseId: server.knowledgeBaseId, retrievalQuery: { text }, ...extra });

describe('the unmodified SDK client', () => {
  it('retrieves over HTTP/2 (the client’s default) exactly what the local knowledge base returns', async () => {
    const client = clientFor(server);
    const response = await client.send(
      retrieve('honey bees dance', {
        retrievalConfiguration: {
          vectorSearchConfiguration: {
            numberOfResults: 3,
            filter: { equals: { key: 'topic', value: 'insects' } },
          },
        },
      }),
    );
    const local = await kb.retrieve('honey bees dance', {
      k: 3,
      filter: { equals: { key: 'topic', value: 'insects' } },
    });
    expect(
      response.retrievalResults?.map((r) => [
        r.documentId,
        r.score,
        r.content?.text,
        r.metadata?.['x-amz-bedrock-kb-chunk-id'],
      ]),
    ).toEqual(local.map((r) => [r.documentId, r.score, r.content.text, r.chunkId]));
    expect(response.$metadata.requestId).toEqual(expect.any(String));
    client.destroy();
  });

  it('retrieves over HTTP/1.1 with NodeHttpHandler', async () => {
    const client = clientFor(server, { requestHandler: new NodeHttpHandler() });
    const response = await client.send(retrieve('barn owls'));
    expect(response.retrievalResults?.[0]?.documentId).toBe('owls');
    client.destroy();
  });

  it('answers RetrieveAndGenerate with the local answer and its citations', async () => {
    const client = clientFor(server);
    const response = await client.send(
      new RetrieveAndGenerateCommand({
        input: { text: 'Why do honey bees dance?' },
        retrieveAndGenerateConfiguration: {
          type: 'KNOWLEDGE_BASE',
          knowledgeBaseConfiguration: { knowledgeBaseId: server.knowledgeBaseId, modelArn: MODEL_ARN },
        },
      }),
    );
    const local = await kb.retrieveAndGenerate('Why do honey bees dance?');
    expect(response.output?.text).toBe(local.text);
    expect(response.citations?.map((c) => c.generatedResponsePart?.textResponsePart?.span)).toEqual(
      // Bedrock's Span.end is the index of the part's last character
      local.citations.map((c) => ({ start: c.span.start, end: c.span.end - 1 })),
    );
    expect(response.citations?.[0]?.retrievedReferences?.[0]?.location).toEqual({
      type: 'CUSTOM',
      customDocumentLocation: { id: 'bees' },
    });
    expect(response.sessionId).toEqual(expect.any(String));
    client.destroy();
  });

  it('streams RetrieveAndGenerateStream', async () => {
    const client = clientFor(server);
    const response = await client.send(
      new RetrieveAndGenerateStreamCommand({
        input: { text: 'How do barn owls hunt?' },
        retrieveAndGenerateConfiguration: {
          type: 'KNOWLEDGE_BASE',
          knowledgeBaseConfiguration: { knowledgeBaseId: server.knowledgeBaseId, modelArn: MODEL_ARN },
        },
      }),
    );
    let text = '';
    let citations = 0;
    for await (const event of response.stream ?? []) {
      if (event.output) text += event.output.text;
      if (event.citation) citations++;
    }
    expect(text).toBe((await kb.retrieveAndGenerate('How do barn owls hunt?')).text);
    expect(citations).toBeGreaterThan(0);
    client.destroy();
  });

  it('reports a malformed filter as ValidationException with the reason', async () => {
    const client = clientFor(server);
    const error = await rejection(
      client.send(
        retrieve('bees', {
          retrievalConfiguration: { vectorSearchConfiguration: { filter: { equals: { key: 'topic' } } } },
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect(error.message).toMatch(/value/);
    client.destroy();
  });
});

describe('BedrockKnowledgeBase pointed at a served local knowledge base', () => {
  it('returns what the local knowledge base returns', async () => {
    const managed = new BedrockKnowledgeBase({
      knowledgeBaseId: server.knowledgeBaseId,
      clientConfig: { endpoint: server.endpoint, region: 'us-east-1', credentials: KEYS, maxAttempts: 1 },
    });
    const results = await managed.retrieve('salmon river', { k: 2 });
    const local = await kb.retrieve('salmon river', { k: 2 });
    expect(results.map((r) => [r.documentId, r.chunkId, r.score, r.location.uri])).toEqual(
      local.map((r) => [r.documentId, r.chunkId, r.score, r.location.uri]),
    );
    const answer = await managed.retrieveAndGenerate('Where do salmon spawn?');
    expect(answer.text).toBe((await kb.retrieveAndGenerate('Where do salmon spawn?')).text);
    await managed.close();
  });
});

describe('authentication and scope', () => {
  it('accepts requests signed with the configured keys and refuses a wrong secret', async () => {
    const guarded = await startKnowledgeBaseServer({ knowledgeBase: kb, credentials: KEYS });
    try {
      const good = clientFor(guarded);
      expect((await good.send(retrieve('owls'))).retrievalResults?.[0]?.documentId).toBe('owls');
      const bad = clientFor(guarded, { credentials: { ...KEYS, secretAccessKey: 'not-the-secret' } });
      const error = await rejection(bad.send(retrieve('owls')));
      expect(error).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
      expect(error.message).toMatch(/signature/);
      const unsigned = await fetch(`${guarded.endpoint}/knowledgebases/${guarded.knowledgeBaseId}/retrieve`, {
        method: 'POST',
        body: JSON.stringify({ retrievalQuery: { text: 'owls' } }),
      });
      expect(unsigned.status).toBe(403);
      good.destroy();
      bad.destroy();
    } finally {
      await guarded.close();
    }
  });

  it('serves one id derived from the store, the same on every start, and no other', async () => {
    expect(server.knowledgeBaseId).toMatch(/^[0-9A-Z]{10}$/);
    const again = await startKnowledgeBaseServer({ knowledgeBase: kb });
    expect(again.knowledgeBaseId).toBe(server.knowledgeBaseId);
    await again.close();
    const client = clientFor(server);
    const error = await rejection(
      client.send(new RetrieveCommand({ knowledgeBaseId: 'OTHERKB001', retrievalQuery: { text: 'owls' } })),
    );
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
    const asked = (knowledgeBaseId: string) =>
      client.send(
        new RetrieveAndGenerateCommand({
          input: { text: 'owls' },
          retrieveAndGenerateConfiguration: {
            type: 'KNOWLEDGE_BASE',
            knowledgeBaseConfiguration: { knowledgeBaseId, modelArn: MODEL_ARN },
          },
        }),
      );
    expect(await rejection(asked('OTHERKB001'))).toMatchObject({ name: 'ResourceNotFoundException' });
    client.destroy();
  });

  it.each([
    [
      'Retrieve',
      'bad-kb-id!',
      "1 validation error detected: Value 'bad-kb-id!' at 'knowledgeBaseId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z]{10}$|^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:knowledge-base/[0-9a-zA-Z]{10}$",
    ],
    [
      'RetrieveAndGenerate',
      'bad-kb-id!',
      "1 validation error detected: Value 'bad-kb-id!' at 'retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.knowledgeBaseId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z]+$",
    ],
    [
      'RetrieveAndGenerate',
      'ELEVENCHARS',
      "1 validation error detected: Value 'ELEVENCHARS' at 'retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.knowledgeBaseId' failed to satisfy constraint: Member must have length less than or equal to 10",
    ],
  ])('answers %s for the malformed id %s with ValidationException', async (operation, id, message) => {
    const client = clientFor(server);
    const command =
      operation === 'Retrieve'
        ? new RetrieveCommand({ knowledgeBaseId: id, retrievalQuery: { text: 'owls' } })
        : new RetrieveAndGenerateCommand({
            input: { text: 'owls' },
            retrieveAndGenerateConfiguration: {
              type: 'KNOWLEDGE_BASE',
              knowledgeBaseConfiguration: { knowledgeBaseId: id, modelArn: MODEL_ARN },
            },
          });
    const error = await rejection(client.send(command as RetrieveCommand));
    expect(error).toMatchObject({ name: 'ValidationException', message, $metadata: { httpStatusCode: 400 } });
    client.destroy();
  });

  it('accepts a knowledge-base ARN in Retrieve', async () => {
    const client = clientFor(server);
    const arn = `arn:aws:bedrock:us-east-1:123456789012:knowledge-base/${server.knowledgeBaseId}`;
    const response = await client.send(
      new RetrieveCommand({ knowledgeBaseId: arn, retrievalQuery: { text: 'barn owls' } }),
    );
    expect(response.retrievalResults?.[0]?.documentId).toBe('owls');
    client.destroy();
  });

  it('answers only for its knowledge base id when given one', async () => {
    const pinned = await startKnowledgeBaseServer({ knowledgeBase: kb, knowledgeBaseId: 'FIELDNOTES' });
    try {
      const client = clientFor(pinned);
      expect(
        (
          await client.send(
            new RetrieveCommand({ knowledgeBaseId: 'FIELDNOTES', retrievalQuery: { text: 'owls' } }),
          )
        ).retrievalResults,
      ).toHaveLength(1);
      const error = await rejection(client.send(retrieve('owls')));
      expect(error).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
      client.destroy();
    } finally {
      await pinned.close();
    }
  });

  it('refuses to listen beyond loopback without credentials', async () => {
    await expect(startKnowledgeBaseServer({ knowledgeBase: kb, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'host',
    });
  });
});

describe('reranking', () => {
  it('refuses Rerank when the server has no reranker', async () => {
    const reranker = new BedrockReranker({
      clientConfig: { endpoint: server.endpoint, region: 'us-east-1', credentials: KEYS },
    });
    const error = await rejection(reranker.rerank('bees', [{ id: 'a', text: 'bees' }]));
    expect(error).toMatchObject({ code: 'BEDROCK_ERROR', details: { awsErrorName: 'ValidationException' } });
    await reranker.close();
  });

  it('answers Rerank with its reranker, whatever rerank model the client names', async () => {
    const crossEncoder = new CrossEncoderReranker({
      modelPath: TINY_CROSS_ENCODER_PATH,
      dtype: 'fp32',
      offline: true,
    });
    const withReranker = await startKnowledgeBaseServer({ knowledgeBase: kb, reranker: crossEncoder });
    try {
      const documents = CORPUS.slice(0, 4).map((d) => ({ id: d.id, text: d.text }));
      const remote = new BedrockReranker({
        clientConfig: { endpoint: withReranker.endpoint, region: 'us-east-1', credentials: KEYS },
      });
      const overWire = await remote.rerank('why do bees dance', documents, { topN: 3 });
      const direct = await crossEncoder.rerank('why do bees dance', documents, { topN: 3 });
      expect(overWire.map((r) => [r.id, r.index])).toEqual(direct.map((r) => [r.id, r.index]));
      expect(overWire.map((r) => r.score)).toEqual(direct.map((r) => expect.closeTo(r.score, 6)));
      await remote.close();
    } finally {
      await withReranker.close();
      await crossEncoder.close?.();
    }
  });
});

describe('which model writes the answers', () => {
  it.each([
    [
      'an id naming no model',
      'anthropic.claude-99-imaginary-v1:0',
      'The provided model identifier is invalid.',
    ],
    [
      'a typo of a real id',
      'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v1:0',
      'The provided model identifier is invalid.',
    ],
    [
      'a model served only through inference profiles',
      'anthropic.claude-3-7-sonnet-20250219-v1:0',
      "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
    ],
  ])('refuses RetrieveAndGenerate with %s, as Bedrock does', async (_what, modelArn, message) => {
    const client = clientFor(server);
    for (const Command of [RetrieveAndGenerateCommand, RetrieveAndGenerateStreamCommand]) {
      const error = await rejection(
        client.send(
          new Command({
            input: { text: 'Why do honey bees dance?' },
            retrieveAndGenerateConfiguration: {
              type: 'KNOWLEDGE_BASE',
              knowledgeBaseConfiguration: { knowledgeBaseId: server.knowledgeBaseId, modelArn },
            },
          }) as RetrieveAndGenerateCommand,
        ),
      );
      expect(error).toMatchObject({
        name: 'ValidationException',
        message,
        $metadata: { httpStatusCode: 400 },
      });
    }
    // the profile answers
    const viaProfile = await client.send(
      new RetrieveAndGenerateCommand({
        input: { text: 'Why do honey bees dance?' },
        retrieveAndGenerateConfiguration: {
          type: 'KNOWLEDGE_BASE',
          knowledgeBaseConfiguration: {
            knowledgeBaseId: server.knowledgeBaseId,
            modelArn: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
          },
        },
      }),
    );
    expect(viaProfile.output?.text).toContain('Honey bees');
    client.destroy();
  });

  it('hands the request’s modelArn to a Bedrock generator, or keeps the generator’s model when pinned', async () => {
    const emulator = await startBedrockEmulator();
    const generator = new BedrockConverseGenerator({
      modelId: 'amazon.nova-lite-v1:0',
      clientConfig: emulator.clientConfig(),
    });
    const bedrockKb = await LocalKnowledgeBase.open(path.join(dir, 'served.db'), {
      generation: { generator },
    });
    const perRequest = await startKnowledgeBaseServer({ knowledgeBase: bedrockKb });
    const pinned = await startKnowledgeBaseServer({ knowledgeBase: bedrockKb, generationModel: 'generator' });
    try {
      const ask = (target: KnowledgeBaseServer) =>
        clientFor(target).send(
          new RetrieveAndGenerateCommand({
            input: { text: 'Why do honey bees dance?' },
            retrieveAndGenerateConfiguration: {
              type: 'KNOWLEDGE_BASE',
              knowledgeBaseConfiguration: { knowledgeBaseId: server.knowledgeBaseId, modelArn: MODEL_ARN },
            },
          }),
        );
      const answer = await ask(perRequest);
      expect(answer.output?.text).toContain('Honey bees dance to tell their hive where flowers are.');
      expect(answer.output?.text).not.toContain('[1]');
      expect(emulator.requests.at(-1)).toMatchObject({ operation: 'Converse', modelId: MODEL_ARN });
      await ask(pinned);
      expect(emulator.requests.at(-1)).toMatchObject({
        operation: 'Converse',
        modelId: 'amazon.nova-lite-v1:0',
      });
    } finally {
      await perRequest.close();
      await pinned.close();
      await bedrockKb.close();
      await emulator.close();
    }
  });
});
