import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { LOCALKB_METADATA_KEYS, type Metadata, type SourceDocument } from '../types.js';
import { csvLoader } from './loaders/csv.js';
import { docxLoader } from './loaders/docx.js';
import { htmlLoader } from './loaders/html.js';
import { jsonLoader, jsonlLoader } from './loaders/json.js';
import type { Loader } from './loaders/loader.js';
import { markdownLoader } from './loaders/markdown.js';
import { pdfLoader } from './loaders/pdf.js';
import { RECORD_OPTIONS, type RecordOptions } from './loaders/records.js';
import {
  assertMetadata,
  isSidecarFile,
  readSidecarJson,
  readSidecarMetadata,
  SIDECAR_SUFFIX,
} from './loaders/sidecar-metadata.js';
import { textLoader } from './loaders/text.js';

export const DEFAULT_LOADERS: readonly Loader[] = [
  textLoader,
  markdownLoader,
  htmlLoader,
  pdfLoader,
  docxLoader,
  csvLoader,
  jsonLoader,
  jsonlLoader,
];

/** Lower-case extensions (with the dot) that the default loaders read. */
export const SUPPORTED_EXTENSIONS: readonly string[] = DEFAULT_LOADERS.flatMap((loader) => loader.extensions);

export interface LoadFileOptions {
  /** The ingest root: the document id is the file's path relative to it. Defaults to the file's directory. */
  root?: string;
  /** A caller-given id instead of the relative path. */
  id?: string;
  /** Added to every document; a sidecar's attributes win over it. */
  metadata?: Metadata;
  loaders?: readonly Loader[];
  /** How record files (CSV, JSON, JSONL) become text and metadata; a Bedrock sidecar's structure wins. */
  records?: RecordOptions;
}

export const LOAD_FILE_OPTIONS = declareOptions<LoadFileOptions>('loadFile', {
  root: 'string',
  id: 'string',
  metadata: 'object',
  loaders: 'array',
  records: RECORD_OPTIONS,
});

export function loaderForPath(
  path: string,
  loaders: readonly Loader[] = DEFAULT_LOADERS,
): Loader | undefined {
  const extension = extname(path).toLowerCase();
  return loaders.find((loader) => loader.extensions.includes(extension));
}

/**
 * Loads one file as a SourceDocument. Metadata, later entries winning: localkb's `x-localkb-title`,
 * `x-localkb-size-bytes`, `x-localkb-modified-at`, then `options.metadata`, then the `<file>.metadata.json`
 * sidecar's attributes. The file:// URI is the document's `uri` (results carry it as x-amz-bedrock-kb-source-uri).
 */
export async function loadFile(path: string, options: LoadFileOptions = {}): Promise<SourceDocument> {
  checkOptions(LOAD_FILE_OPTIONS, options);
  const absolute = resolve(path);
  if (options.metadata !== undefined) assertMetadata(options.metadata, path);
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      throw kbError(
        'FILE_NOT_FOUND',
        `${path} does not exist. Check the path (it resolves to ${absolute}).`,
        {
          input: path,
          cause: error,
        },
      );
    }
    throw kbError('FILE_UNREADABLE', `Cannot read ${path}: ${error.message}`, { input: path, cause: error });
  });
  if (!info.isFile()) {
    throw kbError(
      'UNSUPPORTED_FILE_TYPE',
      `${path} is not a regular file. Pass directories to loadPaths(), which walks them.`,
      { input: path },
    );
  }
  if (isSidecarFile(absolute)) {
    throw kbError(
      'UNSUPPORTED_FILE_TYPE',
      `${path} is a metadata sidecar, not a document: it is read together with the file it is named after ` +
        `(${basename(absolute).slice(0, -SIDECAR_SUFFIX.length)}).`,
      { input: path },
    );
  }
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  const loader = loaderForPath(absolute, loaders);
  if (loader === undefined) {
    throw kbError(
      'UNSUPPORTED_FILE_TYPE',
      `${path} has the extension "${extname(absolute) || '(none)'}", which no loader reads. Supported: ` +
        `${loaders.flatMap((l) => l.extensions).join(', ')}. Exclude the file or convert it.`,
      { input: path },
    );
  }

  const bytes = await readFile(absolute).catch((error: NodeJS.ErrnoException) => {
    throw kbError('FILE_UNREADABLE', `Cannot read ${path}: ${error.message}`, { input: path, cause: error });
  });
  if (bytes.length === 0) throw emptyDocument(path);
  const sidecarJson = await readSidecarJson(absolute);
  const content = await loader.load(bytes, path, {
    ...(options.records ? { records: options.records } : {}),
    ...(sidecarJson ? { sidecar: sidecarJson } : {}),
  });
  if (content.text.trim() === '') throw emptyDocument(path);
  const sidecar = await readSidecarMetadata(absolute);

  const uri = pathToFileURL(absolute).href;
  return {
    id: options.id ?? documentIdFor(absolute, options.root ?? dirname(absolute)),
    uri,
    format: loader.format,
    text: content.text,
    contentHash: createHash('sha256').update(bytes).digest('hex'),
    metadata: {
      [LOCALKB_METADATA_KEYS.title]: content.title ?? basename(absolute),
      [LOCALKB_METADATA_KEYS.sizeBytes]: bytes.length,
      [LOCALKB_METADATA_KEYS.modifiedAt]: info.mtime.toISOString(),
      ...options.metadata,
      ...sidecar,
    },
    ...(content.pages === undefined ? {} : { pages: content.pages }),
    ...(content.records === undefined ? {} : { records: content.records }),
  };
}

/** The stable document id: the path relative to the ingest root, with POSIX separators. */
export function documentIdFor(file: string, root: string): string {
  const rel = relative(resolve(root), resolve(file));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw kbError(
      'INVALID_OPTION',
      `${file} is not inside the ingest root ${root}; give a root that contains it.`,
      {
        input: file,
      },
    );
  }
  return rel.split(sep).join('/');
}

function emptyDocument(path: string) {
  return kbError(
    'EMPTY_DOCUMENT',
    `${path} has no text to index (it is empty or whitespace only). Remove it or add text.`,
    {
      input: path,
    },
  );
}
