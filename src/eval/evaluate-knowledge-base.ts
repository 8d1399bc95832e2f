import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { reciprocalRankFusion, weightedFusion } from '../retrieve/index.js';
import type { RetrievalResult } from '../types.js';
import { evaluateRun, type Qrels, type Run, type ScoredDocument } from './metrics.js';

export interface RetrievalRunOptions extends Omit<RetrieveOptions, 'k'> {
  /** Documents kept per query (BEIR evaluates the top 100 or 1000). Default 100. */
  depth?: number;
  /** Queries in flight at once. Default 1 (local retrieval is CPU-bound; raise it for a remote KB). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs every query against a knowledge base and keeps each document once, at its best chunk's score: BEIR judges
 * documents, while a knowledge base returns chunks.
 */
export async function runRetrieval(
  kb: Pick<KnowledgeBase, 'retrieve'>,
  queries: ReadonlyMap<string, string>,
  options: RetrievalRunOptions = {},
): Promise<Run> {
  const { depth = 100, concurrency = 1, onProgress, ...retrieveOptions } = options;
  const run = new Map<string, ScoredDocument[]>();
  const entries = [...queries.entries()];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [queryId, text] = entries[next++] as [string, string];
      // Chunked documents take several of the top chunks, so ask for more chunks than documents.
      const results = await kb.retrieve(text, { ...retrieveOptions, k: Math.min(depth * 2, 1000) });
      run.set(queryId, documentsOf(results, depth));
      onProgress?.(++done, entries.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return run;
}

/** Best score per document, in rank order, cut at `depth`. */
export function documentsOf(
  results: readonly { documentId: string; score: number }[],
  depth: number,
): ScoredDocument[] {
  const seen = new Set<string>();
  const documents: ScoredDocument[] = [];
  for (const result of results) {
    if (seen.has(result.documentId)) continue;
    seen.add(result.documentId);
    documents.push({ docId: result.documentId, score: result.score });
    if (documents.length >= depth) break;
  }
  return documents;
}

export interface HybridSetting {
  method: 'rrf' | 'weighted';
  weights: { semantic: number; bm25: number };
}

export interface TuningResult {
  best: HybridSetting & { score: number };
  /** Every setting tried with its score on the tuning split, best first. */
  tried: (HybridSetting & { score: number })[];
  metric: string;
  queries: number;
}

export interface TuneOptions {
  /** Chunks fetched per side per query: as the local retriever fuses for runRetrieval (4 × 2 × depth). */
  pool?: number;
  depth?: number;
  metric?: string;
  /** Semantic weights tried; the BM25 weight is 1 − w. Default 0, 0.05, …, 1. */
  grid?: number[];
  onProgress?: (done: number, total: number) => void;
}

/**
 * Picks hybrid fusion weights on a training split: each query's dense and BM25 lists are retrieved once, then
 * fused in memory for every candidate setting, exactly as the local retriever fuses them, and scored against the
 * split's qrels. Never run this on the test split: the point is an honest default.
 */
export async function tuneHybridWeights(
  kb: Pick<KnowledgeBase, 'retrieve'>,
  queries: ReadonlyMap<string, string>,
  qrels: Qrels,
  options: TuneOptions = {},
): Promise<TuningResult> {
  const { depth = 100, pool = 8 * depth, metric = 'ndcg@10', onProgress } = options;
  const grid = options.grid ?? Array.from({ length: 21 }, (_, i) => i / 20);
  const lists = new Map<string, { dense: RetrievalResult[]; sparse: RetrievalResult[] }>();
  let done = 0;
  for (const [queryId, text] of queries) {
    const dense = await kb.retrieve(text, { searchType: 'semantic', k: pool });
    const sparse = await kb.retrieve(text, { searchType: 'bm25', k: pool }).catch(() => []);
    lists.set(queryId, { dense, sparse });
    onProgress?.(++done, queries.size);
  }
  const tried: TuningResult['tried'] = [];
  for (const method of ['rrf', 'weighted'] as const) {
    for (const semantic of grid) {
      const weights = { semantic, bm25: Number((1 - semantic).toFixed(6)) };
      const run = new Map<string, ScoredDocument[]>();
      for (const [queryId, { dense, sparse }] of lists) {
        run.set(queryId, fuseToDocuments(dense, sparse, { method, weights }, depth));
      }
      const score = evaluateRun(run, qrels, { k: [10, 100] }).mean[metric] ?? 0;
      tried.push({ method, weights, score });
    }
  }
  tried.sort((a, b) => b.score - a.score);
  return { best: tried[0] as TuningResult['best'], tried, metric, queries: lists.size };
}

function fuseToDocuments(
  dense: RetrievalResult[],
  sparse: RetrievalResult[],
  setting: HybridSetting,
  depth: number,
): ScoredDocument[] {
  const toList = (results: RetrievalResult[]) => results.map((r) => ({ id: r.chunkId, score: r.score }));
  const documentOf = new Map([...dense, ...sparse].map((r) => [r.chunkId, r.documentId]));
  const lists = [toList(dense), toList(sparse)];
  const weights = [setting.weights.semantic, setting.weights.bm25];
  const fused =
    setting.method === 'weighted'
      ? weightedFusion(lists, { weights, normalization: 'min-max' })
      : reciprocalRankFusion(lists, { k: 60, weights });
  return documentsOf(
    fused.map((f) => ({ documentId: documentOf.get(f.id) ?? f.id, score: f.score })),
    depth,
  );
}
