/**
 * localkb/langchain — LangChain.js adapters: a retriever over any localkb KnowledgeBase (local or managed),
 * Embeddings over localkb's embedders, and a VectorStore over a LocalKnowledgeBase. `@langchain/core` is an optional peer dependency of localkb; without it
 * this module fails to import with DEPENDENCY_MISSING naming the npm install command.
 */

import { randomUUID } from 'node:crypto';
import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import type { DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsParams } from '@langchain/core/embeddings';
import type { BaseRetrieverInput } from '@langchain/core/retrievers';
import { kbError } from '../errors.js';
import type { LocalKnowledgeBase } from '../kb/local-knowledge-base.js';
import type { RetrieveOverrides } from '../kb/local-retriever.js';
import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { importOptionalPeer } from '../optional-peer.js';
import { checkOptions, declareOptions } from '../options.js';
import type { DocumentInput, Embedder, Metadata, RetrievalFilter, RetrievalResult } from '../types.js';
import { type ResultMetadata, resultMetadata } from './result-metadata.js';
import {
  KNOWLEDGE_BASE_RETRIEVER_SHAPE,
  type KnowledgeBaseRetrieverOptions,
  retrieveOptionsOf,
} from './retriever-options.js';

const FEATURE = 'localkb/langchain';
const [{ BaseRetriever }, { Embeddings }, { Document }, { VectorStore }] = await importOptionalPeer(
  '@langchain/core',
  FEATURE,
  () =>
    Promise.all([
      import('@langchain/core/retrievers'),
      import('@langchain/core/embeddings'),
      import('@langchain/core/documents'),
      import('@langchain/core/vectorstores'),
    ]),
);

export type { ResultMetadata } from './result-metadata.js';

export interface LocalKbRetrieverInput extends BaseRetrieverInput, KnowledgeBaseRetrieverOptions {}

const RETRIEVER_OPTIONS = declareOptions<LocalKbRetrieverInput>('LocalKbRetriever', {
  ...KNOWLEDGE_BASE_RETRIEVER_SHAPE,
  callbacks: ['array', 'object'],
  tags: 'string[]',
  metadata: 'object',
  verbose: 'boolean',
});

/**
 * A LangChain retriever over a localkb knowledge base: `invoke(query)` returns one Document per retrieved chunk,
 * its text as pageContent, its chunk id as id, and score, source, documentId, chunkId and page in the metadata.
 */
export class LocalKbRetriever extends BaseRetriever<ResultMetadata> {
  static override lc_name(): string {
    return 'LocalKbRetriever';
  }
  override lc_namespace = ['localkb', 'retrievers'];
  readonly knowledgeBase: KnowledgeBase;
  readonly retrieveOptions: RetrieveOptions & RetrieveOverrides;

  constructor(fields: LocalKbRetrieverInput) {
    checkOptions(RETRIEVER_OPTIONS, fields);
    const retrieveOptions = retrieveOptionsOf('LocalKbRetriever', fields);
    const { callbacks, tags, metadata, verbose } = fields;
    super({ callbacks, tags, metadata, verbose });
    this.knowledgeBase = fields.knowledgeBase;
    this.retrieveOptions = retrieveOptions;
  }

  override async _getRelevantDocuments(
    query: string,
    runManager?: CallbackManagerForRetrieverRun,
  ): Promise<DocumentInterface<ResultMetadata>[]> {
    const results = await this.knowledgeBase.retrieve(query, this.retrieveOptions);
    runManager?.handleText?.(`localkb: ${results.length} results`);
    return results.map(toDocument);
  }
}

export interface LocalKbEmbeddingsInput extends EmbeddingsParams {
  /** A localkb embedder: TransformersEmbedder, UniversalSentenceEncoderEmbedder, TitanEmbedder, CohereEmbedder… */
  embedder: Embedder;
}

/** LangChain Embeddings over a localkb embedder; vectors come back as plain number arrays, as LangChain wants. */
export class LocalKbEmbeddings extends Embeddings {
  readonly embedder: Embedder;

  constructor(fields: LocalKbEmbeddingsInput) {
    if (typeof fields?.embedder?.embedDocuments !== 'function') {
      throw kbError(
        'INVALID_OPTION',
        'LocalKbEmbeddings needs embedder: a localkb Embedder (for example createEmbedder("use")).',
        { input: 'embedder' },
      );
    }
    const { embedder, ...params } = fields;
    super(params);
    this.embedder = embedder;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const vectors = await this.caller.call(() => this.embedder.embedDocuments(documents));
    return vectors.map((vector) => Array.from(vector));
  }

  async embedQuery(document: string): Promise<number[]> {
    return Array.from(await this.caller.call(() => this.embedder.embedQuery(document)));
  }
}

function toDocument(result: RetrievalResult): DocumentInterface<ResultMetadata> {
  return new Document<ResultMetadata>({
    pageContent: result.content.text,
    metadata: resultMetadata(result),
    id: result.chunkId,
  });
}

export interface LocalKbVectorStoreInput {
  /** A LocalKnowledgeBase with an embedder; its embedder embeds documents and queries. */
  knowledgeBase: LocalKnowledgeBase;
}

const VECTOR_STORE_OPTIONS = declareOptions<LocalKbVectorStoreInput>('LocalKbVectorStore', {
  knowledgeBase: 'object',
});

/**
 * A LangChain VectorStore over a LocalKnowledgeBase. addDocuments ingests (chunked and embedded as the store
 * chunks and embeds), addVectors stores each document as one chunk with the vector given, similarity search runs
 * on the store's HNSW index with localkb's metadata filters (Bedrock's filter language), and delete removes
 * documents by id. Returned Documents carry their chunk id as id and their document id in the metadata.
 */
export class LocalKbVectorStore extends VectorStore {
  declare FilterType: RetrievalFilter;
  readonly knowledgeBase: LocalKnowledgeBase;

  constructor(fields: LocalKbVectorStoreInput) {
    checkOptions(VECTOR_STORE_OPTIONS, fields);
    const embedder = fields?.knowledgeBase?.embedder;
    if (!embedder) {
      throw kbError(
        'INVALID_OPTION',
        'LocalKbVectorStore needs knowledgeBase: a LocalKnowledgeBase with an embedder (a BM25-only store has no vectors).',
        { input: 'knowledgeBase' },
      );
    }
    super(new LocalKbEmbeddings({ embedder }), {});
    this.knowledgeBase = fields.knowledgeBase;
  }

  _vectorstoreType(): string {
    return 'localkb';
  }

  /** Ingests the documents (ids: `options.ids`, else each document's id, else a new UUID); returns the ids. */
  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    const inputs = toInputs(documents, options?.ids);
    await this.knowledgeBase.ingest(inputs);
    return inputs.map((input) => input.id);
  }

  async addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options?: { ids?: string[] },
  ): Promise<string[]> {
    const inputs = toInputs(documents, options?.ids);
    await this.knowledgeBase.addVectors(inputs, vectors);
    return inputs.map((input) => input.id);
  }

  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: RetrievalFilter,
  ): Promise<[DocumentInterface<ResultMetadata>, number][]> {
    const results = await this.knowledgeBase.retrieveByVector(query, {
      k,
      ...(filter !== undefined ? { filter } : {}),
    });
    return results.map((result) => [toDocument(result), result.score]);
  }

  /** Deletes documents by the ids addDocuments or addVectors returned. */
  override async delete(params?: { ids?: string[] }): Promise<void> {
    for (const id of params?.ids ?? []) await this.knowledgeBase.delete(id);
  }
}

/** LangChain documents as localkb document inputs; metadata values localkb cannot hold are kept as JSON text. */
function toInputs(documents: DocumentInterface[], ids: string[] | undefined): DocumentInput[] {
  return documents.map((document, i) => ({
    id: ids?.[i] ?? document.id ?? randomUUID(),
    text: document.pageContent,
    metadata: storableMetadata(document.metadata ?? {}),
  }));
}

function storableMetadata(metadata: Record<string, unknown>): Metadata {
  const stored: Metadata = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined || value === null) continue;
    const storable =
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    stored[key] = storable ? (value as Metadata[string]) : JSON.stringify(value);
  }
  return stored;
}
