import type { DocumentFormat, PageSpan, RecordSpan } from '../../types.js';
import type { RecordOptions } from './records.js';

/** What a loader extracts from a file's bytes; `loadFile` adds the id, hash and metadata around it. */
export interface LoadedContent {
  /** Extracted text with LF line endings; chunk offsets point into it. */
  text: string;
  /** The document's own title (Markdown H1, HTML <title>, PDF Title), when it has one. */
  title?: string;
  pages?: PageSpan[];
  /** Record files: the span of each record in `text` (records are joined by blank lines) and its metadata. */
  records?: RecordSpan[];
}

/** What a loader may be told besides the bytes: how record files (CSV, JSON, JSONL) turn into text. */
export interface LoadContext {
  records?: RecordOptions;
  /** The file's `<file>.metadata.json` sidecar, parsed, when it has one (Bedrock's documentStructureConfiguration). */
  sidecar?: Record<string, unknown>;
}

/** Turns the bytes of one kind of file into text. Swap or add loaders by passing another list to `loadFile`. */
export interface Loader {
  readonly format: DocumentFormat;
  /** Lower-case extensions with the dot, e.g. `['.md', '.markdown']`. */
  readonly extensions: readonly string[];
  /** `file` is only used to name the file in errors. */
  load(bytes: Uint8Array, file: string, context?: LoadContext): Promise<LoadedContent>;
}
