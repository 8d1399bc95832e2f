/**
 * An embedder wrapper for benchmarks that keeps every vector it computes in .cache/embeddings/ (gitignored), or in
 * the folder LOCALKB_EMBEDDING_CACHE names (so it can outlive the checkout), keyed by the sha256 of the exact text, so repeated bench runs embed nothing twice. It has the wrapped embedder's id, so
 * stores built through it are the stores users get; only the wall time differs.
 *
 * The file is append-only: 32 bytes of hash, then the vector as float32. A killed run keeps what it wrote.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Embedder, EmbedOptions, TokenCounter } from '../src/types.js';
import { repoRoot } from './shared-data.js';

/** Where bench vectors are kept: LOCALKB_EMBEDDING_CACHE, else .cache/embeddings/ in the repo. */
export function embeddingCacheDir(): string {
  return process.env.LOCALKB_EMBEDDING_CACHE || path.join(repoRoot, '.cache/embeddings');
}

export class CachedEmbedder implements Embedder {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly file: string;
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: Embedder,
    folder = embeddingCacheDir(),
  ) {
    mkdirSync(folder, { recursive: true });
    const name = createHash('sha256').update(inner.id).digest('hex').slice(0, 16);
    this.file = path.join(folder, `${name}.bin`);
  }

  get id() {
    return this.inner.id;
  }
  get dimensions() {
    return this.inner.dimensions;
  }
  get maxInputTokens() {
    return this.inner.maxInputTokens;
  }

  async init(): Promise<void> {
    await this.inner.init();
    if (this.vectors.size > 0 || !existsSync(this.file)) return;
    const bytes = readFileSync(this.file);
    const record = 32 + this.dimensions * 4;
    for (let offset = 0; offset + record <= bytes.length; offset += record) {
      const key = bytes.subarray(offset, offset + 32).toString('hex');
      const vector = new Float32Array(this.dimensions);
      Buffer.from(vector.buffer).set(bytes.subarray(offset + 32, offset + record));
      this.vectors.set(key, vector);
    }
  }

  tokenCounter(): Promise<TokenCounter> {
    return this.inner.tokenCounter();
  }

  embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    return this.cached(texts, 'd:', (batch) => this.inner.embedDocuments(batch, signalOf(options)));
  }

  async embedQuery(text: string, options: EmbedOptions = {}): Promise<Float32Array> {
    const [vector] = await this.cached([text], 'q:', async ([query]) => [
      await this.inner.embedQuery(query!, signalOf(options)),
    ]);
    return vector!;
  }

  private async cached(
    texts: readonly string[],
    kind: string,
    embed: (batch: string[]) => Promise<Float32Array[]>,
  ): Promise<Float32Array[]> {
    await this.init();
    const keys = texts.map((text) => createHash('sha256').update(kind).update(text).digest('hex'));
    const missing = [...new Set(keys.filter((key) => !this.vectors.has(key)))];
    this.hits += keys.length - missing.length;
    this.misses += missing.length;
    const textOf = new Map(keys.map((key, i) => [key, texts[i]!]));
    // Small batches so a long run writes its progress as it goes.
    for (let start = 0; start < missing.length; start += 64) {
      const batch = missing.slice(start, start + 64);
      const vectors = await embed(batch.map((key) => textOf.get(key)!));
      const chunks: Buffer[] = [];
      batch.forEach((key, i) => {
        const vector = vectors[i]!;
        this.vectors.set(key, vector);
        chunks.push(
          Buffer.from(key, 'hex'),
          Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength),
        );
      });
      appendFileSync(this.file, Buffer.concat(chunks));
    }
    return keys.map((key) => this.vectors.get(key)!);
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

function signalOf(options: EmbedOptions): EmbedOptions {
  return options.signal ? { signal: options.signal } : {};
}
