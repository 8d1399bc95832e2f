import { kbError } from '../errors.js';
import { declareOptions } from '../options.js';
import {
  buildFtsQuery,
  fuseHybrid,
  type HybridCandidate,
  type HybridOptions,
  maximalMarginalRelevance,
  queryPhrases,
  type Reranker,
  rerankScore,
  semanticScore,
  validateFilter,
} from '../retrieve/index.js';
import type { ChunkIdSet } from '../retrieve/metadata-index.js';
import type { HnswIndex } from '../store/hnsw-index.js';
import type { ResultChunk, ScoredId, SqliteStore } from '../store/sqlite-store.js';
import {
  BEDROCK_METADATA_KEYS,
  type Embedder,
  type Metadata,
  type RetrievalFilter,
  type RetrievalLocation,
  type RetrievalResult,
  type SearchType,
} from '../types.js';
import { StoreFilterIndex } from './filter-index.js';
import { defaultHybridFor } from './hybrid-defaults.js';
import { RETRIEVE_OPTION_SHAPE, type RetrieveOptions } from './types.js';
import {
  choosePassages,
  collectSides,
  type RankUnit,
  sectionStatistics,
  type UnitCandidate,
} from './unit-search.js';

export type { HybridOptions } from '../retrieve/index.js';

/**
 * What a search ranks and returns. 'passage': passages, each pointing into its section (BM25 and hybrid rank
 * sections and hand back each one's best passage). 'section': the sections themselves (Bedrock's hierarchical
 * chunking returns parents). 'document': one result per document, its best passage (what BEIR judges).
 */
export type ResultLevel = 'passage' | 'section' | 'document';

export const HYBRID_OPTIONS = declareOptions<HybridOptions>('hybrid', {
  method: 'string',
  rrfK: 'number',
  weights: declareOptions<{ semantic: number; bm25: number }>('weights', {
    semantic: 'number',
    bm25: 'number',
  }),
  agreement: declareOptions<{ depth: number; minShared: number }>('agreement', {
    depth: 'integer',
    minShared: 'integer',
  }),
});

const MMR_SETTING = declareOptions<{ lambda?: number }>('mmr', { lambda: 'number' });

export interface LocalRetrieverOptions {
  /** Search type when a query does not name one: 'hybrid' when the store has vectors, else 'bm25'. */
  defaultSearchType?: SearchType;
  /** Fusion of hybrid search. Default: the store's tuned setting, else the embedder's default (hybrid-defaults.ts). */
  hybrid?: HybridOptions;
  reranker?: Reranker;
  /** Candidates fetched per side before fusion/reranking, as a multiple of k (at least 50). */
  candidateMultiplier?: number;
  /** Maximal marginal relevance: diverse results. lambda 1 = pure relevance. */
  mmr?: { lambda?: number };
  /** At or below this many allowed chunks, a filtered vector search scans them exactly instead of using HNSW. */
  exactFilterThreshold?: number;
  /** The unit a query returns when it names none. Default 'passage' ('section' for hierarchical stores). */
  level?: ResultLevel;
}

export const LOCAL_RETRIEVER_OPTIONS = declareOptions<LocalRetrieverOptions>('retrieval', {
  defaultSearchType: 'string',
  hybrid: HYBRID_OPTIONS,
  reranker: 'object',
  candidateMultiplier: 'number',
  mmr: MMR_SETTING,
  exactFilterThreshold: 'integer',
  level: 'string',
});

export interface RetrieveOverrides {
  reranker?: Reranker | null;
  mmr?: { lambda?: number } | null;
  hybrid?: HybridOptions;
  level?: ResultLevel;
}

/** The local knowledge base's retrieve options: the shared ones plus this query's reranker, MMR and fusion. */
export const LOCAL_RETRIEVE_OPTIONS = declareOptions<RetrieveOptions & RetrieveOverrides>('retrieve', {
  ...RETRIEVE_OPTION_SHAPE,
  reranker: ['object', 'null'],
  mmr: ['object', 'null'],
  hybrid: HYBRID_OPTIONS,
  level: 'string',
});

const LEVELS: readonly ResultLevel[] = ['passage', 'section', 'document'];

/** Up to this many allowed chunks are handed to FTS5 as candidates; broader filters are applied to its ranking. */
const BM25_CANDIDATE_LIMIT = 5000;

/** Composes store, index, embedder, filters, fusion and reranking into top-k retrieval for the local KB. */
export class LocalRetriever {
  private readonly filterIndex: StoreFilterIndex;

  constructor(
    private readonly store: SqliteStore,
    private readonly index: HnswIndex | undefined,
    private readonly embedder: Embedder | undefined,
    private options: LocalRetrieverOptions = {},
  ) {
    this.filterIndex = new StoreFilterIndex(store);
  }

  setHybridDefaults(hybrid: HybridOptions): void {
    this.options = { ...this.options, hybrid };
  }

  /** The fusion a hybrid query uses when it names none. */
  hybridDefaults(): HybridOptions {
    return this.options.hybrid ?? defaultHybridFor(this.embedder?.id);
  }

  async retrieve(
    query: string,
    options: RetrieveOptions & RetrieveOverrides = {},
  ): Promise<RetrievalResult[]> {
    const k = checkK(options.k ?? 5);
    const reranker = options.reranker === null ? undefined : (options.reranker ?? this.options.reranker);
    const mmr = options.mmr === null ? undefined : (options.mmr ?? this.options.mmr);
    const needsPool = reranker !== undefined || mmr !== undefined;
    const searchType = this.searchTypeOf(options.searchType);
    const pool =
      needsPool || searchType === 'hybrid' ? Math.max(k * (this.options.candidateMultiplier ?? 4), 50) : k;
    const begun = await this.begin(query, options, searchType);
    if (!begun) return [];
    // Dense alone at passage level, nothing to rerank or diversify: the nearest passages are the results.
    if (begun.unit === 'passage' && !needsPool)
      return this.nearestPassages(begun.queryVector!, k, begun.allowed);
    // One read transaction for the statements of the ranking (FTS5, tie keys, statistics, passages, result rows):
    // they see one state of the store, and SQLite takes its read lock once instead of once per statement.
    const ranking = this.store.readSnapshot(() =>
      this.rank(query, begun, searchType, pool, needsPool ? pool : k),
    );
    let results = ranking.results;
    const { chunks, queryVector } = ranking;

    if (reranker) {
      const reranked = await reranker.rerank(
        query,
        results.map((r) => ({ id: String(r.chunk.id), text: r.chunk.text })),
        { topN: mmr ? pool : k },
      );
      results = reranked.flatMap((r) => {
        const hit = results[r.index];
        return hit ? [{ ...hit, score: rerankScore(r.score), rawScore: r.score }] : [];
      });
    }
    if (mmr && queryVector) {
      const vectors = this.store.getVectors(results.map((r) => r.passageId));
      const candidates = results.flatMap((r) => {
        const vector = vectors.get(r.passageId);
        return vector ? [{ id: r.key, vector, score: r.score }] : [];
      });
      const picked = maximalMarginalRelevance(queryVector, candidates, {
        k: pool,
        lambda: mmr.lambda ?? 0.5,
      });
      const byKey = new Map(results.map((r) => [r.key, r]));
      results = picked.flatMap((p) => {
        const hit = byKey.get(p.id);
        return hit ? [hit] : [];
      });
    }
    return results.slice(0, k).map((r) => {
      const section = r.chunk.parentChunkId !== undefined ? chunks.get(r.chunk.parentChunkId) : undefined;
      return toRetrievalResult(r.chunk, r.score, r.rawScore, section);
    });
  }

  /**
   * Ranks the units of a begun query, keeps the best `keep`, chooses each one's passage and reads the result rows
   * (their sections too): everything between the query's embedding and its reranking.
   */
  private rank(
    query: string,
    begun: NonNullable<Awaited<ReturnType<LocalRetriever['begin']>>>,
    searchType: SearchType,
    pool: number,
    keep: number,
  ) {
    const { units, level, unit, hybrid, queryVector, statistics, allowed } = this.prepare(
      query,
      begun,
      searchType,
      pool,
    );

    let ranked: { id: string; score: number; rawScore: number; unit: UnitCandidate }[];
    if (searchType === 'hybrid') {
      const byId = new Map(units.map((u) => [u.id, u]));
      ranked = fuseHybrid(units, hybrid).map((f) => ({ ...f, unit: byId.get(f.id)! }));
    } else if (searchType === 'semantic') {
      ranked = units
        .filter((u) => u.semanticRank !== undefined)
        .sort((a, b) => a.semanticRank! - b.semanticRank!)
        .map((u) => ({ id: u.id, score: u.semantic!, rawScore: u.semanticRaw!, unit: u }));
    } else {
      ranked = units
        .filter((u) => u.bm25Rank !== undefined)
        .sort((a, b) => a.bm25Rank! - b.bm25Rank!)
        .map((u) => ({ id: u.id, score: u.bm25!, rawScore: u.bm25Raw!, unit: u }));
    }
    ranked = ranked.slice(0, keep);

    const passages = choosePassages(
      ranked.map((r) => r.unit),
      {
        store: this.store,
        query,
        unit,
        allowed,
        hybrid: searchType === 'bm25' ? { method: 'rrf', weights: { semantic: 0, bm25: 1 } } : hybrid,
        ...(queryVector ? { vector: queryVector } : {}),
        ...(statistics ? { idf: statistics.idfOf } : {}),
      },
    );
    const hits = ranked.flatMap((r) => {
      const passageId = passages.get(r.id);
      if (passageId === undefined) return [];
      const returnedId = level === 'section' && unit === 'section' ? Number(r.id.slice(1)) : passageId;
      return [{ key: r.id, score: r.score, rawScore: r.rawScore, passageId, returnedId }];
    });
    const chunks = this.resultRows(hits.flatMap((h) => [h.returnedId, h.passageId]));
    const results = hits.flatMap((hit) => {
      const chunk = chunks.get(hit.returnedId);
      return chunk ? [{ ...hit, chunk }] : [];
    });
    return { results, chunks, queryVector };
  }

  /**
   * The `k` stored passages nearest to a vector the caller embedded with this store's embedder (semantic search
   * without a query text, as LangChain's similaritySearchVectorWithScore asks), the filter applied as in retrieve.
   */
  async retrieveByVector(
    vector: Float32Array,
    options: Pick<RetrieveOptions, 'k' | 'filter'> = {},
  ): Promise<RetrievalResult[]> {
    const k = checkK(options.k ?? 5);
    if (!this.embedder || !this.index) {
      throw kbError(
        'INVALID_OPTION',
        `${this.store.path} is a BM25-only store: it holds no vectors to search.`,
      );
    }
    if (vector.length !== this.embedder.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `The query vector has ${vector.length} dimensions; this store's embedder ${this.embedder.id} makes ` +
          `${this.embedder.dimensions}. Embed the query with the store's embedder.`,
        { input: 'vector' },
      );
    }
    this.index.refreshIfStale();
    const filter = options.filter === undefined ? undefined : validateFilter(options.filter);
    const allowed = filter ? this.allowedChunkIds(filter) : undefined;
    if (allowed && allowed.size === 0) return [];
    return this.nearestPassages(vector, k, allowed);
  }

  /** The `k` passages nearest to `vector` among the allowed, as results (the passages of semantic search). */
  private nearestPassages(
    vector: Float32Array,
    k: number,
    allowed: ChunkIdSet | undefined,
  ): RetrievalResult[] {
    const hits = this.dense(vector, k, allowed);
    const chunks = this.resultRows(hits.map((hit) => hit.id));
    const results: RetrievalResult[] = [];
    for (const hit of hits) {
      const chunk = chunks.get(hit.id);
      if (!chunk) continue;
      const section = chunk.parentChunkId !== undefined ? chunks.get(chunk.parentChunkId) : undefined;
      results.push(toRetrievalResult(chunk, semanticScore(hit.score), hit.score, section));
    }
    return results;
  }

  /** The result rows of `ids` and of the sections they belong to, by id, read in one snapshot. */
  private resultRows(ids: readonly number[]): Map<number, ResultChunk> {
    return this.store.readSnapshot(() => {
      const chunks = new Map(this.store.resultChunks([...new Set(ids)]).map((c) => [c.id, c]));
      const parents = [...chunks.values()].flatMap((c) =>
        c.parentChunkId !== undefined && !chunks.has(c.parentChunkId) ? [c.parentChunkId] : [],
      );
      if (parents.length > 0) {
        for (const parent of this.store.resultChunks([...new Set(parents)])) chunks.set(parent.id, parent);
      }
      return chunks;
    });
  }

  /**
   * What a hybrid query of `k` results fuses: its units at `level` with ranks and [0, 1] scores from both sides,
   * every unit scored on both. `eval --tune` fuses these in memory for every setting it tries, as retrieve would.
   * At document level each unit's id is the document id.
   */
  async hybridCandidates(
    query: string,
    options: Pick<RetrieveOptions, 'k' | 'filter' | 'signal'> & { level?: ResultLevel } = {},
  ): Promise<HybridCandidate[]> {
    const k = checkK(options.k ?? 5);
    const pool = Math.max(k * (this.options.candidateMultiplier ?? 4), 50);
    const searchType = this.searchTypeOf('hybrid');
    const begun = await this.begin(query, options, searchType);
    if (!begun) return [];
    const prepared = this.prepare(query, begun, searchType, pool, { fill: true });
    if (prepared.unit !== 'document') return prepared.units;
    const documentIds = this.store.documentIdsOf(prepared.units.map((u) => Number(u.id.slice(1))));
    return prepared.units.map((u) => ({ ...u, id: documentIds.get(Number(u.id.slice(1))) ?? u.id }));
  }

  /**
   * Checks the query and options, catches up with other writers, works out the allowed chunks and the unit, and
   * embeds the query when a dense side runs. Undefined: nothing passes the filter.
   */
  private async begin(query: string, options: RetrieveOptions & RetrieveOverrides, searchType: SearchType) {
    if (typeof query !== 'string' || query.trim() === '') {
      throw kbError('INVALID_QUERY', 'The query is empty; pass the text to search for.');
    }
    const level = this.levelOf(options.level);
    // Another process may have written since the last query: catch the in-memory copies up first (a few µs when not).
    this.index?.refreshIfStale();
    // An index holding vectors, just caught up, proves the store has chunks without asking SQLite.
    if (!(this.index && this.index.size > 0) && !this.store.hasChunks()) {
      throw kbError(
        'EMPTY_STORE',
        `The knowledge base ${this.store.path} has no chunks yet; ingest documents first.`,
      );
    }
    const filter = options.filter === undefined ? undefined : validateFilter(options.filter);
    const allowed = filter ? this.allowedChunkIds(filter) : undefined;
    if (allowed && allowed.size === 0) return undefined;
    const hybrid = options.hybrid ?? this.hybridDefaults();
    // Dense alone at passage level ranks passages; everything else ranks sections or documents.
    const unit: RankUnit =
      level === 'document'
        ? 'document'
        : searchType === 'semantic' && level === 'passage'
          ? 'passage'
          : 'section';
    const queryVector = searchType === 'bm25' ? undefined : await this.embedQuery(query, options.signal);
    return { level, allowed, hybrid, unit, queryVector };
  }

  /** Runs both sides of a begun query and brings them to one unit. */
  private prepare(
    query: string,
    begun: NonNullable<Awaited<ReturnType<LocalRetriever['begin']>>>,
    searchType: SearchType,
    pool: number,
    { fill = false }: { fill?: boolean } = {},
  ) {
    const { level, allowed, hybrid, unit, queryVector } = begun;
    // Several passages share a section or document, so the dense side reads more hits than it keeps units.
    const dense = queryVector ? this.dense(queryVector, unit === 'passage' ? pool : pool * 4, allowed) : [];
    const match = searchType === 'semantic' ? null : buildFtsQuery(query);
    if (match === null && searchType === 'bm25') {
      throw kbError(
        'INVALID_QUERY',
        `The query "${query}" has no searchable words for BM25 (only stopwords or punctuation); rephrase it.`,
        { input: query },
      );
    }
    const sparse = match === null ? [] : this.bm25(match, unit === 'document' ? pool * 2 : pool, allowed);
    const statistics = match === null ? undefined : sectionStatistics(this.store, queryPhrases(query));
    const fillSides = fill || (searchType === 'hybrid' && hybrid.method === 'weighted');
    const units = collectSides({
      store: this.store,
      unit,
      pool,
      dense,
      sparse,
      ceiling: statistics?.ceiling ?? 0,
      allowed,
      ...(fillSides
        ? { fill: { ...(queryVector ? { vector: queryVector } : {}), ...(match ? { match } : {}) } }
        : {}),
    });
    return { units, level, unit, hybrid, queryVector, statistics, allowed };
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

  private levelOf(requested: ResultLevel | undefined): ResultLevel {
    const level = requested ?? this.options.level ?? 'passage';
    if (!LEVELS.includes(level)) {
      throw kbError(
        'INVALID_OPTION',
        `level must be passage, section or document, got ${JSON.stringify(requested)}.`,
        { input: 'level' },
      );
    }
    return level;
  }

  private allowedChunkIds(filter: RetrievalFilter): ChunkIdSet {
    return this.filterIndex.matching(filter);
  }

  private bm25(match: string, k: number, allowed: ChunkIdSet | undefined): ScoredId[] {
    if (!allowed) return this.store.bm25Search(match, k);
    if (allowed.size <= BM25_CANDIDATE_LIMIT)
      return this.store.bm25Search(match, k, { candidateIds: [...allowed] });
    // A broad filter: rank without it and keep the allowed, fetching deeper until k are found or matches run out.
    const share = allowed.size / Math.max(this.filterIndex.size, allowed.size);
    for (let limit = Math.ceil((k * 2) / share); ; limit *= 4) {
      const ranked = this.store.bm25Search(match, limit);
      const kept = ranked.filter((r) => allowed.has(r.id));
      if (kept.length >= k || ranked.length < limit) return kept.slice(0, k);
    }
  }

  private async embedQuery(query: string, signal?: AbortSignal): Promise<Float32Array> {
    if (!this.embedder) throw kbError('INVALID_OPTION', 'This store has no embedder; use searchType bm25.');
    return this.embedder.embedQuery(query, signal ? { signal } : {});
  }

  private dense(vector: Float32Array, k: number, allowed: ChunkIdSet | undefined): ScoredId[] {
    if (!this.index) return [];
    if (allowed === undefined) return this.index.search(vector, k);
    // A selective filter is answered exactly from SQLite; a broad one filters inside HNSW with a raised ef so that
    // enough allowed neighbours are visited to still return k results.
    const threshold = this.options.exactFilterThreshold ?? 5000;
    if (allowed.size <= threshold) return this.index.exactSearch(vector, k, { candidates: allowed });
    // hnswlib walks past rejected nodes until it holds ef accepted ones, so the usual ef keeps its recall; a search
    // that still comes back short is finished exactly, so k results return whenever k chunks pass.
    return this.index.search(vector, k, { filter: (id) => allowed.has(id) });
  }
}

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > 1000) {
    throw kbError('INVALID_OPTION', `k must be an integer between 1 and 1000, got ${String(k)}.`, {
      input: 'k',
    });
  }
  return k;
}

/**
 * Where a document is, as Bedrock's RetrievalResultLocation would put it: an s3:// URI is S3, http(s) is WEB,
 * anything else (local files, caller-given ids) a CUSTOM document named by its id, `uri` keeping the URI itself.
 */
export function documentLocation(uri: string, documentId: string): RetrievalLocation {
  if (/^s3:\/\//i.test(uri)) return { type: 'S3', uri, s3Location: { uri } };
  if (/^https?:\/\//i.test(uri)) return { type: 'WEB', uri, webLocation: { url: uri } };
  return { type: 'CUSTOM', uri, customDocumentLocation: { id: documentId } };
}

/**
 * Local chunks in the shape of Bedrock's KnowledgeBaseRetrievalResult, with Bedrock's reserved metadata keys (the
 * store writes them; stores of an older process may lack one, so they are filled in here too). `metadata` is an
 * enumerable accessor built on first read, so a caller that reads only the text never parses it; spreading,
 * JSON.stringify and structured cloning see a plain property.
 */
export function toRetrievalResult(
  chunk: ResultChunk,
  score: number,
  rawScore: number = score,
  section?: ResultChunk,
): RetrievalResult {
  const chunkId = String(chunk.id);
  const page = chunk.page ?? undefined;
  const location = documentLocation(chunk.uri, chunk.documentId);
  if (page !== undefined) location.page = page;
  location.start = chunk.start;
  location.end = chunk.end;
  let metadata: Metadata | undefined;
  const result: RetrievalResult = {
    content: { type: 'TEXT', text: chunk.text },
    location,
    score,
    get metadata(): Metadata {
      metadata ??= resultMetadata(chunk, chunkId, page);
      return metadata;
    },
    set metadata(value: Metadata) {
      metadata = value;
    },
    documentId: chunk.documentId,
    chunkId,
    rawScore,
  };
  if (section) result.section = { chunkId: String(section.id), start: section.start, end: section.end };
  return result;
}

function resultMetadata(chunk: ResultChunk, chunkId: string, page: number | undefined): Metadata {
  const metadata: Metadata = { ...chunk.metadata, [BEDROCK_METADATA_KEYS.chunkId]: chunkId };
  metadata[BEDROCK_METADATA_KEYS.sourceUri] ??= chunk.uri;
  if (page !== undefined) metadata[BEDROCK_METADATA_KEYS.pageNumber] ??= page;
  return metadata;
}
