/**
 * Every error localkb throws on purpose is a LocalKbError with a stable `code`.
 * Users match on `code`; messages name the input at fault and say how to fix it.
 * Add new codes to ERROR_CODES (one table, one place to read what can go wrong).
 */

export const ERROR_CODES = {
  // input and configuration
  INVALID_OPTION: 'An option has the wrong type or value.',
  FILE_NOT_FOUND: 'A path given to localkb does not exist.',
  UNSUPPORTED_FILE_TYPE: 'No loader handles this file extension.',
  FILE_EXCLUDED: 'A file under the ingest paths was left out by the include/exclude globs.',
  FILE_HIDDEN: 'A hidden file or folder (a dot-name) or a node_modules folder was not walked.',
  SYMLINK_SKIPPED: 'A symlinked folder or a dangling symlink under the ingest paths was not followed.',
  MALFORMED_FILE: 'A CSV, JSON, JSONL or DOCX file cannot be parsed.',
  EMPTY_DOCUMENT: 'A document has no text to index.',
  BINARY_FILE: 'A text file contains binary data.',
  INVALID_ENCODING: 'A text file is not valid UTF-8.',
  PDF_ENCRYPTED: 'A PDF is password protected.',
  PDF_CORRUPT: 'A PDF cannot be parsed.',
  PDF_NO_TEXT: 'A PDF has no extractable text (image-only or scanned).',
  INVALID_METADATA: 'A .metadata.json sidecar or a metadata value is malformed.',
  FILE_UNREADABLE: 'A file exists but cannot be read (permissions or an I/O error).',
  DOCUMENT_TOO_LONG: 'A document is longer than the embedder reads and chunking was turned off.',
  // embedding
  MODEL_NOT_FOUND: 'Embedding or reranking model files are missing.',
  MODEL_LOAD_FAILED: 'Model files exist but could not be loaded.',
  UNKNOWN_MODEL: 'A model id is not supported.',
  DEPENDENCY_MISSING:
    'An optional peer dependency that a feature needs is not installed (the message names the npm install command).',
  EMBEDDING_FAILED: 'An embedder failed to embed a batch.',
  // store and index
  EMBEDDER_MISMATCH: 'A store was opened with a different embedder than it was built with.',
  DIMENSION_MISMATCH: 'A vector has a different dimension than the store.',
  STORE_NOT_FOUND:
    'A knowledge base was opened to read (mustExist, or a CLI read command) but no store exists at its path; nothing was created.',
  STORE_CORRUPT: 'The SQLite store is unreadable or has an unknown schema.',
  STORE_CLOSED: 'The store or knowledge base was used after close().',
  INDEX_CORRUPT: 'The HNSW index file is unreadable (it is rebuilt from SQLite).',
  DOCUMENT_NOT_FOUND: 'A document id is not in the store.',
  EMPTY_STORE: 'A query was run against a store with no chunks.',
  // retrieval
  INVALID_FILTER: 'A metadata filter is malformed.',
  INVALID_QUERY: 'A query is empty or malformed.',
  RERANK_FAILED: 'A reranking model failed to score a batch of documents.',
  // generation and AWS
  BEDROCK_ERROR: 'Amazon Bedrock returned an error.',
  THROTTLED: 'A service throttled the request after all retries.',
  MODEL_RESPONSE_MALFORMED: 'A model returned a body that cannot be parsed.',
  STREAM_INTERRUPTED: 'A response stream failed after some output was received.',
  GENERATION_FAILED: 'A generator failed.',
  ABORTED: 'The operation was aborted by the caller.',
  TIMEOUT:
    'A remote endpoint did not connect, or went silent while answering, within the configured timeouts.',
  SESSION_NOT_FOUND:
    'A sessionId names no session this knowledge base issued (never issued, expired, or from another server).',
  KNOWLEDGE_BASE_ERROR: 'A managed Bedrock Knowledge Base operation failed.',
  INGESTION_JOB_FAILED: 'A Bedrock Knowledge Base ingestion job failed.',
  BUDGET_EXCEEDED: 'A call would exceed a cost, token or concurrency limit; it was not sent.',
  // evaluation
  DATASET_INVALID: 'An evaluation dataset is missing files or malformed.',
} as const;

/** One of the keys of ERROR_CODES. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** What a LocalKbError carries besides its code and message. */
export interface LocalKbErrorOptions {
  /** The input at fault: a path, model id, document id, filter path… */
  input?: string;
  cause?: unknown;
  /** Extra structured detail for programs (e.g. HTTP status, AWS error name). */
  details?: Record<string, unknown>;
}

/** The error localkb throws on purpose: a stable `code`, a message naming the input and the fix, the input itself. */
export class LocalKbError extends Error {
  readonly code: ErrorCode;
  readonly input?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LocalKbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LocalKbError';
    this.code = code;
    if (options.input !== undefined) this.input = options.input;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** Whether `error` is a LocalKbError, with `code` if given: `if (isLocalKbError(e, 'THROTTLED')) …`. */
export function isLocalKbError(error: unknown, code?: ErrorCode): error is LocalKbError {
  return error instanceof LocalKbError && (code === undefined || error.code === code);
}

/** Shorthand used across the code base: `throw kbError('FILE_NOT_FOUND', msg, { input: path })`. */
export function kbError(code: ErrorCode, message: string, options?: LocalKbErrorOptions): LocalKbError {
  return new LocalKbError(code, message, options);
}
