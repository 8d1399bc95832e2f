/**
 * localkb: local-first retrieval-augmented generation for Node.js. The public API, in one list: knowledge bases,
 * embedders, generators, rerankers, errors, the shared data types, and the evaluation entry points. Everything
 * else under src/ is internal and may change without notice; `localkb/testing` is the Bedrock emulator.
 */

export type { RemoteCallOptions, RemoteTimeouts, RetryPolicy } from './aws-clients.js';
export {
  ResponseCache,
  type ResponseCacheOptions,
  type ResponseCacheStats,
  responseCacheKey,
} from './cache/response-cache.js';
export {
  type BedrockEmbedderOptions,
  CohereEmbedder,
  type CohereEmbedderOptions,
  type EmbeddingUsageEvent,
  type TitanDimensions,
  TitanEmbedder,
  type TitanEmbedderOptions,
} from './embed/bedrock-embedders.js';
export { cachedEmbedder } from './embed/cached-embedder.js';
export { type CreateEmbedderOptions, createEmbedder } from './embed/index.js';
export type { ModelDtype } from './embed/model-files.js';
export {
  type TransformersDtype,
  TransformersEmbedder,
  type TransformersEmbedderOptions,
} from './embed/transformers-embedder.js';
export {
  UniversalSentenceEncoderEmbedder,
  type UniversalSentenceEncoderOptions,
} from './embed/use-embedder.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isLocalKbError,
  LocalKbError,
  type LocalKbErrorOptions,
} from './errors.js';
export {
  type CitationCheckOptions,
  type CitationReport,
  type ClaimVerdict,
  type ClaimVerdictLabel,
  checkAnswerCitations,
  type FaithfulnessInput,
  type FaithfulnessPromptOptions,
  type FaithfulnessResult,
  type InvalidSpan,
  judgeFaithfulness,
  type UnretrievedReference,
} from './eval/answer-quality.js';
export { type BeirDataset, type BeirDocument, type LoadBeirOptions, loadBeirDataset } from './eval/beir.js';
export {
  type HybridSetting,
  type RetrievalRunOptions,
  runRetrieval,
  type TunableKnowledgeBase,
  type TuneOptions,
  type TuningResult,
  tuneHybridWeights,
} from './eval/evaluate-knowledge-base.js';
export {
  type EvaluateRunOptions,
  evaluateRun,
  type Qrels,
  type Run,
  type RunEvaluation,
  type ScoredDocument,
} from './eval/metrics.js';
export {
  formatMetricsJson,
  formatMetricsTable,
  type MetricsReportOptions,
  type MetricsRow,
  type ReferenceScore,
} from './eval/report.js';
export type { ClassifiedSentence, SkipReason, TextSegment } from './eval/sentences.js';
export {
  type PairedTestOptions,
  type PairedTestResult,
  type PerQueryScores,
  pairedRandomizationTest,
  perQueryMetric,
} from './eval/significance.js';
export {
  BedrockConverseGenerator,
  type BedrockConverseGeneratorOptions,
} from './generate/bedrock-converse-generator.js';
export {
  BedrockImageGenerator,
  type BedrockImageGeneratorOptions,
  type ImageGenerateOptions,
  type ImageGeneration,
  type ImageModelFamily,
} from './generate/bedrock-image-generator.js';
export {
  BedrockInvokeGenerator,
  type BedrockInvokeGeneratorOptions,
} from './generate/bedrock-invoke-generator.js';
export type { BedrockClientOptions } from './generate/bedrock-runtime.js';
export {
  Budget,
  type BudgetLimits,
  budgetedGenerator,
  type CallEstimate,
  DryRunGenerator,
  estimateCall,
} from './generate/budget.js';
export { type CachedGeneratorOptions, cachedGenerator } from './generate/cached-generator.js';
export { ExtractiveGenerator, type ExtractiveGeneratorOptions } from './generate/extractive-generator.js';
export {
  type FoundationModelFilter,
  type FoundationModelInput,
  ModelCatalogue,
  type ModelCatalogueOptions,
} from './generate/model-catalogue/catalogue.js';
export type {
  FoundationModelEntry,
  InferenceProfileEntry,
  InferenceType,
  ModelCustomization,
  ModelLifecycleStatus,
  ModelModality,
  ModelResolution,
} from './generate/model-catalogue/types.js';
export {
  OpenAICompatibleGenerator,
  type OpenAICompatibleGeneratorOptions,
} from './generate/openai-compatible-generator.js';
export { DEFAULT_PROMPT_TEMPLATE, type PromptTemplateValues } from './generate/prompt-template.js';
export type {
  ChatMessage,
  GenerateOptions,
  Generation,
  GenerationEvent,
  Generator,
  GuardrailOptions,
  StopReason,
} from './generate/types.js';
export type { ChunkingStrategy, ChunkOptions } from './ingest/chunking/options.js';
export { type LoadFileOptions, loadFile } from './ingest/load-file.js';
export { type LoadOutcome, type LoadPathsOptions, loadPaths } from './ingest/load-paths.js';
export type { LoadedContent, Loader } from './ingest/loaders/loader.js';
export {
  BedrockKnowledgeBaseAdmin,
  type BedrockKnowledgeBaseAdminOptions,
  type CreateDataSourceOptions,
  type CreateKnowledgeBaseOptions,
  type IngestionJobResult,
  type IngestionProgress,
  type WaitOptions,
} from './kb/bedrock-kb-admin.js';
export {
  BedrockKnowledgeBase,
  type BedrockKnowledgeBaseClientConfig,
  type BedrockKnowledgeBaseOptions,
  type BedrockRerankingOptions,
  type BedrockRetrieveOptions,
} from './kb/bedrock-knowledge-base.js';
export type { KnowledgeBaseChunking } from './kb/chunk-layout.js';
export type { EmbedderChoice } from './kb/embedder-choice.js';
export { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from './kb/local-knowledge-base.js';
export type { LocalRetrieverOptions, ResultLevel, RetrieveOverrides } from './kb/local-retriever.js';
export type { RagAnswererOptions } from './kb/rag-answerer.js';
export type {
  Answer,
  AnswerStreamEvent,
  Citation,
  InferenceConfig,
  IngestOptions,
  IngestProgress,
  IngestSummary,
  KnowledgeBase,
  KnowledgeBaseStats,
  RetrieveAndGenerateOptions,
  RetrieveOptions,
} from './kb/types.js';
export {
  type ConsoleLoggerOptions,
  createConsoleLogger,
  type LogFields,
  type Logger,
  type LogLevel,
} from './observe/logger.js';
export { BedrockMetrics, type BedrockMetricsSnapshot } from './observe/metrics.js';
export {
  createPricingTable,
  estimateCost,
  type ModelPrice,
  PRICING_AS_OF,
  type PricingTable,
} from './observe/pricing.js';
export type { Attributes, Span, Tracer, TracerChoice } from './observe/tracing.js';
export type { UsageErrorClass, UsageEvent, UsageListener } from './observe/usage.js';
export type { PlaygroundGenerator } from './playground/playground-api.js';
export { type Playground, type PlaygroundOptions, startPlayground } from './playground/playground-server.js';
export { BedrockReranker, type BedrockRerankerOptions } from './retrieve/bedrock-reranker.js';
export {
  type CrossEncoderDtype,
  CrossEncoderReranker,
  type CrossEncoderRerankerOptions,
} from './retrieve/cross-encoder-reranker.js';
export type { HybridCandidate, HybridOptions } from './retrieve/fusion.js';
export type { RerankDocument, Reranker, RerankOptions, RerankResult } from './retrieve/rerank.js';
export {
  type KnowledgeBaseServer,
  type KnowledgeBaseServerOptions,
  startKnowledgeBaseServer,
} from './serve/knowledge-base-server.js';
export type { AwsCredentialPair } from './serve/wire/request-auth.js';
export {
  MemoryPromptLibrary,
  type PromptLibrary,
  type PromptRun,
  type PromptVersion,
} from './store/prompt-library.js';

export type {
  Chunk,
  CostEstimate,
  DocumentFormat,
  DocumentInput,
  Embedder,
  EmbedOptions,
  FilterAttribute,
  Metadata,
  MetadataValue,
  ModelIdentity,
  PageSpan,
  RetrievalFilter,
  RetrievalLocation,
  RetrievalResult,
  SearchType,
  SourceDocument,
  TokenCounter,
  TokenUsage,
} from './types.js';
