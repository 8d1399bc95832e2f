/**
 * Sentence embeddings with transformers.js on onnxruntime-node: mean pooling over the last hidden state, L2-normalised,
 * as sentence-transformers computes them for all-MiniLM-L6-v2.
 *
 * The model comes from a local folder (`modelPath` / LOCALKB_MODEL_PATH), the cache directories, or, when the network
 * is allowed, a download (see model-files.ts).
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { kbError } from '../errors.js';
import { declareOptions } from '../options.js';
import type { Embedder, EmbedOptions, TokenCounter } from '../types.js';
import { assertEmbeddableTexts } from './embed-input.js';
import {
  findCachedModelFolder,
  type LocalModelKind,
  type ModelDtype,
  type ModelLocation,
  modelFiles,
  resolveModelLocation,
  validateLocalModelOptions,
} from './model-files.js';
import { type ModelIdentity, modelIdentity } from './model-identity.js';
import { loadPretrained } from './pretrained-model.js';
import { normalize } from './vector-math.js';
import type { WorkerEmbedderRecipe } from './worker-protocol.js';

export { defaultModelCacheDirs, findCachedModelFolder, missingModelFiles } from './model-files.js';

export const DEFAULT_TRANSFORMERS_MODEL = 'Xenova/all-MiniLM-L6-v2';

export type TransformersDtype = ModelDtype;

export interface TransformersEmbedderOptions {
  /** Hugging Face model id; also names the embedder when `modelPath` is given. Default `Xenova/all-MiniLM-L6-v2`. */
  model?: string;
  /** A model folder laid out like the Hugging Face repo. Default: LOCALKB_MODEL_PATH. */
  modelPath?: string;
  /** Where to look for (and download) models. Default: LOCALKB_CACHE_DIR, else the standard cache directories. */
  cacheDir?: string;
  /** Never touch the network. Default: LOCALKB_OFFLINE=1 or HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** `q8` loads onnx/model_quantized.onnx (default), `fp32` loads onnx/model.onnx. */
  dtype?: TransformersDtype;
  /** Texts per model call. Default 8 (measured fastest on 2 cores; larger batches are slower). */
  batchSize?: number;
  /** Truncate inputs to this many tokens (without special tokens). Default: what the model was trained for. */
  maxInputTokens?: number;
  /** onnxruntime's intra-op threads. Default: onnxruntime's own choice (every core). */
  threads?: number;
}

export const TRANSFORMERS_EMBEDDER_OPTIONS = declareOptions<TransformersEmbedderOptions>(
  'TransformersEmbedder',
  {
    model: 'string',
    modelPath: 'string',
    cacheDir: 'string',
    offline: 'boolean',
    dtype: 'string',
    batchSize: 'integer',
    maxInputTokens: 'integer',
    threads: 'integer',
  },
);

const KIND: LocalModelKind = {
  className: 'TransformersEmbedder',
  options: TRANSFORMERS_EMBEDDER_OPTIONS,
  positiveIntegerOptions: ['batchSize', 'maxInputTokens', 'threads'],
  noun: 'embedding model',
  defaultModel: DEFAULT_TRANSFORMERS_MODEL,
  modelPathEnv: 'LOCALKB_MODEL_PATH',
  modelPathOption: 'modelPath (CLI --model-path)',
  cacheDirOption: 'cacheDir (CLI --cache-dir)',
};
const DEFAULT_BATCH_SIZE = 8;

/**
 * sentence-transformers' max_seq_length for models whose ONNX ports (Xenova/*) omit sentence_bert_config.json;
 * without it we would feed 512 tokens to models trained on 128–256.
 */
const KNOWN_MAX_SEQ_LENGTH: Record<string, number> = {
  'all-MiniLM-L6-v2': 256,
  'all-MiniLM-L12-v2': 256,
  'paraphrase-MiniLM-L6-v2': 128,
  'paraphrase-multilingual-MiniLM-L12-v2': 128,
  'all-mpnet-base-v2': 384,
};

interface LoadedModel {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  TensorClass: typeof Tensor;
  /** Special tokens the tokenizer puts around a single sequence, e.g. [CLS] … [SEP]. */
  prefixIds: number[];
  suffixIds: number[];
  padId: number;
  dimensions: number;
  maxInputTokens: number;
  /** The folder the weights were loaded from and its config, for `modelIdentity`. */
  folder: string | undefined;
  config: Record<string, unknown>;
}

/** A sentence-transformers model run by transformers.js (default: all-MiniLM-L6-v2, 384-d). */
export class TransformersEmbedder implements Embedder {
  readonly id: string;
  readonly model: string;
  readonly dtype: TransformersDtype;
  readonly batchSize: number;
  readonly offline: boolean;
  private readonly location: ModelLocation;
  private readonly requestedMaxInputTokens: number | undefined;
  private loading: Promise<LoadedModel> | undefined;
  private loaded: LoadedModel | undefined;
  private identity: { of: LoadedModel; identity: ModelIdentity | undefined } | undefined;

  private readonly options: TransformersEmbedderOptions;

  constructor(options: TransformersEmbedderOptions = {}) {
    validateLocalModelOptions(options, KIND);
    this.options = { ...options };
    this.location = resolveModelLocation(options, KIND);
    this.model = this.location.model;
    this.dtype = this.location.dtype;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.offline = this.location.offline;
    this.requestedMaxInputTokens = options.maxInputTokens;
    this.id = `transformers:${this.model}:${this.dtype}`;
  }

  get dimensions(): number {
    return this.loadedOrThrow('dimensions').dimensions;
  }

  get maxInputTokens(): number {
    return this.loadedOrThrow('maxInputTokens').maxInputTokens;
  }

  async init(): Promise<void> {
    await this.load();
  }

  /**
   * What the loaded model really is: its config's name and architecture and a SHA-256 of its weight file(s),
   * computed on first read after `init()`. A store records it, so a different model is refused on reopen even
   * when its name and shape are the same. Undefined before loading, or when the files are not in a folder.
   */
  get modelIdentity(): ModelIdentity | undefined {
    const loaded = this.loaded;
    if (!loaded) return undefined;
    if (this.identity?.of !== loaded) {
      const folder =
        loaded.folder ?? findCachedModelFolder(this.model, this.location.cacheDirs, modelFiles(this.dtype));
      this.identity = {
        of: loaded,
        identity: folder ? modelIdentity(folder, this.dtype, loaded.config) : undefined,
      };
    }
    return this.identity.identity;
  }

  /** How a worker thread builds the same embedder, with `threads` onnxruntime threads (WorkerPoolEmbedder). */
  workerRecipe(threads: number): WorkerEmbedderRecipe {
    return {
      module: import.meta.url,
      exportName: 'TransformersEmbedder',
      options: { ...this.options, threads, ...(this.offline ? { offline: true } : {}) },
    };
  }

  async tokenCounter(): Promise<TokenCounter> {
    const { tokenizer } = await this.load();
    return { count: (text) => tokenizer.encode(text, { add_special_tokens: false }).length };
  }

  async embedQuery(text: string, options?: EmbedOptions): Promise<Float32Array> {
    const [vector] = await this.embedDocuments([text], options);
    return vector!;
  }

  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    throwIfAborted(options.signal);
    const loaded = await this.load();
    const ids = texts.map((text) =>
      loaded.tokenizer.encode(text, { add_special_tokens: false }).slice(0, loaded.maxInputTokens),
    );
    // Longest first, so each batch holds texts of similar length and little padding is computed.
    const order = ids.map((_, i) => i).sort((a, b) => ids[b]!.length - ids[a]!.length);
    const vectors: Float32Array[] = new Array(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      throwIfAborted(options.signal);
      const batch = order.slice(start, start + this.batchSize);
      const batchVectors = await this.runBatch(
        loaded,
        batch.map((i) => ids[i]!),
      );
      batch.forEach((textIndex, row) => {
        vectors[textIndex] = batchVectors[row]!;
      });
      options.onProgress?.(Math.min(start + this.batchSize, order.length), order.length);
    }
    return vectors;
  }

  /** Releases the onnxruntime session. A later call loads the model again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    this.loaded = undefined;
    if (!loading) return;
    const loaded = await loading.catch(() => undefined);
    await loaded?.model.dispose();
  }

  private loadedOrThrow(property: string): LoadedModel {
    if (!this.loaded) {
      throw kbError(
        'INVALID_OPTION',
        `${this.id}: ${property} is known once the model is loaded; await embedder.init() first.`,
        { input: this.id },
      );
    }
    return this.loaded;
  }

  private load(): Promise<LoadedModel> {
    if (!this.loading) {
      const loading = this.loadModel();
      this.loading = loading;
      // Guarded so that a close() during loading wins, and a failed load can be retried.
      loading.then(
        (loaded) => {
          if (this.loading === loading) this.loaded = loaded;
        },
        () => {
          if (this.loading === loading) this.loading = undefined;
        },
      );
    }
    return this.loading;
  }

  private async loadModel(): Promise<LoadedModel> {
    const { transformers, tokenizer, model, folder, source } = await loadPretrained(this.location, {
      architecture: 'AutoModel',
      // Idle onnxruntime threads spin by default; on a busy CPU (SQLite, hnswlib, other work) that wastes ~30%.
      sessionOptions: {
        extra: { session: { intra_op: { allow_spinning: '0' } } },
        ...(this.options.threads ? { intraOpNumThreads: this.options.threads, interOpNumThreads: 1 } : {}),
      },
      what: 'the model',
      exportKind: 'ONNX export',
    });
    const config = model.config as unknown as Record<string, unknown>;
    const dimensions = Number(config.hidden_size ?? config.d_model ?? config.dim);
    if (!Number.isInteger(dimensions) || dimensions <= 0) {
      await model.dispose();
      throw kbError('MODEL_LOAD_FAILED', `The config.json of ${source} has no hidden_size.`, {
        input: source,
      });
    }
    const { prefixIds, suffixIds } = specialTokenFrame(tokenizer);
    const specials = prefixIds.length + suffixIds.length;
    const modelLimit = modelTokenLimit(config, tokenizer, folder, this.model) - specials;
    let maxInputTokens = modelLimit;
    if (this.requestedMaxInputTokens !== undefined) {
      const positions = Number(config.max_position_embeddings ?? Number.POSITIVE_INFINITY) - specials;
      if (this.requestedMaxInputTokens > positions) {
        await model.dispose();
        throw kbError(
          'INVALID_OPTION',
          `maxInputTokens ${this.requestedMaxInputTokens} exceeds what ${this.model} can read ` +
            `(${positions} tokens besides special tokens); use at most ${positions}.`,
          { input: 'maxInputTokens' },
        );
      }
      maxInputTokens = this.requestedMaxInputTokens;
    }
    return {
      tokenizer,
      model,
      TensorClass: transformers.Tensor,
      prefixIds,
      suffixIds,
      padId: tokenizer.pad_token_id ?? 0,
      dimensions,
      maxInputTokens,
      folder,
      config,
    };
  }

  private async runBatch(loaded: LoadedModel, batch: number[][]): Promise<Float32Array[]> {
    const { prefixIds, suffixIds, padId, dimensions, TensorClass } = loaded;
    const width = Math.max(...batch.map((ids) => ids.length)) + prefixIds.length + suffixIds.length;
    const inputIds = new BigInt64Array(batch.length * width).fill(BigInt(padId));
    const attentionMask = new BigInt64Array(batch.length * width);
    batch.forEach((ids, row) => {
      const sequence = [...prefixIds, ...ids, ...suffixIds];
      sequence.forEach((id, column) => {
        inputIds[row * width + column] = BigInt(id);
        attentionMask[row * width + column] = 1n;
      });
    });
    const inputs = {
      input_ids: new TensorClass('int64', inputIds, [batch.length, width]),
      attention_mask: new TensorClass('int64', attentionMask, [batch.length, width]),
    };
    let outputs: Record<string, Tensor>;
    try {
      outputs = await loaded.model(inputs);
    } catch (error) {
      throw kbError(
        'EMBEDDING_FAILED',
        `${this.id} failed on a batch of ${batch.length}: ${(error as Error).message}`,
        {
          input: this.id,
          cause: error,
        },
      );
    }
    const hidden = outputs.last_hidden_state ?? outputs.token_embeddings;
    if (hidden?.dims.length !== 3 || hidden.dims[2] !== dimensions) {
      throw kbError(
        'EMBEDDING_FAILED',
        `${this.id} returned no [batch, tokens, ${dimensions}] last_hidden_state (outputs: ${Object.keys(outputs).join(', ')}).`,
        { input: this.id },
      );
    }
    const data = hidden.data as Float32Array;
    const vectors = batch.map((ids, row) => {
      // Mean over the real tokens (special tokens included, padding excluded), as sentence-transformers pools.
      const length = ids.length + prefixIds.length + suffixIds.length;
      const vector = new Float32Array(dimensions);
      for (let t = 0; t < length; t++) {
        const offset = (row * width + t) * dimensions;
        for (let d = 0; d < dimensions; d++) vector[d]! += data[offset + d]!;
      }
      for (let d = 0; d < dimensions; d++) vector[d] = vector[d]! / length;
      if (!vector.every(Number.isFinite)) {
        throw kbError('EMBEDDING_FAILED', `${this.id} produced a non-finite vector.`, { input: this.id });
      }
      return normalize(vector);
    });
    for (const tensor of Object.values(outputs)) tensor.dispose();
    return vectors;
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw kbError('ABORTED', 'Embedding was aborted by the caller.', { cause: signal.reason });
}

/** The ids the tokenizer adds around one sequence, found by encoding a probe with and without special tokens. */
function specialTokenFrame(tokenizer: PreTrainedTokenizer): { prefixIds: number[]; suffixIds: number[] } {
  const probe = 'hello';
  const bare = tokenizer.encode(probe, { add_special_tokens: false });
  const framed = tokenizer.encode(probe, { add_special_tokens: true });
  for (let start = 0; start + bare.length <= framed.length; start++) {
    if (bare.every((id, i) => framed[start + i] === id)) {
      return { prefixIds: framed.slice(0, start), suffixIds: framed.slice(start + bare.length) };
    }
  }
  throw kbError(
    'MODEL_LOAD_FAILED',
    'The tokenizer changes a text when adding special tokens; it is not supported.',
  );
}

/**
 * Longest input in tokens including special tokens: sentence_bert_config.json's max_seq_length when the folder has
 * one (or the model is known), else the tokenizer's model_max_length, never above max_position_embeddings.
 */
function modelTokenLimit(
  config: Record<string, unknown>,
  tokenizer: PreTrainedTokenizer,
  folder: string | undefined,
  model: string,
): number {
  const positions = Number(config.max_position_embeddings ?? Number.POSITIVE_INFINITY);
  let limit = Number.POSITIVE_INFINITY;
  const sentenceConfig = folder ? path.join(folder, 'sentence_bert_config.json') : undefined;
  if (sentenceConfig && existsSync(sentenceConfig)) {
    try {
      limit = Number(JSON.parse(readFileSync(sentenceConfig, 'utf8')).max_seq_length) || limit;
    } catch (error) {
      throw kbError('MODEL_LOAD_FAILED', `${sentenceConfig} is not valid JSON.`, {
        input: sentenceConfig,
        cause: error,
      });
    }
  } else {
    limit = KNOWN_MAX_SEQ_LENGTH[model.split('/').pop()!] ?? tokenizer.model_max_length;
  }
  const result = Math.min(limit, positions);
  if (!Number.isFinite(result)) {
    throw kbError(
      'MODEL_LOAD_FAILED',
      `Cannot tell the input limit of ${model}: neither model_max_length nor max_position_embeddings is set.`,
      { input: model },
    );
  }
  return result;
}
