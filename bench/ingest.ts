/**
 * npm run bench:ingest — ingest SciFact (5,183 abstracts) into a fresh local KB with a MiniLM-shaped model
 * (exact all-MiniLM-L6-v2 shapes, random weights, written by test/helpers/onnx/bert-model.ts), and beside it
 * the raw transformers.js throughput for the same model on the same texts, so the library's overhead is a ratio.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';
import { TransformersEmbedder } from '../src/embed/transformers-embedder.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import type { DocumentInput, Embedder, EmbedOptions, TokenCounter } from '../src/types.js';
import { ensureGeneratedModel, MINILM_SHAPED_PATH } from '../test/helpers/models.js';
import { printTable, requireSharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    limit: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
    'batch-size': { type: 'string', default: '16' },
  },
});
const limit = values.limit ? Number(values.limit) : Number.POSITIVE_INFINITY;
const dtype = values.dtype === 'q8' ? 'q8' : 'fp32';
const batchSize = Number(values['batch-size']);

const corpusPath = requireSharedData('scifact/corpus.jsonl');
const modelDir = ensureGeneratedModel(MINILM_SHAPED_PATH, 'minilm');

const documents: DocumentInput[] = [];
for await (const line of readline.createInterface({ input: createReadStream(corpusPath) })) {
  if (!line.trim()) continue;
  const row = JSON.parse(line) as { _id: string; title: string; text: string };
  documents.push({
    id: row._id,
    text: row.title ? `${row.title}\n\n${row.text}` : row.text,
    metadata: { title: row.title },
  });
  if (documents.length >= limit) break;
}

/** Times the embedder calls inside the ingest, to report the embedding share of the wall time. */
class TimedEmbedder implements Embedder {
  embedMs = 0;
  readonly texts: string[] = [];
  constructor(private readonly inner: Embedder) {}
  get id() {
    return this.inner.id;
  }
  get dimensions() {
    return this.inner.dimensions;
  }
  get maxInputTokens() {
    return this.inner.maxInputTokens;
  }
  init() {
    return this.inner.init();
  }
  tokenCounter(): Promise<TokenCounter> {
    return this.inner.tokenCounter();
  }
  async embedDocuments(texts: readonly string[], options?: EmbedOptions) {
    const start = performance.now();
    try {
      return await this.inner.embedDocuments(texts, options);
    } finally {
      this.embedMs += performance.now() - start;
      this.texts.push(...texts);
    }
  }
  embedQuery(text: string) {
    return this.inner.embedQuery(text);
  }
  close() {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-ingest-'));
const embedder = new TimedEmbedder(
  new TransformersEmbedder({ modelPath: modelDir, offline: true, dtype, batchSize }),
);
const kb = await LocalKnowledgeBase.open(path.join(dir, 'scifact.db'), { embedder });
const started = performance.now();
const summary = await kb.ingest(documents);
const ingestMs = performance.now() - started;
const stats = await kb.stats();
await kb.close();
const storeBytes = ['scifact.db', 'scifact.db-wal', 'scifact.db.hnsw']
  .map((f) => path.join(dir, f))
  .filter(existsSync)
  .reduce((sum, f) => sum + statSync(f).size, 0);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

// Raw transformers.js pipeline on the very chunks the ingest embedded: same model, dtype and batch size, in input order.
const chunkTexts = embedder.texts;
env.allowRemoteModels = false;
const extractor = await pipeline('feature-extraction', modelDir, { local_files_only: true, dtype });
const rawStart = performance.now();
for (let i = 0; i < chunkTexts.length; i += batchSize) {
  const output = await extractor(chunkTexts.slice(i, i + batchSize), { pooling: 'mean', normalize: true });
  output.tolist();
}
const rawMs = performance.now() - rawStart;
clearInterval(sampler);
rmSync(dir, { recursive: true, force: true });

const result = {
  corpus: 'scifact',
  documents: documents.length,
  chunks: summary.chunksEmbedded,
  model: `MiniLM-L6 shapes (random weights), ${dtype}`,
  batchSize,
  ingestSeconds: ingestMs / 1000,
  docsPerSecond: documents.length / (ingestMs / 1000),
  chunksPerSecond: summary.chunksEmbedded / (ingestMs / 1000),
  embeddingShare: embedder.embedMs / ingestMs,
  peakRssMiB: peakRss / 2 ** 20,
  storeMiB: storeBytes / 2 ** 20,
  rawTransformersSeconds: rawMs / 1000,
  rawTransformersChunksPerSecond: chunkTexts.length / (rawMs / 1000),
  libraryOverheadRatio: ingestMs / rawMs,
  stats,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n`);
process.stdout.write(
  `${printTable([
    { measure: 'documents', value: result.documents },
    { measure: 'chunks', value: result.chunks },
    { measure: 'ingest seconds', value: result.ingestSeconds },
    { measure: 'docs/s', value: result.docsPerSecond },
    { measure: 'chunks/s (localkb ingest)', value: result.chunksPerSecond },
    { measure: 'chunks/s (raw transformers.js)', value: result.rawTransformersChunksPerSecond },
    { measure: 'ingest time / raw embedding time', value: result.libraryOverheadRatio },
    { measure: 'embedding share of ingest time', value: result.embeddingShare },
    { measure: 'peak RSS MiB', value: result.peakRssMiB },
    { measure: 'store MiB (db + wal + hnsw)', value: result.storeMiB },
  ])}\n`,
);
