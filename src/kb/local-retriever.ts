import { kbError } from '../errors.js';
import {
  buildFtsQuery,
  compileFilterToSql,
  maximalMarginalRelevance,
  type Reranker,
  reciprocalRankFusion,
  validateFilter,
  weightedFusion,
} from '../retrieve/index.js';
import { exactSearch } from '../store/exact-search.js';
import type { HnswIndex } from '../store/hnsw-index.js';
import type { SqliteStore, StoredChunk } from '../store/sqlite-store.js';
import type { Embedder, RetrievalFilter, RetrievalResult, SearchType } from '../types.js';
import type { RetrieveOptions } from './types.js';

export interface HybridOptions {
  /** 'rrf' (reciprocal rank fusion, default) or 'weighted' (normalised score blend). */
  method?: 'rrf' | 'weighted';
  /** RRF constant. Default 60. */
  rrfK?: number;
  /** Weight of the dense side and the BM25 side. Default 1 and 1. */
  weights?: { semantic: number; bm25: number };
}

export interface LocalRetrieverOptions {
  /** Search type when a query does not name one: 'hybrid' when the store has vectors, else 'bm25'. */
  defaultSearchType?: SearchType;
  hybrid?: HybridOptions;
  reranker?: Reranker;
  /** Candidates fetched per side before fusion/reranking, as a multiple of k (at least 50). */
  candidateMultiplier?: number;
  /** Maximal marginal relevance: diverse results. lambda 1 = pure relevance. */
  mmr?: { lambda?: number };
  /** At or below this many allowed chunks, a filtered vector search scans them exactly instead of using HNSW. */
  exactFilterThreshold?: number;
}

export interface RetrieveOverrides {
  reranker?: Reranker | null;
  mmr?: { lambda?: number } | null;
  hybrid?: HybridOptions;
}

interface Scored {
  id: number;
  score: number;
}

/** Composes store, index, embedder, filters, fusion and reranking into top-k retrieval for the local KB. */
export class LocalRetriever {
  constructor(
    private readonly store: SqliteStore,
    private readonly index: HnswIndex | undefined,
    private readonly embedder: Embedder | undefined,
    private options: LocalRetrieverOptions = {},
  ) {}

  setHybridDefaults(hybrid: HybridOptions): void {
    this.options = { ...this.options, hybrid };
  }

  async retrieve(
    query: string,
    options: RetrieveOptions & RetrieveOverrides = {},
  ): Promise<RetrievalResult[]> {
    if (typeof query !== 'string' || query.trim() === '') {
      throw kbError('INVALID_QUERY', 'The query is empty; pass the text to search for.');
    }
    const k = options.k ?? 5;
    if (!Number.isInteger(k) || k < 1 || k > 1000) {
      throw kbError('INVALID_OPTION', `k must be an integer between 1 and 1000, got ${String(options.k)}.`, {
        input: 'k',
      });
    }
    const searchType = this.searchTypeOf(options.searchType);
    if (this.store.countChunks() === 0) {
      throw kbError(
        'EMPTY_STORE',
        `The knowledge base ${this.store.path} has no chunks yet; ingest documents first.`,
      );
    }
    const filter = options.filter === undefined ? undefined : validateFilter(options.filter);
    const allowed = filter ? this.allowedChunkIds(filter) : undefined;
    if (allowed && allowed.size === 0) return [];

    const reranker = options.reranker === null ? undefined : (options.reranker ?? this.options.reranker);
    const mmr = options.mmr === null ? undefined : (options.mmr ?? this.options.mmr);
    const needsPool = reranker !== undefined || mmr !== undefined;
    const pool =
      needsPool || searchType === 'hybrid' ? Math.max(k * (this.options.candidateMultiplier ?? 4), 50) : k;

    let queryVector: Float32Array | undefined;
    let ranked: Scored[];
    if (searchType === 'bm25') {
      ranked = this.bm25(query, pool, allowed);
    } else {
      queryVector = await this.embedQuery(query, options.signal);
      const dense = this.dense(queryVector, pool, allowed);
      if (searchType === 'semantic') {
        ranked = dense;
      } else {
        const sparse = this.bm25(query, pool, allowed, { allowEmpty: true });
        ranked = this.fuse(dense, sparse, options.hybrid ?? this.options.hybrid ?? {});
      }
    }

    const chunks = this.store.getChunks(ranked.map((r) => r.id));
    const byId = new Map(chunks.map((c) => [c.id, c]));
    let results = ranked.flatMap((r) => {
      const chunk = byId.get(r.id);
      return chunk ? [{ chunk, score: r.score }] : [];
    });

    if (reranker) {
      const reranked = await reranker.rerank(
        query,
        results.map((r) => ({ id: String(r.chunk.id), text: r.chunk.text })),
        { topN: mmr ? pool : k },
      );
      results = reranked.flatMap((r) => {
        const hit = results[r.index];
        return hit ? [{ chunk: hit.chunk, score: r.score }] : [];
      });
    }
    if (mmr && queryVector) {
      const vectors = this.store.getVectors(results.map((r) => r.chunk.id));
      const candidates = results.flatMap((r) => {
        const vector = vectors.get(r.chunk.id);
        return vector ? [{ id: String(r.chunk.id), vector, score: r.score }] : [];
      });
      const picked = maximalMarginalRelevance(queryVector, candidates, {
        k: pool,
        lambda: mmr.lambda ?? 0.5,
      });
      const byChunk = new Map(results.map((r) => [String(r.chunk.id), r]));
      results = picked.flatMap((p) => {
        const hit = byChunk.get(p.id);
        return hit ? [hit] : [];
      });
    }
    results = this.liftToParents(results);
    return results.slice(0, k).map((r) => toRetrievalResult(r.chunk, r.score));
  }

  private searchTypeOf(requested: RetrieveOptions['searchType']): SearchType {
    const fallback = this.options.defaultSearchType ?? (this.embedder ? 'hybrid' : 'bm25');
    if (requested === undefined) return fallback;
    const normalised = String(requested).toLowerCase();
    if (normalised !== 'semantic' && normalised !== 'bm25' && normalised !== 'hybrid') {
      throw kbError(
        'INVALID_OPTION',
        `searchType must be semantic, bm25 or hybrid (any case), got "${String(requested)}".`,
        { input: 'searchType' },
      );
    }
    if (normalised !== 'bm25' && !this.embedder) {
      throw kbError(
        'INVALID_OPTION',
        `searchType ${normalised} needs vectors, but ${this.store.path} is a BM25-only store (embedder none). Use bm25, or ingest into a store with an embedder.`,
        { input: 'searchType' },
      );
    }
    return normalised;
  }

  private allowedChunkIds(filter: RetrievalFilter): Set<number> {
    const { sql, params } = compileFilterToSql(filter, 'c.metadata');
    return new Set(this.store.chunkIdsWhere(sql, params));
  }

  private async embedQuery(query: string, signal?: AbortSignal): Promise<Float32Array> {
    if (!this.embedder) throw kbError('INVALID_OPTION', 'This store has no embedder; use searchType bm25.');
    return this.embedder.embedQuery(query, signal ? { signal } : {});
  }

  private dense(vector: Float32Array, k: number, allowed: Set<number> | undefined): Scored[] {
    if (!this.index) return [];
    if (allowed === undefined) return this.index.search(vector, k);
    // A selective filter is answered exactly from SQLite; a broad one filters inside HNSW with a raised ef so that
    // enough allowed neighbours are visited to still return k results.
    const threshold = this.options.exactFilterThreshold ?? 5000;
    if (allowed.size <= threshold) return exactSearch(this.store, vector, k, { candidateIds: [...allowed] });
    const selectivity = allowed.size / Math.max(this.index.size, 1);
    const ef = Math.min(Math.ceil(Math.max(k, 64) / Math.max(selectivity, 0.01)), 10_000);
    return this.index.search(vector, k, { ef, filter: (id) => allowed.has(id) });
  }

  private bm25(
    query: string,
    k: number,
    allowed: Set<number> | undefined,
    { allowEmpty = false }: { allowEmpty?: boolean } = {},
  ): Scored[] {
    const match = buildFtsQuery(query);
    if (match === null) {
      if (allowEmpty) return [];
      throw kbError(
        'INVALID_QUERY',
        `The query "${query}" has no searchable words for BM25 (only stopwords or punctuation); rephrase it.`,
        { input: query },
      );
    }
    return this.store.bm25Search(match, k, allowed ? { candidateIds: [...allowed] } : {});
  }

  private fuse(dense: Scored[], sparse: Scored[], hybrid: HybridOptions): Scored[] {
    const weights = hybrid.weights ?? { semantic: 1, bm25: 1 };
    const lists = [dense, sparse].map((list) => list.map((r) => ({ id: String(r.id), score: r.score })));
    const fused =
      hybrid.method === 'weighted'
        ? weightedFusion(lists, { weights: [weights.semantic, weights.bm25], normalization: 'min-max' })
        : reciprocalRankFusion(lists, { k: hybrid.rrfK ?? 60, weights: [weights.semantic, weights.bm25] });
    return fused.map((f) => ({ id: Number(f.id), score: f.score }));
  }

  /** Hierarchical chunks: children are searched, their parents returned once, at the best child's score. */
  private liftToParents(
    results: { chunk: StoredChunk; score: number }[],
  ): { chunk: StoredChunk; score: number }[] {
    const parentIds = [
      ...new Set(results.flatMap((r) => (r.chunk.parentChunkId ? [r.chunk.parentChunkId] : []))),
    ];
    if (parentIds.length === 0) return results;
    const parents = new Map(this.store.getChunks(parentIds).map((c) => [c.id, c]));
    const seen = new Set<number>();
    const lifted: { chunk: StoredChunk; score: number }[] = [];
    for (const result of results) {
      const parent = result.chunk.parentChunkId ? parents.get(result.chunk.parentChunkId) : undefined;
      const chunk = parent ?? result.chunk;
      if (seen.has(chunk.id)) continue;
      seen.add(chunk.id);
      lifted.push({ chunk, score: result.score });
    }
    return lifted;
  }
}

/** Local chunks in the shape of Bedrock's KnowledgeBaseRetrievalResult, with Bedrock's metadata keys. */
export function toRetrievalResult(chunk: StoredChunk, score: number): RetrievalResult {
  const chunkId = String(chunk.id);
  return {
    content: { type: 'TEXT', text: chunk.text },
    location: {
      type: 'LOCAL',
      uri: chunk.uri,
      ...(chunk.page !== undefined && chunk.page !== null ? { page: chunk.page } : {}),
      start: chunk.start,
      end: chunk.end,
    },
    score,
    metadata: {
      ...chunk.metadata,
      'x-amz-bedrock-kb-source-uri': chunk.uri,
      'x-amz-bedrock-kb-chunk-id': chunkId,
      ...(chunk.page !== undefined && chunk.page !== null
        ? { 'x-amz-bedrock-kb-document-page-number': chunk.page }
        : {}),
    },
    documentId: chunk.documentId,
    chunkId,
  };
}
