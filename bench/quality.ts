/**
 * npm run bench:quality — retrieval quality on BEIR SciFact (../shared/data/scifact), each row beside the published
 * numbers: BM25, dense, hybrid (default RRF), hybrid with fusion weights tuned on the TRAIN split, and hybrid with a
 * cross-encoder reranker. Dense rows use the offline Universal Sentence Encoder (the only real semantic model that
 * ships offline), and MiniLM too when its weights are on this machine; reranking runs only with real cross-encoder
 * weights (LOCALKB_RERANK_MODEL_PATH or the Hugging Face cache) — random weights would measure nothing.
 *
 *   npx tsx bench/quality.ts [--only bm25,use,minilm] [--keep <dir>]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_TRANSFORMERS_MODEL,
  defaultModelCacheDirs,
  findCachedModelFolder,
} from '../src/embed/index.js';
import { runRetrieval, tuneHybridWeights } from '../src/eval/evaluate-knowledge-base.js';
import { beirDocumentToInput, loadBeirDataset, loadReferenceScores } from '../src/eval/index.js';
import { evaluateRun } from '../src/eval/metrics.js';
import { formatMetricsTable, type MetricsRow } from '../src/eval/report.js';
import type { EmbedderChoice } from '../src/kb/embedder-choice.js';
import { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from '../src/kb/local-knowledge-base.js';
import type { RetrieveOverrides } from '../src/kb/local-retriever.js';
import type { RetrieveOptions } from '../src/kb/types.js';
import { CrossEncoderReranker, DEFAULT_CROSS_ENCODER_MODEL } from '../src/retrieve/index.js';
import type { DocumentInput } from '../src/types.js';
import { requireSharedData, sharedData } from './shared-data.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, keep: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string) => only === undefined || only.has(name);

const scifact = requireSharedData('scifact');
const test = await loadBeirDataset(scifact, { split: 'test' });
const train = await loadBeirDataset(scifact, { split: 'train' });
const documents: DocumentInput[] = [];
for await (const document of test.corpus) documents.push(beirDocumentToInput(document));

const workDir = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-quality-'));
mkdirSync(workDir, { recursive: true });
const rows: (MetricsRow & { seconds: Record<string, number>; note?: string })[] = [];
const skipped: string[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

async function buildStore(name: string, embedder: EmbedderChoice, extra: LocalKnowledgeBaseOptions = {}) {
  const kb = await LocalKnowledgeBase.open(path.join(workDir, `${name}.db`), {
    embedder,
    offline: true,
    ...extra,
  });
  const started = performance.now();
  if ((await kb.stats()).documents === 0) {
    log(`[${name}] ingesting ${documents.length} documents with ${kb.embedder?.id ?? 'no embedder'} …`);
    await kb.ingest(documents);
  }
  return { kb, ingestSeconds: (performance.now() - started) / 1000 };
}

async function evaluate(
  name: string,
  kb: LocalKnowledgeBase,
  options: RetrieveOptions & RetrieveOverrides,
  seconds: Record<string, number>,
  note?: string,
) {
  const started = performance.now();
  const run = await runRetrieval(kb, test.queries, options as Parameters<typeof runRetrieval>[2]);
  const evaluation = evaluateRun(run, test.qrels, { k: [10, 100] });
  const querySeconds = (performance.now() - started) / 1000;
  rows.push({
    name,
    metrics: evaluation.mean,
    queries: evaluation.evaluatedQueries,
    seconds: { ...seconds, querySeconds },
    ...(note ? { note } : {}),
  });
  log(
    `[${name}] ndcg@10 ${evaluation.mean['ndcg@10']?.toFixed(4)} (${querySeconds.toFixed(1)} s for ${test.queries.size} queries)`,
  );
}

async function denseRows(
  label: string,
  embedder: EmbedderChoice,
  chunking: LocalKnowledgeBaseOptions['chunking'],
) {
  const { kb, ingestSeconds } = await buildStore(label, embedder, chunking ? { chunking } : {});
  try {
    await evaluate(`${label} dense`, kb, { searchType: 'semantic' }, { ingestSeconds });
    await evaluate(
      `${label} hybrid (RRF k=60, equal weights)`,
      kb,
      { searchType: 'hybrid', hybrid: { method: 'rrf' } },
      {},
    );
    const started = performance.now();
    const tuning = await tuneHybridWeights(kb, train.queries, train.qrels);
    const tuneSeconds = (performance.now() - started) / 1000;
    const { method, weights } = tuning.best;
    await evaluate(
      `${label} hybrid tuned on train (${method}, dense ${weights.semantic} / bm25 ${weights.bm25})`,
      kb,
      { searchType: 'hybrid', hybrid: { method, weights } },
      { tuneSeconds },
      `train ndcg@10 ${tuning.best.score.toFixed(4)} over ${tuning.queries} queries`,
    );
    const rerankerFolder =
      process.env.LOCALKB_RERANK_MODEL_PATH ??
      findCachedModelFolder(DEFAULT_CROSS_ENCODER_MODEL, defaultModelCacheDirs(), [
        'config.json',
        'tokenizer.json',
      ]);
    if (rerankerFolder && existsSync(rerankerFolder)) {
      const reranker = new CrossEncoderReranker({ modelPath: rerankerFolder, offline: true });
      await evaluate(
        `${label} hybrid tuned + cross-encoder rerank`,
        kb,
        { searchType: 'hybrid', hybrid: { method, weights }, reranker },
        {},
      );
      await reranker.close();
    } else {
      skipped.push(
        `${label} + cross-encoder rerank: no ${DEFAULT_CROSS_ENCODER_MODEL} weights on this machine (set LOCALKB_RERANK_MODEL_PATH)`,
      );
    }
  } finally {
    await kb.close();
  }
}

if (wanted('bm25')) {
  // BEIR judges whole documents and Anserini indexes them whole: one chunk per document.
  const { kb, ingestSeconds } = await buildStore('bm25', 'none', {
    chunking: { chunkSize: 8192, chunkOverlap: 0 },
  });
  await evaluate('bm25 (SQLite FTS5, porter)', kb, { searchType: 'bm25' }, { ingestSeconds });
  await kb.close();
}
if (wanted('use')) await denseRows('use', 'use', undefined);
if (wanted('minilm')) {
  const folder =
    process.env.LOCALKB_MODEL_PATH ??
    findCachedModelFolder(DEFAULT_TRANSFORMERS_MODEL, defaultModelCacheDirs(), [
      'config.json',
      'tokenizer.json',
    ]);
  if (folder && existsSync(folder)) await denseRows('minilm', 'minilm', undefined);
  else
    skipped.push(
      `minilm rows: no ${DEFAULT_TRANSFORMERS_MODEL} weights on this machine (set LOCALKB_MODEL_PATH)`,
    );
}
if (!values.keep) rmSync(workDir, { recursive: true, force: true });

const references = await loadReferenceScores(path.join(sharedData, 'reference-scores'));
const report = {
  dataset: 'scifact',
  split: 'test',
  queries: test.queries.size,
  rows: rows.map((row) => ({
    name: row.name,
    'ndcg@10': row.metrics['ndcg@10'],
    'recall@10': row.metrics['recall@10'],
    'recall@100': row.metrics['recall@100'],
    'mrr@10': row.metrics['mrr@10'],
    map: row.metrics.map,
    seconds: row.seconds,
    ...(row.note ? { note: row.note } : {}),
  })),
  skipped,
  published: references
    .filter((r) => r.dataset === 'scifact' && r.metric === 'ndcg@10')
    .map((r) => ({ name: r.name, 'ndcg@10': r.value, source: r.source })),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
process.stdout.write(
  `${formatMetricsTable(rows, {
    references,
    dataset: 'scifact',
    title: 'SciFact test (300 queries)',
    metrics: ['ndcg@10', 'recall@10', 'recall@100', 'mrr@10', 'map'],
  })}\n`,
);
for (const row of rows) {
  const timing = Object.entries(row.seconds)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
  process.stdout.write(`time  ${row.name}: ${timing}${row.note ? `  (${row.note})` : ''}\n`);
}
for (const line of skipped) process.stdout.write(`skipped  ${line}\n`);
