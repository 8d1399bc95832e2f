/**
 * A local cross-encoder reranker run by transformers.js (default: Xenova/ms-marco-MiniLM-L-6-v2, the ONNX port of
 * cross-encoder/ms-marco-MiniLM-L-6-v2). Each (query, passage) pair is encoded as `[CLS] query [SEP] passage [SEP]`
 * and the classification head's logit is the relevance.
 *
 * Scores: with `activation: 'sigmoid'` (default) the logit goes through a sigmoid, as sentence-transformers'
 * CrossEncoder does for one-label models, giving (0, 1) scores that read like probabilities; `'none'` returns the
 * raw logit. The order is the same either way. A two-label head scores logit[1] − logit[0] (sigmoid of it is the
 * softmax probability of the "relevant" label).
 *
 * The model is found like the embedder's: `modelPath` / LOCALKB_RERANK_MODEL_PATH, else the cache directories,
 * else a download when the network is allowed.
 */

import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import {
  type LocalModelKind,
  type ModelDtype,
  type ModelLocation,
  resolveModelLocation,
  validateLocalModelOptions,
} from '../embed/model-files.js';
import { loadPretrained } from '../embed/pretrained-model.js';
import { kbError } from '../errors.js';
import { declareOptions } from '../options.js';
import {
  orderRerankResults,
  type RerankDocument,
  type Reranker,
  type RerankOptions,
  type RerankResult,
  throwIfRerankAborted,
  validateRerankInput,
} from './rerank.js';

export const DEFAULT_CROSS_ENCODER_MODEL = 'Xenova/ms-marco-MiniLM-L-6-v2';

export type CrossEncoderDtype = ModelDtype;

export interface CrossEncoderRerankerOptions {
  /** Hugging Face model id; also names the reranker when `modelPath` is given. Default ms-marco-MiniLM-L-6-v2. */
  model?: string;
  /** A model folder laid out like the Hugging Face repo. Default: LOCALKB_RERANK_MODEL_PATH. */
  modelPath?: string;
  /** Where to look for (and download) models. Default: LOCALKB_CACHE_DIR, else the standard cache directories. */
  cacheDir?: string;
  /** Never touch the network. Default: LOCALKB_OFFLINE=1 or HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** `q8` loads onnx/model_quantized.onnx (default), `fp32` loads onnx/model.onnx. */
  dtype?: CrossEncoderDtype;
  /** Pairs per model call. Default 16. */
  batchSize?: number;
  /** Longest pair in tokens, special tokens included; longer pairs are cut longest-first. Default: the model's. */
  maxLength?: number;
  /** 'sigmoid' (default) maps logits to (0, 1); 'none' returns raw logits. */
  activation?: 'sigmoid' | 'none';
}

export const CROSS_ENCODER_RERANKER_OPTIONS = declareOptions<CrossEncoderRerankerOptions>(
  'CrossEncoderReranker',
  {
    model: 'string',
    modelPath: 'string',
    cacheDir: 'string',
    offline: 'boolean',
    dtype: 'string',
    batchSize: 'integer',
    maxLength: 'integer',
    activation: 'string',
  },
);

const KIND: LocalModelKind = {
  className: 'CrossEncoderReranker',
  options: CROSS_ENCODER_RERANKER_OPTIONS,
  positiveIntegerOptions: ['batchSize', 'maxLength'],
  noun: 'reranker model',
  defaultModel: DEFAULT_CROSS_ENCODER_MODEL,
  modelPathEnv: 'LOCALKB_RERANK_MODEL_PATH',
  modelPathOption: 'modelPath (CLI --rerank-model-path)',
  cacheDirOption: 'cacheDir (CLI --cache-dir)',
};
const DEFAULT_BATCH_SIZE = 16;

/** The special tokens and segment ids a tokenizer puts around a pair: prefix A middle B suffix. */
interface PairFrame {
  prefix: number[];
  middle: number[];
  suffix: number[];
  prefixTypes: number[];
  middleTypes: number[];
  suffixTypes: number[];
  typeA: number;
  typeB: number;
}

interface LoadedCrossEncoder {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  TensorClass: typeof Tensor;
  frame: PairFrame;
  padId: number;
  maxLength: number;
}

/** Reranks locally with a cross-encoder run by transformers.js (an optional peer dependency). */
export class CrossEncoderReranker implements Reranker {
  readonly id: string;
  readonly model: string;
  readonly dtype: CrossEncoderDtype;
  readonly batchSize: number;
  readonly offline: boolean;
  readonly activation: 'sigmoid' | 'none';
  private readonly location: ModelLocation;
  private readonly requestedMaxLength: number | undefined;
  private loading: Promise<LoadedCrossEncoder> | undefined;

  constructor(options: CrossEncoderRerankerOptions = {}) {
    validateOptions(options);
    this.location = resolveModelLocation(options, KIND);
    this.model = this.location.model;
    this.dtype = this.location.dtype;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.offline = this.location.offline;
    this.activation = options.activation ?? 'sigmoid';
    this.requestedMaxLength = options.maxLength;
    this.id = `cross-encoder:${this.model}:${this.dtype}`;
  }

  /** Loads the model. Idempotent; rerank() calls it when needed. */
  async init(): Promise<void> {
    await this.load();
  }

  async rerank(
    query: string,
    documents: readonly RerankDocument[],
    options: RerankOptions = {},
  ): Promise<RerankResult[]> {
    validateRerankInput(this.id, query, documents, options);
    throwIfRerankAborted(this.id, options.signal);
    if (documents.length === 0) return [];
    const loaded = await this.load();
    const encode = (text: string) => loaded.tokenizer.encode(text, { add_special_tokens: false });
    const queryIds = encode(query);
    const pairs = documents.map((document) => truncatePair(queryIds, encode(document.text), loaded));
    // Longest first, so each batch holds pairs of similar length and little padding is computed.
    const order = pairs.map((_, i) => i).sort((a, b) => pairLength(pairs[b]!) - pairLength(pairs[a]!));
    const results: RerankResult[] = [];
    for (let start = 0; start < order.length; start += this.batchSize) {
      throwIfRerankAborted(this.id, options.signal);
      const batch = order.slice(start, start + this.batchSize);
      const scores = await this.scoreBatch(
        loaded,
        batch.map((i) => pairs[i]!),
      );
      batch.forEach((index, row) => {
        results.push({ id: documents[index]!.id, score: scores[row]!, index });
      });
    }
    return orderRerankResults(results, options.topN);
  }

  /** Releases the onnxruntime session. A later call loads the model again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    const loaded = await loading.catch(() => undefined);
    await loaded?.model.dispose();
  }

  private load(): Promise<LoadedCrossEncoder> {
    if (!this.loading) {
      this.loading = this.loadModel().catch((error: unknown) => {
        this.loading = undefined;
        throw error;
      });
    }
    return this.loading;
  }

  private async loadModel(): Promise<LoadedCrossEncoder> {
    const { transformers, tokenizer, model } = await loadPretrained(this.location, {
      architecture: 'AutoModelForSequenceClassification',
      what: 'the cross-encoder',
      exportKind: 'ONNX sequence-classification export',
    });
    const frame = pairFrame(tokenizer);
    const specials = frame.prefix.length + frame.middle.length + frame.suffix.length;
    const config = model.config as unknown as Record<string, unknown>;
    const positions = Number(config.max_position_embeddings ?? Number.POSITIVE_INFINITY);
    const modelLimit = Math.min(positions, tokenizer.model_max_length ?? Number.POSITIVE_INFINITY);
    let maxLength = Number.isFinite(modelLimit) ? modelLimit : 512;
    if (this.requestedMaxLength !== undefined) {
      if (this.requestedMaxLength > positions || this.requestedMaxLength <= specials) {
        await model.dispose();
        throw kbError(
          'INVALID_OPTION',
          `maxLength ${this.requestedMaxLength} does not fit ${this.model}: use more than ${specials} ` +
            `(its special tokens) and at most ${positions} (its position embeddings).`,
          { input: 'maxLength' },
        );
      }
      maxLength = this.requestedMaxLength;
    }
    return {
      tokenizer,
      model,
      TensorClass: transformers.Tensor,
      frame,
      padId: tokenizer.pad_token_id ?? 0,
      maxLength,
    };
  }

  private async scoreBatch(loaded: LoadedCrossEncoder, batch: EncodedPair[]): Promise<number[]> {
    const { frame, padId, TensorClass } = loaded;
    const width = Math.max(...batch.map(pairLength));
    const size = batch.length * width;
    const inputIds = new BigInt64Array(size).fill(BigInt(padId));
    const attentionMask = new BigInt64Array(size);
    const tokenTypeIds = new BigInt64Array(size);
    batch.forEach((pair, row) => {
      const ids = [...frame.prefix, ...pair.query, ...frame.middle, ...pair.document, ...frame.suffix];
      const types = [
        ...frame.prefixTypes,
        ...pair.query.map(() => frame.typeA),
        ...frame.middleTypes,
        ...pair.document.map(() => frame.typeB),
        ...frame.suffixTypes,
      ];
      ids.forEach((id, column) => {
        inputIds[row * width + column] = BigInt(id);
        attentionMask[row * width + column] = 1n;
        tokenTypeIds[row * width + column] = BigInt(types[column]!);
      });
    });
    const dims = [batch.length, width];
    let outputs: Record<string, Tensor>;
    try {
      outputs = await loaded.model({
        input_ids: new TensorClass('int64', inputIds, dims),
        attention_mask: new TensorClass('int64', attentionMask, dims),
        token_type_ids: new TensorClass('int64', tokenTypeIds, dims),
      });
    } catch (error) {
      throw kbError(
        'RERANK_FAILED',
        `${this.id} failed on a batch of ${batch.length}: ${(error as Error).message}`,
        {
          input: this.id,
          cause: error,
        },
      );
    }
    const logits = outputs.logits;
    const [rows, labels] = logits?.dims ?? [];
    if (logits?.dims.length !== 2 || rows !== batch.length || (labels !== 1 && labels !== 2)) {
      throw kbError(
        'RERANK_FAILED',
        `${this.id} returned no [batch, 1] or [batch, 2] logits (outputs: ${Object.keys(outputs).join(', ')}); ` +
          'use a sequence-classification cross-encoder such as Xenova/ms-marco-MiniLM-L-6-v2.',
        { input: this.id },
      );
    }
    const data = logits.data as Float32Array;
    const scores = batch.map((_, row) => {
      const raw = labels === 1 ? data[row]! : data[row * 2 + 1]! - data[row * 2]!;
      return this.activation === 'sigmoid' ? 1 / (1 + Math.exp(-raw)) : raw;
    });
    for (const tensor of Object.values(outputs)) tensor.dispose();
    if (!scores.every(Number.isFinite)) {
      throw kbError('RERANK_FAILED', `${this.id} produced a non-finite score.`, { input: this.id });
    }
    return scores;
  }
}

interface EncodedPair {
  query: number[];
  document: number[];
  specials: number;
}

function pairLength(pair: EncodedPair): number {
  return pair.query.length + pair.document.length + pair.specials;
}

/**
 * Cuts a pair to the model's length the way Hugging Face's 'longest_first' does: one token at a time from the
 * longer side (the passage on ties), so a short query is never cut and the closing [SEP] always stays.
 */
function truncatePair(query: number[], document: number[], loaded: LoadedCrossEncoder): EncodedPair {
  const { frame, maxLength } = loaded;
  const specials = frame.prefix.length + frame.middle.length + frame.suffix.length;
  const budget = maxLength - specials;
  let queryLength = Math.min(query.length, budget);
  let documentLength = Math.min(document.length, budget);
  while (queryLength + documentLength > budget) {
    if (queryLength > documentLength) queryLength -= 1;
    else documentLength -= 1;
  }
  return { query: query.slice(0, queryLength), document: document.slice(0, documentLength), specials };
}

/** Finds the special tokens and segment ids around a pair by encoding a probe pair with and without them. */
function pairFrame(tokenizer: PreTrainedTokenizer): PairFrame {
  const a = tokenizer.encode('hello', { add_special_tokens: false });
  const b = tokenizer.encode('world', { add_special_tokens: false });
  const framed = tokenizer('hello', { text_pair: 'world', return_tensor: false }) as unknown as {
    input_ids: number[];
    token_type_ids?: number[];
  };
  const ids = framed.input_ids;
  const types = framed.token_type_ids ?? ids.map(() => 0);
  const find = (needle: number[], from: number) => {
    for (let start = from; start + needle.length <= ids.length; start++) {
      if (needle.every((id, i) => ids[start + i] === id)) return start;
    }
    return -1;
  };
  const startA = find(a, 0);
  const startB = startA < 0 ? -1 : find(b, startA + a.length);
  if (a.length === 0 || b.length === 0 || startA < 0 || startB < 0) {
    throw kbError(
      'MODEL_LOAD_FAILED',
      'The cross-encoder tokenizer does not encode text pairs as prefix A sep B suffix.',
    );
  }
  const endA = startA + a.length;
  const endB = startB + b.length;
  return {
    prefix: ids.slice(0, startA),
    middle: ids.slice(endA, startB),
    suffix: ids.slice(endB),
    prefixTypes: types.slice(0, startA),
    middleTypes: types.slice(endA, startB),
    suffixTypes: types.slice(endB),
    typeA: types[startA]!,
    typeB: types[startB]!,
  };
}

function validateOptions(options: CrossEncoderRerankerOptions): void {
  validateLocalModelOptions(options, KIND);
  if (options.activation !== undefined && options.activation !== 'sigmoid' && options.activation !== 'none') {
    throw kbError(
      'INVALID_OPTION',
      `activation must be "sigmoid" or "none", got ${JSON.stringify(options.activation)}.`,
      { input: 'activation' },
    );
  }
}
