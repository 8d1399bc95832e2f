/** Ingest stage: files and in-memory documents → SourceDocument → Chunk[]. Imports only src/types and src/errors. */

export { chunkDocument } from './chunking/chunk-document.js';
export {
  addChunkContexts,
  chunkContext,
  contextReserve,
  documentTitle,
  embeddingText,
} from './chunking/context.js';
export {
  CHUNK_OPTION_SHAPE,
  type ChunkingStrategy,
  type ChunkOptions,
  DEFAULT_CHUNK_OPTIONS,
  DEFAULT_OVERLAP_RATIO,
  type ResolvedChunkOptions,
  resolveChunkOptions,
} from './chunking/options.js';
export { chunkRecords } from './chunking/records.js';
export { chunkSectioned } from './chunking/sectioned.js';
export { documentSections, type Section } from './chunking/sections.js';
export {
  chunkSemantic,
  DEFAULT_SEMANTIC_BUFFER_SIZE,
  DEFAULT_SEMANTIC_PERCENTILE,
  type SemanticChunkOptions,
} from './chunking/semantic.js';
export { documentFromInput } from './document-from-input.js';
export {
  DEFAULT_LOADERS,
  documentIdFor,
  type LoadFileOptions,
  loaderForPath,
  loadFile,
  SUPPORTED_EXTENSIONS,
} from './load-file.js';
export { type LoadOutcome, type LoadPathsOptions, loadPaths } from './load-paths.js';
export { csvLoader, parseCsv } from './loaders/csv.js';
export { docxLoader } from './loaders/docx.js';
export { htmlLoader, htmlToText } from './loaders/html.js';
export { jsonLoader, jsonlLoader } from './loaders/json.js';
export type { LoadContext, LoadedContent, Loader } from './loaders/loader.js';
export { markdownLoader } from './loaders/markdown.js';
export { PAGE_SEPARATOR, pdfLoader } from './loaders/pdf.js';
export { RECORD_OPTIONS, type RecordOptions, recordDocuments } from './loaders/records.js';
export {
  isSidecarFile,
  parseSidecarMetadata,
  readSidecarMetadata,
  SIDECAR_SUFFIX,
} from './loaders/sidecar-metadata.js';
export { textLoader } from './loaders/text.js';
export { decodeText, decodeTextFile, type TextEncoding } from './loaders/text-decoding.js';
export { type LoaderChoice, type LoaderFunction, mergeLoaders } from './loaders/user-loaders.js';
export { findMarkdownHeadings, firstMarkdownH1, type MarkdownHeading } from './markdown-headings.js';
export { type WalkedFile, type WalkOptions, walkPaths } from './walk-paths.js';
