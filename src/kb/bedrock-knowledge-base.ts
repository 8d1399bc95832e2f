/**
 * A managed Amazon Bedrock Knowledge Base behind localkb's KnowledgeBase interface: retrieve and
 * retrieveAndGenerate go to bedrock-agent-runtime, ingest and delete to bedrock-agent's direct ingestion into a
 * CUSTOM data source. Results and citations come back in the same types LocalKnowledgeBase returns, so an app
 * moves between the two by changing the line that opens its knowledge base.
 */

import {
  BedrockAgentClient,
  type BedrockAgentClientConfig,
  type DataSourceSummary,
  DeleteKnowledgeBaseDocumentsCommand,
  GetDataSourceCommand,
  GetKnowledgeBaseCommand,
  GetKnowledgeBaseDocumentsCommand,
  IngestKnowledgeBaseDocumentsCommand,
  type KnowledgeBaseDocument,
  type KnowledgeBaseDocumentDetail,
  ListDataSourcesCommand,
  ListIngestionJobsCommand,
  ListKnowledgeBaseDocumentsCommand,
  type MetadataAttribute,
} from '@aws-sdk/client-bedrock-agent';
import {
  BedrockAgentRuntimeClient,
  type BedrockAgentRuntimeClientConfig,
  type Citation as BedrockCitation,
  type KnowledgeBaseRetrievalConfiguration,
  type KnowledgeBaseRetrievalResult,
  RetrieveAndGenerateCommand,
  type RetrieveAndGenerateCommandInput,
  RetrieveAndGenerateStreamCommand,
  RetrieveCommand,
  type RetrievedReference,
} from '@aws-sdk/client-bedrock-agent-runtime';
import {
  REMOTE_CALL_SHAPE,
  type RemoteCallOptions,
  remoteSettings,
  withRemoteDefaults,
} from '../aws-clients.js';
import { awsErrorClass, clientRegion, mapAwsError, traceCall } from '../aws-errors.js';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { documentFromInput, loadPaths } from '../ingest/index.js';
import type { UsageListener } from '../observe/usage.js';
import { checkOptions, declareOptions } from '../options.js';
import { validateFilter } from '../retrieve/filter.js';
import {
  BEDROCK_METADATA_KEYS,
  type DocumentInput,
  type Metadata,
  type MetadataValue,
  type RetrievalLocation,
  type RetrievalResult,
  type SourceDocument,
} from '../types.js';
import { markAnswer, markAnswerStream } from './citation-markers.js';
import {
  type Answer,
  type AnswerStreamEvent,
  type Citation,
  emptyIngestSummary,
  INFERENCE_CONFIG_OPTIONS,
  INGEST_OPTIONS,
  type InferenceConfig,
  type IngestOptions,
  type IngestSummary,
  type KnowledgeBase,
  type KnowledgeBaseStats,
  RETRIEVE_AND_GENERATE_OPTION_SHAPE,
  RETRIEVE_AND_GENERATE_OPTIONS,
  RETRIEVE_OPTION_SHAPE,
  type RetrieveAndGenerateOptions,
  type RetrieveOptions,
} from './types.js';

export const DEFAULT_KNOWLEDGE_BASE_MODEL_ID = 'anthropic.claude-3-haiku-20240307-v1:0';
/** Bedrock's limit on numberOfResults. */
export const MAX_BEDROCK_RESULTS = 100;
/** Documents per IngestKnowledgeBaseDocuments / GetKnowledgeBaseDocuments / DeleteKnowledgeBaseDocuments call. */
export const DOCUMENTS_PER_REQUEST = 25;

const SOURCE_URI_KEY = BEDROCK_METADATA_KEYS.sourceUri;
const CHUNK_ID_KEY = BEDROCK_METADATA_KEYS.chunkId;
const PAGE_NUMBER_KEY = BEDROCK_METADATA_KEYS.pageNumber;

/** Client settings both services share: region, credentials, endpoint, retries, request handler… */
export type BedrockKnowledgeBaseClientConfig = BedrockAgentRuntimeClientConfig;

export interface BedrockRerankingOptions {
  /** A rerank model id (`amazon.rerank-v1:0`, `cohere.rerank-v3-5:0`) or ARN. */
  modelId: string;
  /** Results kept after reranking. Default: all retrieved. */
  numberOfRerankedResults?: number;
}

export interface BedrockRetrieveOptions extends RetrieveOptions {
  /** Rerank this call's results with a Bedrock rerank model; null turns the knowledge base's default off. */
  reranking?: BedrockRerankingOptions | null;
}

export interface BedrockKnowledgeBaseOptions extends RemoteCallOptions {
  /** The knowledge base id (10 letters and digits, from the console or CreateKnowledgeBase). */
  knowledgeBaseId: string;
  /** The CUSTOM data source `ingest` and `delete` use. Default: the knowledge base's only CUSTOM data source. */
  dataSourceId?: string;
  /** The model that writes retrieveAndGenerate answers: a model id, inference profile id or ARN. */
  modelId?: string;
  /** Reranks every retrieve (per-call `reranking` wins). */
  reranking?: BedrockRerankingOptions;
  /** Defaults for retrieveAndGenerate; per-call options win. */
  promptTemplate?: string;
  inferenceConfig?: InferenceConfig;
  guardrail?: { id: string; version: string };
  /**
   * Configuration for both clients. Without it the SDK's standard chain applies: AWS_REGION / profile, the
   * credential chain, and AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME / AWS_ENDPOINT_URL_BEDROCK_AGENT. Retries and
   * timeouts follow `retry` and `timeouts` unless it sets its own requestHandler, retryStrategy or maxAttempts.
   */
  clientConfig?: BedrockKnowledgeBaseClientConfig;
  /** Ready clients; when given they are used as they are and left open by close(). */
  agentRuntimeClient?: BedrockAgentRuntimeClient;
  agentClient?: BedrockAgentClient;
  /** How often ingest and delete poll document status. Default 2000 ms. */
  pollIntervalMs?: number;
  /** How long ingest and delete wait for documents to settle. Default 15 minutes. */
  timeoutMs?: number;
  /** One event per Bedrock call, with throttled attempts (including those the SDK retried). */
  onUsage?: UsageListener;
}

const RERANKING_OPTIONS = declareOptions<BedrockRerankingOptions>('reranking', {
  modelId: 'string',
  numberOfRerankedResults: 'integer',
});

export const BEDROCK_KNOWLEDGE_BASE_OPTIONS = declareOptions<BedrockKnowledgeBaseOptions>(
  'BedrockKnowledgeBase',
  {
    knowledgeBaseId: 'string',
    dataSourceId: 'string',
    modelId: 'string',
    reranking: RERANKING_OPTIONS,
    promptTemplate: 'string',
    inferenceConfig: INFERENCE_CONFIG_OPTIONS,
    guardrail: RETRIEVE_AND_GENERATE_OPTION_SHAPE.guardrail,
    ...REMOTE_CALL_SHAPE,
    clientConfig: 'object',
    agentRuntimeClient: 'object',
    agentClient: 'object',
    pollIntervalMs: 'number',
    timeoutMs: 'number',
    onUsage: 'function',
  },
  {
    id: 'knowledgeBaseId',
    kbId: 'knowledgeBaseId',
    knowledgeBaseID: 'knowledgeBaseId',
    timeout: 'timeoutMs',
  },
);

const BEDROCK_RETRIEVE_OPTIONS = declareOptions<BedrockRetrieveOptions>('retrieve', {
  ...RETRIEVE_OPTION_SHAPE,
  reranking: ['object', 'null'],
});

export class BedrockKnowledgeBase implements KnowledgeBase {
  readonly knowledgeBaseId: string;
  readonly modelId: string;
  readonly #runtime: BedrockAgentRuntimeClient;
  readonly #agent: BedrockAgentClient;
  readonly #ownsRuntime: boolean;
  readonly #ownsAgent: boolean;
  readonly #options: BedrockKnowledgeBaseOptions;
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;
  #dataSourceId: string | undefined;
  #throttledAttempts = 0;
  #closed = false;

  constructor(options: BedrockKnowledgeBaseOptions) {
    validateOptions(options);
    this.knowledgeBaseId = options.knowledgeBaseId;
    this.modelId = options.modelId ?? DEFAULT_KNOWLEDGE_BASE_MODEL_ID;
    this.#options = options;
    this.#dataSourceId = options.dataSourceId;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.#timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const settings = remoteSettings(options);
    const config = options.clientConfig;
    this.#runtime =
      options.agentRuntimeClient ?? new BedrockAgentRuntimeClient(withRemoteDefaults(config, settings));
    this.#agent =
      options.agentClient ??
      new BedrockAgentClient(withRemoteDefaults(config as BedrockAgentClientConfig | undefined, settings));
    this.#ownsRuntime = options.agentRuntimeClient === undefined;
    this.#ownsAgent = options.agentClient === undefined;
  }

  /** HTTP attempts Bedrock answered with a throttle so far, including those the SDK retried. */
  get throttledAttempts(): number {
    return this.#throttledAttempts;
  }

  // ——— retrieval ———

  async retrieve(query: string, options: BedrockRetrieveOptions = {}): Promise<RetrievalResult[]> {
    this.#assertOpen();
    checkOptions(BEDROCK_RETRIEVE_OPTIONS, options);
    checkQuery(query, 'query');
    const k = options.k ?? 5;
    const configuration = await this.#retrievalConfiguration(options, k);
    const results: RetrievalResult[] = [];
    let nextToken: string | undefined;
    do {
      const response = await this.#call(
        'Retrieve',
        new RetrieveCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          retrievalQuery: { text: query },
          retrievalConfiguration: configuration,
          ...(nextToken ? { nextToken } : {}),
        }),
        options.signal,
        (command, sendOptions) => this.#runtime.send(command, sendOptions),
      );
      for (const item of response.retrievalResults ?? []) results.push(retrievalResultFromBedrock(item));
      nextToken = response.nextToken;
    } while (nextToken && results.length < k);
    return results.slice(0, k);
  }

  async #retrievalConfiguration(
    options: BedrockRetrieveOptions,
    k: number,
  ): Promise<KnowledgeBaseRetrievalConfiguration> {
    if (!Number.isInteger(k) || k < 1 || k > MAX_BEDROCK_RESULTS) {
      throw kbError(
        'INVALID_OPTION',
        `k must be an integer from 1 to ${MAX_BEDROCK_RESULTS} (Bedrock's numberOfResults limit), got ${String(options.k)}.`,
        { input: 'k' },
      );
    }
    const searchType = bedrockSearchType(options.searchType);
    const filter = options.filter === undefined ? undefined : validateFilter(options.filter);
    const reranking = options.reranking === null ? undefined : (options.reranking ?? this.#options.reranking);
    const vector: NonNullable<KnowledgeBaseRetrievalConfiguration['vectorSearchConfiguration']> = {
      numberOfResults: k,
      ...(searchType ? { overrideSearchType: searchType } : {}),
      // The SDK's RetrievalFilter is the same union; its value type is a looser document type.
      ...(filter ? { filter: filter as never } : {}),
    };
    if (reranking) {
      vector.rerankingConfiguration = {
        type: 'BEDROCK_RERANKING_MODEL',
        bedrockRerankingConfiguration: {
          modelConfiguration: { modelArn: await this.#modelArn(reranking.modelId) },
          ...(reranking.numberOfRerankedResults === undefined
            ? {}
            : { numberOfRerankedResults: reranking.numberOfRerankedResults }),
        },
      };
    }
    return { vectorSearchConfiguration: vector };
  }

  async retrieveAndGenerate(question: string, options: RetrieveAndGenerateOptions = {}): Promise<Answer> {
    this.#assertOpen();
    checkOptions(RETRIEVE_AND_GENERATE_OPTIONS, options);
    const input = await this.#generateInput(question, options);
    const response = await this.#call(
      'RetrieveAndGenerate',
      new RetrieveAndGenerateCommand(input),
      options.signal,
      (command, sendOptions) => this.#runtime.send(command, sendOptions),
    );
    const citations = (response.citations ?? []).flatMap(citationFromBedrock);
    const answer: Answer = {
      text: response.output?.text ?? '',
      citations,
      sessionId: response.sessionId ?? '',
      ...(response.guardrailAction
        ? { guardrailAction: response.guardrailAction as 'INTERVENED' | 'NONE' }
        : {}),
      retrievalResults: citedResults(citations),
    };
    return options.citationMarkers ? markAnswer(answer) : answer;
  }

  async *retrieveAndGenerateStream(
    question: string,
    options: RetrieveAndGenerateOptions = {},
  ): AsyncIterable<AnswerStreamEvent> {
    this.#assertOpen();
    checkOptions(RETRIEVE_AND_GENERATE_OPTIONS, options);
    const events = this.#plainStream(question, options);
    yield* options.citationMarkers ? markAnswerStream(events) : events;
  }

  async *#plainStream(
    question: string,
    options: RetrieveAndGenerateOptions,
  ): AsyncIterable<AnswerStreamEvent> {
    const input = await this.#generateInput(question, options);
    const response = await this.#call(
      'RetrieveAndGenerateStream',
      new RetrieveAndGenerateStreamCommand(input),
      options.signal,
      (command, sendOptions) => this.#runtime.send(command, sendOptions),
    );
    let text = '';
    let events = 0;
    let guardrailAction: 'INTERVENED' | 'NONE' | undefined;
    const citations: Citation[] = [];
    yield { type: 'session', sessionId: response.sessionId ?? '' };
    try {
      for await (const event of response.stream ?? []) {
        events++;
        if (event.output?.text !== undefined) {
          text += event.output.text;
          yield { type: 'text', text: event.output.text };
        } else if (event.citation) {
          const wire = event.citation.generatedResponsePart
            ? {
                generatedResponsePart: event.citation.generatedResponsePart,
                retrievedReferences: event.citation.retrievedReferences,
              }
            : event.citation.citation;
          for (const citation of wire ? citationFromBedrock(wire) : []) {
            citations.push(citation);
            yield { type: 'citation', citation };
          }
        } else if (event.guardrail?.action) {
          guardrailAction = event.guardrail.action as 'INTERVENED' | 'NONE';
        }
      }
    } catch (error) {
      const mapped = this.#error(error, 'RetrieveAndGenerateStream', options.signal);
      if (events === 0 || mapped.code === 'ABORTED') throw mapped;
      throw kbError(
        'STREAM_INTERRUPTED',
        `The RetrieveAndGenerateStream response of knowledge base ${this.knowledgeBaseId} broke after ` +
          `${text.length} characters (${mapped.message}); retry the request. The text so far is in details.partialText.`,
        { input: this.knowledgeBaseId, cause: error, details: { ...mapped.details, partialText: text } },
      );
    }
    const answer: Answer = {
      text,
      citations,
      sessionId: response.sessionId ?? '',
      ...(guardrailAction ? { guardrailAction } : {}),
      retrievalResults: citedResults(citations),
    };
    yield { type: 'done', answer };
  }

  async #generateInput(
    question: string,
    options: RetrieveAndGenerateOptions,
  ): Promise<RetrieveAndGenerateCommandInput> {
    checkQuery(question, 'question');
    const k = options.k ?? 5;
    const retrievalConfiguration = await this.#retrievalConfiguration({ ...options, reranking: null }, k);
    const promptTemplate = options.promptTemplate ?? this.#options.promptTemplate;
    if (promptTemplate !== undefined && !promptTemplate.includes('$search_results$')) {
      throw kbError(
        'INVALID_OPTION',
        'The prompt template must contain $search_results$ where Bedrock puts the retrieved sources ($query$ is optional).',
        { input: 'promptTemplate' },
      );
    }
    const inference = options.inferenceConfig ?? this.#options.inferenceConfig;
    const guardrail = options.guardrail ?? this.#options.guardrail;
    const generationConfiguration = {
      ...(promptTemplate === undefined ? {} : { promptTemplate: { textPromptTemplate: promptTemplate } }),
      ...(inference ? { inferenceConfig: { textInferenceConfig: inference } } : {}),
      ...(guardrail
        ? { guardrailConfiguration: { guardrailId: guardrail.id, guardrailVersion: guardrail.version } }
        : {}),
    };
    return {
      input: { text: question },
      ...(options.sessionId ? { sessionId: options.sessionId } : {}),
      retrieveAndGenerateConfiguration: {
        type: 'KNOWLEDGE_BASE',
        knowledgeBaseConfiguration: {
          knowledgeBaseId: this.knowledgeBaseId,
          modelArn: await this.#modelArn(options.modelId ?? this.modelId),
          retrievalConfiguration,
          ...(Object.keys(generationConfiguration).length > 0 ? { generationConfiguration } : {}),
        },
      },
    };
  }

  /** Bedrock wants an ARN: a bare foundation model id becomes one in the client's region. */
  async #modelArn(modelId: string): Promise<string> {
    if (typeof modelId !== 'string' || modelId.trim() === '') {
      throw kbError('INVALID_OPTION', 'modelId must be a Bedrock model id, inference profile id or ARN.', {
        input: 'modelId',
      });
    }
    if (modelId.startsWith('arn:') || isInferenceProfileId(modelId)) return modelId;
    return foundationModelArn(
      modelId,
      await clientRegion(this.#runtime, `knowledge base ${this.knowledgeBaseId}`),
    );
  }

  // ——— ingestion ———

  /**
   * Direct ingestion into the CUSTOM data source: files are loaded with localkb's loaders (sidecar
   * `.metadata.json` attributes included) and sent as inline text with their metadata as attributes; in-memory
   * documents are sent as they are. Resolves once Bedrock reports every document INDEXED or FAILED (failed ones
   * are listed in `skipped`). Bedrock does not report chunk counts, so `chunksEmbedded` stays 0, and every
   * document sent counts as added or updated (Bedrock re-indexes unchanged ones).
   */
  async ingest(input: string[] | DocumentInput[], options: IngestOptions = {}): Promise<IngestSummary> {
    this.#assertOpen();
    checkOptions(INGEST_OPTIONS, options);
    if (options.prune) {
      throw kbError(
        'INVALID_OPTION',
        'prune is not supported for a managed knowledge base: its document ids do not record the folder they came ' +
          'from. Delete removed documents with delete(id), or use an S3 data source, whose sync removes them.',
        { input: 'prune' },
      );
    }
    const started = Date.now();
    const dataSourceId = await this.#customDataSourceId();
    const summary = emptyIngestSummary();
    let batch: KnowledgeBaseDocument[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.#ingestBatch(dataSourceId, batch, summary, options.signal);
      batch = [];
      options.onProgress?.({
        files: summary.filesSeen,
        chunks: 0,
        chunksPerSecond: 0,
        fraction: 0,
        elapsedMs: Date.now() - started,
      });
    };
    for await (const document of documentsOf(input, options, summary)) {
      if (options.signal?.aborted) throw kbError('ABORTED', 'Ingest aborted by the caller.');
      batch.push(toBedrockDocument(document, options.metadata));
      if (batch.length === DOCUMENTS_PER_REQUEST) await flush();
    }
    await flush();
    summary.durationMs = Date.now() - started;
    return summary;
  }

  async #ingestBatch(
    dataSourceId: string,
    documents: KnowledgeBaseDocument[],
    summary: IngestSummary,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const identifiers = documents.map((document) => ({
      dataSourceType: 'CUSTOM' as const,
      custom: { id: document.content!.custom!.customDocumentIdentifier!.id! },
    }));
    const before = await this.#documentDetails(dataSourceId, identifiers, signal);
    const existing = new Set(
      before.filter((detail) => detail.status !== 'NOT_FOUND').map((detail) => detail.identifier?.custom?.id),
    );
    await this.#call(
      'IngestKnowledgeBaseDocuments',
      new IngestKnowledgeBaseDocumentsCommand({
        knowledgeBaseId: this.knowledgeBaseId,
        dataSourceId,
        documents,
      }),
      signal,
      (command, sendOptions) => this.#agent.send(command, sendOptions),
    );
    const settled = await this.#waitForDocuments(dataSourceId, identifiers, signal, (status) =>
      ['STARTING', 'PENDING', 'IN_PROGRESS'].includes(status),
    );
    for (const detail of settled) {
      const id = detail.identifier?.custom?.id ?? '';
      if (detail.status === 'INDEXED' || detail.status === 'PARTIALLY_INDEXED') {
        if (existing.has(id)) summary.documentsUpdated++;
        else summary.documentsAdded++;
      } else {
        summary.skipped.push({
          path: id,
          code: 'KNOWLEDGE_BASE_ERROR',
          reason: `Bedrock reported ${detail.status}${detail.statusReason ? `: ${detail.statusReason}` : ''}`,
        });
      }
    }
  }

  async #documentDetails(
    dataSourceId: string,
    identifiers: { dataSourceType: 'CUSTOM'; custom: { id: string } }[],
    signal: AbortSignal | undefined,
  ): Promise<KnowledgeBaseDocumentDetail[]> {
    const details: KnowledgeBaseDocumentDetail[] = [];
    for (let offset = 0; offset < identifiers.length; offset += DOCUMENTS_PER_REQUEST) {
      const response = await this.#call(
        'GetKnowledgeBaseDocuments',
        new GetKnowledgeBaseDocumentsCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          dataSourceId,
          documentIdentifiers: identifiers.slice(offset, offset + DOCUMENTS_PER_REQUEST),
        }),
        signal,
        (command, sendOptions) => this.#agent.send(command, sendOptions),
      );
      details.push(...(response.documentDetails ?? []));
    }
    return details;
  }

  /** Polls until no document is in a `pending` state, or the timeout passes. */
  async #waitForDocuments(
    dataSourceId: string,
    identifiers: { dataSourceType: 'CUSTOM'; custom: { id: string } }[],
    signal: AbortSignal | undefined,
    pending: (status: string) => boolean,
  ): Promise<KnowledgeBaseDocumentDetail[]> {
    const deadline = Date.now() + this.#timeoutMs;
    while (true) {
      const details = await this.#documentDetails(dataSourceId, identifiers, signal);
      const waiting = details.filter((detail) => pending(detail.status ?? ''));
      if (waiting.length === 0) return details;
      if (Date.now() > deadline) {
        throw kbError(
          'KNOWLEDGE_BASE_ERROR',
          `Knowledge base ${this.knowledgeBaseId}: ${waiting.length} document(s) (first ${waiting[0]!.identifier?.custom?.id}) ` +
            `are still ${waiting[0]!.status} after ${this.#timeoutMs} ms; raise timeoutMs or check the data source.`,
          { input: this.knowledgeBaseId, details: { operation: 'GetKnowledgeBaseDocuments' } },
        );
      }
      await sleepUnlessAborted(this.#pollIntervalMs, signal);
    }
  }

  /** The data source direct ingestion goes to: the given one, or the knowledge base's only CUSTOM one. */
  async #customDataSourceId(): Promise<string> {
    if (this.#dataSourceId) return this.#dataSourceId;
    const custom: string[] = [];
    for await (const summary of this.#dataSourceSummaries()) {
      const { dataSource } = await this.#call(
        'GetDataSource',
        new GetDataSourceCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          dataSourceId: summary.dataSourceId,
        }),
        undefined,
        (command, sendOptions) => this.#agent.send(command, sendOptions),
      );
      if (dataSource?.dataSourceConfiguration?.type === 'CUSTOM' && dataSource.dataSourceId) {
        custom.push(dataSource.dataSourceId);
      }
    }
    if (custom.length !== 1) {
      throw kbError(
        'INVALID_OPTION',
        custom.length === 0
          ? `Knowledge base ${this.knowledgeBaseId} has no CUSTOM data source to ingest into; create one ` +
              '(BedrockKnowledgeBaseAdmin.createDataSource with { type: "CUSTOM" }) or pass dataSourceId.'
          : `Knowledge base ${this.knowledgeBaseId} has ${custom.length} CUSTOM data sources (${custom.join(', ')}); ` +
              'pass dataSourceId to choose one.',
        { input: 'dataSourceId' },
      );
    }
    this.#dataSourceId = custom[0]!;
    return this.#dataSourceId;
  }

  /** DeleteKnowledgeBaseDocuments on the CUSTOM data source; false when the document is not there. */
  async delete(documentId: string): Promise<boolean> {
    this.#assertOpen();
    if (typeof documentId !== 'string' || documentId === '') {
      throw kbError('INVALID_OPTION', 'delete needs a document id (a non-empty string).', {
        input: String(documentId),
      });
    }
    if (documentId.startsWith('s3://')) {
      throw kbError(
        'INVALID_OPTION',
        `${documentId} comes from an S3 data source; delete the object from the bucket and sync the data source.`,
        { input: documentId },
      );
    }
    const dataSourceId = await this.#customDataSourceId();
    const identifiers = [{ dataSourceType: 'CUSTOM' as const, custom: { id: documentId } }];
    const [before] = await this.#documentDetails(dataSourceId, identifiers, undefined);
    if (!before || before.status === 'NOT_FOUND') return false;
    await this.#call(
      'DeleteKnowledgeBaseDocuments',
      new DeleteKnowledgeBaseDocumentsCommand({
        knowledgeBaseId: this.knowledgeBaseId,
        dataSourceId,
        documentIdentifiers: identifiers,
      }),
      undefined,
      (command, sendOptions) => this.#agent.send(command, sendOptions),
    );
    await this.#waitForDocuments(dataSourceId, identifiers, undefined, (status) =>
      ['DELETING', 'DELETE_IN_PROGRESS'].includes(status),
    );
    return true;
  }

  // ——— stats and lifecycle ———

  /**
   * From GetKnowledgeBase, the data sources, their documents (ListKnowledgeBaseDocuments) and latest ingestion
   * jobs. No `chunks`: Bedrock does not report how many chunks a knowledge base holds.
   */
  async stats(): Promise<KnowledgeBaseStats> {
    this.#assertOpen();
    const { knowledgeBase } = await this.#call(
      'GetKnowledgeBase',
      new GetKnowledgeBaseCommand({ knowledgeBaseId: this.knowledgeBaseId }),
      undefined,
      (command, sendOptions) => this.#agent.send(command, sendOptions),
    );
    const vector = knowledgeBase?.knowledgeBaseConfiguration?.vectorKnowledgeBaseConfiguration;
    const dataSources: Record<string, unknown>[] = [];
    let documents = 0;
    for await (const summary of this.#dataSourceSummaries()) {
      const indexed = await this.#countIndexedDocuments(summary.dataSourceId!);
      documents += indexed;
      const jobs = await this.#call(
        'ListIngestionJobs',
        new ListIngestionJobsCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          dataSourceId: summary.dataSourceId,
          sortBy: { attribute: 'STARTED_AT', order: 'DESCENDING' },
          maxResults: 1,
        }),
        undefined,
        (command, sendOptions) => this.#agent.send(command, sendOptions),
      );
      const last = jobs.ingestionJobSummaries?.[0];
      dataSources.push({
        dataSourceId: summary.dataSourceId,
        name: summary.name,
        status: summary.status,
        documents: indexed,
        ...(last
          ? {
              lastIngestionJob: {
                ingestionJobId: last.ingestionJobId,
                status: last.status,
                startedAt: last.startedAt?.toISOString(),
                statistics: last.statistics,
              },
            }
          : {}),
      });
    }
    const dimensions = vector?.embeddingModelConfiguration?.bedrockEmbeddingModelConfiguration?.dimensions;
    return {
      documents,
      ...(vector?.embeddingModelArn ? { embedderId: vector.embeddingModelArn } : {}),
      ...(dimensions === undefined ? {} : { dimensions }),
      knowledgeBaseId: this.knowledgeBaseId,
      name: knowledgeBase?.name,
      status: knowledgeBase?.status,
      storageType: knowledgeBase?.storageConfiguration?.type,
      dataSources,
      throttledAttempts: this.#throttledAttempts,
    };
  }

  /** Every data source of the knowledge base, following ListDataSources pages. */
  async *#dataSourceSummaries(): AsyncIterable<DataSourceSummary> {
    let nextToken: string | undefined;
    do {
      const page = await this.#call(
        'ListDataSources',
        new ListDataSourcesCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          ...(nextToken ? { nextToken } : {}),
        }),
        undefined,
        (command, sendOptions) => this.#agent.send(command, sendOptions),
      );
      yield* page.dataSourceSummaries ?? [];
      nextToken = page.nextToken;
    } while (nextToken);
  }

  async #countIndexedDocuments(dataSourceId: string): Promise<number> {
    let count = 0;
    let nextToken: string | undefined;
    do {
      const page = await this.#call(
        'ListKnowledgeBaseDocuments',
        new ListKnowledgeBaseDocumentsCommand({
          knowledgeBaseId: this.knowledgeBaseId,
          dataSourceId,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
        undefined,
        (command, sendOptions) => this.#agent.send(command, sendOptions),
      );
      count += (page.documentDetails ?? []).filter((detail) => detail.status === 'INDEXED').length;
      nextToken = page.nextToken;
    } while (nextToken);
    return count;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsRuntime) this.#runtime.destroy();
    if (this.#ownsAgent) this.#agent.destroy();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw kbError(
        'STORE_CLOSED',
        `The knowledge base ${this.knowledgeBaseId} is closed; create a new BedrockKnowledgeBase.`,
      );
    }
  }

  /** Sends one command: counts its throttled attempts, reports usage, maps errors to LocalKbError. */
  async #call<C extends Parameters<typeof traceCall>[0], T>(
    operation: string,
    command: C,
    signal: AbortSignal | undefined,
    send: (command: C, options: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) throw this.#error(signal.reason, operation, signal);
    const started = Date.now();
    const trace = traceCall(command);
    try {
      const result = await send(command, signal ? { abortSignal: signal } : {});
      this.#report(operation, started, trace.throttledAttempts);
      return result;
    } catch (error) {
      const mapped = this.#error(error, operation, signal);
      this.#report(operation, started, trace.throttledAttempts, mapped);
      throw mapped;
    }
  }

  #report(operation: string, started: number, throttledAttempts: number, error?: LocalKbError): void {
    this.#throttledAttempts += throttledAttempts;
    if (!this.#options.onUsage) return;
    this.#options.onUsage({
      modelId: this.knowledgeBaseId,
      operation,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: Date.now() - started,
      ...(throttledAttempts > 0 ? { throttledAttempts } : {}),
      ...(error
        ? {
            errorClass: awsErrorClass(error),
            ...(typeof error.details?.awsErrorName === 'string'
              ? { errorName: error.details.awsErrorName }
              : {}),
          }
        : {}),
      timestamp: Date.now(),
    });
  }

  #error(error: unknown, operation: string, signal: AbortSignal | undefined): LocalKbError {
    return knowledgeBaseError(error, {
      operation,
      knowledgeBaseId: this.knowledgeBaseId,
      ...(signal ? { signal } : {}),
    });
  }
}

// ——— helpers ———

function validateOptions(options: BedrockKnowledgeBaseOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw kbError('INVALID_OPTION', 'BedrockKnowledgeBase needs options with a knowledgeBaseId.', {
      input: 'options',
    });
  }
  checkOptions(BEDROCK_KNOWLEDGE_BASE_OPTIONS, options);
  if (typeof options.knowledgeBaseId !== 'string' || !/^[0-9a-zA-Z]{10}$/.test(options.knowledgeBaseId)) {
    throw kbError(
      'INVALID_OPTION',
      `knowledgeBaseId must be a Bedrock knowledge base id (10 letters and digits, e.g. ABCDE12345), got ${JSON.stringify(options.knowledgeBaseId)}.`,
      { input: 'knowledgeBaseId' },
    );
  }
  if (options.dataSourceId !== undefined && !/^[0-9a-zA-Z]{10}$/.test(options.dataSourceId)) {
    throw kbError(
      'INVALID_OPTION',
      `dataSourceId must be a Bedrock data source id (10 letters and digits), got ${JSON.stringify(options.dataSourceId)}.`,
      { input: 'dataSourceId' },
    );
  }
  validateWaitTimes(options);
}

/** pollIntervalMs and timeoutMs, when given, are non-negative numbers of milliseconds (also the admin's). */
export function validateWaitTimes(options: { pollIntervalMs?: number; timeoutMs?: number }): void {
  for (const name of ['pollIntervalMs', 'timeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw kbError(
        'INVALID_OPTION',
        `${name} must be a non-negative number of milliseconds, got ${String(value)}.`,
        { input: name },
      );
    }
  }
}

function checkQuery(text: unknown, name: string): void {
  if (typeof text !== 'string' || text.trim() === '') {
    throw kbError('INVALID_QUERY', `The ${name} is empty; pass the text to search for.`, { input: name });
  }
}

/** localkb's search types in Bedrock's words; Bedrock has no keyword-only search. */
function bedrockSearchType(requested: RetrieveOptions['searchType']): 'SEMANTIC' | 'HYBRID' | undefined {
  if (requested === undefined) return undefined;
  const normalised = String(requested).toUpperCase();
  if (normalised === 'SEMANTIC' || normalised === 'HYBRID') return normalised;
  if (normalised === 'BM25') {
    throw kbError(
      'INVALID_OPTION',
      'searchType bm25 does not exist in Bedrock Knowledge Bases (they search vectors); use hybrid (vectors plus ' +
        'keywords, on stores that support it) or semantic, or query a LocalKnowledgeBase for pure BM25.',
      { input: 'searchType' },
    );
  }
  throw kbError(
    'INVALID_OPTION',
    `searchType must be semantic or hybrid (any case), got "${String(requested)}".`,
    {
      input: 'searchType',
    },
  );
}

/** Cross-region inference profile ids (`us.anthropic…`) are passed as they are; Bedrock resolves them. */
function isInferenceProfileId(modelId: string): boolean {
  return /^(us|us-gov|eu|apac|ca|jp|au|global)\.[a-z0-9-]+\./.test(modelId);
}

/** `arn:aws:bedrock:<region>::foundation-model/<id>` in the region's partition. */
export function foundationModelArn(modelId: string, region: string): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:bedrock:${region}::foundation-model/${modelId}`;
}

const LOCATION_TYPES = new Set<RetrievalLocation['type']>([
  'S3',
  'WEB',
  'CUSTOM',
  'CONFLUENCE',
  'SALESFORCE',
  'SHAREPOINT',
  'KENDRA',
  'SQL',
]);

/** Metadata values as localkb types them; other JSON (objects, mixed lists) is kept as its JSON text. */
function metadataFromBedrock(metadata: Record<string, unknown> | undefined): Metadata {
  const result: Metadata = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (value === null || value === undefined) continue;
    const plain =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    result[key] = plain ? (value as MetadataValue) : JSON.stringify(value);
  }
  return result;
}

/**
 * A Bedrock KnowledgeBaseRetrievalResult (or a citation's RetrievedReference, which has no score: 0) as the
 * RetrievalResult LocalKnowledgeBase returns: location.uri from whichever location Bedrock gives, the page from
 * `x-amz-bedrock-kb-document-page-number`, the chunk id from `x-amz-bedrock-kb-chunk-id`.
 */
export function retrievalResultFromBedrock(
  item: KnowledgeBaseRetrievalResult | RetrievedReference,
): RetrievalResult {
  const metadata = metadataFromBedrock(item.metadata as Record<string, unknown> | undefined);
  const wire = item.location;
  const uri =
    wire?.s3Location?.uri ??
    wire?.webLocation?.url ??
    wire?.confluenceLocation?.url ??
    wire?.salesforceLocation?.url ??
    wire?.sharePointLocation?.url ??
    wire?.oneDriveLocation?.url ??
    wire?.googleDriveLocation?.url ??
    wire?.kendraDocumentLocation?.uri ??
    // a CUSTOM document's URI is its source URI (a file:// URI when localkb serves it), else its id
    (typeof metadata[SOURCE_URI_KEY] === 'string' ? (metadata[SOURCE_URI_KEY] as string) : undefined) ??
    wire?.customDocumentLocation?.id ??
    wire?.sqlLocation?.query ??
    '';
  const pageValue = metadata[PAGE_NUMBER_KEY];
  const page =
    typeof pageValue === 'number'
      ? pageValue
      : typeof pageValue === 'string'
        ? Number(pageValue)
        : Number.NaN;
  const type = (wire?.type ?? 'OTHER') as RetrievalLocation['type'];
  const location: RetrievalLocation = {
    type: LOCATION_TYPES.has(type) ? type : 'OTHER',
    uri,
    ...(Number.isInteger(page) && page > 0 ? { page } : {}),
    ...(wire?.s3Location?.uri ? { s3Location: { uri: wire.s3Location.uri } } : {}),
    ...(wire?.webLocation?.url ? { webLocation: { url: wire.webLocation.url } } : {}),
    ...(wire?.customDocumentLocation?.id
      ? { customDocumentLocation: { id: wire.customDocumentLocation.id } }
      : {}),
  };
  const chunkId = metadata[CHUNK_ID_KEY];
  return {
    content: { type: 'TEXT', text: item.content?.text ?? '' },
    location,
    score: 'score' in item && typeof item.score === 'number' ? item.score : 0,
    metadata,
    documentId:
      ('documentId' in item ? item.documentId : undefined) ?? wire?.customDocumentLocation?.id ?? uri,
    chunkId: typeof chunkId === 'string' || typeof chunkId === 'number' ? String(chunkId) : '',
  };
}

/** A Bedrock citation as localkb's Citation; parts of the answer without references are left out. */
function citationFromBedrock(citation: BedrockCitation): Citation[] {
  const part = citation.generatedResponsePart?.textResponsePart;
  const references = (citation.retrievedReferences ?? []).map(retrievalResultFromBedrock);
  if (!part || references.length === 0) return [];
  const text = part.text ?? '';
  const start = part.span?.start ?? 0;
  // Bedrock's Span.end is the index of the part's last character; localkb's end is exclusive.
  const end = part.span?.end === undefined ? start + text.length : part.span.end + 1;
  return [{ span: { start, end }, text, references }];
}

/** The chunks the answer cites, once each, in citation order (Bedrock returns no other retrieved chunks). */
function citedResults(citations: Citation[]): RetrievalResult[] {
  const seen = new Set<string>();
  const results: RetrievalResult[] = [];
  for (const citation of citations) {
    for (const reference of citation.references) {
      const key = `${reference.documentId}\u0000${reference.chunkId}\u0000${reference.content.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      results.push(reference);
    }
  }
  return results;
}

/** The documents to send: files through localkb's loaders, in-memory documents checked as the local KB checks them. */
async function* documentsOf(
  input: string[] | DocumentInput[],
  options: IngestOptions,
  summary: IngestSummary,
): AsyncIterable<DocumentInput> {
  if (!Array.isArray(input)) {
    throw kbError('INVALID_OPTION', 'ingest takes a list of paths or a list of { id, text } documents.', {
      input: 'input',
    });
  }
  if (input.length === 0) return;
  if (typeof input[0] !== 'string') {
    for (const item of input as DocumentInput[]) {
      summary.filesSeen++;
      try {
        documentFromInput(item); // the same checks (id, text, format, metadata) LocalKnowledgeBase applies
        yield item;
      } catch (error) {
        if (!isLocalKbError(error)) throw error;
        summary.skipped.push({ path: String(item?.id), code: error.code, reason: error.message });
      }
    }
    return;
  }
  const loadOptions = {
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    ...(options.loaders ? { loaders: options.loaders } : {}),
    ...(options.records ? { records: options.records } : {}),
  };
  for await (const outcome of loadPaths(input as string[], loadOptions)) {
    summary.filesSeen++;
    if (outcome.ok) yield inputOfLoaded(outcome.document);
    else
      summary.skipped.push({ path: outcome.path, code: outcome.error.code, reason: outcome.error.message });
  }
}

/** A loaded file as a document to send: its extracted text (markdown kept as markdown) and its metadata. */
function inputOfLoaded(document: SourceDocument): DocumentInput {
  return {
    id: document.id,
    text: document.text,
    format: document.format === 'markdown' ? 'markdown' : 'text',
    metadata: document.metadata,
  };
}

const MIME_TYPES: Record<string, string> = { markdown: 'text/markdown', html: 'text/html' };

function metadataAttribute(key: string, value: MetadataValue): MetadataAttribute {
  if (typeof value === 'string') return { key, value: { type: 'STRING', stringValue: value } };
  if (typeof value === 'number') return { key, value: { type: 'NUMBER', numberValue: value } };
  if (typeof value === 'boolean') return { key, value: { type: 'BOOLEAN', booleanValue: value } };
  return { key, value: { type: 'STRING_LIST', stringListValue: [...value] } };
}

/** A CUSTOM inline document: plain text as TEXT, markdown and HTML as bytes with their MIME type. */
function toBedrockDocument(input: DocumentInput, defaults: Metadata | undefined): KnowledgeBaseDocument {
  const format = input.format ?? 'text';
  const mimeType = MIME_TYPES[format];
  const metadata = { ...defaults, ...input.metadata };
  const attributes = Object.entries(metadata).map(([key, value]) => metadataAttribute(key, value));
  return {
    content: {
      dataSourceType: 'CUSTOM',
      custom: {
        customDocumentIdentifier: { id: input.id },
        sourceType: 'IN_LINE',
        inlineContent: mimeType
          ? { type: 'BYTE', byteContent: { mimeType, data: new TextEncoder().encode(input.text) } }
          : { type: 'TEXT', textContent: { data: input.text } },
      },
    },
    ...(attributes.length > 0
      ? { metadata: { type: 'IN_LINE_ATTRIBUTE', inlineAttributes: attributes } }
      : {}),
  };
}

/** Waits `ms`, rejecting with ABORTED as soon as `signal` aborts (also used by the admin's polls). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(kbError('ABORTED', 'The operation was aborted by the caller.'));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Fixes for the errors people hit first, keyed by AWS error name. */
const FIXES: Record<string, string> = {
  AccessDeniedException:
    'check the IAM policy allows bedrock:Retrieve, bedrock:RetrieveAndGenerate, bedrock:InvokeModel and the ' +
    'knowledge base document actions, and that model access is enabled',
  ResourceNotFoundException: 'check the knowledge base id, data source id, model id and the region',
  ValidationException: 'check the request options (filter, numberOfResults, model ARN, prompt template)',
  UnrecognizedClientException: 'check the AWS credentials',
  ServiceQuotaExceededException: 'request a quota increase or send fewer documents per call',
  ConflictException: 'wait for the running operation (e.g. an ingestion job) to finish',
};

/**
 * Maps whatever a Knowledge Base call throws to a LocalKbError naming the operation and the knowledge base:
 * THROTTLED after the SDK's retries, ABORTED, or KNOWLEDGE_BASE_ERROR with the AWS error in `details`.
 */
export function knowledgeBaseError(
  error: unknown,
  context: { operation: string; knowledgeBaseId: string; signal?: AbortSignal },
): LocalKbError {
  const { operation, knowledgeBaseId } = context;
  // A session the service did not issue (or has expired): the same code the local knowledge base throws.
  const message = error instanceof Error ? error.message : '';
  const session = /^Session with Id (\S+) is not valid/.exec(message);
  if (session && (error as { name?: unknown }).name === 'ValidationException') {
    return kbError('SESSION_NOT_FOUND', message, {
      input: session[1]!,
      cause: error,
      details: { operation, knowledgeBaseId, awsErrorName: 'ValidationException', status: 400 },
    });
  }
  return mapAwsError(error, {
    operation,
    input: knowledgeBaseId,
    signal: context.signal,
    details: { knowledgeBaseId },
    failure: 'KNOWLEDGE_BASE_ERROR',
    call: `${operation} on knowledge base ${knowledgeBaseId}`,
    aborted: `${operation} on knowledge base ${knowledgeBaseId} was aborted by the caller.`,
    throttled: (message) =>
      `Bedrock throttled ${operation} on knowledge base ${knowledgeBaseId} after all retries (${message}); lower ` +
      'the request rate, raise maxAttempts, or request a quota increase.',
    fixes: FIXES,
  });
}
