/**
 * Optional peer dependencies: heavy parts (transformers.js with onnxruntime, ~500 MB; mammoth for .docx, ~8 MB) and the
 * frameworks the adapters plug into (@langchain/core, @llamaindex/core; @opentelemetry/api for spans) that an app installs only for
 * the feature that needs them. They are imported on first use; when one is missing the error names the exact
 * `npm install` command. OPTIONAL_PEERS is the one table of them, kept equal to package.json's peerDependencies.
 */
import { createRequire } from 'node:module';
import { kbError } from './errors.js';

export const OPTIONAL_PEERS = {
  '@huggingface/transformers': '^4.3.1',
  mammoth: '^1.13.0',
  '@langchain/core': '^1.0.0',
  '@llamaindex/core': '^0.6.0',
  '@opentelemetry/api': '^1.9.0',
} as const;

export type OptionalPeer = keyof typeof OPTIONAL_PEERS;

/** The command that installs `name` in the user's app, with the version range localkb is tested with. */
export function installCommand(name: OptionalPeer): string {
  return `npm install ${name}@${OPTIONAL_PEERS[name]}`;
}

/** Whether `name` resolves from localkb's own location, i.e. whether the app installed it. */
export function isOptionalPeerInstalled(name: OptionalPeer): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch (error) {
    // A package that exists but exports no `require` entry is still installed.
    return (error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND';
  }
}

/**
 * Runs `load` (a dynamic `import()` of `name`, written out by the caller so types and bundlers see it). A missing
 * package, or a missing package of its own, becomes DEPENDENCY_MISSING naming `feature` and the install command.
 */
export async function importOptionalPeer<T>(
  name: OptionalPeer,
  feature: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    const command = installCommand(name);
    const message =
      missing === name
        ? `${feature} needs ${name}, an optional peer dependency of localkb that is not installed. ` +
          `Install it in your app: ${command}`
        : `${feature} needs ${name}, which is installed but cannot load its dependency ${missing}. ` +
          `Reinstall it in your app: ${command}`;
    throw kbError('DEPENDENCY_MISSING', message, {
      input: name,
      cause: error,
      details: { install: command },
    });
  }
}

/** The package a failed import could not find, from Node's "Cannot find package 'x'" errors. */
function missingPackage(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const quoted = /Cannot find (?:package|module) '([^']+)'/.exec((error as Error).message)?.[1];
  if (quoted === undefined) return undefined;
  // A path inside node_modules (…/node_modules/@scope/name/…) names the package it belongs to.
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(quoted)?.[1];
  if (inModules) return inModules;
  return quoted.startsWith('.') || quoted.startsWith('/') ? undefined : packageName(quoted);
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}
