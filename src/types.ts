/**
 * Plain data shared by every stage (ingest → embed → index → retrieve → generate → kb).
 * Nothing here imports a stage; every stage may import this file and src/errors.ts.
 */

/**
 * Bedrock Knowledge Bases' own metadata keys. Every retrieval result carries them, local or managed, and filters
 * may name them (https://docs.aws.amazon.com/bedrock/latest/userguide/kb-test-config.html).
 */
export const BEDROCK_METADATA_KEYS = {
  sourceUri: 'x-amz-bedrock-kb-source-uri',
  dataSourceId: 'x-amz-bedrock-kb-data-source-id',
  chunkId: 'x-amz-bedrock-kb-chunk-id',
  pageNumber: 'x-amz-bedrock-kb-document-page-number',
} as const;

/**
 * localkb's own document metadata, under a prefix of its own so it never meets a user's key or one a framework
 * derives (LangChain's and LlamaIndex's `source`). The user's metadata is kept as it is.
 */
export const LOCALKB_METADATA_KEYS = {
  title: 'x-localkb-title',
  sizeBytes: 'x-localkb-size-bytes',
  modifiedAt: 'x-localkb-modified-at',
} as const;

/** Metadata values follow Bedrock Knowledge Base metadata attributes: string, number, boolean or string list. */
export type MetadataValue = string | number | boolean | string[];
export type Metadata = Record<string, MetadataValue>;

export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf';

/** A page of a paginated source: the page number (1-based) and its character range in `SourceDocument.text`. */
export interface PageSpan {
  page: number;
  start: number;
  end: number;
}

/** A loaded document, before chunking. */
export interface SourceDocument {
  /** Stable id: the path relative to the ingest root (POSIX separators) or a caller-given id. */
  id: string;
  /** Where it came from: a file:// URI for files, or whatever the caller gave. */
  uri: string;
  format: DocumentFormat;
  /** The full extracted text; chunk offsets point into it. */
  text: string;
  /** sha256 hex of the source bytes (files) or of the text (in-memory documents). */
  contentHash: string;
  /**
   * localkb's `x-localkb-title`, `x-localkb-size-bytes`, `x-localkb-modified-at` (ISO string), plus caller
   * metadata and sidecar `.metadata.json` attributes, as given.
   */
  metadata: Metadata;
  /** For PDFs: one span per page, in order. */
  pages?: PageSpan[];
  /** For record files (CSV, JSON, JSONL) kept as one document: each record's span and metadata; one chunk each. */
  records?: RecordSpan[];
}

/** One record of a CSV/JSON/JSONL file: its id, its text's range in `SourceDocument.text`, and its own metadata. */
export interface RecordSpan {
  id: string;
  start: number;
  end: number;
  metadata: Metadata;
}

/** A caller-given document for `ingest([...])` without a file. */
export interface DocumentInput {
  id: string;
  text: string;
  uri?: string;
  format?: DocumentFormat;
  metadata?: Metadata;
}

/** A piece of a document, the unit that is embedded, indexed and retrieved. */
export interface Chunk {
  /** Position of the chunk within its document's chunk list (0-based). */
  index: number;
  text: string;
  /** Character offsets [start, end) into SourceDocument.text. */
  start: number;
  end: number;
  /** 1-based page number for paginated sources (the page where the chunk starts). */
  page?: number;
  /** Markdown/HTML heading path, outermost first. */
  headingPath?: string[];
  /** Length in the embedder's own tokens (without special tokens). */
  tokenCount: number;
  /**
   * Hierarchical chunking: children point at the `index` of their parent chunk in the same list.
   * Parent chunks have `role: 'parent'` and are stored but not embedded; children are searched.
   */
  parentIndex?: number;
  role?: 'parent' | 'child' | 'leaf';
  /**
   * The document title and heading path the chunk is read with, where its text does not already begin with them:
   * BM25 indexes it beside the text and embedders read it before the text. Never part of `text` or its offsets.
   */
  context?: string;
  metadata?: Metadata;
}

export interface TokenCounter {
  /** Number of model tokens in `text`, excluding special tokens such as [CLS]/[SEP]. */
  count(text: string): number;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  /** Called after each batch with the number of texts embedded so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Turns text into vectors. Implementations: MiniLM (transformers.js), USE (offline), Titan and Cohere (Bedrock). */
export interface Embedder {
  /** Stable id recorded in the store, e.g. `transformers:Xenova/all-MiniLM-L6-v2:q8`. Changing it means re-embedding. */
  readonly id: string;
  /** Vector length. Valid after `init()` resolves (implementations that know it up front expose it at once). */
  readonly dimensions: number;
  /** The longest input, in the embedder's own tokens (without special tokens), that it reads in full. */
  readonly maxInputTokens: number;
  /** Loads the model or checks configuration. Idempotent; the other methods call it when needed. */
  init(): Promise<void>;
  /** One vector per text, in input order; L2-normalised where the model's convention is cosine. */
  embedDocuments(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  embedQuery(text: string, options?: EmbedOptions): Promise<Float32Array>;
  /** The tokenizer the chunker measures with, so chunks never exceed `maxInputTokens`. */
  tokenCounter(): Promise<TokenCounter>;
  /** Frees native resources. */
  close?(): Promise<void>;
  /**
   * For local model files: what the loaded model really is (config name, architecture, a hash of its weights),
   * known after `init()`. A store records it and refuses another model with the same id on reopen.
   */
  readonly modelIdentity?: ModelIdentity | undefined;
}

/** A local model's identity beyond its id: see `Embedder.modelIdentity`. */
export interface ModelIdentity {
  /** The config's `_name_or_path` (else the folder's name). */
  name: string;
  /** The config's first `architectures` entry, else its `model_type`. */
  architecture: string;
  dtype: 'q8' | 'fp32';
  /** SHA-256 (hex) over the ONNX weight file(s) loaded, external data files included. */
  weights: string;
}

/** Bedrock Knowledge Base filter attribute. */
export interface FilterAttribute {
  key: string;
  /** `in`/`notIn` take a list of strings or numbers. */
  value: MetadataValue | number[];
}

/** The Bedrock Knowledge Base metadata filter language (RetrievalFilter), accepted by both KB implementations. */
export type RetrievalFilter =
  | { equals: FilterAttribute }
  | { notEquals: FilterAttribute }
  | { greaterThan: FilterAttribute }
  | { greaterThanOrEquals: FilterAttribute }
  | { lessThan: FilterAttribute }
  | { lessThanOrEquals: FilterAttribute }
  | { in: FilterAttribute }
  | { notIn: FilterAttribute }
  | { startsWith: FilterAttribute }
  | { listContains: FilterAttribute }
  | { stringContains: FilterAttribute }
  | { andAll: RetrievalFilter[] }
  | { orAll: RetrievalFilter[] };

export type SearchType = 'semantic' | 'bm25' | 'hybrid';

/** Where a retrieved chunk comes from. Shaped after Bedrock's RetrievalResultLocation, plus exact places. */
export interface RetrievalLocation {
  /**
   * As Bedrock reports it: S3 for s3:// URIs, WEB for http(s), CUSTOM (customDocumentLocation.id: the document
   * id) for everything else, local files included. LOCAL is no longer returned.
   */
  type:
    | 'LOCAL'
    | 'S3'
    | 'WEB'
    | 'CUSTOM'
    | 'CONFLUENCE'
    | 'SALESFORCE'
    | 'SHAREPOINT'
    | 'KENDRA'
    | 'SQL'
    | 'OTHER';
  uri: string;
  /** 1-based page number, when the source is paginated. */
  page?: number;
  /** Character offsets of the chunk in the source document's text, when known. */
  start?: number;
  end?: number;
  s3Location?: { uri: string };
  webLocation?: { url: string };
  customDocumentLocation?: { id: string };
}

/**
 * One retrieved chunk. Shaped after Bedrock's KnowledgeBaseRetrievalResult so both implementations return it.
 * `score` is in [0, 1], higher is better, for every search type (see src/retrieve/score-scale.ts).
 */
export interface RetrievalResult {
  content: { type: 'TEXT'; text: string };
  location: RetrievalLocation;
  score: number;
  /**
   * Chunk and document metadata, with Bedrock's reserved keys (BEDROCK_METADATA_KEYS: source URI, data source id,
   * chunk id, page number when paginated), as a managed knowledge base returns them.
   */
  metadata: Metadata;
  documentId: string;
  chunkId: string;
  /**
   * The score before it was put on [0, 1]: a cosine (semantic), −bm25() of FTS5 (bm25), the fusion sum (hybrid),
   * or the reranker's own score. Local knowledge bases set it.
   */
  rawScore?: number;
  /** The section a returned passage belongs to (its parent chunk), when it is not a section of its own. */
  section?: { chunkId: string; start: number; end: number };
}

/** Token counts of one model call. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** The price of model calls, from a pricing table (src/observe/pricing.ts). */
export interface CostEstimate {
  currency: 'USD';
  inputCost: number;
  outputCost: number;
  totalCost: number;
}
