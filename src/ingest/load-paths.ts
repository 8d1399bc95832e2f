import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import type { Metadata, SourceDocument } from '../types.js';
import { DEFAULT_LOADERS, loadFile } from './load-file.js';
import type { Loader } from './loaders/loader.js';
import { PathWalker, type WalkOptions } from './walk-paths.js';

export interface LoadPathsOptions extends Omit<WalkOptions, 'extensions'> {
  /** Added to every document (a sidecar's attributes win over it). */
  metadata?: Metadata;
  loaders?: readonly Loader[];
}

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
  const loaders = options.loaders ?? DEFAULT_LOADERS;
  const walker = new PathWalker({
    ...(options.include === undefined ? {} : { include: options.include }),
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
    extensions: loaders.flatMap((loader) => loader.extensions),
  });
  return (async function* load(): AsyncGenerator<LoadOutcome> {
    for (const path of paths) {
      const files = walker.walk(path)[Symbol.asyncIterator]();
      while (true) {
        let next: IteratorResult<{ path: string; root: string }>;
        try {
          next = await files.next();
        } catch (error) {
          yield { ok: false, path, error: asLocalKbError(error, path) };
          break;
        }
        if (next.done) break;
        const file = next.value;
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
    }
  })();
}

function asLocalKbError(error: unknown, path: string): LocalKbError {
  if (isLocalKbError(error)) return error;
  return kbError('FILE_UNREADABLE', `Cannot load ${path}: ${(error as Error)?.message ?? String(error)}`, {
    input: path,
    cause: error,
  });
}
