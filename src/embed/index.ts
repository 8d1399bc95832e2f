export {
  approximateBedrockTokenCount,
  type BedrockEmbedderOptions,
  COHERE_MAX_BATCH,
  COHERE_MAX_INPUT_TOKENS,
  CohereEmbedder,
  type CohereEmbedderOptions,
  DEFAULT_COHERE_EMBED_MODEL_ID,
  DEFAULT_TITAN_EMBED_MODEL_ID,
  type EmbeddingUsageEvent,
  TITAN_MAX_INPUT_TOKENS,
  type TitanDimensions,
  TitanEmbedder,
  type TitanEmbedderOptions,
} from './bedrock-embedders.js';
export {
  DEFAULT_TRANSFORMERS_MODEL,
  defaultModelCacheDirs,
  findCachedModelFolder,
  missingModelFiles,
  type TransformersDtype,
  TransformersEmbedder,
  type TransformersEmbedderOptions,
} from './transformers-embedder.js';
export {
  UniversalSentenceEncoderEmbedder,
  type UniversalSentenceEncoderOptions,
  USE_DIMENSIONS,
  USE_MAX_INPUT_TOKENS,
} from './use-embedder.js';
export { cosineSimilarity, dot, norm, normalize } from './vector-math.js';

import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Embedder } from '../types.js';
import {
  DEFAULT_TRANSFORMERS_MODEL,
  TRANSFORMERS_EMBEDDER_OPTIONS,
  TransformersEmbedder,
  type TransformersEmbedderOptions,
} from './transformers-embedder.js';
import { UniversalSentenceEncoderEmbedder } from './use-embedder.js';

/** Options `createEmbedder` accepts; each embedder takes the ones that apply to it. */
export type CreateEmbedderOptions = TransformersEmbedderOptions;

const CREATE_EMBEDDER_OPTIONS = declareOptions<CreateEmbedderOptions>('createEmbedder', {
  ...TRANSFORMERS_EMBEDDER_OPTIONS.shape,
});

/**
 * The embedder for a CLI name: `minilm` (all-MiniLM-L6-v2 via transformers.js), `use` (Universal Sentence Encoder,
 * bundled), or a Hugging Face model id such as `Xenova/bge-small-en-v1.5` (optionally prefixed `transformers:`).
 */
export function createEmbedder(
  name: 'minilm' | 'use' | (string & {}),
  options: CreateEmbedderOptions = {},
): Embedder {
  checkOptions(CREATE_EMBEDDER_OPTIONS, options);
  if (name === 'minilm')
    return new TransformersEmbedder({ ...options, model: options.model ?? DEFAULT_TRANSFORMERS_MODEL });
  if (name === 'use') {
    const { batchSize, maxInputTokens, model, modelPath, dtype } = options;
    const misplaced = Object.entries({ model, modelPath, dtype }).find(([, value]) => value !== undefined);
    if (misplaced) {
      throw kbError(
        'INVALID_OPTION',
        `The use embedder is bundled and takes no ${misplaced[0]}; remove it.`,
        {
          input: misplaced[0],
        },
      );
    }
    return new UniversalSentenceEncoderEmbedder({
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(maxInputTokens === undefined ? {} : { maxInputTokens }),
    });
  }
  const modelId = name.startsWith('transformers:') ? name.slice('transformers:'.length) : name;
  if (/^[\w.-]+\/[\w.-]+$/.test(modelId)) return new TransformersEmbedder({ ...options, model: modelId });
  throw kbError(
    'UNKNOWN_MODEL',
    `Unknown embedder "${name}". Use "minilm", "use", or a Hugging Face model id like "Xenova/all-MiniLM-L6-v2".`,
    { input: name },
  );
}
export { cachedEmbedder } from './cached-embedder.js';
export {
  isWorkerCapable,
  type WorkerCapableEmbedder,
  type WorkerEmbedderRecipe,
  WorkerPoolEmbedder,
} from './worker-pool-embedder.js';
