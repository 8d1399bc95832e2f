import { stat } from 'node:fs/promises';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Metadata, SourceDocument } from '../types.js';
import { DEFAULT_LOADERS, loadFile } from './load-file.js';
import type { Loader } from './loaders/loader.js';
import { PathWalker, type WalkedFile, type WalkOptions } from './walk-paths.js';

export interface LoadPathsOptions extends Omit<WalkOptions, 'extensions'> {
  /** Added to every document (a sidecar's attributes win over it). */
  metadata?: Metadata;
  loaders?: readonly Loader[];
  /**
   * Called once every path is walked, before the first file is loaded, with the number of files found and their
   * total size: what a progress display needs for its totals.
   */
  onListed?: (listing: { files: number; bytes: number }) => void;
}

export const LOAD_PATHS_OPTIONS = declareOptions<LoadPathsOptions>('loadPaths', {
  include: 'string[]',
  exclude: 'string[]',
  metadata: 'object',
  loaders: 'array',
  onListed: 'function',
});

/** One file's result: a document, or the typed error that made it a skip. */
export type LoadOutcome =
  | { ok: true; document: SourceDocument }
  | { ok: false; path: string; error: LocalKbError };

/**
 * Walks `paths` and loads every file found. A bad file (or a missing path) is reported as `{ ok: false }` and the
 * walk goes on, so one broken PDF never stops an ingest. Options are checked before the first file is read.
 */
export function loadPaths(
  paths: readonly string[],
  options: LoadPathsOptions = {},
): AsyncIterable<LoadOutcome> {
  checkOptions(LOAD_PATHS_OPTIONS, options);
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  const walker = new PathWalker({
    ...(options.include === undefined ? {} : { include: options.include }),
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
    extensions: loaders.flatMap((loader) => loader.extensions),
  });
  return (async function* load(): AsyncGenerator<LoadOutcome> {
    // Walk everything first: the totals are known before the first (slow) load, and walk errors keep their place.
    const listed: ({ file: WalkedFile; bytes: number } | { problem: LoadOutcome })[] = [];
    for (const path of paths) {
      try {
        for await (const file of walker.walk(path)) listed.push({ file, bytes: 0 });
      } catch (error) {
        listed.push({ problem: { ok: false, path, error: asLocalKbError(error, path) } });
      }
    }
    if (options.onListed) {
      await sizeFiles(listed);
      const files = listed.filter((entry) => 'file' in entry);
      options.onListed({ files: files.length, bytes: files.reduce((sum, entry) => sum + entry.bytes, 0) });
    }
    for (const entry of listed) {
      if ('problem' in entry) {
        yield entry.problem;
        continue;
      }
      const { file } = entry;
      try {
        const document = await loadFile(file.path, {
          root: file.root,
          loaders,
          ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
        });
        yield { ok: true, document };
      } catch (error) {
        yield { ok: false, path: file.path, error: asLocalKbError(error, file.path) };
      }
    }
  })();
}

/** Fills in each listed file's size, a few stats at a time; a file that cannot be stat'ed counts 0 (its load says why). */
async function sizeFiles(listed: ({ file: WalkedFile; bytes: number } | { problem: LoadOutcome })[]) {
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
