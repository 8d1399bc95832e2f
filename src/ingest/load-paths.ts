import { stat } from 'node:fs/promises';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Metadata, SourceDocument } from '../types.js';
import { DEFAULT_LOADERS, loadFile } from './load-file.js';
import { RECORD_OPTIONS, type RecordOptions, recordDocuments } from './loaders/records.js';
import { type LoaderChoice, mergeLoaders } from './loaders/user-loaders.js';
import { PathWalker, type WalkedFile, type WalkOptions } from './walk-paths.js';

export interface LoadPathsOptions extends Omit<WalkOptions, 'extensions' | 'onSkipped'> {
  /** Added to every document (a sidecar's attributes win over it). */
  metadata?: Metadata;
  /** More loaders (a list, or by extension); they win over the built-in ones for their extensions. */
  loaders?: LoaderChoice;
  /** How CSV, JSON and JSONL records become documents (or chunks), text and metadata. */
  records?: RecordOptions;
  /**
   * Called once every path is walked, before the first file is loaded, with the number of files found (those
   * that will be skipped included) and the total size of those to load: what a progress display needs.
   */
  onListed?: (listing: { files: number; bytes: number }) => void;
}

export const LOAD_PATHS_OPTIONS = declareOptions<LoadPathsOptions>('loadPaths', {
  include: 'string[]',
  exclude: 'string[]',
  metadata: 'object',
  loaders: ['array', 'object'],
  records: RECORD_OPTIONS,
  onListed: 'function',
});

/** One file's (or record's) result: a document, or the typed error that made it a skip. */
export type LoadOutcome =
  | { ok: true; document: SourceDocument }
  | { ok: false; path: string; error: LocalKbError };

type Listed = { file: WalkedFile; bytes: number } | { problem: LoadOutcome };

/**
 * Walks `paths` and loads every file found. Every file under the paths has an outcome: a document (a record file
 * gives one per record, unless `records.recordAs` is 'chunk'), or `{ ok: false }` with the reason it was skipped
 * (hidden, excluded, unsupported type, unreadable, empty…); the walk goes on past bad files. Options are checked
 * before the first file is read.
 */
export function loadPaths(
  paths: readonly string[],
  options: LoadPathsOptions = {},
): AsyncIterable<LoadOutcome> {
  checkOptions(LOAD_PATHS_OPTIONS, options);
  const loaders = mergeLoaders(options.loaders, DEFAULT_LOADERS);
  const listed: Listed[] = [];
  const walker = new PathWalker({
    ...(options.include === undefined ? {} : { include: options.include }),
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
    extensions: loaders.flatMap((loader) => loader.extensions),
    onSkipped: (skip) =>
      listed.push({
        problem: { ok: false, path: skip.path, error: kbError(skip.code, skip.reason, { input: skip.path }) },
      }),
  });
  return (async function* load(): AsyncGenerator<LoadOutcome> {
    // Walk everything first: the totals are known before the first (slow) load, and walk errors keep their place.
    for (const path of paths) {
      try {
        for await (const file of walker.walk(path)) listed.push({ file, bytes: 0 });
      } catch (error) {
        listed.push({ problem: { ok: false, path, error: asLocalKbError(error, path) } });
      }
    }
    if (options.onListed) {
      await sizeFiles(listed);
      const bytes = listed.reduce((sum, entry) => sum + ('file' in entry ? entry.bytes : 0), 0);
      options.onListed({ files: listed.length, bytes });
    }
    for (const entry of listed) {
      if ('problem' in entry) {
        yield entry.problem;
        continue;
      }
      const { file } = entry;
      let document: SourceDocument;
      try {
        document = await loadFile(file.path, {
          root: file.root,
          loaders,
          ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
          ...(options.records === undefined ? {} : { records: options.records }),
        });
      } catch (error) {
        yield { ok: false, path: file.path, error: asLocalKbError(error, file.path) };
        continue;
      }
      if (document.records && options.records?.recordAs !== 'chunk') {
        for (const record of recordDocuments(document)) yield { ok: true, document: record };
      } else yield { ok: true, document };
    }
  })();
}

/** Fills in each listed file's size, a few stats at a time; a file that cannot be stat'ed counts 0 (its load says why). */
async function sizeFiles(listed: Listed[]) {
  const files = listed.filter((entry): entry is { file: WalkedFile; bytes: number } => 'file' in entry);
  for (let i = 0; i < files.length; i += 64) {
    await Promise.all(
      files.slice(i, i + 64).map(async (entry) => {
        entry.bytes = (await stat(entry.file.path).catch(() => undefined))?.size ?? 0;
      }),
    );
  }
}

function asLocalKbError(error: unknown, path: string): LocalKbError {
  if (isLocalKbError(error)) return error;
  return kbError('FILE_UNREADABLE', `Cannot load ${path}: ${(error as Error)?.message ?? String(error)}`, {
    input: path,
    cause: error,
  });
}
