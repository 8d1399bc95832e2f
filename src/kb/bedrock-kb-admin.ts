/**
 * Setting up and syncing managed Bedrock Knowledge Bases (bedrock-agent): create a knowledge base and its data
 * sources, run ingestion jobs to completion with progress, and delete everything cleanly. Every wait polls
 * Bedrock's own states and every failure is a LocalKbError naming the operation and the resource.
 */

import {
  BedrockAgentClient,
  type BedrockAgentClientConfig,
  type KnowledgeBase as BedrockKnowledgeBaseDescription,
  CreateDataSourceCommand,
  type CreateDataSourceCommandInput,
  CreateKnowledgeBaseCommand,
  type DataSource,
  DeleteDataSourceCommand,
  DeleteKnowledgeBaseCommand,
  GetDataSourceCommand,
  GetIngestionJobCommand,
  GetKnowledgeBaseCommand,
  type IngestionJob,
  type IngestionJobStatistics,
  ListDataSourcesCommand,
  StartIngestionJobCommand,
  type StorageConfiguration,
  type VectorIngestionConfiguration,
} from '@aws-sdk/client-bedrock-agent';
import {
  REMOTE_CALL_SHAPE,
  type RemoteCallOptions,
  remoteSettings,
  withRemoteDefaults,
} from '../aws-clients.js';
import { clientRegion } from '../aws-errors.js';
import { kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions, type OptionShape } from '../options.js';
import {
  foundationModelArn,
  knowledgeBaseError,
  sleepUnlessAborted,
  validateWaitTimes,
} from './bedrock-knowledge-base.js';

export interface BedrockKnowledgeBaseAdminOptions extends RemoteCallOptions {
  /** A ready client; when given, `clientConfig` is ignored and close() leaves it open. */
  client?: BedrockAgentClient;
  /** Region, credentials, endpoint (AWS_ENDPOINT_URL_BEDROCK_AGENT is honoured by the SDK), retries… */
  clientConfig?: BedrockAgentClientConfig;
  /** How often waits poll. Default 5000 ms. */
  pollIntervalMs?: number;
  /** How long a wait lasts before it gives up. Default 30 minutes. */
  timeoutMs?: number;
}

export interface CreateKnowledgeBaseOptions {
  name: string;
  description?: string;
  /** The IAM role Bedrock assumes to read data sources and write the vector store. */
  roleArn: string;
  /** An embedding model id (`amazon.titan-embed-text-v2:0`) or ARN. */
  embeddingModel: string;
  /** Vector size, for embedding models that offer several (Titan v2: 256, 512 or 1024). */
  dimensions?: number;
  /** The vector store, exactly as CreateKnowledgeBase takes it (OpenSearch Serverless, Aurora, Pinecone, S3 Vectors…). */
  storage: StorageConfiguration;
  /** Wait until the knowledge base is ACTIVE. Default true. */
  wait?: boolean;
}

export interface CreateDataSourceOptions {
  name: string;
  description?: string;
  /** An S3 data source: the bucket (name or ARN) and optional key prefixes. Without it: a CUSTOM data source. */
  s3?: { bucket: string; inclusionPrefixes?: string[]; bucketOwnerAccountId?: string };
  /** Chunking and parsing, as CreateDataSource takes them. */
  vectorIngestionConfiguration?: VectorIngestionConfiguration;
  /** DELETE (default) removes the data source's vectors with it; RETAIN keeps them. */
  dataDeletionPolicy?: 'DELETE' | 'RETAIN';
}

export interface IngestionProgress {
  ingestionJobId: string;
  status: string;
  statistics: IngestionJobStatistics;
  elapsedMs: number;
}

export interface WaitOptions {
  /** Called after every poll with the job's status and statistics. */
  onProgress?: (progress: IngestionProgress) => void;
  pollIntervalMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface IngestionJobResult {
  ingestionJobId: string;
  status: string;
  statistics: IngestionJobStatistics;
  startedAt?: Date;
  updatedAt?: Date;
}

const ADMIN_OPTIONS = declareOptions<BedrockKnowledgeBaseAdminOptions>(
  'BedrockKnowledgeBaseAdmin',
  {
    ...REMOTE_CALL_SHAPE,
    client: 'object',
    clientConfig: 'object',
    pollIntervalMs: 'number',
    timeoutMs: 'number',
  },
  // How long to wait for a resource is timeoutMs; timeouts are the network's.
  { timeout: 'timeoutMs' },
);

const CREATE_KNOWLEDGE_BASE_OPTIONS = declareOptions<CreateKnowledgeBaseOptions>('createKnowledgeBase', {
  name: 'string',
  description: 'string',
  roleArn: 'string',
  embeddingModel: 'string',
  dimensions: 'integer',
  storage: 'object',
  wait: 'boolean',
});

const CREATE_DATA_SOURCE_OPTIONS = declareOptions<CreateDataSourceOptions>('createDataSource', {
  name: 'string',
  description: 'string',
  s3: declareOptions<NonNullable<CreateDataSourceOptions['s3']>>('s3', {
    bucket: 'string',
    inclusionPrefixes: 'string[]',
    bucketOwnerAccountId: 'string',
  }),
  vectorIngestionConfiguration: 'object',
  dataDeletionPolicy: 'string',
});

const WAIT_OPTION_SHAPE: OptionShape<WaitOptions> = {
  onProgress: 'function',
  pollIntervalMs: 'number',
  timeoutMs: 'number',
  signal: 'signal',
};
const { onProgress: _progress, ...WAIT_WITHOUT_PROGRESS } = WAIT_OPTION_SHAPE;
const WAIT_OPTIONS = declareOptions<WaitOptions>('waitForIngestionJob', WAIT_OPTION_SHAPE);
const SYNC_OPTIONS = declareOptions<WaitOptions & { description?: string }>('sync', {
  ...WAIT_OPTION_SHAPE,
  description: 'string',
});
const waitOptionsOf = (name: string) =>
  declareOptions<Omit<WaitOptions, 'onProgress'>>(name, WAIT_WITHOUT_PROGRESS);

const EMPTY_STATISTICS: IngestionJobStatistics = {
  numberOfDocumentsScanned: 0,
  numberOfMetadataDocumentsScanned: 0,
  numberOfNewDocumentsIndexed: 0,
  numberOfModifiedDocumentsIndexed: 0,
  numberOfMetadataDocumentsModified: 0,
  numberOfDocumentsDeleted: 0,
  numberOfDocumentsFailed: 0,
  numberOfDocumentsSkipped: 0,
};

/** Creates and syncs managed Bedrock Knowledge Bases: knowledge bases, data sources and ingestion jobs (bedrock-agent). */
export class BedrockKnowledgeBaseAdmin {
  readonly #client: BedrockAgentClient;
  readonly #ownsClient: boolean;
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;

  constructor(options: BedrockKnowledgeBaseAdminOptions = {}) {
    checkOptions(ADMIN_OPTIONS, options);
    validateWaitTimes(options);
    this.#client =
      options.client ??
      new BedrockAgentClient(withRemoteDefaults(options.clientConfig, remoteSettings(options)));
    this.#ownsClient = options.client === undefined;
    this.#pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.#timeoutMs = options.timeoutMs ?? 30 * 60_000;
  }

  /** CreateKnowledgeBase (a VECTOR knowledge base), then waits until it is ACTIVE unless `wait` is false. */
  async createKnowledgeBase(options: CreateKnowledgeBaseOptions): Promise<BedrockKnowledgeBaseDescription> {
    checkOptions(CREATE_KNOWLEDGE_BASE_OPTIONS, options);
    requireString(options?.name, 'name');
    requireString(options.roleArn, 'roleArn');
    requireString(options.embeddingModel, 'embeddingModel');
    if (!options.storage || typeof options.storage.type !== 'string') {
      throw kbError(
        'INVALID_OPTION',
        'storage must be a Bedrock StorageConfiguration with a type (e.g. { type: "OPENSEARCH_SERVERLESS", ' +
          'opensearchServerlessConfiguration: { … } }); create the vector store first.',
        { input: 'storage' },
      );
    }
    const embeddingModelArn = options.embeddingModel.startsWith('arn:')
      ? options.embeddingModel
      : foundationModelArn(options.embeddingModel, await clientRegion(this.#client));
    const command = new CreateKnowledgeBaseCommand({
      name: options.name,
      roleArn: options.roleArn,
      ...(options.description === undefined ? {} : { description: options.description }),
      knowledgeBaseConfiguration: {
        type: 'VECTOR',
        vectorKnowledgeBaseConfiguration: {
          embeddingModelArn,
          ...(options.dimensions === undefined
            ? {}
            : {
                embeddingModelConfiguration: {
                  bedrockEmbeddingModelConfiguration: { dimensions: options.dimensions },
                },
              }),
        },
      },
      storageConfiguration: options.storage,
    });
    const created = await this.#send('CreateKnowledgeBase', options.name, (client, sendOptions) =>
      client.send(command, sendOptions),
    );
    const knowledgeBase = created.knowledgeBase!;
    if (options.wait === false) return knowledgeBase;
    return this.waitForKnowledgeBase(knowledgeBase.knowledgeBaseId!);
  }

  /** Polls GetKnowledgeBase until ACTIVE; FAILED becomes KNOWLEDGE_BASE_ERROR with Bedrock's failureReasons. */
  async waitForKnowledgeBase(
    knowledgeBaseId: string,
    options: Omit<WaitOptions, 'onProgress'> = {},
  ): Promise<BedrockKnowledgeBaseDescription> {
    checkOptions(waitOptionsOf('waitForKnowledgeBase'), options);
    return this.#poll(`knowledge base ${knowledgeBaseId} to become ACTIVE`, options, async () => {
      const { knowledgeBase } = await this.#send(
        'GetKnowledgeBase',
        knowledgeBaseId,
        (client, sendOptions) => client.send(new GetKnowledgeBaseCommand({ knowledgeBaseId }), sendOptions),
        options.signal,
      );
      if (knowledgeBase?.status === 'ACTIVE') return knowledgeBase;
      if (knowledgeBase?.status === 'FAILED' || knowledgeBase?.status === 'DELETE_UNSUCCESSFUL') {
        throw kbError(
          'KNOWLEDGE_BASE_ERROR',
          `Knowledge base ${knowledgeBaseId} is ${knowledgeBase.status}: ${(knowledgeBase.failureReasons ?? ['no reason given']).join('; ')}.`,
          {
            input: knowledgeBaseId,
            details: { operation: 'GetKnowledgeBase', failureReasons: knowledgeBase.failureReasons ?? [] },
          },
        );
      }
      return undefined;
    });
  }

  /** CreateDataSource: S3 when `s3` is given, else CUSTOM (for direct ingestion with BedrockKnowledgeBase.ingest). */
  async createDataSource(knowledgeBaseId: string, options: CreateDataSourceOptions): Promise<DataSource> {
    checkOptions(CREATE_DATA_SOURCE_OPTIONS, options);
    requireString(knowledgeBaseId, 'knowledgeBaseId');
    requireString(options?.name, 'name');
    let dataSourceConfiguration: CreateDataSourceCommandInput['dataSourceConfiguration'];
    if (options.s3) {
      requireString(options.s3.bucket, 's3.bucket');
      const bucketArn = options.s3.bucket.startsWith('arn:')
        ? options.s3.bucket
        : `arn:aws:s3:::${options.s3.bucket}`;
      dataSourceConfiguration = {
        type: 'S3',
        s3Configuration: {
          bucketArn,
          ...(options.s3.inclusionPrefixes ? { inclusionPrefixes: options.s3.inclusionPrefixes } : {}),
          ...(options.s3.bucketOwnerAccountId
            ? { bucketOwnerAccountId: options.s3.bucketOwnerAccountId }
            : {}),
        },
      };
    } else {
      dataSourceConfiguration = { type: 'CUSTOM' };
    }
    const { dataSource } = await this.#send('CreateDataSource', knowledgeBaseId, (client, sendOptions) =>
      client.send(
        new CreateDataSourceCommand({
          knowledgeBaseId,
          name: options.name,
          dataSourceConfiguration,
          ...(options.description === undefined ? {} : { description: options.description }),
          ...(options.vectorIngestionConfiguration
            ? { vectorIngestionConfiguration: options.vectorIngestionConfiguration }
            : {}),
          ...(options.dataDeletionPolicy ? { dataDeletionPolicy: options.dataDeletionPolicy } : {}),
        }),
        sendOptions,
      ),
    );
    return dataSource!;
  }

  async startIngestionJob(
    knowledgeBaseId: string,
    dataSourceId: string,
    description?: string,
  ): Promise<IngestionJob> {
    requireString(knowledgeBaseId, 'knowledgeBaseId');
    requireString(dataSourceId, 'dataSourceId');
    const { ingestionJob } = await this.#send('StartIngestionJob', knowledgeBaseId, (client, sendOptions) =>
      client.send(
        new StartIngestionJobCommand({
          knowledgeBaseId,
          dataSourceId,
          ...(description === undefined ? {} : { description }),
        }),
        sendOptions,
      ),
    );
    return ingestionJob!;
  }

  /**
   * Polls GetIngestionJob until the job ends, reporting progress after each poll. COMPLETE resolves with the
   * statistics; FAILED (or STOPPED) throws INGESTION_JOB_FAILED whose message and `details.failureReasons`
   * carry Bedrock's reasons.
   */
  async waitForIngestionJob(
    knowledgeBaseId: string,
    dataSourceId: string,
    ingestionJobId: string,
    options: WaitOptions = {},
  ): Promise<IngestionJobResult> {
    checkOptions(WAIT_OPTIONS, options);
    const started = Date.now();
    return this.#poll(`ingestion job ${ingestionJobId} to finish`, options, async () => {
      const { ingestionJob } = await this.#send(
        'GetIngestionJob',
        knowledgeBaseId,
        (client, sendOptions) =>
          client.send(
            new GetIngestionJobCommand({ knowledgeBaseId, dataSourceId, ingestionJobId }),
            sendOptions,
          ),
        options.signal,
      );
      const status = ingestionJob?.status ?? 'UNKNOWN';
      const statistics = { ...EMPTY_STATISTICS, ...ingestionJob?.statistics };
      options.onProgress?.({ ingestionJobId, status, statistics, elapsedMs: Date.now() - started });
      const result: IngestionJobResult = {
        ingestionJobId,
        status,
        statistics,
        ...(ingestionJob?.startedAt ? { startedAt: ingestionJob.startedAt } : {}),
        ...(ingestionJob?.updatedAt ? { updatedAt: ingestionJob.updatedAt } : {}),
      };
      if (status === 'COMPLETE') return result;
      if (status === 'FAILED' || status === 'STOPPED') {
        const reasons = ingestionJob?.failureReasons ?? [];
        throw kbError(
          'INGESTION_JOB_FAILED',
          `Ingestion job ${ingestionJobId} on data source ${dataSourceId} of knowledge base ${knowledgeBaseId} ended ` +
            `${status}: ${reasons.length > 0 ? reasons.join('; ') : 'no reason given'}. Fix the cause and start a new job.`,
          {
            input: ingestionJobId,
            details: {
              operation: 'GetIngestionJob',
              knowledgeBaseId,
              dataSourceId,
              status,
              failureReasons: reasons,
              statistics,
            },
          },
        );
      }
      return undefined;
    });
  }

  /** Starts an ingestion job (an S3 sync) and waits for it; progress starts with the job as it was started. */
  async sync(
    knowledgeBaseId: string,
    dataSourceId: string,
    options: WaitOptions & { description?: string } = {},
  ): Promise<IngestionJobResult> {
    checkOptions(SYNC_OPTIONS, options);
    const { description, ...wait } = options;
    const job = await this.startIngestionJob(knowledgeBaseId, dataSourceId, description);
    options.onProgress?.({
      ingestionJobId: job.ingestionJobId!,
      status: job.status ?? 'STARTING',
      statistics: { ...EMPTY_STATISTICS, ...job.statistics },
      elapsedMs: 0,
    });
    return this.waitForIngestionJob(knowledgeBaseId, dataSourceId, job.ingestionJobId!, wait);
  }

  /** DeleteDataSource, then waits until GetDataSource answers ResourceNotFound. */
  async deleteDataSource(
    knowledgeBaseId: string,
    dataSourceId: string,
    options: Omit<WaitOptions, 'onProgress'> = {},
  ): Promise<void> {
    checkOptions(waitOptionsOf('deleteDataSource'), options);
    await this.#send(
      'DeleteDataSource',
      knowledgeBaseId,
      (client, sendOptions) =>
        client.send(new DeleteDataSourceCommand({ knowledgeBaseId, dataSourceId }), sendOptions),
      options.signal,
    );
    await this.#waitUntilDeleted(
      `data source ${dataSourceId}`,
      dataSourceId,
      'DeleteDataSource',
      options,
      async () => {
        const { dataSource } = await this.#send(
          'GetDataSource',
          knowledgeBaseId,
          (client, sendOptions) =>
            client.send(new GetDataSourceCommand({ knowledgeBaseId, dataSourceId }), sendOptions),
          options.signal,
        );
        return dataSource;
      },
    );
  }

  /**
   * Deletes a knowledge base cleanly: its data sources first (each waited for, so their vectors are removed
   * per their deletion policy), then the knowledge base, waiting until Bedrock no longer knows it.
   */
  async deleteKnowledgeBase(
    knowledgeBaseId: string,
    options: Omit<WaitOptions, 'onProgress'> = {},
  ): Promise<void> {
    checkOptions(waitOptionsOf('deleteKnowledgeBase'), options);
    requireString(knowledgeBaseId, 'knowledgeBaseId');
    const dataSourceIds: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#send(
        'ListDataSources',
        knowledgeBaseId,
        (client, sendOptions) =>
          client.send(
            new ListDataSourcesCommand({ knowledgeBaseId, ...(nextToken ? { nextToken } : {}) }),
            sendOptions,
          ),
        options.signal,
      );
      for (const summary of page.dataSourceSummaries ?? [])
        if (summary.dataSourceId) dataSourceIds.push(summary.dataSourceId);
      nextToken = page.nextToken;
    } while (nextToken);
    for (const dataSourceId of dataSourceIds)
      await this.deleteDataSource(knowledgeBaseId, dataSourceId, options);
    await this.#send(
      'DeleteKnowledgeBase',
      knowledgeBaseId,
      (client, sendOptions) => client.send(new DeleteKnowledgeBaseCommand({ knowledgeBaseId }), sendOptions),
      options.signal,
    );
    await this.#waitUntilDeleted(
      `knowledge base ${knowledgeBaseId}`,
      knowledgeBaseId,
      'DeleteKnowledgeBase',
      options,
      async () => {
        const { knowledgeBase } = await this.#send(
          'GetKnowledgeBase',
          knowledgeBaseId,
          (client, sendOptions) => client.send(new GetKnowledgeBaseCommand({ knowledgeBaseId }), sendOptions),
          options.signal,
        );
        return knowledgeBase;
      },
    );
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }

  /** Polls `describe` until Bedrock answers ResourceNotFound; DELETE_UNSUCCESSFUL fails with Bedrock's reasons. */
  async #waitUntilDeleted(
    what: string,
    input: string,
    operation: string,
    options: Omit<WaitOptions, 'onProgress'>,
    describe: () => Promise<{ status?: string; failureReasons?: string[] } | undefined>,
  ): Promise<void> {
    await this.#poll(`${what} to be deleted`, options, async () => {
      try {
        const resource = await describe();
        if (resource?.status === 'DELETE_UNSUCCESSFUL') {
          throw kbError(
            'KNOWLEDGE_BASE_ERROR',
            `${what[0]!.toUpperCase()}${what.slice(1)} could not be deleted: ${(resource.failureReasons ?? ['no reason given']).join('; ')}.`,
            { input, details: { operation, failureReasons: resource.failureReasons ?? [] } },
          );
        }
        return undefined;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
  }

  /** Calls `check` every poll interval until it returns a value; gives up after the timeout. */
  async #poll<T>(
    what: string,
    options: Omit<WaitOptions, 'onProgress'>,
    check: () => Promise<T | undefined>,
  ): Promise<T> {
    const interval = options.pollIntervalMs ?? this.#pollIntervalMs;
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    while (true) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        throw kbError(
          'KNOWLEDGE_BASE_ERROR',
          `Gave up waiting for ${what} after ${options.timeoutMs ?? this.#timeoutMs} ms; raise timeoutMs.`,
          {
            input: what,
          },
        );
      }
      await sleepUnlessAborted(interval, options.signal);
    }
  }

  /** Sends one command, mapping any failure to a LocalKbError that names the operation and the resource. */
  async #send<T>(
    operation: string,
    resource: string,
    send: (client: BedrockAgentClient, options: { abortSignal?: AbortSignal }) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      return await send(this.#client, signal ? { abortSignal: signal } : {});
    } catch (error) {
      throw knowledgeBaseError(error, { operation, knowledgeBaseId: resource, signal });
    }
  }
}

function isNotFound(error: unknown): boolean {
  const details = (error as LocalKbError | undefined)?.details;
  return details?.awsErrorName === 'ResourceNotFoundException' || details?.status === 404;
}

function requireString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw kbError('INVALID_OPTION', `${name} must be a non-empty string.`, { input: name });
  }
}
