export * from './bedrock-reranker.js';
export * from './bm25-query.js';
export * from './cross-encoder-reranker.js';
export * from './filter.js';
export * from './fusion.js';
export * from './rerank.js';
