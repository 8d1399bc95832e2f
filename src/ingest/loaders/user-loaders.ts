import { kbError } from '../../errors.js';
import type { LoadContext, LoadedContent, Loader } from './loader.js';

/** A loader as a plain function: the file's bytes in, its text (or LoadedContent) out. */
export type LoaderFunction = (
  bytes: Uint8Array,
  file: string,
  context?: LoadContext,
) => Promise<LoadedContent | string> | LoadedContent | string;

/**
 * Loaders a caller adds: a list of Loader objects, or loaders by extension (`{ '.org': (bytes) => text }`).
 * They win over the built-in loaders for their extensions; every other extension keeps its built-in loader.
 */
export type LoaderChoice = readonly Loader[] | Readonly<Record<string, Loader | LoaderFunction>>;

/** The caller's loaders first, then the defaults for the extensions they do not take. Checked eagerly. */
export function mergeLoaders(
  choice: LoaderChoice | undefined,
  defaults: readonly Loader[],
): readonly Loader[] {
  if (choice === undefined) return defaults;
  const added = Array.isArray(choice)
    ? choice.map(checkLoader)
    : loadersByExtension(choice as Record<string, unknown>);
  const taken = new Set(added.flatMap((loader) => loader.extensions));
  const kept = defaults.flatMap((loader) => {
    const extensions = loader.extensions.filter((extension) => !taken.has(extension));
    if (extensions.length === loader.extensions.length) return [loader];
    return extensions.length === 0 ? [] : [{ ...loader, extensions, load: loader.load.bind(loader) }];
  });
  return [...added, ...kept];
}

function loadersByExtension(choice: Record<string, unknown>): Loader[] {
  if (typeof choice !== 'object' || choice === null) {
    throw kbError(
      'INVALID_OPTION',
      'loaders must be a list of Loader objects or an object of loaders by extension.',
      {
        input: 'loaders',
      },
    );
  }
  return Object.entries(choice).map(([key, value]) => {
    const extension = normaliseExtension(key);
    if (typeof value === 'function') {
      const load = value as LoaderFunction;
      return {
        format: 'text',
        extensions: [extension],
        async load(bytes: Uint8Array, file: string, context?: LoadContext) {
          return contentOf(await load(bytes, file, context), extension);
        },
      } satisfies Loader;
    }
    const loader = checkLoader(value as Loader);
    return { ...loader, extensions: [extension], load: loader.load.bind(loader) };
  });
}

function normaliseExtension(key: string): string {
  const extension = (key.startsWith('.') ? key : `.${key}`).toLowerCase();
  if (!/^\.[a-z0-9][a-z0-9._+-]*$/.test(extension)) {
    throw kbError(
      'INVALID_OPTION',
      `loaders: "${key}" is not a file extension; use keys like ".org" or "org".`,
      {
        input: `loaders.${key}`,
      },
    );
  }
  return extension;
}

function checkLoader(loader: Loader): Loader {
  const ok =
    typeof loader === 'object' &&
    loader !== null &&
    typeof loader.load === 'function' &&
    Array.isArray(loader.extensions) &&
    loader.extensions.every((extension) => typeof extension === 'string' && extension.startsWith('.'));
  if (!ok) {
    throw kbError(
      'INVALID_OPTION',
      'loaders: each Loader needs extensions (like [".org"]), a format and load(bytes, file); or pass { ".org": fn }.',
      { input: 'loaders' },
    );
  }
  return {
    ...loader,
    format: loader.format ?? 'text',
    extensions: loader.extensions.map((e) => e.toLowerCase()),
  };
}

function contentOf(result: LoadedContent | string, extension: string): LoadedContent {
  if (typeof result === 'string') return { text: result.replace(/\r\n?/g, '\n') };
  if (typeof result?.text !== 'string') {
    throw kbError('INVALID_OPTION', `The loader for ${extension} returned neither a string nor { text }.`, {
      input: `loaders.${extension}`,
    });
  }
  return result;
}
