import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describeModelIdentity } from '../embed/model-identity.js';
import { tracedEmbedder } from '../embed/traced-embedder.js';
import { normalize } from '../embed/vector-math.js';
import { isWorkerCapable, WorkerPoolEmbedder } from '../embed/worker-pool-embedder.js';
import { isLocalKbError, kbError } from '../errors.js';
import { ExtractiveGenerator } from '../generate/extractive-generator.js';
import { tracedGenerator } from '../generate/traced-generator.js';
import { documentFromInput } from '../ingest/index.js';
import {
  resolveTracer,
  type Span,
  type Tracer,
  type TracerChoice,
  traced,
  tracedIterable,
} from '../observe/tracing.js';
import { checkOptions, declareOptions } from '../options.js';
import type { HybridCandidate } from '../retrieve/index.js';
import { HnswIndex, type IndexRebuildProgress } from '../store/hnsw-index.js';
import type { PromptLibrary } from '../store/prompt-library.js';
import {
  type ListedDocument,
  NO_TABLES_YET,
  SqliteStore,
  type StoredDocument,
  storeNotFound,
} from '../store/sqlite-store.js';
import type {
  Chunk,
  DocumentInput,
  Embedder,
  ModelIdentity,
  RetrievalResult,
  SourceDocument,
  TokenCounter,
} from '../types.js';
import {
  type ChunkLayout,
  chunkForStore,
  defaultResultLevel,
  KNOWLEDGE_BASE_CHUNKING_OPTIONS,
  type KnowledgeBaseChunking,
  LAYOUT_VERSION,
  resolveChunkLayout,
} from './chunk-layout.js';
import { type EmbedderChoice, resolveEmbedder } from './embedder-choice.js';
import { runIngest } from './ingest-pipeline.js';
import { IngestResume } from './ingest-resume.js';
import {
  HYBRID_OPTIONS,
  type HybridOptions,
  LOCAL_RETRIEVE_OPTIONS,
  LOCAL_RETRIEVER_OPTIONS,
  LocalRetriever,
  type LocalRetrieverOptions,
  type RetrieveOverrides,
} from './local-retriever.js';
import { RAG_ANSWERER_OPTIONS, RagAnswerer, type RagAnswererOptions } from './rag-answerer.js';
import {
  answerAttributes,
  ingestAttributes,
  ingestSummaryAttributes,
  resultAttributes,
  retrieveAttributes,
} from './trace-attributes.js';
import {
  type Answer,
  type AnswerStreamEvent,
  INGEST_OPTIONS,
  type IngestOptions,
  type IngestSummary,
  type KnowledgeBase,
  type KnowledgeBaseStats,
  RETRIEVE_AND_GENERATE_OPTIONS,
  type RetrieveAndGenerateOptions,
  type RetrieveOptions,
} from './types.js';

export interface LocalKnowledgeBaseOptions {
  /**
   * The embedder, or a name: 'minilm' (transformers.js MiniLM), 'use' (offline Universal Sentence Encoder),
   * 'none' (BM25-only store), 'auto' (the store's own embedder when it has one, else MiniLM when its weights are
   * present locally, else USE). Default 'auto'.
   */
  embedder?: EmbedderChoice;
  /** Folder of a transformers.js model, for 'minilm'. */
  modelPath?: string;
  /** Where to look for cached models, for 'minilm'. Default: LOCALKB_CACHE_DIR, else the standard caches. */
  cacheDir?: string;
  /** Never touch the network when loading models. */
  offline?: boolean;
  /**
   * Open an existing store only: when nothing is at `dbPath` (or the file holds no store yet) fail with
   * STORE_NOT_FOUND and create no file. Default false: opening a new path creates the store, as ingesting needs.
   */
  mustExist?: boolean;
  /** Chunker settings; kept with the store, so reopening without them keeps the store's. */
  chunking?: KnowledgeBaseChunking;
  hnsw?: { M?: number; efConstruction?: number; efSearch?: number };
  retrieval?: LocalRetrieverOptions;
  generation?: RagAnswererOptions;
  /** Chunks embedded per embedder call across documents (the embedder batches further inside). */
  embedBatchSize?: number;
  /**
   * Worker threads that embed during large ingests, each with its own copy of the model, for embedders that can
   * run there (MiniLM, USE). Default: one per core. 0 embeds in this thread.
   */
  embedWorkers?: number;
  /** Told when the HNSW index has to be rebuilt from SQLite (missing, stale, damaged), and how the rebuild goes. */
  onIndexRebuild?: (progress: IndexRebuildProgress) => void;
  /**
   * OpenTelemetry spans for ingest, embed, retrieve and generate (with token and cost attributes): an
   * OpenTelemetry Tracer, or `true` for the global provider's `localkb` tracer (needs @opentelemetry/api).
   * Without it nothing is traced and nothing extra runs.
   */
  tracer?: TracerChoice;
}

export const LOCAL_KNOWLEDGE_BASE_OPTIONS = declareOptions<LocalKnowledgeBaseOptions>(
  'LocalKnowledgeBase.open',
  {
    embedder: ['string', 'object'],
    modelPath: 'string',
    cacheDir: 'string',
    offline: 'boolean',
    mustExist: 'boolean',
    chunking: KNOWLEDGE_BASE_CHUNKING_OPTIONS,
    hnsw: declareOptions<NonNullable<LocalKnowledgeBaseOptions['hnsw']>>('hnsw', {
      M: 'integer',
      efConstruction: 'integer',
      efSearch: 'integer',
    }),
    retrieval: LOCAL_RETRIEVER_OPTIONS,
    generation: RAG_ANSWERER_OPTIONS,
    embedBatchSize: 'integer',
    embedWorkers: 'integer',
    onIndexRebuild: 'function',
    tracer: ['object', 'boolean'],
  },
  { embeddings: 'embedder', chunker: 'chunking', chunkOptions: 'chunking', generator: 'generation' },
);

/** The local knowledge base's retrieveAndGenerate options: the shared ones plus retrieve's local overrides. */
const LOCAL_RETRIEVE_AND_GENERATE_OPTIONS = declareOptions<RetrieveAndGenerateOptions & RetrieveOverrides>(
  'retrieveAndGenerate',
  { ...RETRIEVE_AND_GENERATE_OPTIONS.shape, ...LOCAL_RETRIEVE_OPTIONS.shape },
  RETRIEVE_AND_GENERATE_OPTIONS.hints,
);

/** A page of `listDocuments`: skip `offset` documents, return at most `limit`. Default: all of them. */
export interface ListDocumentsOptions {
  offset?: number;
  limit?: number;
}

const LIST_DOCUMENTS_OPTIONS = declareOptions<ListDocumentsOptions>(
  'listDocuments',
  { offset: 'integer', limit: 'integer' },
  { skip: 'offset', start: 'offset', k: 'limit', maxResults: 'limit', count: 'limit' },
);

const HYBRID_CANDIDATES_OPTIONS = declareOptions<Parameters<LocalRetriever['hybridCandidates']>[1] & object>(
  'hybridCandidates',
  { k: 'integer', filter: 'object', signal: 'signal', level: 'string' },
);

/** Ingests smaller than this embed in this thread: a few chunks are not worth loading the model in each worker. */
const WORKER_INGEST_BYTES = 64 * 1024;

/** The knowledge base on this machine: SQLite is the source of truth, an HNSW file beside it is the vector cache. */
export class LocalKnowledgeBase implements KnowledgeBase {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly store: SqliteStore,
    private readonly index: HnswIndex | undefined,
    readonly embedder: Embedder | undefined,
    private readonly layout: ChunkLayout,
    private readonly retriever: LocalRetriever,
    private readonly answerer: RagAnswerer,
    private readonly embedBatchSize: number,
    private readonly tracer: Tracer | undefined,
    /** The embedder as the pipeline and retriever call it: traced when a tracer is given. */
    private readonly embedCalls: Embedder | undefined,
    /**
     * Why the embedder is not what was hoped for: set when 'auto' fell back to the bundled USE on a new store.
     * The first ingest's summary carries it in `notes` too.
     */
    readonly embedderNotice?: string,
  ) {
    this.pendingNotice = embedderNotice;
  }

  private pendingNotice: string | undefined;

  static async open(dbPath: string, options: LocalKnowledgeBaseOptions = {}): Promise<LocalKnowledgeBase> {
    checkOptions(LOCAL_KNOWLEDGE_BASE_OPTIONS, options);
    const tracer = await resolveTracer(options.tracer);
    if (typeof dbPath !== 'string' || dbPath === '') {
      throw kbError(
        'INVALID_OPTION',
        `LocalKnowledgeBase.open needs the store's file path, got ${String(dbPath)}.`,
        {
          input: 'dbPath',
        },
      );
    }
    const resolved = path.resolve(dbPath);
    const stored = existsSync(resolved) ? SqliteStore.readSettings(resolved) : undefined;
    // Before any model loads or any file is written: a mistyped path to read must not become an empty store.
    if (options.mustExist && stored === undefined) {
      throw storeNotFound(resolved, existsSync(resolved) ? NO_TABLES_YET : undefined);
    }
    const { embedder: chosen, notice } = resolveEmbedder(options.embedder ?? 'auto', stored?.embedderId, {
      ...(options.modelPath ? { modelPath: options.modelPath } : {}),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(options.offline !== undefined ? { offline: options.offline } : {}),
    });
    if (chosen) {
      try {
        await chosen.init();
      } catch (error) {
        // Reopening a store needs the very model it was built with; say which one, not just "not found".
        if (
          isLocalKbError(error, 'MODEL_NOT_FOUND') &&
          stored?.embedderId &&
          options.embedder === undefined
        ) {
          throw kbError(
            'MODEL_NOT_FOUND',
            `${resolved} was built with embedder ${stored.embedderId}, whose model is not on this machine. ` +
              `Pass modelPath (CLI --model-path <dir>, or LOCALKB_MODEL_PATH) pointing at that model. ${error.message}`,
            { input: stored.embedderId, cause: error },
          );
        }
        throw error;
      }
    }
    const embedder = chosen && withWorkers(chosen, options.embedWorkers);
    const store = SqliteStore.open(resolved, {
      embedder: embedder
        ? { id: embedder.id, dimensions: embedder.dimensions }
        : { id: 'none', dimensions: 0 },
    });
    try {
      recordModelIdentity(store, chosen, resolved);
      // A BM25-only store has no model limit; its chunks are measured in words.
      const maxTokens = embedder ? embedder.maxInputTokens : 8192;
      // Chunker settings live with the store like its embedder: reopening without options keeps them.
      const chunking: KnowledgeBaseChunking = {
        ...(JSON.parse(store.getSetting(CHUNKER_SETTING) ?? '{}') as KnowledgeBaseChunking),
        ...options.chunking,
      };
      const layout = resolveChunkLayout(chunking, maxTokens, embedder);
      const index = embedder
        ? await HnswIndex.open(store, `${resolved}.hnsw`, {
            ...options.hnsw,
            ...(options.onIndexRebuild ? { onRebuild: options.onIndexRebuild } : {}),
          })
        : undefined;
      const tunedHybrid = store.getSetting(HYBRID_SETTING);
      const embedCalls = embedder && tracedEmbedder(embedder, tracer);
      const retriever = new LocalRetriever(store, index, embedCalls, {
        level: defaultResultLevel(layout),
        ...(tunedHybrid ? { hybrid: JSON.parse(tunedHybrid) as HybridOptions } : {}),
        ...options.retrieval,
      });
      const answerer = new RagAnswerer(
        tracer
          ? {
              ...options.generation,
              generator: tracedGenerator(options.generation?.generator ?? new ExtractiveGenerator(), tracer),
            }
          : options.generation,
      );
      return new LocalKnowledgeBase(
        resolved,
        store,
        index,
        embedder,
        layout,
        retriever,
        answerer,
        options.embedBatchSize ?? 64,
        tracer,
        embedCalls,
        notice,
      );
    } catch (error) {
      store.close();
      throw error;
    }
  }

  async ingest(input: string[] | DocumentInput[], options: IngestOptions = {}): Promise<IngestSummary> {
    this.assertOpen();
    checkOptions(INGEST_OPTIONS, options);
    return traced(this.tracer, 'localkb.ingest', ingestAttributes(this.path, input), async (span) => {
      const summary = await this.ingestUntraced(input, options);
      span?.setAttributes(ingestSummaryAttributes(summary));
      return summary;
    });
  }

  private async ingestUntraced(
    input: string[] | DocumentInput[],
    options: IngestOptions,
  ): Promise<IngestSummary> {
    const counter = this.embedder ? await this.embedder.tokenCounter() : wordCounter;
    const embedder = this.embedder;
    // Each document records the settings that chunked it, so new settings redo unchanged files and a
    // killed ingest resumes after its last committed document.
    const resume = new IngestResume(
      {
        ...this.layout.resolved,
        ...this.layout.chunking,
        sectionSize: this.layout.sectionSize,
        layout: LAYOUT_VERSION,
      },
      this.store.getSetting(LEGACY_CHUNKED_WITH_SETTING),
    );
    this.store.setSetting(CHUNKER_SETTING, JSON.stringify(this.layout.chunking));
    const summary = await runIngest(
      {
        embedder: this.embedCalls,
        embedBatchSize: this.embedBatchSize,
        embedConcurrency: embedder instanceof WorkerPoolEmbedder ? embedder.threads + 1 : 1,
        listed: (_files, bytes) => {
          if (embedder instanceof WorkerPoolEmbedder && bytes >= WORKER_INGEST_BYTES) embedder.startWorkers();
        },
        storedDocuments: () => this.store.listDocuments(),
        isCurrent: (stored, document) => resume.isCurrent(stored, document),
        chunk: (document) => chunkForStore(document, counter, embedder, this.layout),
        write: (document, chunks, vectors) =>
          this.writeDocument(document, chunks, vectors, resume.fingerprint),
        pruneMissing: (roots, seen) => this.pruneMissing(roots, seen),
        finish: () => this.index?.saveIfBehind(),
      },
      input,
      options,
    );
    const notice = this.pendingNotice;
    if (notice === undefined) return summary;
    this.pendingNotice = undefined;
    return { ...summary, notes: [...(summary.notes ?? []), notice] };
  }

  /** One document in one transaction (with the settings that chunked it), then its vectors into the HNSW cache. */
  private writeDocument(
    document: SourceDocument,
    chunks: Chunk[],
    vectors: (Float32Array | null)[],
    chunkedWith: string,
  ): void {
    const { addedChunkIds, removedChunkIds } = this.store.upsertDocument(document, chunks, vectors, {
      chunkedWith,
    });
    if (!this.index) return;
    this.index.remove(removedChunkIds);
    const ids: number[] = [];
    const added: Float32Array[] = [];
    addedChunkIds.forEach((id, i) => {
      const vector = vectors[i];
      if (vector) {
        ids.push(id);
        added.push(vector);
      }
    });
    this.index.add(ids, added);
  }

  private pruneMissing(roots: string[], seen: Set<string>): number {
    const rootUris = roots.map((root) => pathToUriPrefix(path.resolve(root)));
    let deleted = 0;
    for (const document of this.store.listDocuments()) {
      if (seen.has(document.id)) continue;
      if (!rootUris.some((prefix) => document.uri.startsWith(prefix))) continue;
      this.deleteStored(document.id);
      deleted++;
    }
    return deleted;
  }

  private deleteStored(documentId: string): boolean {
    const removed = this.store.deleteDocument(documentId);
    if (removed === undefined) return false;
    this.index?.remove(removed);
    return true;
  }

  /** Top-k chunks; beyond the KnowledgeBase options, a reranker, MMR or a fusion setting for this query. */
  async retrieve(
    query: string,
    options: RetrieveOptions & RetrieveOverrides = {},
  ): Promise<RetrievalResult[]> {
    this.assertOpen();
    checkOptions(LOCAL_RETRIEVE_OPTIONS, options);
    return this.tracedRetrieve(query, options);
  }

  private tracedRetrieve(
    query: string,
    options: RetrieveOptions & RetrieveOverrides,
  ): Promise<RetrievalResult[]> {
    return this.retrieveSpan(options, () => this.retriever.retrieve(query, options));
  }

  /** A `localkb.retrieve` span around one search, with its options and results as attributes. */
  private retrieveSpan(
    options: RetrieveOptions,
    search: () => Promise<RetrievalResult[]>,
  ): Promise<RetrievalResult[]> {
    return traced(this.tracer, 'localkb.retrieve', retrieveAttributes(this.path, options), async (span) => {
      const results = await search();
      span?.setAttributes(resultAttributes(results));
      return results;
    });
  }

  /**
   * Semantic search with a vector you embedded yourself (with this store's embedder, e.g. through LangChain):
   * the `k` nearest passages, `filter` applied as in retrieve. Scores are on retrieve's [0, 1] scale.
   */
  async retrieveByVector(
    vector: Float32Array | readonly number[],
    options: Pick<RetrieveOptions, 'k' | 'filter'> = {},
  ): Promise<RetrievalResult[]> {
    this.assertOpen();
    checkOptions(RETRIEVE_BY_VECTOR_OPTIONS, options);
    const query = normalize(Float32Array.from(vector));
    return this.retrieveSpan(options, () => this.retriever.retrieveByVector(query, options));
  }

  /**
   * Stores documents with vectors you computed, each document one chunk with its vector (LangChain's addVectors).
   * The vectors must come from this store's embedder; a document id already stored is replaced.
   */
  async addVectors(
    documents: DocumentInput[],
    vectors: ReadonlyArray<Float32Array | readonly number[]>,
  ): Promise<void> {
    this.assertOpen();
    const embedder = this.embedder;
    if (!embedder) {
      throw kbError('INVALID_OPTION', `${this.path} is a BM25-only store: it cannot hold vectors.`);
    }
    if (!Array.isArray(documents) || !Array.isArray(vectors) || documents.length !== vectors.length) {
      throw kbError(
        'INVALID_OPTION',
        `addVectors needs one vector per document, got ${String(vectors?.length)} vectors for ` +
          `${String(documents?.length)} documents.`,
        { input: 'vectors' },
      );
    }
    const counter = await embedder.tokenCounter();
    const prepared = documents.map((input, i) => {
      const document = documentFromInput(input);
      const vector = Float32Array.from(vectors[i]!);
      if (vector.length !== embedder.dimensions) {
        throw kbError(
          'DIMENSION_MISMATCH',
          `The vector of document ${document.id} has ${vector.length} dimensions; this store's embedder ` +
            `${embedder.id} makes ${embedder.dimensions}.`,
          { input: document.id },
        );
      }
      const chunk: Chunk = {
        index: 0,
        text: document.text,
        start: 0,
        end: document.text.length,
        tokenCount: counter.count(document.text),
      };
      return { document, chunk, vector: normalize(vector) };
    });
    // Marked as chunked by no settings of the store's, so a later ingest of the same id chunks it anew.
    for (const { document, chunk, vector } of prepared) {
      this.writeDocument(document, [chunk], [vector], ADDED_VECTORS_CHUNKED_WITH);
    }
    this.index?.saveIfBehind();
  }

  /**
   * What a hybrid query fuses, every unit scored by both sides: for tuning fusion weights on labelled queries
   * (`tuneHybridWeights`), which fuses these in memory exactly as `retrieve` would.
   */
  async hybridCandidates(
    query: string,
    options: Parameters<LocalRetriever['hybridCandidates']>[1] = {},
  ): Promise<HybridCandidate[]> {
    this.assertOpen();
    checkOptions(HYBRID_CANDIDATES_OPTIONS, options);
    return this.retriever.hybridCandidates(query, options);
  }

  /** Retrieve, then answer with the generator; takes retrieve's local overrides (reranker, mmr, hybrid) too. */
  async retrieveAndGenerate(
    question: string,
    options: RetrieveAndGenerateOptions & RetrieveOverrides = {},
  ): Promise<Answer> {
    this.assertOpen();
    checkOptions(LOCAL_RETRIEVE_AND_GENERATE_OPTIONS, options);
    return traced(
      this.tracer,
      'localkb.retrieve_and_generate',
      retrieveAttributes(this.path, options),
      async (span) => {
        const answer = await this.answerer.answer(question, options, (q, o) => this.tracedRetrieve(q, o));
        span?.setAttributes(answerAttributes(answer));
        return answer;
      },
    );
  }

  async *retrieveAndGenerateStream(
    question: string,
    options: RetrieveAndGenerateOptions & RetrieveOverrides = {},
  ): AsyncIterable<AnswerStreamEvent> {
    this.assertOpen();
    checkOptions(LOCAL_RETRIEVE_AND_GENERATE_OPTIONS, options);
    const events = this.answerer.answerStream(question, options, (q, o) => this.tracedRetrieve(q, o));
    yield* tracedIterable(
      this.tracer,
      'localkb.retrieve_and_generate',
      { ...retrieveAttributes(this.path, options), 'localkb.stream': true },
      async function* (span: Span | undefined) {
        for await (const event of events) {
          if (event.type === 'done') span?.setAttributes(answerAttributes(event.answer));
          yield event;
        }
      },
    );
  }

  /**
   * Makes a fusion setting the store's default for hybrid queries (kept in SQLite, so every later open uses it);
   * `localkb eval --tune` records the weights it picked on a training split this way.
   */
  setHybridDefaults(hybrid: HybridOptions): void {
    this.assertOpen();
    checkOptions({ ...HYBRID_OPTIONS, name: 'setHybridDefaults' }, hybrid);
    this.store.setSetting(HYBRID_SETTING, JSON.stringify(hybrid));
    this.retriever.setHybridDefaults(hybrid);
  }

  async delete(documentId: string): Promise<boolean> {
    this.assertOpen();
    const deleted = this.deleteStored(documentId);
    if (deleted) this.index?.saveIfBehind();
    return deleted;
  }

  /**
   * The stored documents, without their text, in the order they were first ingested, each with its chunk count;
   * `offset` and `limit` page through a large store (`stats().documents` is the total).
   */
  async listDocuments(options: ListDocumentsOptions = {}): Promise<ListedDocument[]> {
    this.assertOpen();
    checkOptions(LIST_DOCUMENTS_OPTIONS, options);
    const { offset = 0, limit = Number.MAX_SAFE_INTEGER } = options;
    for (const [name, value, min] of [
      ['offset', offset, 0],
      ['limit', limit, 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min) {
        throw kbError(
          'INVALID_OPTION',
          `listDocuments: ${name} must be a whole number ≥ ${min}, got ${value}.`,
          {
            input: name,
          },
        );
      }
    }
    return this.store.listDocumentPage(offset, limit);
  }

  /** One stored document with its full extracted text (chunk offsets point into it); undefined when absent. */
  async getDocument(documentId: string): Promise<StoredDocument | undefined> {
    this.assertOpen();
    return this.store.getDocument(documentId);
  }

  /** Prompt versions and prompt-lab runs, kept in this store beside the documents. */
  promptLibrary(): PromptLibrary {
    this.assertOpen();
    return this.store.promptLibrary();
  }

  async stats(): Promise<KnowledgeBaseStats> {
    this.assertOpen();
    const stats = this.store.stats();
    const model = recordedModelIdentity(this.store);
    return {
      ...stats,
      ...(model ? { embedderModel: describeModelIdentity(model) } : {}),
      indexedVectors: this.index?.size ?? 0,
      path: this.path,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.index?.saveIfBehind();
    this.index?.close();
    this.store.close();
    await this.embedder?.close?.();
  }

  private assertOpen(): void {
    if (this.closed)
      throw kbError('STORE_CLOSED', `The knowledge base ${this.path} is closed; open it again.`);
  }
}

const HYBRID_SETTING = 'retrieval.hybrid';
/** The identity of the local model the store's vectors come from (JSON ModelIdentity). */
const MODEL_IDENTITY_SETTING = 'embedder.model';

function recordedModelIdentity(store: SqliteStore): ModelIdentity | undefined {
  const recorded = store.getSetting(MODEL_IDENTITY_SETTING);
  return recorded === undefined ? undefined : (JSON.parse(recorded) as ModelIdentity);
}

/**
 * The store keeps the identity of the local model its vectors come from and refuses another: the embedder id
 * names a model (`transformers:Xenova/all-MiniLM-L6-v2:q8`) but not which weights a --model-path folder holds. A
 * store without a record (new, or made before identities were kept) records the model it is opened with.
 */
function recordModelIdentity(store: SqliteStore, embedder: Embedder | undefined, dbPath: string): void {
  const identity = embedder?.modelIdentity;
  if (!identity) return;
  const recorded = recordedModelIdentity(store);
  if (!recorded) {
    store.setSetting(MODEL_IDENTITY_SETTING, JSON.stringify(identity));
    return;
  }
  if (recorded.weights === identity.weights) return;
  throw kbError(
    'EMBEDDER_MISMATCH',
    `${dbPath} was built with the model ${describeModelIdentity(recorded)}, but the model given is ` +
      `${describeModelIdentity(identity)}: the same embedder id (${embedder.id}) with other weights, whose vectors ` +
      'cannot be mixed. Point --model-path (modelPath, LOCALKB_MODEL_PATH) at the folder of the model the store ' +
      'was built with, or ingest into a new --db for this model.',
    { input: dbPath, details: { recorded, given: identity } },
  );
}

/** What documents stored by addVectors record as the settings that chunked them. */
const ADDED_VECTORS_CHUNKED_WITH = 'addVectors';

const RETRIEVE_BY_VECTOR_OPTIONS = declareOptions<Pick<RetrieveOptions, 'k' | 'filter'>>('retrieveByVector', {
  k: 'integer',
  filter: 'object',
});
/** The chunker options given to the store (the store's own `chunker` key records every open's). */
const CHUNKER_SETTING = 'kb.chunker';
/** Older stores' marker of the settings a complete ingest used; documents without their own record use it. */
const LEGACY_CHUNKED_WITH_SETTING = 'kb.chunked-with';

export type { KnowledgeBaseChunking } from './chunk-layout.js';

/** The embedder, run in a pool of worker threads when it can be and workers are wanted. */
function withWorkers(embedder: Embedder, workers: number | undefined): Embedder {
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
    throw kbError(
      'INVALID_OPTION',
      `embedWorkers must be a whole number ≥ 0, got ${JSON.stringify(workers)}.`,
      {
        input: 'embedWorkers',
      },
    );
  }
  const threads = workers ?? availableParallelism();
  if (threads === 0 || !isWorkerCapable(embedder)) return embedder;
  return new WorkerPoolEmbedder(embedder, { threads });
}

/** BM25-only stores have no model tokenizer; words are a fair stand-in for chunk sizes. */
const wordCounter: TokenCounter = {
  count: (text: string) => text.split(/\s+/).filter(Boolean).length,
};

function pathToUriPrefix(absolute: string): string {
  const uri = new URL(`file://${absolute}`).href;
  return uri.endsWith('/') ? uri : `${uri}/`;
}
