/**
 * localkb: local-first retrieval-augmented generation for Node.js.
 * The public API: knowledge bases first, then each stage's building blocks for those who compose their own.
 */

export {
  ResponseCache,
  type ResponseCacheOptions,
  type ResponseCacheStats,
  responseCacheKey,
} from './cache/response-cache.js';
export * from './embed/index.js';
export * from './errors.js';
export { runRetrieval, tuneHybridWeights } from './eval/evaluate-knowledge-base.js';
export * from './eval/index.js';
export * from './generate/index.js';
export * from './ingest/index.js';
export * from './kb/bedrock-kb-admin.js';
export * from './kb/bedrock-knowledge-base.js';
export { type EmbedderChoice, embedderFromId } from './kb/embedder-choice.js';
export {
  type KnowledgeBaseChunking,
  LocalKnowledgeBase,
  type LocalKnowledgeBaseOptions,
} from './kb/local-knowledge-base.js';
export type { HybridOptions, LocalRetrieverOptions, RetrieveOverrides } from './kb/local-retriever.js';
export * from './kb/types.js';
export * from './observe/index.js';
export * from './playground/index.js';
export * from './retrieve/index.js';
export { startKnowledgeBaseServer } from './serve/knowledge-base-server.js';
export { exactSearch } from './store/exact-search.js';
export { HnswIndex } from './store/hnsw-index.js';
export {
  MemoryPromptLibrary,
  type PromptLibrary,
  type PromptRun,
  type PromptVersion,
  SqlitePromptLibrary,
} from './store/prompt-library.js';
export {
  SqliteStore,
  type SqliteStoreOptions,
  type StoredChunk,
  type StoredDocument,
} from './store/sqlite-store.js';
export * from './types.js';
