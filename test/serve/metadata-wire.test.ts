/**
 * Retrieve results as a managed knowledge base returns them, through the unmodified SDK client: Bedrock's reserved
 * metadata keys on every result and reference, filterable like any other key; localkb's own keys under x-localkb-
 * so a user's (or LangChain's) `source` is never overwritten; and the same document compares equal locally and
 * through BedrockKnowledgeBase.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BedrockAgentRuntimeClient,
  RetrieveAndGenerateCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type KnowledgeBaseServer, startKnowledgeBaseServer } from '../../src/serve/index.js';
import type { RetrievalFilter, RetrievalResult } from '../../src/types.js';
import { CORPUS } from '../kb-contract/corpus.js';
import { makeTempDir } from '../store/store-fixtures.js';

const KEYS = { accessKeyId: 'AKIDSERVE', secretAccessKey: 'serve-secret' };
const MODEL_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
const SOURCE_URI = 'x-amz-bedrock-kb-source-uri';
const DATA_SOURCE_ID = 'x-amz-bedrock-kb-data-source-id';
const CHUNK_ID = 'x-amz-bedrock-kb-chunk-id';

let dir: string;
let kb: LocalKnowledgeBase;
let server: KnowledgeBaseServer;
let client: BedrockAgentRuntimeClient;
let managed: BedrockKnowledgeBase;
let lampsUri: string;

beforeAll(async () => {
  dir = makeTempDir('localkb-metadata-wire-');
  const docs = path.join(dir, 'docs');
  fs.mkdirSync(docs);
  const lamps = path.join(docs, 'lamps.md');
  fs.writeFileSync(lamps, '# Lamps\n\nLighthouse keepers trimmed the lamp wicks every night.\n');
  // a user's own `source` and `title`, as LangChain users often set them
  fs.writeFileSync(
    `${lamps}.metadata.json`,
    JSON.stringify({ metadataAttributes: { source: 'keeper-log', title: 'Keeper log', year: 1890 } }),
  );
  lampsUri = pathToFileURL(lamps).href;
  kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), { embedder: 'none' });
  await kb.ingest(CORPUS);
  await kb.ingest([docs]);
  server = await startKnowledgeBaseServer({ knowledgeBase: kb, knowledgeBaseId: 'FIELDNOTES' });
  const clientConfig = { endpoint: server.endpoint, region: 'us-east-1', credentials: KEYS, maxAttempts: 1 };
  client = new BedrockAgentRuntimeClient(clientConfig);
  managed = new BedrockKnowledgeBase({ knowledgeBaseId: 'FIELDNOTES', clientConfig });
});

afterAll(async () => {
  client.destroy();
  await managed.close();
  await server.close();
  await kb.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function served(text: string, filter?: RetrievalFilter) {
  const response = await client.send(
    new RetrieveCommand({
      knowledgeBaseId: 'FIELDNOTES',
      retrievalQuery: { text },
      retrievalConfiguration: {
        vectorSearchConfiguration: { numberOfResults: 20, ...(filter ? { filter: filter as never } : {}) },
      },
    }),
  );
  return response.retrievalResults ?? [];
}

describe('Retrieve results', () => {
  it('carry Bedrock’s reserved keys on every result, and localkb’s own only under x-localkb-', async () => {
    const results = await served('lamps bees owls salmon');
    expect(results.length).toBeGreaterThan(3);
    const dataSources = new Set(results.map((r) => r.metadata?.[DATA_SOURCE_ID]));
    expect(dataSources.size).toBe(1);
    expect([...dataSources][0]).toMatch(/^[0-9A-Z]{10}$/);
    for (const result of results) {
      expect(result.metadata).toMatchObject({
        [SOURCE_URI]: expect.any(String),
        [CHUNK_ID]: expect.any(String),
        [DATA_SOURCE_ID]: expect.any(String),
      });
      for (const key of ['sizeBytes', 'modifiedAt']) expect(result.metadata).not.toHaveProperty(key);
    }
    const lamps = results.find((r) => r.metadata?.[SOURCE_URI] === lampsUri);
    expect(lamps?.metadata).toMatchObject({
      source: 'keeper-log',
      title: 'Keeper log',
      year: 1890,
      'x-localkb-title': 'Lamps',
      'x-localkb-size-bytes': expect.any(Number),
      'x-localkb-modified-at': expect.any(String),
    });
    expect(lamps?.location).toEqual({ type: 'CUSTOM', customDocumentLocation: { id: 'lamps.md' } });
    // in-memory documents: no localkb `source` beside the user's keys
    expect(results.find((r) => r.documentId === 'bees')?.metadata).not.toHaveProperty('source');
  });

  it('are filterable by the reserved keys, as a managed knowledge base is', async () => {
    const all = await served('lamps bees owls salmon');
    const dataSourceId = all[0]!.metadata![DATA_SOURCE_ID] as string;
    const bySource = await served('lamps bees owls salmon', { equals: { key: SOURCE_URI, value: lampsUri } });
    expect(bySource.map((r) => r.metadata?.[SOURCE_URI])).toEqual([lampsUri]);
    const byDataSource = await served('lamps bees owls salmon', {
      equals: { key: DATA_SOURCE_ID, value: dataSourceId },
    });
    expect(byDataSource.length).toBe(all.length);
    expect(
      await served('lamps bees owls salmon', { equals: { key: DATA_SOURCE_ID, value: 'OTHERDS001' } }),
    ).toEqual([]);
    const chunkId = all[1]!.metadata![CHUNK_ID] as string;
    const byChunk = await served('lamps bees owls salmon', { equals: { key: CHUNK_ID, value: chunkId } });
    expect(byChunk.map((r) => r.metadata?.[CHUNK_ID])).toEqual([chunkId]);
    const files = await served('lamps bees owls salmon', {
      startsWith: { key: SOURCE_URI, value: 'file://' },
    });
    expect(files.map((r) => r.documentId)).toEqual(['lamps.md']);
    // the library answers the same filters the same way
    const local = await kb.retrieve('lamps bees owls salmon', {
      k: 20,
      filter: { equals: { key: SOURCE_URI, value: lampsUri } },
    });
    expect(local.map((r) => r.documentId)).toEqual(['lamps.md']);
  });

  it('carry the reserved keys on citations’ references too', async () => {
    const response = await client.send(
      new RetrieveAndGenerateCommand({
        input: { text: 'Why do honey bees dance?' },
        retrieveAndGenerateConfiguration: {
          type: 'KNOWLEDGE_BASE',
          knowledgeBaseConfiguration: { knowledgeBaseId: 'FIELDNOTES', modelArn: MODEL_ARN },
        },
      }),
    );
    const reference = response.citations?.[0]?.retrievedReferences?.[0];
    expect(reference?.metadata).toMatchObject({
      [SOURCE_URI]: 'bees',
      [DATA_SOURCE_ID]: expect.stringMatching(/^[0-9A-Z]{10}$/),
      [CHUNK_ID]: expect.any(String),
    });
  });
});

describe('local and managed results of the same document', () => {
  const comparable = (result: RetrievalResult) => ({
    documentId: result.documentId,
    chunkId: result.chunkId,
    score: result.score,
    text: result.content.text,
    metadata: result.metadata,
    // start/end are localkb's own extras: character offsets that Bedrock's wire has no place for
    location: { ...result.location, start: undefined, end: undefined },
  });

  it('compare equal in type, location and metadata', async () => {
    for (const query of ['lamp wicks', 'honey bees dance']) {
      const local = await kb.retrieve(query, { k: 4 });
      const remote = await managed.retrieve(query, { k: 4 });
      expect(remote.map(comparable)).toEqual(local.map(comparable));
    }
    const [lamps] = await kb.retrieve('lamp wicks', { k: 1 });
    expect(lamps?.location).toMatchObject({
      type: 'CUSTOM',
      uri: lampsUri,
      customDocumentLocation: { id: 'lamps.md' },
    });
  });
});
