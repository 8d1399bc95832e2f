/**
 * The emulator's bedrock-agent state: knowledge bases, data sources, ingestion jobs and documents, each
 * knowledge base backed by a real LocalKnowledgeBase (SQLite + HNSW) under the emulator's data directory.
 * Long operations run in the background and move through Bedrock's states (CREATING → ACTIVE, STARTING →
 * IN_PROGRESS → COMPLETE/FAILED, DELETING → gone) so clients poll them as they would poll Bedrock.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { isLocalKbError } from '../errors.js';
import type { Generator } from '../generate/types.js';
import { loadFile } from '../ingest/load-file.js';
import { parseSidecarMetadata, SIDECAR_SUFFIX } from '../ingest/loaders/sidecar-metadata.js';
import { walkPaths } from '../ingest/walk-paths.js';
import type { IngestSummary, KnowledgeBase } from '../kb/types.js';
import type { ServedKnowledgeBase } from '../serve/agent-runtime/operations.js';
import { DATA_SOURCE_ID_KEY, SOURCE_URI_KEY } from '../serve/agent-runtime/wire-shapes.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import type {
  DocumentFormat,
  DocumentInput,
  Embedder,
  FilterAttribute,
  Metadata,
  RetrievalFilter,
  RetrievalResult,
} from '../types.js';

export const EMULATOR_ACCOUNT_ID = '123456789012';

export type KnowledgeBaseStatus = 'CREATING' | 'ACTIVE' | 'DELETING' | 'FAILED';
export type DataSourceStatus = 'AVAILABLE' | 'DELETING';
export type IngestionJobStatus = 'STARTING' | 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';
export type DocumentStatus = 'STARTING' | 'IN_PROGRESS' | 'INDEXED' | 'FAILED' | 'DELETING' | 'NOT_FOUND';

export interface IngestionJobStatistics {
  numberOfDocumentsScanned: number;
  numberOfMetadataDocumentsScanned: number;
  numberOfNewDocumentsIndexed: number;
  numberOfModifiedDocumentsIndexed: number;
  numberOfMetadataDocumentsModified: number;
  numberOfDocumentsDeleted: number;
  numberOfDocumentsFailed: number;
  numberOfDocumentsSkipped: number;
}

export interface KnowledgeBaseRecord {
  knowledgeBaseId: string;
  knowledgeBaseArn: string;
  name: string;
  description?: string;
  roleArn: string;
  knowledgeBaseConfiguration: Record<string, unknown>;
  storageConfiguration?: Record<string, unknown>;
  status: KnowledgeBaseStatus;
  createdAt: Date;
  updatedAt: Date;
  failureReasons?: string[];
  dataSources: Map<string, DataSourceRecord>;
  /** The backing knowledge base, once open. */
  knowledgeBase?: KnowledgeBase;
  /** Closed and its files removed when the managed knowledge base is deleted (false for caller-given ones). */
  owned: boolean;
  databasePath?: string;
  /** Writes to one local knowledge base run one at a time. */
  queue: Promise<void>;
  /** Settles once the backing knowledge base is open (or failed to open). */
  opening: Promise<void>;
}

export interface DataSourceRecord {
  dataSourceId: string;
  knowledgeBaseId: string;
  name: string;
  description?: string;
  status: DataSourceStatus;
  dataSourceConfiguration: Record<string, unknown>;
  vectorIngestionConfiguration?: Record<string, unknown>;
  dataDeletionPolicy: 'DELETE' | 'RETAIN';
  createdAt: Date;
  updatedAt: Date;
  type: 'S3' | 'CUSTOM';
  bucket?: string;
  inclusionPrefixes: string[];
  jobs: Map<string, IngestionJobRecord>;
  documents: Map<string, DocumentRecord>;
}

export interface IngestionJobRecord {
  ingestionJobId: string;
  knowledgeBaseId: string;
  dataSourceId: string;
  description?: string;
  status: IngestionJobStatus;
  startedAt: Date;
  updatedAt: Date;
  statistics: IngestionJobStatistics;
  failureReasons?: string[];
}

export interface DocumentIdentifier {
  dataSourceType: 'CUSTOM' | 'S3';
  custom?: { id: string };
  s3?: { uri: string };
}

export interface DocumentRecord {
  identifier: DocumentIdentifier;
  status: DocumentStatus;
  statusReason?: string;
  updatedAt: Date;
  /** The document id in the local knowledge base. */
  localId: string;
}

/** What IngestKnowledgeBaseDocuments asks for one document, already read off the wire. */
export interface DocumentIngestRequest {
  content:
    | { kind: 'inline'; id: string; text: string; format: DocumentFormat }
    | { kind: 'inline-unsupported'; id: string; mimeType: string }
    | { kind: 'custom-s3'; id: string; uri: string }
    | { kind: 's3'; uri: string };
  metadata?: { inline: Metadata } | { s3Uri: string };
}

export interface FailureArm {
  reasons: string[];
  knowledgeBaseId?: string;
  dataSourceId?: string;
  remaining: number;
}

export interface RegistryOptions {
  dataDirectory: string;
  region: string;
  s3Buckets: Record<string, string>;
  /** A new embedder for each knowledge base the emulator creates; undefined: BM25-only stores. */
  embedder?: () => Embedder;
  generator: Generator;
  /** How long a background state (CREATING, STARTING, IN_PROGRESS, DELETING) lasts at least. */
  transitionMs: number;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Bedrock-style resource id: 10 upper-case letters and digits. */
export function resourceId(): string {
  const bytes = randomBytes(10);
  return Array.from(bytes, (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

function notFound(message: string): AwsServiceError {
  return new AwsServiceError('ResourceNotFoundException', message, 404);
}

function emptyStatistics(): IngestionJobStatistics {
  return {
    numberOfDocumentsScanned: 0,
    numberOfMetadataDocumentsScanned: 0,
    numberOfNewDocumentsIndexed: 0,
    numberOfModifiedDocumentsIndexed: 0,
    numberOfMetadataDocumentsModified: 0,
    numberOfDocumentsDeleted: 0,
    numberOfDocumentsFailed: 0,
    numberOfDocumentsSkipped: 0,
  };
}

/** `s3://bucket/key` → its parts. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

export class KnowledgeBaseRegistry {
  readonly #options: RegistryOptions;
  readonly #s3Prefixes: S3Prefix[];
  readonly #records = new Map<string, KnowledgeBaseRecord>();
  readonly #background = new Set<Promise<void>>();
  #failures: FailureArm[] = [];
  #closed = false;

  constructor(options: RegistryOptions) {
    this.#options = options;
    // The buckets are fixed at start: each one's folder, its file:// URI prefix and its s3:// prefix, once.
    this.#s3Prefixes = Object.entries(options.s3Buckets).map(([bucket, folder]) => {
      const resolved = path.resolve(folder);
      return {
        folder: resolved,
        file: `${pathToFileURL(resolved).href.replace(/\/$/, '')}/`,
        s3: `s3://${bucket}/`,
      };
    });
  }

  // ——— knowledge bases ———

  createKnowledgeBase(input: {
    name: string;
    description?: string;
    roleArn: string;
    knowledgeBaseConfiguration: Record<string, unknown>;
    storageConfiguration?: Record<string, unknown>;
  }): KnowledgeBaseRecord {
    for (const record of this.#records.values()) {
      if (record.name === input.name && record.status !== 'DELETING') {
        throw new AwsServiceError(
          'ConflictException',
          `A knowledge base named ${input.name} already exists.`,
          409,
        );
      }
    }
    const knowledgeBaseId = resourceId();
    const now = new Date();
    const record: KnowledgeBaseRecord = {
      knowledgeBaseId,
      knowledgeBaseArn: `arn:aws:bedrock:${this.#options.region}:${EMULATOR_ACCOUNT_ID}:knowledge-base/${knowledgeBaseId}`,
      name: input.name,
      ...(input.description === undefined ? {} : { description: input.description }),
      roleArn: input.roleArn,
      knowledgeBaseConfiguration: input.knowledgeBaseConfiguration,
      ...(input.storageConfiguration === undefined
        ? {}
        : { storageConfiguration: input.storageConfiguration }),
      status: 'CREATING',
      createdAt: now,
      updatedAt: now,
      dataSources: new Map(),
      owned: true,
      databasePath: path.join(this.#options.dataDirectory, `${knowledgeBaseId}.db`),
      queue: Promise.resolve(),
      opening: Promise.resolve(),
    };
    this.#records.set(knowledgeBaseId, record);
    record.opening = this.#runInBackground(async () => {
      await this.#pause();
      try {
        record.knowledgeBase = await this.#openLocal(record.databasePath!, this.#options.embedder?.());
        this.#setStatus(record, 'ACTIVE');
      } catch (error) {
        record.failureReasons = [(error as Error).message];
        this.#setStatus(record, 'FAILED');
      }
    });
    return record;
  }

  /** Registers a knowledge base that already exists (a path to a local store, or an open KnowledgeBase). */
  async addExistingKnowledgeBase(
    knowledgeBaseId: string,
    source: string | KnowledgeBase,
  ): Promise<KnowledgeBaseRecord> {
    const now = new Date();
    const owned = typeof source === 'string';
    const knowledgeBase =
      typeof source === 'string' ? await this.#openLocal(path.resolve(source), undefined) : source;
    const record: KnowledgeBaseRecord = {
      knowledgeBaseId,
      knowledgeBaseArn: `arn:aws:bedrock:${this.#options.region}:${EMULATOR_ACCOUNT_ID}:knowledge-base/${knowledgeBaseId}`,
      name: typeof source === 'string' ? path.basename(source) : knowledgeBaseId,
      roleArn: `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/localkb-emulator`,
      knowledgeBaseConfiguration: {
        type: 'VECTOR',
        vectorKnowledgeBaseConfiguration: {
          embeddingModelArn: `arn:aws:bedrock:${this.#options.region}::foundation-model/amazon.titan-embed-text-v2:0`,
        },
      },
      status: 'ACTIVE',
      createdAt: now,
      updatedAt: now,
      dataSources: new Map(),
      owned,
      knowledgeBase,
      queue: Promise.resolve(),
      opening: Promise.resolve(),
    };
    this.#records.set(knowledgeBaseId, record);
    // A CUSTOM data source, so direct ingestion works against it at once.
    this.createDataSource(knowledgeBaseId, {
      name: 'custom',
      dataSourceConfiguration: { type: 'CUSTOM' },
      dataDeletionPolicy: 'DELETE',
    });
    return record;
  }

  async #openLocal(databasePath: string, embedder: Embedder | undefined): Promise<KnowledgeBase> {
    // Loaded on first use: runtime-only emulator users never pay for SQLite, HNSW and transformers.js.
    const { LocalKnowledgeBase } = await import('../kb/local-knowledge-base.js');
    return LocalKnowledgeBase.open(databasePath, {
      embedder: embedder ?? (existsSync(databasePath) ? 'auto' : 'none'),
      generation: { generator: this.#options.generator },
    });
  }

  knowledgeBase(knowledgeBaseId: string): KnowledgeBaseRecord {
    const record = this.#records.get(knowledgeBaseId);
    if (!record) throw notFound(`Knowledge base ${knowledgeBaseId} does not exist.`);
    return record;
  }

  listKnowledgeBases(): KnowledgeBaseRecord[] {
    return [...this.#records.values()];
  }

  deleteKnowledgeBase(knowledgeBaseId: string): KnowledgeBaseRecord {
    const record = this.knowledgeBase(knowledgeBaseId);
    if (record.status === 'DELETING') return record;
    this.#setStatus(record, 'DELETING');
    for (const dataSource of record.dataSources.values()) dataSource.status = 'DELETING';
    this.#runInBackground(async () => {
      await this.#pause();
      await record.opening;
      await this.#enqueue(record, async () => {
        if (record.owned) await record.knowledgeBase?.close();
      });
      if (record.owned && record.databasePath) {
        for (const suffix of ['', '-wal', '-shm', '.hnsw', '.hnsw.tmp']) {
          rmSync(`${record.databasePath}${suffix}`, { force: true });
        }
      }
      this.#records.delete(knowledgeBaseId);
    });
    return record;
  }

  /** The knowledge base behind Retrieve / RetrieveAndGenerate, with local file URIs shown as s3:// URIs. */
  served(knowledgeBaseId: string): ServedKnowledgeBase {
    const record = this.#records.get(knowledgeBaseId);
    if (!record || record.status === 'DELETING') {
      throw notFound(`Knowledge base ${knowledgeBaseId} does not exist.`);
    }
    if (record.status !== 'ACTIVE' || !record.knowledgeBase) {
      throw new AwsServiceError(
        'ValidationException',
        `Knowledge base ${knowledgeBaseId} is ${record.status}, not ACTIVE; wait until it is ACTIVE.`,
      );
    }
    const prefixes = this.#s3Prefixes;
    return {
      knowledgeBase: record.knowledgeBase,
      present: (result) => presentS3(result, prefixes),
      filter: (filter) => s3FilterToLocal(filter, prefixes),
    };
  }

  // ——— data sources ———

  createDataSource(
    knowledgeBaseId: string,
    input: {
      name: string;
      description?: string;
      dataSourceConfiguration: Record<string, unknown>;
      vectorIngestionConfiguration?: Record<string, unknown>;
      dataDeletionPolicy?: 'DELETE' | 'RETAIN';
    },
  ): DataSourceRecord {
    const record = this.#usable(knowledgeBaseId);
    const configuration = input.dataSourceConfiguration;
    const type = configuration.type;
    if (type !== 'S3' && type !== 'CUSTOM') {
      throw new AwsServiceError(
        'ValidationException',
        `Data source type ${String(type)} is not emulated; the localkb emulator offers S3 and CUSTOM data sources.`,
      );
    }
    let bucket: string | undefined;
    let inclusionPrefixes: string[] = [];
    if (type === 'S3') {
      const s3 = configuration.s3Configuration as
        | { bucketArn?: unknown; inclusionPrefixes?: unknown }
        | undefined;
      const arn =
        typeof s3?.bucketArn === 'string'
          ? /^arn:aws[\w-]*:s3:::([a-z0-9][a-z0-9.-]{1,62})$/.exec(s3.bucketArn)
          : null;
      if (!arn) {
        throw new AwsServiceError(
          'ValidationException',
          "1 validation error detected: Value at 'dataSourceConfiguration.s3Configuration.bucketArn' failed to satisfy constraint: Member must be an S3 bucket ARN (arn:aws:s3:::bucket)",
        );
      }
      bucket = arn[1]!;
      if (Array.isArray(s3?.inclusionPrefixes)) inclusionPrefixes = s3.inclusionPrefixes.map(String);
    }
    for (const existing of record.dataSources.values()) {
      if (existing.name === input.name) {
        throw new AwsServiceError(
          'ConflictException',
          `A data source named ${input.name} already exists.`,
          409,
        );
      }
    }
    const now = new Date();
    const dataSource: DataSourceRecord = {
      dataSourceId: resourceId(),
      knowledgeBaseId,
      name: input.name,
      ...(input.description === undefined ? {} : { description: input.description }),
      status: 'AVAILABLE',
      dataSourceConfiguration: configuration,
      ...(input.vectorIngestionConfiguration === undefined
        ? {}
        : { vectorIngestionConfiguration: input.vectorIngestionConfiguration }),
      dataDeletionPolicy: input.dataDeletionPolicy ?? 'DELETE',
      createdAt: now,
      updatedAt: now,
      type,
      ...(bucket === undefined ? {} : { bucket }),
      inclusionPrefixes,
      jobs: new Map(),
      documents: new Map(),
    };
    record.dataSources.set(dataSource.dataSourceId, dataSource);
    return dataSource;
  }

  dataSource(knowledgeBaseId: string, dataSourceId: string): DataSourceRecord {
    const dataSource = this.knowledgeBase(knowledgeBaseId).dataSources.get(dataSourceId);
    if (!dataSource)
      throw notFound(`Data source ${dataSourceId} does not exist in knowledge base ${knowledgeBaseId}.`);
    return dataSource;
  }

  deleteDataSource(knowledgeBaseId: string, dataSourceId: string): DataSourceRecord {
    const record = this.knowledgeBase(knowledgeBaseId);
    const dataSource = this.dataSource(knowledgeBaseId, dataSourceId);
    if (dataSource.status === 'DELETING') return dataSource;
    dataSource.status = 'DELETING';
    dataSource.updatedAt = new Date();
    this.#runInBackground(async () => {
      await this.#pause();
      if (dataSource.dataDeletionPolicy === 'DELETE' && record.knowledgeBase) {
        const kb = record.knowledgeBase;
        await this.#enqueue(record, async () => {
          for (const document of dataSource.documents.values()) await kb.delete(document.localId);
        });
      }
      record.dataSources.delete(dataSourceId);
    });
    return dataSource;
  }

  // ——— ingestion jobs ———

  /** Arms the next `count` matching ingestion jobs to fail with these reasons. */
  armJobFailure(arm: FailureArm): void {
    this.#failures.push(arm);
  }

  clearFaults(): void {
    this.#failures = [];
  }

  startIngestionJob(knowledgeBaseId: string, dataSourceId: string, description?: string): IngestionJobRecord {
    const record = this.#usable(knowledgeBaseId);
    const dataSource = this.dataSource(knowledgeBaseId, dataSourceId);
    if (dataSource.status !== 'AVAILABLE') {
      throw new AwsServiceError(
        'ValidationException',
        `Data source ${dataSourceId} is ${dataSource.status}.`,
      );
    }
    for (const job of dataSource.jobs.values()) {
      if (job.status === 'STARTING' || job.status === 'IN_PROGRESS') {
        throw new AwsServiceError(
          'ConflictException',
          `Ingestion job ${job.ingestionJobId} is already running on data source ${dataSourceId}; wait for it to finish.`,
          409,
        );
      }
    }
    const now = new Date();
    const job: IngestionJobRecord = {
      ingestionJobId: resourceId(),
      knowledgeBaseId,
      dataSourceId,
      ...(description === undefined ? {} : { description }),
      status: 'STARTING',
      startedAt: now,
      updatedAt: now,
      statistics: emptyStatistics(),
    };
    dataSource.jobs.set(job.ingestionJobId, job);
    const failure = this.#takeFailure(knowledgeBaseId, dataSourceId);
    this.#runInBackground(async () => {
      await this.#pause();
      this.#setJobStatus(job, 'IN_PROGRESS');
      await this.#pause();
      if (failure) {
        job.failureReasons = failure;
        this.#setJobStatus(job, 'FAILED');
        return;
      }
      try {
        if (dataSource.type === 'S3')
          await this.#enqueue(record, () => this.#syncS3(record, dataSource, job));
        this.#setJobStatus(job, 'COMPLETE');
      } catch (error) {
        job.failureReasons = [(error as Error).message];
        this.#setJobStatus(job, 'FAILED');
      }
    });
    return job;
  }

  ingestionJob(knowledgeBaseId: string, dataSourceId: string, ingestionJobId: string): IngestionJobRecord {
    const job = this.dataSource(knowledgeBaseId, dataSourceId).jobs.get(ingestionJobId);
    if (!job) throw notFound(`Ingestion job ${ingestionJobId} does not exist.`);
    return job;
  }

  /** An S3 sync: the bucket's folder is ingested (changed files re-embedded, vanished ones removed). */
  async #syncS3(
    record: KnowledgeBaseRecord,
    dataSource: DataSourceRecord,
    job: IngestionJobRecord,
  ): Promise<void> {
    const kb = record.knowledgeBase!;
    const bucket = dataSource.bucket!;
    const folder = this.#bucketFolder(bucket);
    const include = dataSource.inclusionPrefixes.map((prefix) => `${prefix}**`);
    const summary: IngestSummary = await kb.ingest([folder], {
      prune: true,
      metadata: { [DATA_SOURCE_ID_KEY]: dataSource.dataSourceId },
      ...(include.length > 0 ? { include } : {}),
    });
    const failed = new Map(summary.skipped.map((skip) => [path.resolve(skip.path), skip.reason]));
    const now = new Date();
    const seen = new Set<string>();
    let sidecars = 0;
    for await (const file of walkPaths([folder], include.length > 0 ? { include } : {})) {
      const key = path.relative(folder, file.path).split(path.sep).join('/');
      const uri = `s3://${bucket}/${key}`;
      seen.add(uri);
      if (existsSync(file.path + SIDECAR_SUFFIX)) sidecars++;
      const reason = failed.get(path.resolve(file.path));
      dataSource.documents.set(uri, {
        identifier: { dataSourceType: 'S3', s3: { uri } },
        status: reason === undefined ? 'INDEXED' : 'FAILED',
        ...(reason === undefined ? {} : { statusReason: reason }),
        updatedAt: now,
        localId: key,
      });
    }
    for (const uri of [...dataSource.documents.keys()]) if (!seen.has(uri)) dataSource.documents.delete(uri);
    job.statistics = {
      ...emptyStatistics(),
      numberOfDocumentsScanned: summary.filesSeen,
      numberOfMetadataDocumentsScanned: sidecars,
      numberOfNewDocumentsIndexed: summary.documentsAdded,
      numberOfModifiedDocumentsIndexed: summary.documentsUpdated,
      numberOfDocumentsDeleted: summary.documentsDeleted,
      numberOfDocumentsFailed: summary.skipped.length,
    };
  }

  #bucketFolder(bucket: string): string {
    const folder = this.#options.s3Buckets[bucket];
    if (folder === undefined) {
      throw new Error(
        `Access denied to s3://${bucket}: the localkb emulator has no folder for this bucket ` +
          `(start it with s3Buckets: { '${bucket}': '<folder>' }).`,
      );
    }
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new Error(`The bucket s3://${bucket} is mapped to ${folder}, which is not a folder.`);
    }
    return path.resolve(folder);
  }

  #takeFailure(knowledgeBaseId: string, dataSourceId: string): string[] | undefined {
    const arm = this.#failures.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (candidate.knowledgeBaseId === undefined || candidate.knowledgeBaseId === knowledgeBaseId) &&
        (candidate.dataSourceId === undefined || candidate.dataSourceId === dataSourceId),
    );
    if (!arm) return undefined;
    arm.remaining--;
    this.#failures = this.#failures.filter((candidate) => candidate.remaining > 0);
    return arm.reasons;
  }

  // ——— documents (direct ingestion) ———

  ingestDocuments(
    knowledgeBaseId: string,
    dataSourceId: string,
    requests: DocumentIngestRequest[],
  ): DocumentRecord[] {
    const record = this.#usable(knowledgeBaseId);
    const dataSource = this.dataSource(knowledgeBaseId, dataSourceId);
    const now = new Date();
    const tracked = requests.map((request) => {
      const identifier = this.#identifierOf(dataSource, request);
      const key = identifier.custom?.id ?? identifier.s3!.uri;
      const document: DocumentRecord = {
        identifier,
        status: 'STARTING',
        updatedAt: now,
        localId: identifier.custom?.id ?? parseS3Uri(identifier.s3!.uri)!.key,
      };
      dataSource.documents.set(key, document);
      return { request, document };
    });
    this.#runInBackground(async () => {
      await this.#pause();
      for (const { document } of tracked) this.#setDocumentStatus(document, 'IN_PROGRESS');
      await this.#enqueue(record, async () => {
        const inputs: DocumentInput[] = [];
        const byId = new Map<string, DocumentRecord>();
        for (const { request, document } of tracked) {
          try {
            inputs.push(await this.#documentInput(dataSource, request, document.localId));
            byId.set(document.localId, document);
          } catch (error) {
            this.#setDocumentStatus(document, 'FAILED', (error as Error).message);
          }
        }
        if (inputs.length === 0) return;
        try {
          const summary = await record.knowledgeBase!.ingest(inputs);
          const skipped = new Map(summary.skipped.map((skip) => [skip.path, skip.reason]));
          for (const [id, document] of byId) {
            const reason = skipped.get(id);
            this.#setDocumentStatus(document, reason === undefined ? 'INDEXED' : 'FAILED', reason);
          }
        } catch (error) {
          for (const document of byId.values())
            this.#setDocumentStatus(document, 'FAILED', (error as Error).message);
        }
      });
    });
    return tracked.map(({ document }) => ({ ...document }));
  }

  #identifierOf(dataSource: DataSourceRecord, request: DocumentIngestRequest): DocumentIdentifier {
    const content = request.content;
    if (content.kind === 's3') {
      if (dataSource.type !== 'S3') {
        throw new AwsServiceError(
          'ValidationException',
          `Data source ${dataSource.dataSourceId} is CUSTOM; send CUSTOM documents.`,
        );
      }
      return { dataSourceType: 'S3', s3: { uri: content.uri } };
    }
    if (dataSource.type !== 'CUSTOM') {
      throw new AwsServiceError(
        'ValidationException',
        `Data source ${dataSource.dataSourceId} is S3; send S3 documents.`,
      );
    }
    return { dataSourceType: 'CUSTOM', custom: { id: content.id } };
  }

  async #documentInput(
    dataSource: DataSourceRecord,
    request: DocumentIngestRequest,
    localId: string,
  ): Promise<DocumentInput> {
    const metadata: Metadata = {
      ...(await this.#metadataOf(request)),
      [DATA_SOURCE_ID_KEY]: dataSource.dataSourceId,
    };
    const content = request.content;
    if (content.kind === 'inline')
      return { id: localId, text: content.text, format: content.format, metadata };
    if (content.kind === 'inline-unsupported') {
      throw new Error(
        `Inline ${content.mimeType} content is not read by the localkb emulator; send text/plain, text/markdown or text/html.`,
      );
    }
    const file = this.#localPath(content.uri);
    const loaded = await loadFile(file);
    return {
      id: localId,
      text: loaded.text,
      uri: pathToFileURL(file).href,
      metadata: { ...loaded.metadata, ...metadata },
    };
  }

  async #metadataOf(request: DocumentIngestRequest): Promise<Metadata> {
    if (!request.metadata) return {};
    if ('inline' in request.metadata) return request.metadata.inline;
    const file = this.#localPath(request.metadata.s3Uri);
    const { readFile } = await import('node:fs/promises');
    return parseSidecarMetadata(await readFile(file, 'utf8'), request.metadata.s3Uri);
  }

  #localPath(uri: string): string {
    const parsed = parseS3Uri(uri);
    if (!parsed || parsed.key === '') throw new Error(`${uri} is not an s3://bucket/key URI.`);
    return path.join(this.#bucketFolder(parsed.bucket), ...parsed.key.split('/'));
  }

  documents(
    knowledgeBaseId: string,
    dataSourceId: string,
    identifiers: DocumentIdentifier[],
  ): DocumentRecord[] {
    const dataSource = this.dataSource(knowledgeBaseId, dataSourceId);
    return identifiers.map((identifier) => {
      const key = identifier.custom?.id ?? identifier.s3?.uri ?? '';
      return (
        dataSource.documents.get(key) ?? {
          identifier,
          status: 'NOT_FOUND' as const,
          updatedAt: new Date(),
          localId: key,
        }
      );
    });
  }

  listDocuments(knowledgeBaseId: string, dataSourceId: string): DocumentRecord[] {
    return [...this.dataSource(knowledgeBaseId, dataSourceId).documents.values()];
  }

  deleteDocuments(
    knowledgeBaseId: string,
    dataSourceId: string,
    identifiers: DocumentIdentifier[],
  ): DocumentRecord[] {
    const record = this.#usable(knowledgeBaseId);
    const dataSource = this.dataSource(knowledgeBaseId, dataSourceId);
    const now = new Date();
    const targets = identifiers.map((identifier) => {
      const key = identifier.custom?.id ?? identifier.s3?.uri ?? '';
      const localId = identifier.custom?.id ?? parseS3Uri(key)?.key ?? key;
      const existing = dataSource.documents.get(key);
      const document: DocumentRecord = existing ?? {
        identifier,
        status: 'DELETING',
        updatedAt: now,
        localId,
      };
      this.#setDocumentStatus(document, 'DELETING');
      dataSource.documents.set(key, document);
      return { key, document };
    });
    this.#runInBackground(async () => {
      await this.#pause();
      await this.#enqueue(record, async () => {
        for (const { key, document } of targets) {
          await record.knowledgeBase!.delete(document.localId);
          dataSource.documents.delete(key);
        }
      });
    });
    return targets.map(({ document }) => ({ ...document }));
  }

  // ——— plumbing ———

  #usable(knowledgeBaseId: string): KnowledgeBaseRecord {
    const record = this.knowledgeBase(knowledgeBaseId);
    if (record.status !== 'ACTIVE' || !record.knowledgeBase) {
      throw new AwsServiceError(
        'ValidationException',
        `Knowledge base ${knowledgeBaseId} is ${record.status}, not ACTIVE; wait until it is ACTIVE.`,
      );
    }
    return record;
  }

  #setStatus(record: KnowledgeBaseRecord, status: KnowledgeBaseStatus): void {
    record.status = status;
    record.updatedAt = new Date();
  }

  #setJobStatus(job: IngestionJobRecord, status: IngestionJobStatus): void {
    job.status = status;
    job.updatedAt = new Date();
  }

  #setDocumentStatus(document: DocumentRecord, status: DocumentStatus, reason?: string): void {
    document.status = status;
    document.updatedAt = new Date();
    if (reason === undefined) delete document.statusReason;
    else document.statusReason = reason;
  }

  #pause(): Promise<void> {
    return sleep(this.#options.transitionMs);
  }

  #enqueue(record: KnowledgeBaseRecord, task: () => Promise<void>): Promise<void> {
    const run = record.queue.then(task);
    record.queue = run.catch(() => {});
    return run;
  }

  #runInBackground(task: () => Promise<void>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const running = task().catch((error: unknown) => {
      // A background failure is recorded on its resource; one that escapes is a bug worth seeing in test logs.
      if (!isLocalKbError(error)) console.error('localkb emulator: background task failed:', error);
    });
    this.#background.add(running);
    void running.finally(() => this.#background.delete(running));
    return running;
  }

  /** Waits for background work, then closes the local knowledge bases the emulator opened. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    for (const record of this.#records.values()) {
      await record.queue;
      if (record.owned) await record.knowledgeBase?.close().catch(() => {});
    }
    this.#records.clear();
  }
}

/** An S3 bucket of the emulator and the folder that holds it, as a path and as a file: URI prefix. */
interface S3Prefix {
  folder: string;
  file: string;
  s3: string;
}

/** An s3:// URI (or the start of one) in a mapped bucket as the file: URI the store holds; others unchanged. */
function localUri(value: string, prefixes: S3Prefix[]): string {
  const match = prefixes.find((prefix) => value.startsWith(prefix.s3));
  if (!match) return value;
  const key = value.slice(match.s3.length);
  const local = pathToFileURL(path.join(match.folder, key)).href;
  // pathToFileURL drops the slash a bare prefix ends with; a startsWith filter needs it kept.
  return key === '' || (value.endsWith('/') && !local.endsWith('/')) ? `${local}/` : local;
}

/**
 * A request's filter in the store's terms: values of x-amz-bedrock-kb-source-uri that name s3:// URIs of a mapped
 * bucket become the local file URIs behind them, so filters on what results show (s3:// URIs) match them.
 */
function s3FilterToLocal(filter: RetrievalFilter, prefixes: S3Prefix[]): RetrievalFilter {
  if ('andAll' in filter) return { andAll: filter.andAll.map((f) => s3FilterToLocal(f, prefixes)) };
  if ('orAll' in filter) return { orAll: filter.orAll.map((f) => s3FilterToLocal(f, prefixes)) };
  const [operator, attribute] = Object.entries(filter)[0] as [string, FilterAttribute];
  if (attribute?.key !== SOURCE_URI_KEY) return filter;
  const value = attribute.value;
  const mapped = Array.isArray(value)
    ? value.map((item) => (typeof item === 'string' ? localUri(item, prefixes) : item))
    : typeof value === 'string'
      ? localUri(value, prefixes)
      : value;
  return { [operator]: { key: attribute.key, value: mapped } } as RetrievalFilter;
}

/** Local results of an S3 data source, shown the way Bedrock shows them: s3:// URIs and S3 locations. */
function presentS3(result: RetrievalResult, prefixes: S3Prefix[]): RetrievalResult {
  const uri = result.location.uri;
  const match = prefixes.find((prefix) => uri.startsWith(prefix.file));
  if (!match) return result;
  const s3Uri = match.s3 + uri.slice(match.file.length).split('/').map(decodeURIComponent).join('/');
  const metadata: Metadata = {};
  for (const [key, value] of Object.entries(result.metadata)) metadata[key] = value === uri ? s3Uri : value;
  metadata[SOURCE_URI_KEY] = s3Uri;
  const { start: _start, end: _end, ...location } = result.location;
  return {
    ...result,
    documentId: s3Uri,
    location: { ...location, type: 'S3', uri: s3Uri, s3Location: { uri: s3Uri } },
    metadata,
  };
}
