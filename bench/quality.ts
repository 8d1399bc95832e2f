/**
 * npm run bench:quality — retrieval quality on BEIR SciFact TEST (../shared/data/scifact), each row with nDCG@10,
 * recall@100 and a paired randomization test (10,000 sign flips, seeded) plus a bootstrap 95% interval of its
 * nDCG@10 difference against BM25 alone:
 *   - BM25 alone: a store with `embedder none`, as users get it;
 *   - in a `use` store (sections for BM25, titled passages for the embedder): dense alone, BM25 alone, the default
 *     search (hybrid-defaults.ts), the old default (RRF 1:1), and hybrid tuned on the TRAIN split (eval --tune);
 *   - MiniLM rows too when its weights are on this machine (they are not shipped: no download here).
 * The TRAIN section of the report is what hybrid-defaults.ts was chosen from: every fusion setting tried on train,
 * with its train nDCG@10 and p-value against BM25 alone on train. Test never chooses anything.
 *
 * Vectors come from the bench's embedding cache (embedding-cache.ts; LOCALKB_EMBEDDING_CACHE moves it), warmed by
 * bench/warm-embedding-cache.ts. `--docs N` runs on the first N documents of the warm order (all judged documents
 * first, then a seeded shuffle of the rest), for when the cache holds only part of the corpus; the report says so.
 *
 * `--use-store <db>` evaluates a USE store ingested beforehand (warm-embedding-cache.ts --db) on the documents it
 * holds, instead of ingesting again (ingest re-chunks and re-indexes even when every vector is cached).
 *
 * `--skip-train` leaves out the train grid and the tuned row (the slow part: every train query scored both ways).
 *
 *   npx tsx bench/quality.ts [--only bm25,use,minilm] [--docs N | --use-store <db>] [--keep <dir>] [--skip-train]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  createEmbedder,
  DEFAULT_TRANSFORMERS_MODEL,
  defaultModelCacheDirs,
  findCachedModelFolder,
} from '../src/embed/index.js';
import { fuseRun, runRetrieval, tuneHybridWeights } from '../src/eval/evaluate-knowledge-base.js';
import { loadReferenceScores, pairedRandomizationTest, perQueryMetric } from '../src/eval/index.js';
import { evaluateRun, type Qrels, type Run, type RunEvaluation } from '../src/eval/metrics.js';
import { formatMetricsTable } from '../src/eval/report.js';
import { defaultHybridFor } from '../src/kb/hybrid-defaults.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import type { RetrieveOverrides } from '../src/kb/local-retriever.js';
import type { RetrieveOptions } from '../src/kb/types.js';
import {
  CrossEncoderReranker,
  DEFAULT_CROSS_ENCODER_MODEL,
  type HybridCandidate,
  type HybridOptions,
} from '../src/retrieve/index.js';
import type { Embedder } from '../src/types.js';
import { CachedEmbedder, embeddingCacheDir } from './embedding-cache.js';
import { loadScifact } from './scifact-corpus.js';
import { requireSharedData, sharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    keep: { type: 'string' },
    docs: { type: 'string' },
    'use-store': { type: 'string' },
    'skip-train': { type: 'boolean' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (name: string) => only === undefined || only.has(name);
const limit = values.docs === undefined ? undefined : Number(values.docs);
if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
  throw new Error(`--docs must be a whole number of documents, got ${values.docs}`);
}

const scifact = requireSharedData('scifact');
// --use-store: a USE store already ingested (e.g. the warm run's); the corpus is then the documents it holds.
const useStore = values['use-store'];
let storedIds: Set<string> | undefined;
if (useStore) {
  const kb = await LocalKnowledgeBase.open(useStore, { mustExist: true, offline: true });
  storedIds = new Set((await kb.listDocuments()).map((d) => d.id));
  await kb.close();
}
const { test, train, documents, corpusSize, judged } = await loadScifact(scifact, {
  ...(limit === undefined ? {} : { limit }),
  ...(storedIds ? { ids: storedIds } : {}),
});
const workDir = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-quality-'));
mkdirSync(workDir, { recursive: true });
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const PERMUTATIONS = 10_000;

interface Row {
  name: string;
  store: string;
  metrics: Record<string, number>;
  perQuery: Map<string, number>;
  seconds: number;
  note?: string;
}
const rows: Row[] = [];
const trainSettings: { setting: string; 'ndcg@10': number; 'recall@100': number; p: number }[] = [];
const skipped: string[] = [];

const evaluate = (run: Run, qrels: Qrels): RunEvaluation => evaluateRun(run, qrels, { k: [10, 100] });

async function openStore(name: string, embedder: Embedder | 'none') {
  const file = name === 'use' && useStore ? useStore : path.join(workDir, `${name}.db`);
  const kb = await LocalKnowledgeBase.open(file, { embedder, offline: true });
  if ((await kb.stats()).documents !== documents.length) {
    log(`[${name}] ingesting ${documents.length} documents …`);
    await kb.ingest(documents);
  }
  return kb;
}

async function testRow(
  name: string,
  store: string,
  kb: LocalKnowledgeBase,
  options: RetrieveOptions & RetrieveOverrides,
  note?: string,
) {
  const started = performance.now();
  const run = await runRetrieval(kb, test.queries, { ...options, level: 'document' } as Parameters<
    typeof runRetrieval
  >[2]);
  const evaluation = evaluate(run, test.qrels);
  const seconds = (performance.now() - started) / 1000;
  rows.push({
    name,
    store,
    metrics: evaluation.mean,
    perQuery: perQueryMetric(evaluation, 'ndcg@10'),
    seconds,
    ...(note ? { note } : {}),
  });
  log(`[${name}] test ndcg@10 ${evaluation.mean['ndcg@10']?.toFixed(4)} (${seconds.toFixed(1)} s)`);
}

/**
 * Every candidate list of a split fetched once, so that each fusion setting costs only an in-memory fuse. With
 * --keep they are kept beside the store (they take minutes) and read back while the store is unchanged.
 */
async function candidatesOf(kb: LocalKnowledgeBase, queries: ReadonlyMap<string, string>, name: string) {
  const file = path.join(workDir, `${name}-train-candidates.json`);
  const stats = await kb.stats();
  const stamp = `${stats.documents}/${stats.chunks}`;
  if (values.keep && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {
      stamp: string;
      lists: [string, HybridCandidate[]][];
    };
    if (saved.stamp === stamp) return new Map(saved.lists);
  }
  const lists = new Map<string, HybridCandidate[]>();
  for (const [id, text] of queries)
    lists.set(id, await kb.hybridCandidates(text, { k: 100, level: 'document' }));
  if (values.keep) writeFileSync(file, JSON.stringify({ stamp, lists: [...lists] }));
  return lists;
}

const describeSetting = (h: HybridOptions) =>
  `${h.method ?? 'rrf'} dense ${h.weights?.semantic ?? 1} / bm25 ${h.weights?.bm25 ?? 1}` +
  (h.agreement ? `, BM25 alone unless ${h.agreement.minShared} of top ${h.agreement.depth} shared` : '');

let bm25Train: Map<string, number> | undefined;

if (wanted('bm25')) {
  const kb = await openStore('bm25', 'none');
  await testRow('BM25 alone (embedder none)', 'bm25', kb, { searchType: 'bm25' });
  const trainRun = await runRetrieval(kb, train.queries, { searchType: 'bm25', level: 'document' });
  bm25Train = perQueryMetric(evaluate(trainRun, train.qrels), 'ndcg@10');
  await kb.close();
}

async function denseRows(label: string, embedder: Embedder) {
  const cached = new CachedEmbedder(embedder);
  await cached.init();
  const kb = await openStore(label, cached);
  log(`[${label}] cache ${cached.hits} hits, ${cached.misses} embedded`);
  const store = `${label} store`;
  try {
    await testRow(`${label} dense alone`, store, kb, { searchType: 'semantic' });
    await testRow(`BM25 in the ${label} store (sections)`, store, kb, { searchType: 'bm25' });
    const chosen = defaultHybridFor(kb.embedder?.id);
    await testRow(`${label} default search`, store, kb, {}, describeSetting(chosen));
    await testRow(`${label} hybrid RRF 1:1 (old default)`, store, kb, {
      searchType: 'hybrid',
      hybrid: { method: 'rrf', weights: { semantic: 1, bm25: 1 } },
    });

    if (!values['skip-train']) await trainRows(label, store, kb);
  } finally {
    await kb.close();
    await cached.close();
  }
}

async function trainRows(label: string, store: string, kb: LocalKnowledgeBase) {
  // TRAIN only from here: eval --tune, and the grid hybrid-defaults.ts was chosen from.
  const started = performance.now();
  const lists = await candidatesOf(kb, train.queries, label);
  log(
    `[${label}] train candidates of ${lists.size} queries (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
  const tuning = await tuneHybridWeights(
    { hybridCandidates: async (text) => lists.get(idOf.get(text)!)! },
    train.queries,
    train.qrels,
  );
  const { method, weights } = tuning.best;
  await testRow(
    `${label} hybrid tuned on train (eval --tune)`,
    store,
    kb,
    { searchType: 'hybrid', hybrid: { method, weights } },
    `${describeSetting({ method, weights })}; train ndcg@10 ${tuning.best.score.toFixed(4)}`,
  );
  const rerankerFolder =
    process.env.LOCALKB_RERANK_MODEL_PATH ??
    findCachedModelFolder(DEFAULT_CROSS_ENCODER_MODEL, defaultModelCacheDirs(), [
      'config.json',
      'tokenizer.json',
    ]);
  if (rerankerFolder && existsSync(rerankerFolder)) {
    const reranker = new CrossEncoderReranker({ modelPath: rerankerFolder, offline: true });
    await testRow(`${label} tuned + cross-encoder rerank`, store, kb, {
      searchType: 'hybrid',
      hybrid: { method, weights },
      reranker,
    });
    await reranker.close();
  } else {
    skipped.push(
      `${label} + cross-encoder rerank: no ${DEFAULT_CROSS_ENCODER_MODEL} weights on this machine (set LOCALKB_RERANK_MODEL_PATH)`,
    );
  }
  if (bm25Train) {
    for (const method of ['rrf', 'weighted'] as const) {
      for (let step = 0; step <= 20; step++) {
        const semantic = step / 20;
        for (const agreement of [undefined, 1, 2, 3, 4, 5]) {
          const setting: HybridOptions = {
            method,
            weights: { semantic, bm25: Number((1 - semantic).toFixed(6)) },
            ...(agreement === undefined ? {} : { agreement: { depth: 10, minShared: agreement } }),
          };
          if (semantic === 0 && agreement !== undefined) continue;
          const evaluation = evaluate(fuseRun(lists, setting, 100), train.qrels);
          const p = pairedRandomizationTest(bm25Train, perQueryMetric(evaluation, 'ndcg@10'), {
            permutations: PERMUTATIONS,
            bootstrap: 0,
          });
          trainSettings.push({
            setting: `${label}: ${describeSetting(setting)}`,
            'ndcg@10': evaluation.mean['ndcg@10']!,
            'recall@100': evaluation.mean['recall@100']!,
            p: p.pValue,
          });
        }
      }
    }
  }
}
const idOf = new Map([...train.queries].map(([id, text]) => [text, id]));

if (wanted('use')) await denseRows('use', createEmbedder('use'));
if (wanted('minilm')) {
  const folder =
    process.env.LOCALKB_MODEL_PATH ??
    findCachedModelFolder(DEFAULT_TRANSFORMERS_MODEL, defaultModelCacheDirs(), [
      'config.json',
      'tokenizer.json',
    ]);
  if (folder && existsSync(folder))
    await denseRows('minilm', createEmbedder('minilm', { modelPath: folder }));
  else
    skipped.push(
      `minilm rows: no ${DEFAULT_TRANSFORMERS_MODEL} weights on this machine (set LOCALKB_MODEL_PATH)`,
    );
}
if (!values.keep) rmSync(workDir, { recursive: true, force: true });

const baseline = rows.find((row) => row.store === 'bm25');
const tested = rows.map((row) => {
  const test_ =
    baseline && row !== baseline
      ? pairedRandomizationTest(baseline.perQuery, row.perQuery, { permutations: PERMUTATIONS })
      : undefined;
  return {
    name: row.name,
    'ndcg@10': row.metrics['ndcg@10']!,
    'recall@100': row.metrics['recall@100']!,
    'recall@10': row.metrics['recall@10']!,
    'mrr@10': row.metrics['mrr@10']!,
    ...(test_
      ? {
          vsBm25: {
            difference: test_.difference,
            pValue: test_.pValue,
            interval95: [test_.interval!.lower, test_.interval!.upper],
          },
        }
      : {}),
    seconds: row.seconds,
    ...(row.note ? { note: row.note } : {}),
  };
});
trainSettings.sort((a, b) => b['ndcg@10'] - a['ndcg@10']);
const references = await loadReferenceScores(path.join(sharedData, 'reference-scores'));
const report = {
  dataset: 'scifact',
  split: 'test',
  queries: test.queries.size,
  corpus: {
    documents: documents.length,
    of: corpusSize,
    judged,
    ...(documents.length < corpusSize
      ? {
          note: `first ${documents.length} of the warm order: every judged document, then a seeded sample of the rest`,
        }
      : {}),
  },
  significance: `paired randomization test on per-query nDCG@10 against BM25 alone, ${PERMUTATIONS} seeded sign flips; 95% percentile bootstrap interval of the difference`,
  embeddingCache: embeddingCacheDir(),
  rows: tested,
  train: { queries: train.queries.size, baseline: 'BM25 alone (embedder none)', settings: trainSettings },
  skipped,
  published: references
    .filter((r) => r.dataset === 'scifact' && r.metric === 'ndcg@10')
    .map((r) => ({ name: r.name, 'ndcg@10': r.value, source: r.source })),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
const corpusNote = documents.length < corpusSize ? `, ${documents.length} of ${corpusSize} documents` : '';
process.stdout.write(
  `${formatMetricsTable(
    rows.map((row) => ({ name: row.name, metrics: row.metrics, queries: row.perQuery.size })),
    {
      references,
      dataset: 'scifact',
      title: `SciFact test (${test.queries.size} queries${corpusNote})`,
      metrics: ['ndcg@10', 'recall@100', 'recall@10', 'mrr@10'],
    },
  )}\n\n`,
);
for (const row of tested) {
  const vs = 'vsBm25' in row ? row.vsBm25 : undefined;
  const figures = vs
    ? `Δ ndcg@10 ${vs.difference >= 0 ? '+' : ''}${vs.difference.toFixed(4)} [${vs.interval95.map((v) => v.toFixed(4)).join(', ')}], p = ${vs.pValue.toFixed(4)}`
    : 'baseline';
  process.stdout.write(`vs BM25  ${row.name}: ${figures}${row.note ? `  (${row.note})` : ''}\n`);
}
process.stdout.write(
  `\ntrain (${train.queries.size} queries), best 12 settings of ${trainSettings.length}:\n`,
);
for (const s of trainSettings.slice(0, 12)) {
  process.stdout.write(`  ${s['ndcg@10'].toFixed(4)}  p ${s.p.toFixed(4)}  ${s.setting}\n`);
}
for (const line of skipped) process.stdout.write(`skipped  ${line}\n`);
