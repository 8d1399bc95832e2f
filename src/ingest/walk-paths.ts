import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { SUPPORTED_EXTENSIONS } from './load-file.js';
import { isSidecarFile, SIDECAR_SUFFIX } from './loaders/sidecar-metadata.js';

export interface WalkOptions {
  /** Globs (picomatch, relative to the walked directory) a file must match. Default: every supported extension. */
  include?: readonly string[];
  /** Globs a file must not match. Globs without a slash match the file name at any depth. */
  exclude?: readonly string[];
  /** Extensions accepted when `include` is not given (lower-case, with the dot). Default: SUPPORTED_EXTENSIONS. */
  extensions?: readonly string[];
  /**
   * Told about every file or folder under the paths that is not yielded, with a code and a reason: hidden
   * (FILE_HIDDEN), left out by the globs (FILE_EXCLUDED), an unsupported extension (UNSUPPORTED_FILE_TYPE), a
   * symlinked folder or dangling link (SYMLINK_SKIPPED), a sidecar of no file (INVALID_METADATA).
   */
  onSkipped?: (skip: WalkSkip) => void;
}

/** Something under the ingest paths that the walk leaves out, and why. */
export interface WalkSkip {
  path: string;
  code: 'FILE_HIDDEN' | 'FILE_EXCLUDED' | 'UNSUPPORTED_FILE_TYPE' | 'SYMLINK_SKIPPED' | 'INVALID_METADATA';
  reason: string;
}

export const WALK_OPTIONS = declareOptions<WalkOptions>('walkPaths', {
  include: 'string[]',
  exclude: 'string[]',
  extensions: 'string[]',
  onSkipped: 'function',
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
  /** Why a file is left out, or undefined when it is walked. */
  private readonly refusal: (relativePath: string) => Omit<WalkSkip, 'path'> | undefined;
  private readonly onSkipped: (skip: WalkSkip) => void;

  constructor(options: WalkOptions) {
    checkOptions(WALK_OPTIONS, options);
    const include = validGlobs(options.include, 'include');
    const exclude = validGlobs(options.exclude, 'exclude');
    const extensions = options.extensions ?? SUPPORTED_EXTENSIONS;
    const included = include ? globMatcher(include) : undefined;
    const excluded = exclude ? globMatcher(exclude) : undefined;
    this.onSkipped = options.onSkipped ?? (() => {});
    this.refusal = (rel) => {
      if (excluded?.(rel)) {
        return { code: 'FILE_EXCLUDED', reason: `matches the exclude globs (${exclude!.join(', ')})` };
      }
      if (included) {
        return included(rel)
          ? undefined
          : { code: 'FILE_EXCLUDED', reason: `matches none of the include globs (${include!.join(', ')})` };
      }
      const extension = extname(rel).toLowerCase();
      if (extensions.includes(extension)) return undefined;
      return {
        code: 'UNSUPPORTED_FILE_TYPE',
        reason: `no loader reads ${extension ? `${extension} files` : 'files without an extension'} (pass one in loaders)`,
      };
    };
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
    const names = new Set(entries.map((entry) => entry.name));
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.name.startsWith('.') || (entry.isDirectory() && SKIPPED_FOLDERS.has(entry.name))) {
        const what = entry.isDirectory() ? 'folder' : 'file';
        const why = entry.name.startsWith('.') ? `hidden ${what} (a dot-name)` : 'a node_modules folder';
        this.onSkipped({ path, code: 'FILE_HIDDEN', reason: `${why}; not walked` });
        continue;
      }
      if (entry.isDirectory()) {
        yield* this.walkDirectory(path, root);
      } else if (await isFileOrLinkToFile(entry, path)) {
        if (isSidecarFile(path)) {
          // A sidecar is read with the file it is named after; one without that file is worth a word.
          if (!names.has(entry.name.slice(0, -SIDECAR_SUFFIX.length))) {
            this.onSkipped({ path, code: 'INVALID_METADATA', reason: 'a metadata sidecar of no file here' });
          }
          continue;
        }
        const rel = relative(root, path).split(sep).join('/');
        const refusal = this.refusal(rel);
        if (refusal) this.onSkipped({ path, ...refusal });
        else if (await this.firstVisit(path)) yield { path, root };
        else if (entry.isSymbolicLink()) {
          this.onSkipped({ path, code: 'SYMLINK_SKIPPED', reason: 'a symlink to a file already taken' });
        }
      } else if (entry.isSymbolicLink()) {
        // Symlinked folders are not followed (as in git and ripgrep): no loops, no tree reached twice.
        const target = await stat(path).catch(() => undefined);
        this.onSkipped({
          path,
          code: 'SYMLINK_SKIPPED',
          reason: target ? 'a symlinked folder; not followed' : 'a dangling symlink',
        });
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
