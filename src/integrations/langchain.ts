/**
 * localkb/langchain — LangChain.js adapters: a retriever over any localkb KnowledgeBase (local or managed) and
 * Embeddings over localkb's embedders. `@langchain/core` is an optional peer dependency of localkb; without it
 * this module fails to import with DEPENDENCY_MISSING naming the npm install command.
 */

import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import type { DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsParams } from '@langchain/core/embeddings';
import type { BaseRetrieverInput } from '@langchain/core/retrievers';
import { kbError } from '../errors.js';
import type { RetrieveOverrides } from '../kb/local-retriever.js';
import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { importOptionalPeer } from '../optional-peer.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Embedder } from '../types.js';
import { type ResultMetadata, resultMetadata } from './result-metadata.js';
import {
  KNOWLEDGE_BASE_RETRIEVER_SHAPE,
  type KnowledgeBaseRetrieverOptions,
  retrieveOptionsOf,
} from './retriever-options.js';

const FEATURE = 'localkb/langchain';
const [{ BaseRetriever }, { Embeddings }, { Document }] = await importOptionalPeer(
  '@langchain/core',
  FEATURE,
  () =>
    Promise.all([
      import('@langchain/core/retrievers'),
      import('@langchain/core/embeddings'),
      import('@langchain/core/documents'),
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
    return results.map(
      (result) =>
        new Document<ResultMetadata>({
          pageContent: result.content.text,
          metadata: resultMetadata(result),
          id: result.chunkId,
        }),
    );
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
