import type { DocumentFormat, PageSpan } from '../../types.js';

/** What a loader extracts from a file's bytes; `loadFile` adds the id, hash and metadata around it. */
export interface LoadedContent {
  /** Extracted text with LF line endings; chunk offsets point into it. */
  text: string;
  /** The document's own title (Markdown H1, HTML <title>, PDF Title), when it has one. */
  title?: string;
  pages?: PageSpan[];
}

/** Turns the bytes of one kind of file into text. Swap or add loaders by passing another list to `loadFile`. */
export interface Loader {
  readonly format: DocumentFormat;
  /** Lower-case extensions with the dot, e.g. `['.md', '.markdown']`. */
  readonly extensions: readonly string[];
  /** `file` is only used to name the file in errors. */
  load(bytes: Uint8Array, file: string): Promise<LoadedContent>;
}
