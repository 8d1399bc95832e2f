/**
 * Finding a local transformers.js model, for the embedder and the cross-encoder reranker alike: from a
 * model folder (`modelPath` or an environment variable), a cache directory in the Hugging Face hub layout
 * (`models--org--name/snapshots/<rev>/`) or the transformers.js layout (`org/name/`), or, when the network is
 * allowed, a download into the first cache directory. Also the option checks both classes share and the
 * MODEL_NOT_FOUND error that lists every way to provide a model. Loading itself is in pretrained-model.ts, the one
 * file that touches transformers.js, so these declarations stay free of its types.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { kbError, type LocalKbError } from '../errors.js';
import { checkOptions, type OptionsDeclaration } from '../options.js';

/** `q8` loads onnx/model_quantized.onnx, `fp32` loads onnx/model.onnx. */
export type ModelDtype = 'q8' | 'fp32';

const DTYPE_FILES: Record<ModelDtype, string> = {
  q8: 'onnx/model_quantized.onnx',
  fp32: 'onnx/model.onnx',
};
/** Files a model folder needs besides the ONNX weights. */
const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** Every file a model folder needs to load with `dtype`. */
export function modelFiles(dtype: ModelDtype): string[] {
  return [...REQUIRED_FILES, DTYPE_FILES[dtype]];
}

/** The local cache directories searched for a model, in order; the first one is where downloads go. */
export function defaultModelCacheDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.LOCALKB_CACHE_DIR) return [path.resolve(env.LOCALKB_CACHE_DIR)];
  const home = homedir();
  const dirs = [path.join(env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'localkb', 'models')];
  if (env.HF_HUB_CACHE) dirs.push(path.resolve(env.HF_HUB_CACHE));
  dirs.push(
    path.join(env.HF_HOME ? path.resolve(env.HF_HOME) : path.join(home, '.cache', 'huggingface'), 'hub'),
  );
  return [...new Set(dirs)];
}

function isOfflineEnv(env: NodeJS.ProcessEnv): boolean {
  const on = (value: string | undefined) =>
    value !== undefined && ['1', 'true', 'yes'].includes(value.toLowerCase());
  return on(env.LOCALKB_OFFLINE) || on(env.HF_HUB_OFFLINE) || on(env.TRANSFORMERS_OFFLINE);
}

/** Files from `files` that `folder` lacks. */
export function missingModelFiles(folder: string, files: readonly string[]): string[] {
  return files.filter((file) => !existsSync(path.join(folder, file)));
}

/**
 * Finds `modelId` in the cache directories, in the Hugging Face hub layout
 * (`models--org--name/refs/main` → `snapshots/<rev>/`, else the newest complete snapshot)
 * or the transformers.js layout (`org/name/`). Returns the first folder that has every file in `files`.
 */
export function findCachedModelFolder(
  modelId: string,
  cacheDirs: readonly string[],
  files: readonly string[],
): string | undefined {
  for (const cacheDir of cacheDirs) {
    const hubRepo = path.join(cacheDir, `models--${modelId.split('/').join('--')}`);
    const snapshots = path.join(hubRepo, 'snapshots');
    const candidates: string[] = [];
    const mainRef = path.join(hubRepo, 'refs', 'main');
    if (existsSync(mainRef)) candidates.push(path.join(snapshots, readFileSync(mainRef, 'utf8').trim()));
    if (existsSync(snapshots)) {
      const revisions = readdirSync(snapshots)
        .map((name) => path.join(snapshots, name))
        .filter((folder) => statSync(folder).isDirectory())
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      candidates.push(...revisions);
    }
    candidates.push(path.join(cacheDir, ...modelId.split('/')));
    const found = candidates.find((folder) => missingModelFiles(folder, files).length === 0);
    if (found) return found;
  }
  return undefined;
}

/** How a class that runs a local model names itself, its options and its model in errors. */
export interface LocalModelKind {
  /** The class: 'TransformersEmbedder'. */
  className: string;
  /** Every option the class takes; any other is rejected. */
  options: OptionsDeclaration<object>;
  /** The class's own options that must be positive integers (batchSize…). */
  positiveIntegerOptions: readonly string[];
  /** What the model is, within a sentence: 'embedding model'. */
  noun: string;
  defaultModel: string;
  /** The environment variable that names a model folder: LOCALKB_MODEL_PATH. */
  modelPathEnv: string;
  /** How users pass a model folder and a cache directory: CLI flags (--model-path) or option names (modelPath). */
  modelPathOption: string;
  cacheDirOption: string;
}

/** The options every local model class takes. */
export interface LocalModelOptions {
  model?: string;
  modelPath?: string;
  cacheDir?: string;
  offline?: boolean;
  dtype?: ModelDtype;
}

/** Checks the options object, its keys, and the types of the shared options and the kind's integer options. */
export function validateLocalModelOptions(options: LocalModelOptions, kind: LocalModelKind): void {
  checkOptions(kind.options, options);
  for (const key of ['model', 'modelPath', 'cacheDir'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      throw kbError('INVALID_OPTION', `${key} must be a non-empty string, got ${JSON.stringify(value)}.`, {
        input: key,
      });
    }
  }
  if (options.dtype !== undefined && !(options.dtype in DTYPE_FILES)) {
    throw kbError('INVALID_OPTION', `dtype must be "q8" or "fp32", got ${JSON.stringify(options.dtype)}.`, {
      input: 'dtype',
    });
  }
  if (options.offline !== undefined && typeof options.offline !== 'boolean') {
    throw kbError('INVALID_OPTION', `offline must be a boolean, got ${JSON.stringify(options.offline)}.`, {
      input: 'offline',
    });
  }
  for (const key of kind.positiveIntegerOptions) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
      throw kbError('INVALID_OPTION', `${key} must be a positive integer, got ${JSON.stringify(value)}.`, {
        input: key,
      });
    }
  }
}

/** A model and where to look for it, settled from the options and the environment. */
export interface ModelLocation {
  kind: LocalModelKind;
  model: string;
  /** The model folder from the options or the kind's environment variable, resolved. */
  modelPath: string | undefined;
  dtype: ModelDtype;
  offline: boolean;
  cacheDirs: string[];
}

export function resolveModelLocation(
  options: LocalModelOptions,
  kind: LocalModelKind,
  env: NodeJS.ProcessEnv = process.env,
): ModelLocation {
  const given = options.modelPath ?? (env[kind.modelPathEnv] || undefined);
  const modelPath = given === undefined ? undefined : path.resolve(given);
  return {
    kind,
    model: options.model ?? (modelPath ? path.basename(modelPath) : kind.defaultModel),
    modelPath,
    dtype: options.dtype ?? 'q8',
    offline: options.offline ?? isOfflineEnv(env),
    cacheDirs: options.cacheDir ? [path.resolve(options.cacheDir)] : defaultModelCacheDirs(env),
  };
}

/** What transformers.js loads: a complete local folder, or (online, nothing cached) the model id to download. */
export interface ModelSource {
  folder: string | undefined;
  source: string;
  loadOptions: { local_files_only: boolean; cache_dir?: string };
}

/** The model folder when it is complete, else a complete cached copy, else a download unless offline. */
export function locateModel(location: ModelLocation): ModelSource {
  const files = modelFiles(location.dtype);
  let folder: string | undefined;
  if (location.modelPath) {
    const missing = existsSync(location.modelPath) ? missingModelFiles(location.modelPath, files) : files;
    if (missing.length > 0) throw modelNotFoundError(location, missing);
    folder = location.modelPath;
  } else {
    folder = findCachedModelFolder(location.model, location.cacheDirs, files);
    if (!folder && location.offline) throw modelNotFoundError(location, files);
  }
  return {
    folder,
    source: folder ?? location.model,
    loadOptions: folder
      ? { local_files_only: true }
      : { cache_dir: location.cacheDirs[0]!, local_files_only: false },
  };
}

/** MODEL_NOT_FOUND naming the files `missing` and every way to provide the model; `cause`: a failed download. */
export function modelNotFoundError(
  location: ModelLocation,
  missing: string[],
  cause?: unknown,
): LocalKbError {
  const { kind, model, modelPath, dtype, cacheDirs } = location;
  const files = modelFiles(dtype).join(', ');
  const Noun = kind.noun[0]!.toUpperCase() + kind.noun.slice(1);
  const hubFolder = `models--${model.split('/').join('--')}`;
  const lines = modelPath
    ? [
        `${Noun} folder ${modelPath} (from ${kind.modelPathOption} / ${kind.modelPathEnv}) lacks: ${missing.join(', ')}.`,
        `It must be laid out like the Hugging Face repo: ${files}.`,
        `Copy a complete model folder there (for example the files of ${kind.defaultModel}), or unset it to use the cache.`,
      ]
    : [
        cause
          ? `Could not download ${kind.noun} ${model} (${dtype}): ${(cause as Error).message}.`
          : `${Noun} ${model} (${dtype}) is not in the local cache and downloads are off (offline mode).`,
        'Provide it in one of these ways:',
        `  1. ${kind.modelPathOption} <dir> or ${kind.modelPathEnv}=<dir>, a folder laid out like the Hugging Face repo: ${files}.`,
        `  2. A cache directory (${kind.cacheDirOption} or LOCALKB_CACHE_DIR) holding ${hubFolder}/snapshots/<revision>/ ` +
          `(the Hugging Face hub layout) or ${model}/ with those files. Searched: ${cacheDirs.join(', ')}.`,
        '  3. Run once with network access, without LOCALKB_OFFLINE=1 / HF_HUB_OFFLINE=1, to download it into ' +
          `${cacheDirs[0]}; later runs work offline.`,
      ];
  return kbError('MODEL_NOT_FOUND', lines.join('\n'), {
    input: modelPath ?? model,
    ...(cause === undefined ? {} : { cause }),
    details: { missing },
  });
}
