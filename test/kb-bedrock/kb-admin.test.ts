/**
 * BedrockKnowledgeBaseAdmin against the emulator's bedrock-agent: a knowledge base over an S3 bucket (a local
 * folder), synced by ingestion jobs that move through Bedrock's states, failing ones, and clean deletion.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { BedrockKnowledgeBaseAdmin, type IngestionProgress } from '../../src/kb/bedrock-kb-admin.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import type { RetrievalFilter } from '../../src/types.js';
import { writePdf } from '../fixtures/ingest/pdf-writer.js';
import { ROLE_ARN, STORAGE, testClientConfig } from '../kb-contract/implementations.js';

let emulator: BedrockEmulator;
let bucket: string;
let dataDir: string;
let admin: BedrockKnowledgeBaseAdmin;

beforeAll(async () => {
  bucket = mkdtempSync(path.join(os.tmpdir(), 'localkb-bucket-'));
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'localkb-emulator-data-'));
  mkdirSync(path.join(bucket, 'guides'));
  writeFileSync(
    path.join(bucket, 'guides', 'ponds.md'),
    '# Ponds\n\nDragonflies patrol the pond edge at noon.\n',
  );
  writeFileSync(
    path.join(bucket, 'guides', 'ponds.md.metadata.json'),
    JSON.stringify({ metadataAttributes: { audience: 'beginners' } }),
  );
  writeFileSync(
    path.join(bucket, 'report.pdf'),
    writePdf({
      pages: [
        { text: 'Survey report. The first page lists the sites we visited along the river.' },
        // Long enough that the chunk with the kingfishers starts on this page.
        {
          text: `${'Herons and egrets waded in the shallows all morning. '.repeat(60)}The second page counts kingfishers: eleven nesting pairs were seen this year.`,
        },
      ],
    }),
  );
  writeFileSync(path.join(bucket, 'outside.txt'), 'Not under the guides prefix: otters fish at dawn.\n');
  emulator = await startBedrockEmulator({ transitionMs: 40, dataDir, s3Buckets: { 'field-survey': bucket } });
  admin = new BedrockKnowledgeBaseAdmin({ clientConfig: testClientConfig(emulator), pollIntervalMs: 2 });
});

afterAll(async () => {
  await admin.close();
  await emulator.close();
  rmSync(bucket, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => emulator.reset());

async function rejection(promise: Promise<unknown>): Promise<LocalKbError> {
  try {
    await promise;
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a rejection');
}

async function createKnowledgeBase(name: string): Promise<string> {
  const created = await admin.createKnowledgeBase({
    name,
    roleArn: ROLE_ARN,
    embeddingModel: 'amazon.titan-embed-text-v2:0',
    dimensions: 512,
    storage: STORAGE,
  });
  expect(created.status).toBe('ACTIVE');
  return created.knowledgeBaseId!;
}

describe('a knowledge base over an S3 bucket', () => {
  let knowledgeBaseId: string;
  let dataSourceId: string;
  let kb: BedrockKnowledgeBase;

  beforeAll(async () => {
    knowledgeBaseId = await createKnowledgeBase('survey');
    const dataSource = await admin.createDataSource(knowledgeBaseId, {
      name: 'bucket',
      s3: { bucket: 'field-survey' },
    });
    dataSourceId = dataSource.dataSourceId!;
    kb = new BedrockKnowledgeBase({ knowledgeBaseId, clientConfig: testClientConfig(emulator) });
  });
  afterAll(() => kb.close());

  it('creates the knowledge base with the embedding model ARN built for the region', async () => {
    const stats = await kb.stats();
    expect(stats).toMatchObject({
      embedderId: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0',
      dimensions: 512,
      status: 'ACTIVE',
    });
  });

  it('syncs the bucket with an ingestion job that goes STARTING → IN_PROGRESS → COMPLETE, reporting progress', async () => {
    const progress: IngestionProgress[] = [];
    const result = await admin.sync(knowledgeBaseId, dataSourceId, { onProgress: (p) => progress.push(p) });
    expect(result.status).toBe('COMPLETE');
    expect(result.statistics).toMatchObject({
      numberOfDocumentsScanned: 3,
      numberOfMetadataDocumentsScanned: 1,
      numberOfNewDocumentsIndexed: 3,
      numberOfModifiedDocumentsIndexed: 0,
      numberOfDocumentsDeleted: 0,
      numberOfDocumentsFailed: 0,
    });
    const statuses = [...new Set(progress.map((p) => p.status))];
    expect(statuses).toEqual(['STARTING', 'IN_PROGRESS', 'COMPLETE']);
    expect(progress.at(-1)!.statistics.numberOfNewDocumentsIndexed).toBe(3);
  });

  it('retrieves S3 results with s3:// locations, page numbers and sidecar metadata', async () => {
    const [kingfishers] = await kb.retrieve('kingfishers nesting pairs', { k: 1 });
    expect(kingfishers).toMatchObject({
      documentId: 's3://field-survey/report.pdf',
      location: {
        type: 'S3',
        uri: 's3://field-survey/report.pdf',
        s3Location: { uri: 's3://field-survey/report.pdf' },
        page: 2,
      },
      metadata: {
        'x-amz-bedrock-kb-source-uri': 's3://field-survey/report.pdf',
        'x-amz-bedrock-kb-document-page-number': 2,
        'x-amz-bedrock-kb-data-source-id': dataSourceId,
      },
    });
    const [ponds] = await kb.retrieve('dragonflies', {
      k: 1,
      filter: { equals: { key: 'audience', value: 'beginners' } },
    });
    expect(ponds?.location.uri).toBe('s3://field-survey/guides/ponds.md');
  });

  it('filters on the s3:// source URIs the results show (equals, startsWith, in, notEquals)', async () => {
    const key = 'x-amz-bedrock-kb-source-uri';
    const uris = async (filter: RetrievalFilter) =>
      (await kb.retrieve('herons kingfishers otters dragonflies', { k: 10, filter })).map(
        (r) => r.location.uri,
      );
    expect(new Set(await uris({ equals: { key, value: 's3://field-survey/report.pdf' } }))).toEqual(
      new Set(['s3://field-survey/report.pdf']),
    );
    expect(new Set(await uris({ startsWith: { key, value: 's3://field-survey/guides/' } }))).toEqual(
      new Set(['s3://field-survey/guides/ponds.md']),
    );
    expect(
      new Set(
        await uris({ in: { key, value: ['s3://field-survey/report.pdf', 's3://field-survey/outside.txt'] } }),
      ),
    ).toEqual(new Set(['s3://field-survey/report.pdf', 's3://field-survey/outside.txt']));
    expect(await uris({ notEquals: { key, value: 's3://field-survey/report.pdf' } })).not.toContain(
      's3://field-survey/report.pdf',
    );
    expect(await uris({ equals: { key, value: 's3://other-bucket/report.pdf' } })).toEqual([]);
  });

  it('re-syncs changes: a modified file is re-indexed and a removed one deleted', async () => {
    writeFileSync(path.join(bucket, 'outside.txt'), 'Otters fish at dusk now, not at dawn.\n');
    writeFileSync(path.join(bucket, 'gone.txt'), 'Temporary note about herons.\n');
    await admin.sync(knowledgeBaseId, dataSourceId);
    unlinkSync(path.join(bucket, 'gone.txt'));
    const result = await admin.sync(knowledgeBaseId, dataSourceId);
    expect(result.statistics).toMatchObject({ numberOfDocumentsDeleted: 1, numberOfNewDocumentsIndexed: 0 });
    expect((await kb.retrieve('herons', { k: 5 })).map((r) => r.documentId)).not.toContain(
      's3://field-survey/gone.txt',
    );
    const [otters] = await kb.retrieve('otters', { k: 1 });
    expect(otters?.content.text).toContain('dusk');
  });

  it('refuses a second job while one is running with ConflictException', async () => {
    const running = await admin.startIngestionJob(knowledgeBaseId, dataSourceId);
    const error = await rejection(admin.startIngestionJob(knowledgeBaseId, dataSourceId));
    expect(error).toMatchObject({
      code: 'KNOWLEDGE_BASE_ERROR',
      details: { awsErrorName: 'ConflictException', status: 409 },
    });
    await admin.waitForIngestionJob(knowledgeBaseId, dataSourceId, running.ingestionJobId!);
  });

  it('reports a failed ingestion job as INGESTION_JOB_FAILED with its failure reasons', async () => {
    emulator.faults.failIngestionJob(
      ['Encountered error: the IAM role cannot read s3://field-survey', 'Second reason'],
      {
        dataSourceId,
      },
    );
    const progress: string[] = [];
    const error = await rejection(
      admin.sync(knowledgeBaseId, dataSourceId, { onProgress: (p) => progress.push(p.status) }),
    );
    expect(error.code).toBe('INGESTION_JOB_FAILED');
    expect(error.message).toContain('the IAM role cannot read s3://field-survey; Second reason');
    expect(error.details).toMatchObject({
      status: 'FAILED',
      failureReasons: ['Encountered error: the IAM role cannot read s3://field-survey', 'Second reason'],
      knowledgeBaseId,
      dataSourceId,
    });
    expect(progress.at(-1)).toBe('FAILED');
    // The next job is not affected.
    expect((await admin.sync(knowledgeBaseId, dataSourceId)).status).toBe('COMPLETE');
  });
});

describe('failures the emulator produces on its own', () => {
  it('fails the job of a bucket it cannot read, naming the bucket', async () => {
    const id = await createKnowledgeBase('unmapped');
    const dataSource = await admin.createDataSource(id, {
      name: 'elsewhere',
      s3: { bucket: 'arn:aws:s3:::not-mapped' },
    });
    const error = await rejection(admin.sync(id, dataSource.dataSourceId!));
    expect(error.code).toBe('INGESTION_JOB_FAILED');
    expect((error.details?.failureReasons as string[] | undefined)?.[0]).toMatch(
      /Access denied to s3:\/\/not-mapped/,
    );
    await admin.deleteKnowledgeBase(id);
  });

  it('refuses a knowledge base whose embedding model is not an embedding model', async () => {
    const error = await rejection(
      admin.createKnowledgeBase({
        name: 'bad-model',
        roleArn: ROLE_ARN,
        embeddingModel: 'anthropic.claude-v2',
        storage: STORAGE,
      }),
    );
    expect(error).toMatchObject({
      code: 'KNOWLEDGE_BASE_ERROR',
      details: { operation: 'CreateKnowledgeBase', awsErrorName: 'ValidationException' },
    });
  });

  it('checks the storage configuration before calling Bedrock', async () => {
    const error = await rejection(
      admin.createKnowledgeBase({
        name: 'x',
        roleArn: ROLE_ARN,
        embeddingModel: 'amazon.titan-embed-text-v2:0',
        storage: {} as never,
      }),
    );
    expect(error).toMatchObject({ code: 'INVALID_OPTION', input: 'storage' });
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('clean deletion', () => {
  it('deletes the data sources, then the knowledge base, waiting until Bedrock no longer knows them', async () => {
    const id = await createKnowledgeBase('doomed');
    await admin.createDataSource(id, { name: 'custom' });
    await admin.createDataSource(id, { name: 's3', s3: { bucket: 'field-survey' } });
    const kb = new BedrockKnowledgeBase({
      knowledgeBaseId: id,
      clientConfig: testClientConfig(emulator),
      pollIntervalMs: 2,
    });
    await kb.ingest([{ id: 'heron', text: 'Herons stand still for an hour.' }]);
    expect(existsSync(path.join(dataDir, `${id}.db`))).toBe(true);
    emulator.reset();

    await admin.deleteKnowledgeBase(id);

    const operations = emulator.requests.map((r) => r.operation);
    const lastDataSourceDelete = operations.lastIndexOf('DeleteDataSource');
    expect(operations.filter((o) => o === 'DeleteDataSource')).toHaveLength(2);
    expect(operations.indexOf('DeleteKnowledgeBase')).toBeGreaterThan(lastDataSourceDelete);
    expect(emulator.requests.at(-1)).toMatchObject({ operation: 'GetKnowledgeBase', status: 404 });
    expect(emulator.knowledgeBase(id)).toBeUndefined();
    expect(existsSync(path.join(dataDir, `${id}.db`))).toBe(false);
    const error = await rejection(kb.retrieve('herons'));
    expect(error.details).toMatchObject({ awsErrorName: 'ResourceNotFoundException' });
    await kb.close();
  });
});
