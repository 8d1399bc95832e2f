/**
 * Vector search benchmark: HNSW (hnswlib through HnswIndex) against the exact brute-force scan over SQLite, on
 * clustered synthetic 384-d unit vectors (a stand-in for sentence embeddings: topics, with spread inside each).
 *
 *   npx tsx bench/search.ts [--sizes 10000,100000,1000000] [--queries 500] [--M 16] [--ef-construction 200]
 *                           [--ef 16,32,64,128] [--exact-queries N] [--data clustered|isotropic]
 *                           [--dir /tmp/x] [--keep]
 *
 * Prints one JSON object per size (lines starting with `{`) and a table at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exactSearch } from '../src/store/exact-search.js';
import { HnswIndex } from '../src/store/hnsw-index.js';
import { type ScoredId, SqliteStore } from '../src/store/sqlite-store.js';
import type { Chunk, SourceDocument } from '../src/types.js';

const DIMENSIONS = 384;
const K = 10;
const CHUNKS_PER_DOCUMENT = 1000;

interface Args {
  sizes: number[];
  queries: number;
  M: number;
  efConstruction: number;
  efs: number[];
  exactQueries: number | undefined;
  dir: string | undefined;
  keep: boolean;
  data: 'clustered' | 'isotropic';
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    sizes: [10_000, 100_000],
    queries: 500,
    M: 16,
    efConstruction: 200,
    efs: [16, 32, 64, 128],
    exactQueries: undefined,
    dir: undefined,
    keep: false,
    data: 'clustered',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    const numbers = () => value.split(',').map((part) => Number(part.replace(/_/g, '')));
    switch (flag) {
      case '--sizes':
        args.sizes = numbers();
        i++;
        break;
      case '--queries':
        args.queries = Number(value);
        i++;
        break;
      case '--M':
        args.M = Number(value);
        i++;
        break;
      case '--ef-construction':
        args.efConstruction = Number(value);
        i++;
        break;
      case '--ef':
        args.efs = numbers();
        i++;
        break;
      case '--exact-queries':
        args.exactQueries = Number(value);
        i++;
        break;
      case '--dir':
        args.dir = value;
        i++;
        break;
      case '--data':
        if (value !== 'clustered' && value !== 'isotropic')
          throw new Error(`--data is clustered or isotropic, got ${value}.`);
        args.data = value;
        i++;
        break;
      case '--keep':
        args.keep = true;
        break;
      default:
        throw new Error(
          `Unknown flag ${flag}. Flags: --sizes --queries --M --ef-construction --ef --exact-queries --data --dir --keep`,
        );
    }
  }
  for (const size of args.sizes)
    if (!Number.isInteger(size) || size < 100) throw new Error(`Bad size ${size}.`);
  return args;
}

/** mulberry32: fast, seeded, good enough for synthetic data. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! / norm;
  return vector;
}

interface VectorSource {
  next(): Float32Array;
}

/**
 * 'clustered' (default): √n topics in a 32-d latent space, projected into 384-d with a little full-rank noise.
 * Sentence embeddings have a low intrinsic dimension like this, which is what lets HNSW navigate them.
 */
class LatentClusteredVectors implements VectorSource {
  private static readonly LATENT = 32;
  private readonly centres: Float64Array[];
  private readonly projection: Float64Array;

  constructor(
    count: number,
    private readonly random: () => number,
  ) {
    const latent = LatentClusteredVectors.LATENT;
    const clusters = Math.max(16, Math.round(Math.sqrt(count)));
    this.centres = Array.from({ length: clusters }, () =>
      Float64Array.from({ length: latent }, () => gaussian(random)),
    );
    this.projection = Float64Array.from(
      { length: DIMENSIONS * latent },
      () => gaussian(random) / Math.sqrt(latent),
    );
  }

  next(): Float32Array {
    const latent = LatentClusteredVectors.LATENT;
    const centre = this.centres[Math.floor(this.random() * this.centres.length)]!;
    // Spread inside a topic (0.5 per latent axis) is a quarter of the distance between topics.
    const z = Float64Array.from(centre, (value) => value + 0.5 * gaussian(this.random));
    const vector = new Float32Array(DIMENSIONS);
    for (let row = 0; row < DIMENSIONS; row++) {
      let sum = 0;
      for (let j = 0; j < latent; j++) sum += this.projection[row * latent + j]! * z[j]!;
      // Full-rank noise of about 15% of the signal's length.
      vector[row] = sum + 0.048 * gaussian(this.random);
    }
    return normalise(vector);
  }
}

/**
 * 'isotropic': √n random centres in the full 384-d space with i.i.d. Gaussian noise (σ = 0.06 per dimension, cosine
 * ≈ 0.65 to the centre). Inside a cluster the points are random directions, the worst case for any ANN index.
 */
class IsotropicClusteredVectors implements VectorSource {
  private readonly centres: Float32Array[];

  constructor(
    count: number,
    private readonly random: () => number,
  ) {
    const clusters = Math.max(16, Math.round(Math.sqrt(count)));
    this.centres = Array.from({ length: clusters }, () => {
      const centre = new Float32Array(DIMENSIONS);
      for (let i = 0; i < DIMENSIONS; i++) centre[i] = gaussian(random);
      return normalise(centre);
    });
  }

  next(): Float32Array {
    const centre = this.centres[Math.floor(this.random() * this.centres.length)]!;
    const vector = new Float32Array(DIMENSIONS);
    for (let i = 0; i < DIMENSIONS; i++) vector[i] = centre[i]! + 0.06 * gaussian(this.random);
    return normalise(vector);
  }
}

function percentile(sortedMs: number[], p: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)]!;
}

function timeQueries(queries: Float32Array[], run: (query: Float32Array) => ScoredId[]) {
  const latencies: number[] = [];
  const results: ScoredId[][] = [];
  const started = performance.now();
  for (const query of queries) {
    const t0 = performance.now();
    results.push(run(query));
    latencies.push(performance.now() - t0);
  }
  const totalMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    results,
    p50Ms: round(percentile(latencies, 50), 3),
    p99Ms: round(percentile(latencies, 99), 3),
    qps: round((queries.length / totalMs) * 1000, 1),
  };
}

function recallAt(k: number, truth: ScoredId[][], found: ScoredId[][]): number {
  let hits = 0;
  truth.forEach((expected, q) => {
    const ids = new Set(expected.slice(0, k).map((r) => r.id));
    hits += (found[q] ?? []).slice(0, k).filter((r) => ids.has(r.id)).length;
  });
  return round(hits / (truth.length * k), 4);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function seconds(ms: number): number {
  return round(ms / 1000, 2);
}

function log(message: string): void {
  process.stderr.write(`[bench:search] ${message}\n`);
}

/** Fills a store with `size` vectors, CHUNKS_PER_DOCUMENT per document, through the ordinary upsert path. */
function fillStore(store: SqliteStore, size: number, source: VectorSource): number {
  const started = performance.now();
  for (let first = 0, doc = 0; first < size; first += CHUNKS_PER_DOCUMENT, doc++) {
    const count = Math.min(CHUNKS_PER_DOCUMENT, size - first);
    const chunks: Chunk[] = Array.from({ length: count }, (_, i) => ({
      index: i,
      text: `synthetic chunk ${first + i}`,
      start: 0,
      end: 0,
      tokenCount: 3,
    }));
    const document: SourceDocument = {
      id: `doc-${doc}`,
      uri: `bench://doc-${doc}`,
      format: 'text',
      text: '',
      contentHash: String(doc),
      metadata: {},
    };
    store.upsertDocument(
      document,
      chunks,
      chunks.map(() => source.next()),
    );
    if (doc % 100 === 99) log(`  stored ${first + count} vectors`);
  }
  return performance.now() - started;
}

interface SizeResult {
  size: number;
  data: Args['data'];
  dimensions: number;
  M: number;
  efConstruction: number;
  storeFillSeconds: number;
  hnswBuildSeconds: number;
  hnswBuildPerSecond: number;
  hnswSaveSeconds: number;
  hnswLoadSeconds: number;
  hnswFileMB: number;
  storeMB: number;
  rssMB: number;
  exact: { queries: number; p50Ms: number; p99Ms: number; qps: number };
  hnsw: { ef: number; recallAt10: number; p50Ms: number; p99Ms: number; qps: number }[];
}

async function benchSize(size: number, args: Args, root: string): Promise<SizeResult> {
  const dir = path.join(root, `n${size}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dbPath = path.join(dir, 'bench.db');
  const random = seededRandom(size);
  const source =
    args.data === 'isotropic'
      ? new IsotropicClusteredVectors(size, random)
      : new LatentClusteredVectors(size, random);

  log(`n=${size}: filling the SQLite store`);
  const store = SqliteStore.open(dbPath, { embedder: { id: 'bench:synthetic-384', dimensions: DIMENSIONS } });
  const fillMs = fillStore(store, size, source);
  const queries = Array.from({ length: args.queries }, () => source.next());

  log(`n=${size}: building HNSW (M=${args.M}, efConstruction=${args.efConstruction})`);
  const indexPath = `${dbPath}.hnsw`;
  const buildStarted = performance.now();
  // open() on a missing file builds from SQLite and saves; time the save apart to report the build alone.
  let index = await HnswIndex.open(store, indexPath, { M: args.M, efConstruction: args.efConstruction });
  const openMs = performance.now() - buildStarted;
  const saveStarted = performance.now();
  index.save();
  const saveMs = performance.now() - saveStarted;
  const buildMs = openMs - saveMs;
  index.close();
  const loadStarted = performance.now();
  index = await HnswIndex.open(store, indexPath);
  const loadMs = performance.now() - loadStarted;
  if (index.rebuilt !== null)
    throw new Error(`expected the saved index to load, got rebuilt=${index.rebuilt}`);

  const exactCount = Math.min(
    args.queries,
    args.exactQueries ?? (size <= 10_000 ? args.queries : size <= 100_000 ? 100 : 20),
  );
  log(`n=${size}: exact search for ${exactCount} queries`);
  const exactQueries = queries.slice(0, exactCount);
  const exact = timeQueries(exactQueries, (query) => exactSearch(store, query, K));

  const hnsw = args.efs.map((ef) => {
    log(`n=${size}: HNSW search at ef=${ef}`);
    const timed = timeQueries(queries, (query) => index.search(query, K, { ef }));
    return {
      ef,
      recallAt10: recallAt(K, exact.results, timed.results.slice(0, exactCount)),
      p50Ms: timed.p50Ms,
      p99Ms: timed.p99Ms,
      qps: timed.qps,
    };
  });

  const result: SizeResult = {
    size,
    data: args.data,
    dimensions: DIMENSIONS,
    M: args.M,
    efConstruction: args.efConstruction,
    storeFillSeconds: seconds(fillMs),
    hnswBuildSeconds: seconds(buildMs),
    hnswBuildPerSecond: Math.round(size / (buildMs / 1000)),
    hnswSaveSeconds: seconds(saveMs),
    hnswLoadSeconds: seconds(loadMs),
    hnswFileMB: round(fs.statSync(indexPath).size / 2 ** 20, 1),
    storeMB: round(store.stats().storeBytes / 2 ** 20, 1),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    exact: { queries: exactCount, p50Ms: exact.p50Ms, p99Ms: exact.p99Ms, qps: exact.qps },
    hnsw,
  };
  index.close();
  store.close();
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

function printTable(results: SizeResult[]): void {
  const rows: string[][] = [
    ['n', 'data', 'method', 'ef', 'recall@10', 'p50 ms', 'p99 ms', 'QPS', 'build s', 'load s', 'index MB'],
  ];
  for (const r of results) {
    rows.push([
      String(r.size),
      r.data,
      `exact scan (${r.exact.queries} q)`,
      '-',
      '1',
      String(r.exact.p50Ms),
      String(r.exact.p99Ms),
      String(r.exact.qps),
      '-',
      '-',
      '-',
    ]);
    for (const h of r.hnsw) {
      rows.push([
        String(r.size),
        r.data,
        `hnsw M=${r.M} efC=${r.efConstruction}`,
        String(h.ef),
        String(h.recallAt10),
        String(h.p50Ms),
        String(h.p99Ms),
        String(h.qps),
        String(r.hnswBuildSeconds),
        String(r.hnswLoadSeconds),
        String(r.hnswFileMB),
      ]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  console.log('');
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

const args = parseArgs(process.argv.slice(2));
const root = args.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-search-'));
log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}; data in ${root}`,
);
const results: SizeResult[] = [];
for (const size of args.sizes) {
  const result = await benchSize(size, args, root);
  console.log(JSON.stringify(result));
  results.push(result);
}
printTable(results);
if (!args.keep && !args.dir) fs.rmSync(root, { recursive: true, force: true });
