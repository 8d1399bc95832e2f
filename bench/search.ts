/**
 * npm run bench:search — localkb's search beside the raw library underneath and the libraries users would pick
 * instead, measured side by side in one run on the same data: 384-d clustered vectors with ~400-character texts,
 * 10 chunks per document, a 1% filter (`group`) and a 10% filter (`decile`).
 *
 *   npx tsx bench/search.ts [--sizes 100000,1000000] [--queries 200] [--peers-up-to 100000] [--dir /tmp/x]
 *                           [--keep] [--reuse]
 *
 * Rows (p50 per query unless said otherwise): semantic retrieve with chunk text, exact scan, filters passing 1% and
 * 10%, open (warm and cold), disk per chunk, BM25. Columns: localkb; the peers (LangChain HNSWLib and
 * MemoryVectorStore, Orama, MiniSearch; only up to --peers-up-to chunks); the raw floor (hnswlib-node searchKnn on
 * the very graph localkb saved, a JS Float32Array scan, hnswlib's brute force, FTS5 alone: ORDER BY rank, and ORDER
 * BY its score column as localkb asks). Prints one JSON object per size and a table at the end. Other work on the
 * machine shows in the figures; ratios within a run are what count. The semantic and BM25 rows time localkb and its
 * floor query by query in turn, after a warm pass of each (timeSideBySide), so neither pays alone for the pages the
 * other has already brought in.
 *
 * Orama and MiniSearch are devDependencies. LangChain is not (118 packages, ~230 MB, and @langchain/openai wants
 * Node 22): for its columns, first `npm i --no-save --legacy-peer-deps @langchain/core @langchain/community
 * @langchain/classic` (--legacy-peer-deps: @langchain/community's optional peer is transformers.js 3, ours is 4).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import { exactSearch } from '../src/store/exact-search.js';
import { HnswIndex } from '../src/store/hnsw-index.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Chunk, Embedder, RetrievalFilter, SourceDocument } from '../src/types.js';
import { seededRandom } from '../test/store/store-fixtures.js';
import { ClusteredVectors, DIMENSIONS, TopicTexts } from './search-data.js';
import { percentile, printTable } from './shared-data.js';

const K = 10;
const CHUNKS_PER_DOCUMENT = 10;
const EMBEDDER_ID = 'bench:synthetic-384';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    'peers-up-to': { type: 'string', default: '100000' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map((s) => Number(s.replace(/_/g, '')));
const queryCount = Number(values.queries);
const peersUpTo = Number(values['peers-up-to']);
const root = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-search-'));

function log(message: string): void {
  process.stderr.write(`[bench:search ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

interface Timed<T> {
  p50: number;
  p99: number;
  results: T[];
}

/** Times `run` once per query after a short warm-up; milliseconds. */
async function time<Q, T>(queries: readonly Q[], run: (query: Q) => T | Promise<T>): Promise<Timed<T>> {
  for (const query of queries.slice(0, Math.min(5, queries.length))) await run(query);
  const latencies: number[] = [];
  const results: T[] = [];
  for (const query of queries) {
    const started = performance.now();
    results.push(await run(query));
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  return { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), results };
}

/**
 * Times several ways of answering the same queries side by side: one untimed pass of each over every query (so
 * each meets the caches the others warmed: SQLite's, the OS's, the mapped pages), then each query by each way in
 * turn, the order rotating from query to query, so none is always first to touch a query's pages.
 */
async function timeSideBySide<Q, K extends string>(
  queries: readonly Q[],
  runs: Record<K, (query: Q) => unknown>,
): Promise<Record<K, Timed<unknown>>> {
  const names = Object.keys(runs) as K[];
  for (const name of names) for (const query of queries) await runs[name](query);
  const latencies = new Map(names.map((name) => [name, [] as number[]]));
  const results = new Map(names.map((name) => [name, [] as unknown[]]));
  for (const [q, query] of queries.entries()) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(q + i) % names.length]!;
      const started = performance.now();
      results.get(name)![q] = await runs[name](query);
      latencies.get(name)!.push(performance.now() - started);
    }
  }
  const timed = {} as Record<K, Timed<unknown>>;
  for (const name of names) {
    const sorted = latencies.get(name)!.sort((a, b) => a - b);
    timed[name] = {
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      results: results.get(name)!,
    };
  }
  return timed;
}

function recall(truth: number[][], found: number[][]): number {
  let hits = 0;
  let wanted = 0;
  truth.forEach((expected, q) => {
    const set = new Set(expected);
    wanted += expected.length;
    hits += (found[q] ?? []).filter((id) => set.has(id)).length;
  });
  return wanted === 0 ? 1 : round(hits / wanted, 4);
}

/** An embedder that answers the bench's query texts with their precomputed vectors: retrieve without a model. */
class LookupEmbedder implements Embedder {
  readonly id = EMBEDDER_ID;
  readonly dimensions = DIMENSIONS;
  readonly maxInputTokens = 512;
  readonly vectors = new Map<string, Float32Array>();
  async init() {}
  async embedDocuments(texts: readonly string[]) {
    return texts.map((text) => this.vectorOf(text));
  }
  async embedQuery(text: string) {
    return this.vectorOf(text);
  }
  async tokenCounter() {
    return { count: (text: string) => text.split(' ').length };
  }
  private vectorOf(text: string): Float32Array {
    const vector = this.vectors.get(text);
    if (!vector) throw new Error(`no vector for ${text}`);
    return vector;
  }
}

interface Corpus {
  vectors: Float32Array[];
  texts: string[];
  topics: number[];
  groups: number[];
  deciles: number[];
}

function makeCorpus(size: number): { corpus: Corpus; source: ClusteredVectors; texts: TopicTexts } {
  const random = seededRandom(size);
  const source = new ClusteredVectors(size, random);
  const texts = new TopicTexts(random);
  const corpus: Corpus = { vectors: [], texts: [], topics: [], groups: [], deciles: [] };
  let group = 0;
  let decile = 0;
  for (let i = 0; i < size; i++) {
    if (i % CHUNKS_PER_DOCUMENT === 0) {
      group = Math.floor(random() * 100);
      decile = Math.floor(random() * 10);
    }
    const { vector, topic } = source.next();
    corpus.vectors.push(vector);
    corpus.topics.push(topic);
    corpus.texts.push(texts.text(topic));
    corpus.groups.push(group);
    corpus.deciles.push(decile);
  }
  return { corpus, source, texts };
}

/** Writes the corpus through the ordinary upsert path, a document (10 chunks) per transaction. */
function fillStore(store: SqliteStore, corpus: Corpus): number[] {
  const ids: number[] = [];
  for (let first = 0; first < corpus.vectors.length; first += CHUNKS_PER_DOCUMENT) {
    const count = Math.min(CHUNKS_PER_DOCUMENT, corpus.vectors.length - first);
    const parts = corpus.texts.slice(first, first + count);
    const text = parts.join('\n\n');
    let offset = 0;
    const chunks: Chunk[] = parts.map((part, i) => {
      const chunk = { index: i, text: part, start: offset, end: offset + part.length, tokenCount: 70 };
      offset += part.length + 2;
      return chunk;
    });
    const document: SourceDocument = {
      id: `doc-${first / CHUNKS_PER_DOCUMENT}`,
      uri: `bench://doc-${first / CHUNKS_PER_DOCUMENT}`,
      format: 'text',
      text,
      contentHash: String(first),
      metadata: { group: corpus.groups[first]!, decile: corpus.deciles[first]! },
    };
    ids.push(
      ...store.upsertDocument(document, chunks, corpus.vectors.slice(first, first + count)).addedChunkIds,
    );
    if ((first / CHUNKS_PER_DOCUMENT) % 10_000 === 9_999) log(`  stored ${first + count}`);
  }
  return ids;
}

function fileBytes(files: string[]): number {
  return files.filter((f) => fs.existsSync(f)).reduce((sum, f) => sum + fs.statSync(f).size, 0);
}

function folderBytes(folder: string): number {
  return fs.readdirSync(folder).reduce((sum, name) => sum + fs.statSync(path.join(folder, name)).size, 0);
}

/** Drops these files from the page cache (posix_fadvise DONTNEED through dd), for a cold open of just them. */
function evict(files: string[]): boolean {
  try {
    for (const file of files.filter((f) => fs.existsSync(f))) {
      execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
      execFileSync('dd', [`of=${file}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
    }
    return true;
  } catch {
    return false;
  }
}

interface Row {
  measure: string;
  localkb: string;
  peer: string;
  floor: string;
}

async function benchSize(size: number) {
  const dir = path.join(root, `n${size}`);
  const dbPath = path.join(dir, 'bench.db');
  const indexPath = `${dbPath}.hnsw`;
  const storeFiles = [dbPath, `${dbPath}-wal`, indexPath, `${indexPath}.json`];
  log(`n=${size}: generating the corpus`);
  const { corpus, source, texts } = makeCorpus(size);
  const random = seededRandom(size + 1);
  const queries = Array.from({ length: queryCount }, (_, i) => {
    const { vector, topic } = source.next();
    return { vector, text: `query ${i}`, bm25: texts.query(topic), group: i % 100, decile: i % 10 };
  });
  void random;

  let buildSeconds: number | undefined;
  let ids: number[];
  const reuse = values.reuse && fs.existsSync(indexPath);
  if (reuse) {
    log(`n=${size}: reusing ${dbPath}`);
    const store = SqliteStore.open(dbPath, { readonly: true });
    ids = store.chunkIds();
    store.close();
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    log(`n=${size}: filling the SQLite store`);
    const store = SqliteStore.open(dbPath, { embedder: { id: EMBEDDER_ID, dimensions: DIMENSIONS } });
    ids = fillStore(store, corpus);
    log(`n=${size}: building the HNSW index (M 16, efConstruction 200)`);
    const started = performance.now();
    (await HnswIndex.open(store, indexPath)).close();
    buildSeconds = round((performance.now() - started) / 1000, 1);
    store.close();
  }
  const idOf = new Map(ids.map((id, i) => [id, i]));
  const rowOf = (id: number) => idOf.get(id)!;
  // Checkpoint so the WAL does not count twice in the disk figures.
  const checkpoint = new Database(dbPath);
  checkpoint.pragma('wal_checkpoint(TRUNCATE)');
  checkpoint.close();

  // ——— open ———
  log(`n=${size}: open times`);
  const openKb = async () => {
    const embedder = new LookupEmbedder();
    for (const q of queries) embedder.vectors.set(q.text, q.vector);
    return LocalKnowledgeBase.open(dbPath, { embedder });
  };
  const measureOpen = async (cold: boolean) => {
    const times = { localkb: [] as number[], readIndex: [] as number[] };
    for (let i = 0; i < 3; i++) {
      if (cold && !evict(storeFiles)) return undefined;
      let started = performance.now();
      const native = new hnswlib.HierarchicalNSW('cosine', DIMENSIONS);
      native.readIndexSync(indexPath, true);
      times.readIndex.push(performance.now() - started);
      if (cold) evict(storeFiles);
      started = performance.now();
      const kb = await openKb();
      times.localkb.push(performance.now() - started);
      await kb.close();
    }
    const median = (xs: number[]) => round(xs.sort((a, b) => a - b)[1]!, 1);
    return { localkbMs: median(times.localkb), readIndexMs: median(times.readIndex) };
  };
  const openWarm = await measureOpen(false);
  const openCold = await measureOpen(true);

  const kb = await openKb();
  const store = SqliteStore.open(dbPath, { readonly: true });
  const index = await HnswIndex.open(store, indexPath);
  const raw = new hnswlib.HierarchicalNSW('cosine', DIMENSIONS);
  raw.readIndexSync(indexPath, true);
  raw.setEf(64);

  // ——— truth ———
  log(`n=${size}: exact truth`);
  const matrixExact = await time(queries, (q) => index.exactSearch(q.vector, K));
  const truth = matrixExact.results.map((r) => r.map((x) => x.id));
  const inGroup = (group: number) => ids.filter((id) => corpus.groups[rowOf(id)] === group);
  const inDecile = (decile: number) => ids.filter((id) => corpus.deciles[rowOf(id)] === decile);
  const groupIds = Array.from({ length: 100 }, (_, g) => inGroup(g));
  const decileIds = Array.from({ length: 10 }, (_, d) => inDecile(d));
  const exactAmong = (vector: Float32Array, candidates: number[]) =>
    jsScan(corpus, vector, candidates.map(rowOf)).map((r) => ids[r.id]!);
  const truth1 = queries.map((q) => exactAmong(q.vector, groupIds[q.group]!));
  const truth10 = queries.map((q) => exactAmong(q.vector, decileIds[q.decile]!));

  // ——— semantic ———
  log(`n=${size}: semantic search`);
  const semantic = await timeSideBySide(queries, {
    raw: (q) => raw.searchKnn(Array.from(q.vector), K).neighbors,
    index: (q) => index.search(q.vector, K).map((r) => r.id),
    retrieve: async (q) =>
      (await kb.retrieve(q.text, { k: K, searchType: 'semantic' })).map((r) => Number(r.chunkId)),
  });
  const rawSearch = semantic.raw;
  const indexSearch = semantic.index as Timed<number[]>;
  const retrieve = semantic.retrieve as Timed<number[]>;

  // ——— exact scan ———
  log(`n=${size}: exact scans`);
  const exactQueries = queries.slice(0, size <= 100_000 ? 50 : 10);
  const jsFloor = await time(exactQueries, (q) => jsScan(corpus, q.vector).map((r) => ids[r.id]!));
  const sqliteExact = await time(exactQueries.slice(0, 5), (q) => exactSearch(store, q.vector, K));
  let bruteMs: number | undefined;
  if (size <= 100_000) {
    const brute = new hnswlib.BruteforceSearch('cosine', DIMENSIONS);
    brute.initIndex(size);
    corpus.vectors.forEach((vector, i) => {
      brute.addPoint(Array.from(vector), ids[i]!);
    });
    bruteMs = (await time(exactQueries, (q) => brute.searchKnn(Array.from(q.vector), K))).p50;
  }
  const bandwidthMs = memoryReadMs(size * DIMENSIONS * 4);

  // ——— filters ———
  log(`n=${size}: filtered search`);
  const groupFilter = (g: number): RetrievalFilter => ({ equals: { key: 'group', value: g } });
  const decileFilter = (d: number): RetrievalFilter => ({ equals: { key: 'decile', value: d } });
  const filtered1 = await time(queries, async (q) =>
    (await kb.retrieve(q.text, { k: K, searchType: 'semantic', filter: groupFilter(q.group) })).map((r) =>
      Number(r.chunkId),
    ),
  );
  const filtered10 = await time(queries, async (q) =>
    (await kb.retrieve(q.text, { k: K, searchType: 'semantic', filter: decileFilter(q.decile) })).map((r) =>
      Number(r.chunkId),
    ),
  );
  const prefilterFloor1 = await time(queries, (q) => exactAmong(q.vector, groupIds[q.group]!));
  const decileSets = decileIds.map((list) => new Set(list));
  const callbackFloor10 = await time(queries, (q) => {
    const allowed = decileSets[q.decile]!;
    return raw.searchKnn(Array.from(q.vector), K, (id) => allowed.has(id)).neighbors;
  });
  const groupSets = groupIds.map((list) => new Set(list));
  const callbackFloor1 = await time(queries, (q) => {
    const allowed = groupSets[q.group]!;
    return raw.searchKnn(Array.from(q.vector), K, (id) => allowed.has(id)).neighbors;
  });
  const prefilterFloor10 = await time(queries.slice(0, 50), (q) =>
    exactAmong(q.vector, decileIds[q.decile]!),
  );

  // ——— BM25 ———
  log(`n=${size}: BM25`);
  const ftsDb = new Database(dbPath, { readonly: true });
  const ftsTable =
    (ftsDb
      .prepare("SELECT name FROM sqlite_master WHERE name IN ('bm25_fts', 'chunks_fts')")
      .pluck()
      .get() as string) ?? 'chunks_fts';
  const fts = ftsDb
    .prepare(
      `SELECT rowid, bm25(${ftsTable}) FROM ${ftsTable} WHERE ${ftsTable} MATCH ? ORDER BY rank LIMIT ?`,
    )
    .raw();
  // The same ranking sorted by SQLite on the score column, as localkb's store asks it (FTS5's ORDER BY rank sorts
  // in a nested statement and takes longer): the floor of what localkb runs, beside the usual FTS5 query.
  const ftsByScore = ftsDb
    .prepare(
      `SELECT rowid, -bm25(${ftsTable}) AS score FROM ${ftsTable} WHERE ${ftsTable} MATCH ? ORDER BY score DESC LIMIT ?`,
    )
    .raw();
  const { bm25, ftsAlone, ftsScoreOrder } = await timeSideBySide(queries, {
    bm25: async (q) =>
      (await kb.retrieve(q.bm25, { k: K, searchType: 'bm25' })).map((r) => Number(r.chunkId)),
    ftsAlone: (q) => fts.all(q.bm25.replace(' ', ' OR '), K),
    ftsScoreOrder: (q) => ftsByScore.all(q.bm25.replace(' ', ' OR '), K),
  });
  ftsDb.close();

  const disk = fileBytes(storeFiles);
  const textBytes = corpus.texts.reduce((sum, t) => sum + t.length, 0);
  const memory = process.memoryUsage();

  const result: Record<string, unknown> = {
    size,
    dimensions: DIMENSIONS,
    chunksPerDocument: CHUNKS_PER_DOCUMENT,
    hnswBuildSeconds: buildSeconds,
    simd: true,
    recallAt10: {
      hnswEf64: recall(truth, indexSearch.results),
      retrieve: recall(truth, retrieve.results),
      filter1: recall(truth1, filtered1.results),
      filter10: recall(truth10, filtered10.results),
      rawCallback10: recall(truth10, callbackFloor10.results),
    },
    shortResults: {
      filter1: filtered1.results.filter((r) => r.length < K).length,
      filter10: filtered10.results.filter((r) => r.length < K).length,
    },
    ms: {
      retrieveSemantic: retrieve.p50,
      retrieveSemanticP99: retrieve.p99,
      hnswIndexSearch: indexSearch.p50,
      rawSearchKnn: rawSearch.p50,
      exactMatrix: matrixExact.p50,
      exactSqlite: sqliteExact.p50,
      exactJsFloor: jsFloor.p50,
      exactHnswlibBruteForce: bruteMs,
      memoryRead: round(bandwidthMs),
      filter1: filtered1.p50,
      filter1Floor: prefilterFloor1.p50,
      filter1RawCallback: callbackFloor1.p50,
      filter10: filtered10.p50,
      filter10Floor: callbackFloor10.p50,
      filter10Prefilter: prefilterFloor10.p50,
      bm25Retrieve: bm25.p50,
      bm25FtsAlone: ftsAlone.p50,
      bm25FtsScoreOrder: ftsScoreOrder.p50,
    },
    open: { warm: openWarm, cold: openCold },
    disk: {
      bytesPerChunk: Math.round(disk / size),
      textBytesPerChunk: Math.round(textBytes / size),
      hnswBytesPerChunk: Math.round(fileBytes([indexPath]) / size),
    },
    rssMiB: Math.round(memory.rss / 2 ** 20),
  };

  let peers: Record<string, unknown> | undefined;
  if (size <= peersUpTo) {
    const missing = await missingPeers();
    if (missing.length > 0) {
      log(
        `peers skipped: ${missing.join(', ')} not installed (LangChain is not a devDependency, it needs Node 22 and ` +
          `brings ~230 MB: npm i --no-save --legacy-peer-deps ${LANGCHAIN.join(' ')})`,
      );
    }
    peers = await benchPeers(corpus, ids, queries, { truth, truth1, truth10 }, dir, new Set(missing));
  }
  result.peers = peers;

  index.close();
  store.close();
  await kb.close();
  return result;
}

/** Exact cosine over the corpus's Float32Arrays in plain JS (the vectors are unit length): the JS floor. */
function jsScan(corpus: Corpus, query: Float32Array, rows?: number[]): { id: number; score: number }[] {
  const top: { id: number; score: number }[] = [];
  let threshold = Number.NEGATIVE_INFINITY;
  const consider = (row: number) => {
    const vector = corpus.vectors[row]!;
    let dot = 0;
    for (let d = 0; d < DIMENSIONS; d++) dot += query[d]! * vector[d]!;
    if (dot <= threshold && top.length === K) return;
    top.push({ id: row, score: dot });
    top.sort((a, b) => b.score - a.score);
    if (top.length > K) top.pop();
    threshold = top[top.length - 1]!.score;
  };
  if (rows) for (const row of rows) consider(row);
  else for (let row = 0; row < corpus.vectors.length; row++) consider(row);
  return top;
}

/** Time to read `bytes` of memory once (memcmp of two equal halves): the bandwidth bound of an exact scan. */
function memoryReadMs(bytes: number): number {
  const a = Buffer.alloc(bytes / 2, 1);
  const b = Buffer.alloc(bytes / 2, 1);
  Buffer.compare(a, b);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    Buffer.compare(a, b);
    times.push(performance.now() - started);
  }
  return times.sort((x, y) => x - y)[2]!;
}

/** LangChain's packages: installed only for a run (see missingPeers' message). Orama and MiniSearch are devDependencies. */
const LANGCHAIN = ['@langchain/core', '@langchain/community', '@langchain/classic'];
const PEERS = [...LANGCHAIN, '@orama/orama', 'minisearch'];

/** A peer library, loaded only when the bench runs it: they are not the project's dependencies. */
// biome-ignore lint/suspicious/noExplicitAny: peers are typed by their own packages, which may be absent
async function importPeer(specifier: string): Promise<any> {
  return import(specifier);
}

/** The peers not installed here; the bench skips them all and says how to add them. */
async function missingPeers(): Promise<string[]> {
  const missing: string[] = [];
  for (const name of PEERS) {
    try {
      await importPeer(
        name === '@langchain/core'
          ? '@langchain/core/documents'
          : name === '@langchain/community'
            ? '@langchain/community/vectorstores/hnswlib'
            : name === '@langchain/classic'
              ? '@langchain/classic/vectorstores/memory'
              : name,
      );
    } catch {
      missing.push(name);
    }
  }
  return missing;
}

async function benchPeers(
  corpus: Corpus,
  ids: number[],
  queries: BenchQuery[],
  truths: Truths,
  dir: string,
  missing: ReadonlySet<string>,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const plainVectors = corpus.vectors.map((v) => Array.from(v));
  if (LANGCHAIN.every((name) => !missing.has(name))) {
    Object.assign(out, await benchLangChain(corpus, ids, plainVectors, queries, truths, dir));
  }
  if (!missing.has('@orama/orama')) out.orama = await benchOrama(corpus, ids, plainVectors, queries, truths);
  if (!missing.has('minisearch')) out.minisearch = await benchMiniSearch(corpus, ids, queries);
  return out;
}

type BenchQuery = { vector: Float32Array; text: string; bm25: string; group: number; decile: number };
type Truths = { truth: number[][]; truth1: number[][]; truth10: number[][] };

async function benchLangChain(
  corpus: Corpus,
  ids: number[],
  plainVectors: number[][],
  queries: BenchQuery[],
  truths: Truths,
  dir: string,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const size = corpus.vectors.length;
  const { Document } = await importPeer('@langchain/core/documents');
  const { FakeEmbeddings } = await importPeer('@langchain/core/utils/testing');
  const documents = corpus.texts.map(
    (text, i) =>
      new Document({
        pageContent: text,
        metadata: { id: ids[i], group: corpus.groups[i], decile: corpus.deciles[i] },
      }),
  );
  const idsOf = (results: [{ metadata: Record<string, unknown> }, number][]) =>
    results.map(([d]) => d.metadata.id as number);

  log(`peers n=${size}: LangChain HNSWLib`);
  const { HNSWLib } = await importPeer('@langchain/community/vectorstores/hnswlib');
  const embeddings = new FakeEmbeddings();
  const lc = new HNSWLib(embeddings, { space: 'cosine', numDimensions: DIMENSIONS });
  let started = performance.now();
  for (let i = 0; i < size; i += 10_000)
    await lc.addVectors(plainVectors.slice(i, i + 10_000), documents.slice(i, i + 10_000));
  const lcBuildSeconds = round((performance.now() - started) / 1000, 1);
  // LangChain leaves hnswlib's default ef (10); ef 64 is what localkb and the floor use.
  lc.index.setEf(64);
  const lcSearch = await time(queries, async (q) =>
    idsOf(await lc.similaritySearchVectorWithScore(Array.from(q.vector), K)),
  );
  const lcFilter10 = await time(queries, async (q) =>
    idsOf(
      await lc.similaritySearchVectorWithScore(
        Array.from(q.vector),
        K,
        (d: { metadata: Record<string, unknown> }) => d.metadata.decile === q.decile,
      ),
    ),
  );
  const lcFilter1 = await time(queries, async (q) =>
    idsOf(
      await lc.similaritySearchVectorWithScore(
        Array.from(q.vector),
        K,
        (d: { metadata: Record<string, unknown> }) => d.metadata.group === q.group,
      ),
    ),
  );
  const lcDir = path.join(dir, 'langchain-hnswlib');
  await lc.save(lcDir);
  const lcOpen: number[] = [];
  for (let i = 0; i < 3; i++) {
    started = performance.now();
    await HNSWLib.load(lcDir, embeddings);
    lcOpen.push(performance.now() - started);
  }
  out.langchainHnswlib = {
    buildSeconds: lcBuildSeconds,
    searchMs: lcSearch.p50,
    recall: recall(truths.truth, lcSearch.results),
    filter1Ms: lcFilter1.p50,
    filter1Recall: recall(truths.truth1, lcFilter1.results),
    filter10Ms: lcFilter10.p50,
    filter10Recall: recall(truths.truth10, lcFilter10.results),
    openWarmMs: round(lcOpen.sort((a, b) => a - b)[1]!, 1),
    bytesPerChunk: Math.round(folderBytes(lcDir) / size),
  };

  log(`peers n=${size}: LangChain MemoryVectorStore`);
  const { MemoryVectorStore } = await importPeer('@langchain/classic/vectorstores/memory');
  const memoryStore = new MemoryVectorStore(embeddings);
  await memoryStore.addVectors(plainVectors, documents);
  const memorySearch = await time(queries.slice(0, 50), async (q) =>
    idsOf(await memoryStore.similaritySearchVectorWithScore(Array.from(q.vector), K)),
  );
  out.langchainMemoryVectorStore = {
    exactMs: memorySearch.p50,
    recall: recall(truths.truth.slice(0, 50), memorySearch.results),
  };
  return out;
}

async function benchOrama(
  corpus: Corpus,
  ids: number[],
  plainVectors: number[][],
  queries: BenchQuery[],
  truths: Truths,
): Promise<Record<string, unknown>> {
  const size = corpus.vectors.length;
  log(`peers n=${size}: Orama`);
  const orama = await importPeer('@orama/orama');
  const db = orama.create({
    schema: {
      text: 'string',
      embedding: `vector[${DIMENSIONS}]`,
      group: 'number',
      decile: 'number',
      chunk: 'number',
    } as const,
  });
  const started = performance.now();
  for (let i = 0; i < size; i += 5000) {
    await orama.insertMultiple(
      db,
      corpus.texts.slice(i, i + 5000).map((text, j) => ({
        text,
        embedding: plainVectors[i + j]!,
        group: corpus.groups[i + j]!,
        decile: corpus.deciles[i + j]!,
        chunk: ids[i + j]!,
      })),
    );
  }
  const oramaBuildSeconds = round((performance.now() - started) / 1000, 1);
  const oramaIds = (result: { hits: { document: { chunk: number } }[] }) =>
    result.hits.map((h) => h.document.chunk);
  // Orama hides hits below similarity 0.8 unless told otherwise.
  const oramaVector = (q: { vector: Float32Array }, where?: Record<string, unknown>) =>
    orama.search(db, {
      mode: 'vector',
      vector: { value: Array.from(q.vector), property: 'embedding' },
      similarity: -1,
      limit: K,
      ...(where ? { where } : {}),
    }) as Promise<{ hits: { document: { chunk: number } }[] }>;
  const oramaSearch = await time(queries.slice(0, 50), async (q) => oramaIds(await oramaVector(q)));
  const oramaFilter1 = await time(queries, async (q) =>
    oramaIds(await oramaVector(q, { group: { eq: q.group } })),
  );
  const oramaFilter10 = await time(queries.slice(0, 50), async (q) =>
    oramaIds(await oramaVector(q, { decile: { eq: q.decile } })),
  );
  return {
    buildSeconds: oramaBuildSeconds,
    exactMs: oramaSearch.p50,
    recall: recall(truths.truth.slice(0, 50), oramaSearch.results),
    filter1Ms: oramaFilter1.p50,
    filter1Recall: recall(truths.truth1, oramaFilter1.results),
    filter10Ms: oramaFilter10.p50,
    filter10Recall: recall(truths.truth10.slice(0, 50), oramaFilter10.results),
  };
}

async function benchMiniSearch(
  corpus: Corpus,
  ids: number[],
  queries: BenchQuery[],
): Promise<Record<string, unknown>> {
  log(`peers n=${corpus.vectors.length}: MiniSearch`);
  const MiniSearch = (await importPeer('minisearch')).default;
  const mini = new MiniSearch({ fields: ['text'], idField: 'id' });
  mini.addAll(corpus.texts.map((text, i) => ({ id: ids[i]!, text })));
  const miniSearch = await time(queries, (q) =>
    mini
      .search(q.bm25)
      .slice(0, K)
      .map((r: { id: unknown }) => r.id as number),
  );
  return { bm25Ms: miniSearch.p50 };
}

const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  const result = await benchSize(size);
  console.log(JSON.stringify(result));
  results.push(result);
}

const rows: Row[] = [];
/** The peers that ran, side by side; a dash when none did. */
const peerCell = (cells: (string | undefined)[]) => cells.filter(Boolean).join('; ') || '—';
const fmt = (value: unknown, unit = ' ms') =>
  value === undefined || value === null ? '—' : `${value}${unit}`;
for (const r of results) {
  const n = `${(r.size as number) / 1000}k`;
  const ms = r.ms as Record<string, number>;
  const rec = r.recallAt10 as Record<string, number>;
  const peers = r.peers as Record<string, Record<string, number>> | undefined;
  const lc = peers?.langchainHnswlib;
  const mem = peers?.langchainMemoryVectorStore;
  const orama = peers?.orama;
  const open = r.open as { warm: Record<string, number>; cold?: Record<string, number> };
  const disk = r.disk as Record<string, number>;
  rows.push(
    {
      measure: `retrieve, semantic, ef64, ${n} (chunk text included)`,
      localkb: `${fmt(ms.retrieveSemantic)} (HnswIndex.search ${fmt(ms.hnswIndexSearch)}; recall ${rec.retrieve})`,
      peer: lc ? `LangChain HNSWLib ef64 ${fmt(lc.searchMs)} (recall ${lc.recall})` : '—',
      floor: `searchKnn ${fmt(ms.rawSearchKnn)}`,
    },
    {
      measure: `exact scan over all ${n}`,
      localkb: `${fmt(ms.exactMatrix)} (SQLite scan ${fmt(ms.exactSqlite)})`,
      peer: peerCell([
        mem && `MemoryVectorStore ${fmt(mem.exactMs)}`,
        orama && `Orama ${fmt(orama.exactMs)}`,
      ]),
      floor: `JS Float32Array ${fmt(ms.exactJsFloor)}; hnswlib brute force ${fmt(ms.exactHnswlibBruteForce)}; memory read ${fmt(ms.memoryRead)}`,
    },
    {
      measure: `filter passing 1%, ${n}`,
      localkb: `${fmt(ms.filter1)} (recall ${rec.filter1})`,
      peer: peerCell([
        orama && `Orama ${fmt(orama.filter1Ms)} (recall ${orama.filter1Recall})`,
        lc && `LangChain HNSWLib ${fmt(lc.filter1Ms)} (recall ${lc.filter1Recall})`,
      ]),
      floor: `prefilter + exact JS ${fmt(ms.filter1Floor)}; HNSW callback ${fmt(ms.filter1RawCallback)}`,
    },
    {
      measure: `filter passing 10%, ${n}`,
      localkb: `${fmt(ms.filter10)} (recall ${rec.filter10})`,
      peer: peerCell([
        lc && `LangChain HNSWLib ${fmt(lc.filter10Ms)} (recall ${lc.filter10Recall})`,
        orama && `Orama ${fmt(orama.filter10Ms)} (recall ${orama.filter10Recall})`,
      ]),
      floor: `HNSW callback ef64 ${fmt(ms.filter10Floor)} (recall ${rec.rawCallback10}); prefilter + exact JS ${fmt(ms.filter10Prefilter)}`,
    },
    {
      measure: `open a store, warm / cold, ${n}`,
      localkb: `${fmt(open.warm.localkbMs)} / ${fmt(open.cold?.localkbMs)}`,
      peer: lc ? `LangChain HNSWLib ${fmt(lc.openWarmMs)} (warm)` : '—',
      floor: `hnswlib readIndex ${fmt(open.warm.readIndexMs)} / ${fmt(open.cold?.readIndexMs)}`,
    },
    {
      measure: `disk per chunk, ${n} (text ${disk.textBytesPerChunk} B)`,
      localkb: `${fmt(round(disk.bytesPerChunk! / 1024, 2), ' KB')} (HNSW ${fmt(round(disk.hnswBytesPerChunk! / 1024, 2), ' KB')})`,
      peer: lc ? `LangChain HNSWLib ${fmt(round(lc.bytesPerChunk! / 1024, 2), ' KB')}` : '—',
      floor: `vector ${DIMENSIONS * 4} B + links`,
    },
    {
      measure: `BM25, 2 terms, ${n}`,
      localkb: fmt(ms.bm25Retrieve),
      peer: peerCell([peers?.minisearch && `MiniSearch ${fmt(peers.minisearch.bm25Ms)}`]),
      floor: `FTS5 alone ${fmt(ms.bm25FtsAlone)} (ORDER BY rank; ${fmt(ms.bm25FtsScoreOrder)} ORDER BY its score column, as localkb asks)`,
    },
  );
}
console.log('');
console.log(printTable(rows as unknown as Record<string, string>[]));
if (!values.keep && !values.dir) fs.rmSync(root, { recursive: true, force: true });
