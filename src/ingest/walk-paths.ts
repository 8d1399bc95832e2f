import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { SUPPORTED_EXTENSIONS } from './load-file.js';
import { isSidecarFile } from './loaders/sidecar-metadata.js';

export interface WalkOptions {
  /** Globs (picomatch, relative to the walked directory) a file must match. Default: every supported extension. */
  include?: readonly string[];
  /** Globs a file must not match. Globs without a slash match the file name at any depth. */
  exclude?: readonly string[];
  /** Extensions accepted when `include` is not given (lower-case, with the dot). Default: SUPPORTED_EXTENSIONS. */
  extensions?: readonly string[];
}

export const WALK_OPTIONS = declareOptions<WalkOptions>('walkPaths', {
  include: 'string[]',
  exclude: 'string[]',
  extensions: 'string[]',
});

export interface WalkedFile {
  /** The file's path, built from the path the caller gave. */
  path: string;
  /** The ingest root the document id is relative to: the walked directory, or a given file's own directory. */
  root: string;
}

/** Folders never walked into (besides dot-folders). */
const SKIPPED_FOLDERS = new Set(['node_modules']);

/**
 * Files to ingest under `paths`, in a stable sorted order, each once. Directories are walked recursively,
 * skipping dot-folders, dot-files, node_modules, symlinked folders and `.metadata.json` sidecars; files given
 * directly are yielded as they are (the loader reports unsupported ones). A missing path throws FILE_NOT_FOUND
 * when it is reached. Options are checked at once.
 */
export function walkPaths(paths: readonly string[], options: WalkOptions = {}): AsyncIterable<WalkedFile> {
  const walker = new PathWalker(options);
  return (async function* walkAll() {
    for (const path of paths) yield* walker.walk(path);
  })();
}

/** Walks paths one by one, remembering what it has yielded so overlapping paths give each file once. */
export class PathWalker {
  private readonly seen = new Set<string>();
  private readonly accepts: (relativePath: string) => boolean;

  constructor(options: WalkOptions) {
    checkOptions(WALK_OPTIONS, options);
    const include = validGlobs(options.include, 'include');
    const exclude = validGlobs(options.exclude, 'exclude');
    const extensions = options.extensions ?? SUPPORTED_EXTENSIONS;
    const included = include ? globMatcher(include) : undefined;
    const excluded = exclude ? globMatcher(exclude) : undefined;
    this.accepts = (rel) =>
      (included ? included(rel) : extensions.includes(extname(rel).toLowerCase())) && !excluded?.(rel);
  }

  async *walk(path: string): AsyncGenerator<WalkedFile> {
    if (typeof path !== 'string' || path === '') {
      throw kbError('INVALID_OPTION', `Paths must be non-empty strings, got ${JSON.stringify(path)}.`);
    }
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw kbError(
        'FILE_NOT_FOUND',
        `${path} does not exist (resolved to ${resolve(path)}). Check the path.`,
        {
          input: path,
          cause: error,
        },
      );
    });
    if (!info.isDirectory()) {
      if (await this.firstVisit(path)) yield { path, root: dirname(path) };
      return;
    }
    yield* this.walkDirectory(path, path);
  }

  private async *walkDirectory(directory: string, root: string): AsyncGenerator<WalkedFile> {
    const entries = await readdir(directory, { withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        throw kbError('FILE_UNREADABLE', `Cannot list ${directory}: ${error.message}`, {
          input: directory,
          cause: error,
        });
      },
    );
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(directory, entry.name);
      // Symlinked folders are not followed (as in git and ripgrep): no loops, no tree reached twice.
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) yield* this.walkDirectory(path, root);
      } else if (await isFileOrLinkToFile(entry, path)) {
        const rel = relative(root, path).split(sep).join('/');
        if (!isSidecarFile(path) && this.accepts(rel) && (await this.firstVisit(path))) yield { path, root };
      }
    }
  }

  /** True the first time a file is reached, however it is named (relative, absolute, through a symlink). */
  private async firstVisit(path: string): Promise<boolean> {
    const key = await realpath(path).catch(() => resolve(path));
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}

async function isFileOrLinkToFile(entry: Dirent, path: string): Promise<boolean> {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  return (await stat(path).catch(() => undefined))?.isFile() ?? false; // a dangling link is skipped
}

/** picomatch globs; one without a slash matches the file name at any depth, like a .gitignore line. */
function globMatcher(globs: readonly string[]): (relativePath: string) => boolean {
  const anywhere = globs.filter((glob) => !glob.includes('/'));
  const anchored = globs.filter((glob) => glob.includes('/'));
  const byName = anywhere.length > 0 ? picomatch(anywhere, { basename: true }) : () => false;
  const byPath = anchored.length > 0 ? picomatch(anchored) : () => false;
  return (rel) => byName(rel) || byPath(rel);
}

function validGlobs(globs: readonly string[] | undefined, name: string): readonly string[] | undefined {
  if (globs === undefined) return undefined;
  if (!Array.isArray(globs) || globs.some((glob) => typeof glob !== 'string' || glob === '')) {
    throw kbError(
      'INVALID_OPTION',
      `\`${name}\` must be a list of non-empty glob strings, got ${JSON.stringify(globs)}.`,
      { input: name },
    );
  }
  return globs.length === 0 ? undefined : globs;
}
