import type { RetrieveOverrides } from '../kb/local-retriever.js';
import { type KnowledgeBase, RETRIEVE_OPTION_SHAPE, type RetrieveOptions } from '../kb/types.js';
import { checkOptions, declareOptions } from '../options.js';
import { fuseHybrid, type HybridCandidate, type HybridOptions } from '../retrieve/index.js';
import { evaluateRun, type Qrels, type Run, type ScoredDocument } from './metrics.js';

export interface RetrievalRunOptions extends Omit<RetrieveOptions & RetrieveOverrides, 'k'> {
  /** Documents kept per query (BEIR evaluates the top 100 or 1000). Default 100. */
  depth?: number;
  /** Queries in flight at once. Default 1 (local retrieval is CPU-bound; raise it for a remote KB). */
  concurrency?: number;
  /**
   * 'document' asks a local knowledge base to rank whole documents (BEIR judges documents): both sides are fused
   * per document. Without it, the run asks for chunks and keeps each document at its best chunk.
   */
  level?: 'document';
  onProgress?: (done: number, total: number) => void;
}

const { k: _k, ...RETRIEVE_WITHOUT_K } = RETRIEVE_OPTION_SHAPE;
const RETRIEVAL_RUN_OPTIONS = declareOptions<RetrievalRunOptions>(
  'runRetrieval',
  {
    ...RETRIEVE_WITHOUT_K,
    reranker: ['object', 'null'],
    mmr: ['object', 'null'],
    hybrid: 'object',
    level: 'string',
    depth: 'integer',
    concurrency: 'integer',
    onProgress: 'function',
  },
  { k: 'depth', topK: 'depth' },
);

/**
 * Runs every query against a knowledge base and keeps each document once, at its best result's score: BEIR judges
 * documents, while a knowledge base returns chunks.
 */
export async function runRetrieval(
  kb: Pick<KnowledgeBase, 'retrieve'>,
  queries: ReadonlyMap<string, string>,
  options: RetrievalRunOptions = {},
): Promise<Run> {
  checkOptions(RETRIEVAL_RUN_OPTIONS, options);
  const { depth = 100, concurrency = 1, onProgress, ...retrieveOptions } = options;
  const run = new Map<string, ScoredDocument[]>();
  const entries = [...queries.entries()];
  let next = 0;
  let done = 0;
  // Chunked documents take several of the top chunks, so ask for more chunks than documents.
  const k = options.level === 'document' ? depth : Math.min(depth * 2, 1000);
  const worker = async () => {
    while (next < entries.length) {
      const [queryId, text] = entries[next++] as [string, string];
      const results = await kb.retrieve(text, { ...retrieveOptions, k } as RetrieveOptions);
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
  /** Per query, the metric of the best setting (for significance tests against another run). */
  perQuery?: Map<string, number>;
}

export interface TuneOptions {
  depth?: number;
  metric?: string;
  /** Semantic weights tried; the BM25 weight is 1 − w. Default 0, 0.05, …, 1. */
  grid?: number[];
  /** Fusion methods tried. Default both. */
  methods?: readonly HybridSetting['method'][];
  onProgress?: (done: number, total: number) => void;
}

/** What tuning reads from a knowledge base: the candidates a hybrid query fuses (LocalKnowledgeBase has it). */
export interface TunableKnowledgeBase {
  hybridCandidates(
    query: string,
    options: { k?: number; level?: 'passage' | 'section' | 'document' },
  ): Promise<HybridCandidate[]>;
}

const TUNE_OPTIONS = declareOptions<TuneOptions>('tuneHybridWeights', {
  depth: 'integer',
  metric: 'string',
  grid: 'array',
  methods: 'string[]',
  onProgress: 'function',
});

/**
 * Picks hybrid fusion weights on a training split: each query's candidates (every document scored by both sides)
 * are fetched once, then fused in memory for every setting with the retriever's own fusion, and scored against
 * the split's qrels at document level. Never run this on the test split: the point is an honest default.
 */
export async function tuneHybridWeights(
  kb: TunableKnowledgeBase,
  queries: ReadonlyMap<string, string>,
  qrels: Qrels,
  options: TuneOptions = {},
): Promise<TuningResult> {
  checkOptions(TUNE_OPTIONS, options);
  const { depth = 100, metric = 'ndcg@10', onProgress } = options;
  const grid = options.grid ?? Array.from({ length: 21 }, (_, i) => i / 20);
  const methods = options.methods ?? (['rrf', 'weighted'] as const);
  const lists = new Map<string, HybridCandidate[]>();
  let done = 0;
  for (const [queryId, text] of queries) {
    lists.set(queryId, await kb.hybridCandidates(text, { k: depth, level: 'document' }));
    onProgress?.(++done, queries.size);
  }
  const tried: TuningResult['tried'] = [];
  let bestPerQuery: Map<string, number> | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const method of methods) {
    for (const semantic of grid) {
      const weights = { semantic, bm25: Number((1 - semantic).toFixed(6)) };
      const run = fuseRun(lists, { method, weights }, depth);
      const evaluation = evaluateRun(run, qrels, { k: [10, 100] });
      const score = evaluation.mean[metric] ?? 0;
      tried.push({ method, weights, score });
      if (score > bestScore) {
        bestScore = score;
        bestPerQuery = new Map(
          [...evaluation.perQuery].map(([id, metrics]) => [id, metrics[metric] ?? 0] as const),
        );
      }
    }
  }
  tried.sort((a, b) => b.score - a.score);
  return {
    best: tried[0] as TuningResult['best'],
    tried,
    metric,
    queries: lists.size,
    ...(bestPerQuery ? { perQuery: bestPerQuery } : {}),
  };
}

/** A run from each query's hybrid candidates fused with one setting. */
export function fuseRun(
  lists: ReadonlyMap<string, readonly HybridCandidate[]>,
  setting: HybridOptions,
  depth = 100,
): Run {
  const run = new Map<string, ScoredDocument[]>();
  for (const [queryId, candidates] of lists) {
    run.set(
      queryId,
      fuseHybrid(candidates, setting)
        .slice(0, depth)
        .map((f) => ({ docId: f.id, score: f.score })),
    );
  }
  return run;
}
