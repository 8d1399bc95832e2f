import { existsSync } from 'node:fs';
import {
  CohereEmbedder,
  createEmbedder,
  DEFAULT_TRANSFORMERS_MODEL,
  defaultModelCacheDirs,
  findCachedModelFolder,
  type TitanDimensions,
  TitanEmbedder,
  TransformersEmbedder,
  UniversalSentenceEncoderEmbedder,
} from '../embed/index.js';
import { kbError } from '../errors.js';
import { isOptionalPeerInstalled } from '../optional-peer.js';
import { closestName } from '../options.js';
import type { Embedder } from '../types.js';

export type EmbedderChoice = Embedder | 'minilm' | 'use' | 'none' | 'auto';

export interface EmbedderChoiceOptions {
  modelPath?: string;
  cacheDir?: string;
  offline?: boolean;
}

/** The embedder chosen, and when 'auto' settled for the weaker bundled USE, a notice saying why and what to do. */
export interface ResolvedEmbedder {
  embedder: Embedder | undefined;
  notice?: string;
}

/**
 * The embedder for a knowledge base. An existing store names its own embedder (its recorded id), so reopening
 * needs no flags; 'auto' on a new store takes MiniLM when transformers.js is installed and the weights are on this
 * machine, else the bundled USE, with a notice: the store is locked to it from its first ingest.
 */
export function resolveEmbedder(
  choice: EmbedderChoice,
  storedId: string | undefined,
  options: EmbedderChoiceOptions = {},
): ResolvedEmbedder {
  if (typeof choice === 'object' && choice !== null) return { embedder: checkedEmbedder(choice) };
  if (typeof choice !== 'string' || !EMBEDDER_NAMES.includes(choice)) {
    const suggestion = typeof choice === 'string' ? closestName(choice, EMBEDDER_NAMES) : undefined;
    throw kbError(
      'INVALID_OPTION',
      `embedder must be ${EMBEDDER_NAMES.join(', ')} or an Embedder object, got ${JSON.stringify(choice)}` +
        `${suggestion ? `; did you mean "${suggestion}"?` : '.'}`,
      { input: 'embedder', ...(suggestion ? { details: { suggestion } } : {}) },
    );
  }
  const local = {
    ...(options.modelPath ? { modelPath: options.modelPath } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.offline !== undefined ? { offline: options.offline } : {}),
  };
  if (choice === 'none') return { embedder: undefined };
  if (choice === 'minilm' || choice === 'use') return { embedder: createEmbedder(choice, local) };
  if (storedId === 'none') return { embedder: undefined };
  if (storedId) return { embedder: embedderFromId(storedId, local) };
  const missing = whyNoMiniLm(options.modelPath, options.cacheDir);
  if (missing === undefined) return { embedder: createEmbedder('minilm', local) };
  return {
    embedder: createEmbedder('use'),
    notice:
      `embedder auto fell back to the bundled Universal Sentence Encoder (use, 512-d), a weak retriever that reads ` +
      `only ~128 tokens per input, because ${missing}; this store is now locked to it. For MiniLM, install ` +
      `@huggingface/transformers and its model (--model-path <dir> or --cache-dir <dir>), then build a new store ` +
      `with --embedder minilm (in code: embedder: 'minilm', modelPath / cacheDir).`,
  };
}

const EMBEDDER_NAMES: readonly string[] = ['auto', 'minilm', 'use', 'none'];

/** An embedder object must have the methods the knowledge base calls; a wrong object fails here, not mid-ingest. */
function checkedEmbedder(embedder: Embedder): Embedder {
  const missing = ['init', 'embedDocuments', 'embedQuery', 'tokenCounter'].filter(
    (method) => typeof (embedder as unknown as Record<string, unknown>)[method] !== 'function',
  );
  if (typeof embedder.id !== 'string' || missing.length > 0) {
    throw kbError(
      'INVALID_OPTION',
      `embedder must implement Embedder (id, dimensions, maxInputTokens, init, embedDocuments, embedQuery, tokenCounter); ` +
        `this object lacks ${[...(typeof embedder.id === 'string' ? [] : ['id']), ...missing].join(', ')}.`,
      { input: 'embedder' },
    );
  }
  return embedder;
}

/** Rebuilds an embedder from the id a store recorded (see each embedder's `id`). */
export function embedderFromId(id: string, options: EmbedderChoiceOptions = {}): Embedder {
  if (id === new UniversalSentenceEncoderEmbedder().id) return createEmbedder('use');
  const transformers = /^transformers:(.+):(q8|fp32)$/.exec(id);
  if (transformers) {
    return new TransformersEmbedder({
      model: transformers[1] as string,
      dtype: transformers[2] as 'q8' | 'fp32',
      ...(options.modelPath ? { modelPath: options.modelPath } : {}),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(options.offline !== undefined ? { offline: options.offline } : {}),
    });
  }
  const bedrock = /^bedrock:(.+):(\d+)(:raw)?$/.exec(id);
  if (bedrock) {
    const modelId = bedrock[1] as string;
    if (modelId.startsWith('cohere.')) return new CohereEmbedder({ modelId });
    if (modelId.startsWith('amazon.titan-embed')) {
      return new TitanEmbedder({
        modelId,
        ...(modelId.includes('v2') ? { dimensions: Number(bedrock[2]) as TitanDimensions } : {}),
        normalize: bedrock[3] === undefined,
      });
    }
  }
  throw kbError(
    'UNKNOWN_MODEL',
    `The store was built with embedder "${id}", which localkb cannot recreate by itself; pass that embedder object to LocalKnowledgeBase.open.`,
    { input: id },
  );
}

/** Why 'auto' cannot take MiniLM here, or undefined when it can. */
function whyNoMiniLm(modelPath: string | undefined, cacheDir: string | undefined): string | undefined {
  if (!isOptionalPeerInstalled('@huggingface/transformers'))
    return '@huggingface/transformers is not installed';
  const folder = modelPath ?? (process.env.LOCALKB_MODEL_PATH || undefined);
  if (folder) return existsSync(folder) ? undefined : `the model folder ${folder} does not exist`;
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'];
  const cacheDirs = cacheDir ? [cacheDir] : defaultModelCacheDirs();
  return findCachedModelFolder(DEFAULT_TRANSFORMERS_MODEL, cacheDirs, files) === undefined
    ? `${DEFAULT_TRANSFORMERS_MODEL} is not in ${cacheDirs.join(', ')}`
    : undefined;
}
