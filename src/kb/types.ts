import { type LoaderChoice, RECORD_OPTIONS, type RecordOptions } from '../ingest/index.js';
import { declareOptions, type OptionShape } from '../options.js';
import type {
  CostEstimate,
  DocumentInput,
  Metadata,
  RetrievalFilter,
  RetrievalResult,
  SearchType,
  TokenUsage,
} from '../types.js';

/** What a caller may pass to `retrieve`. Accepts Bedrock's upper-case search types as they are. */
export interface RetrieveOptions {
  /** Number of results (Bedrock's numberOfResults). Default 5. */
  k?: number;
  filter?: RetrievalFilter;
  searchType?: SearchType | 'SEMANTIC' | 'HYBRID' | 'BM25';
  signal?: AbortSignal;
}

export const RETRIEVE_OPTION_SHAPE: OptionShape<RetrieveOptions> = {
  k: 'integer',
  filter: 'object',
  searchType: 'string',
  signal: 'signal',
};
export const RETRIEVE_OPTIONS = declareOptions<RetrieveOptions>('retrieve', RETRIEVE_OPTION_SHAPE);

/** A span of the generated answer and the retrieved chunks that support it (Bedrock's Citation, flattened). */
export interface Citation {
  /**
   * Character range [start, end) of the supported part of `Answer.text` (`end` exclusive, as String.slice
   * takes it; Bedrock's wire Span writes end - 1, the index of the part's last character).
   */
  span: { start: number; end: number };
  /** The supported text itself (Bedrock's generatedResponsePart.textResponsePart.text). */
  text: string;
  references: RetrievalResult[];
}

export interface InferenceConfig {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
}

export interface RetrieveAndGenerateOptions extends RetrieveOptions {
  /** Bedrock model id or ARN, for the Bedrock generator / managed KB. */
  modelId?: string;
  /** A Bedrock Knowledge Base prompt template: `$search_results$` and `$query$` are replaced. */
  promptTemplate?: string;
  inferenceConfig?: InferenceConfig;
  guardrail?: { id: string; version: string };
  /**
   * Continues the conversation of a session id an earlier answer returned (others are refused with
   * SESSION_NOT_FOUND, as Bedrock refuses ids it did not issue); a new session is started when absent.
   */
  sessionId?: string;
  /**
   * Keep `[n]` markers in `Answer.text` (and streamed text), one after each cited part, numbering the cited
   * chunks 1..n in the order of first use; spans then index the marked text. Default false: plain text with
   * citations beside it, as Bedrock's RetrieveAndGenerate returns it.
   */
  citationMarkers?: boolean;
}

export const INFERENCE_CONFIG_OPTIONS = declareOptions<InferenceConfig>(
  'inferenceConfig',
  { maxTokens: 'integer', temperature: 'number', topP: 'number', stopSequences: 'string[]' },
  { max_tokens: 'maxTokens', maxTokenCount: 'maxTokens', top_p: 'topP' },
);

export const RETRIEVE_AND_GENERATE_OPTION_SHAPE: OptionShape<RetrieveAndGenerateOptions> = {
  ...RETRIEVE_OPTION_SHAPE,
  modelId: 'string',
  promptTemplate: 'string',
  inferenceConfig: INFERENCE_CONFIG_OPTIONS,
  guardrail: declareOptions<{ id: string; version: string }>('guardrail', {
    id: 'string',
    version: 'string',
  }),
  sessionId: 'string',
  citationMarkers: 'boolean',
};
export const RETRIEVE_AND_GENERATE_OPTIONS = declareOptions<RetrieveAndGenerateOptions>(
  'retrieveAndGenerate',
  RETRIEVE_AND_GENERATE_OPTION_SHAPE,
  { maxTokens: 'inferenceConfig', temperature: 'inferenceConfig', topP: 'inferenceConfig' },
);

/** The answer of retrieveAndGenerate, shaped after Bedrock's RetrieveAndGenerate response. */
export interface Answer {
  text: string;
  citations: Citation[];
  sessionId: string;
  usage?: TokenUsage;
  cost?: CostEstimate;
  guardrailAction?: 'INTERVENED' | 'NONE';
  /** Every chunk that was retrieved and shown to the model, cited or not. */
  retrievalResults: RetrievalResult[];
}

/** A stream opens with its session id (known before any text), then text, citations, and the whole answer. */
export type AnswerStreamEvent =
  | { type: 'session'; sessionId: string }
  | { type: 'text'; text: string }
  | { type: 'citation'; citation: Citation }
  | { type: 'done'; answer: Answer };

export interface IngestSummary {
  filesSeen: number;
  documentsAdded: number;
  documentsUpdated: number;
  documentsUnchanged: number;
  documentsDeleted: number;
  chunksEmbedded: number;
  /** Every file (or record, or in-memory document) not stored, with an error code and the reason. */
  skipped: { path: string; code: string; reason: string }[];
  durationMs: number;
  /** Things worth knowing about this ingest, e.g. that 'auto' fell back to the weaker bundled embedder. */
  notes?: string[];
}

/** A summary with nothing counted yet; both knowledge bases start their ingest from it. */
export function emptyIngestSummary(): IngestSummary {
  return {
    filesSeen: 0,
    documentsAdded: 0,
    documentsUpdated: 0,
    documentsUnchanged: 0,
    documentsDeleted: 0,
    chunksEmbedded: 0,
    skipped: [],
    durationMs: 0,
  };
}

export interface KnowledgeBaseStats {
  documents: number;
  /** Stored chunks; absent when the knowledge base does not report them (a managed Bedrock one). */
  chunks?: number;
  embedderId?: string;
  dimensions?: number;
  storeBytes?: number;
  [key: string]: unknown;
}

export interface IngestOptions {
  include?: string[];
  exclude?: string[];
  /** Remove stored documents under the given roots whose files are gone. */
  prune?: boolean;
  metadata?: Metadata;
  /**
   * Your own loaders, by extension (`{ '.org': (bytes, file) => text }`) or as Loader objects; they win over the
   * built-in loaders for their extensions.
   */
  loaders?: LoaderChoice;
  /** How CSV, JSON and JSONL records become documents (default) or chunks: content fields, metadata, ids. */
  records?: RecordOptions;
  /** Called as the ingest moves: after the listing, after each file, after each embedded batch. */
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
}

/** Where an ingest stands. Totals appear as soon as they are known: files after the listing, chunks once all are chunked. */
export interface IngestProgress {
  /** Files (or in-memory documents) taken in so far: loaded, skipped or found unchanged. */
  files: number;
  /** Files to take in, known once the paths are walked. */
  totalFiles?: number;
  /** Chunks embedded so far (in a BM25-only store: stored). */
  chunks: number;
  /** Chunks to embed, known once every file is chunked. */
  totalChunks?: number;
  /** Until `totalChunks` is known: the total extrapolated from the bytes chunked so far. */
  estimatedChunks?: number;
  /** Chunks per second since the first chunk was embedded. */
  chunksPerSecond: number;
  /** Share of the work done, 0 to 1. */
  fraction: number;
  elapsedMs: number;
  /** Time left at the current rate, once a rate and a total (or estimate) are known. */
  etaMs?: number;
  /** The file or document taken in last. */
  current?: string;
}

export const INGEST_OPTIONS = declareOptions<IngestOptions>('ingest', {
  include: 'string[]',
  exclude: 'string[]',
  prune: 'boolean',
  metadata: 'object',
  loaders: ['array', 'object'],
  records: RECORD_OPTIONS,
  onProgress: 'function',
  signal: 'signal',
});

/**
 * The one interface of localkb's knowledge bases. LocalKnowledgeBase (SQLite + HNSW) and BedrockKnowledgeBase
 * (managed Amazon Bedrock Knowledge Bases) both implement it, so an app moves between them by changing one line.
 */
export interface KnowledgeBase {
  ingest(input: string[] | DocumentInput[], options?: IngestOptions): Promise<IngestSummary>;
  retrieve(query: string, options?: RetrieveOptions): Promise<RetrievalResult[]>;
  retrieveAndGenerate(question: string, options?: RetrieveAndGenerateOptions): Promise<Answer>;
  retrieveAndGenerateStream(
    question: string,
    options?: RetrieveAndGenerateOptions,
  ): AsyncIterable<AnswerStreamEvent>;
  delete(documentId: string): Promise<boolean>;
  stats(): Promise<KnowledgeBaseStats>;
  close(): Promise<void>;
}
