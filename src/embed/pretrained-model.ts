/**
 * Loading a transformers.js model for the embedder and the cross-encoder reranker: the one file that imports
 * @huggingface/transformers, an optional peer dependency loaded on first use (see optional-peer.ts).
 */
import type { PreTrainedModel, PreTrainedTokenizer } from '@huggingface/transformers';
import { kbError } from '../errors.js';
import { importOptionalPeer } from '../optional-peer.js';
import { locateModel, type ModelLocation, modelFiles, modelNotFoundError } from './model-files.js';

export interface PretrainedModel {
  transformers: typeof import('@huggingface/transformers');
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  /** The local folder it was loaded from; undefined when it was downloaded. */
  folder: string | undefined;
  /** The folder, or the model id it was downloaded as. */
  source: string;
}

export interface PretrainedLoad {
  architecture: 'AutoModel' | 'AutoModelForSequenceClassification';
  /** Passed to onnxruntime's session. */
  sessionOptions?: Record<string, unknown>;
  /** For MODEL_LOAD_FAILED: what failed to load ('the model') and the export its files must be ('ONNX export'). */
  what: string;
  exportKind: string;
}

/**
 * Loads the tokenizer and the model where locateModel finds them. transformers.js not installed is
 * DEPENDENCY_MISSING, a failed download MODEL_NOT_FOUND, a local folder that does not load MODEL_LOAD_FAILED.
 */
export async function loadPretrained(
  location: ModelLocation,
  load: PretrainedLoad,
): Promise<PretrainedModel> {
  const transformers = await importOptionalPeer(
    '@huggingface/transformers',
    `${location.kind.className} (${location.model})`,
    () => import('@huggingface/transformers'),
  );
  // Process-wide switch: once anything asks for offline, transformers.js never reaches the network.
  if (location.offline) transformers.env.allowRemoteModels = false;
  const { folder, source, loadOptions } = locateModel(location);
  try {
    const tokenizer = await transformers.AutoTokenizer.from_pretrained(source, loadOptions);
    const model = await transformers[load.architecture].from_pretrained(source, {
      ...loadOptions,
      dtype: location.dtype,
      ...(load.sessionOptions ? { session_options: load.sessionOptions } : {}),
    });
    return { transformers, tokenizer, model, folder, source };
  } catch (error) {
    if (!folder) throw modelNotFoundError(location, modelFiles(location.dtype), error);
    throw kbError(
      'MODEL_LOAD_FAILED',
      `Could not load ${load.what} in ${folder} (${location.dtype}): ${(error as Error).message}. ` +
        `The files may be truncated or not an ${load.exportKind}; replace the folder with a fresh copy.`,
      { input: folder, cause: error },
    );
  }
}
