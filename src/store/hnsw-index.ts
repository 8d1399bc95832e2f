import fs from 'node:fs';
import path from 'node:path';
import hnswlib, { type HierarchicalNSW } from 'hnswlib-node';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { catchUpFrom } from './change-feed.js';
import {
  checkIndexFileInBackground,
  HNSW_FILE_FORMAT,
  HNSW_FILE_FORMAT_VERSION,
  type HnswFileMeta,
  type IndexFileCheck,
  indexFileProblem,
  readMeta,
  saveIndexFiles,
  scanIndexFile,
} from './hnsw-file.js';
import { IndexVectors, type MatrixSource } from './index-vectors.js';
import type { ScoredId, SqliteStore } from './sqlite-store.js';
import { VectorMatrix } from './vector-matrix.js';

export interface HnswIndexOptions {
  /** Graph degree. Default 16. Changing it for an existing file rebuilds the index. */
  M?: number;
  /** Build-time candidate list size. Default 200. Changing it for an existing file rebuilds the index. */
  efConstruction?: number;
  /** Search-time candidate list size, at least k. Default 64. */
  efSearch?: number;
  /** Seed of hnswlib's level generator, for reproducible graphs. Default 100. */
  randomSeed?: number;
  /** Called during a rebuild after every batch of vectors read from SQLite (a 1M rebuild takes minutes). */
  onRebuildProgress?: (done: number, total: number) => void;
  /** Called when a rebuild starts (done 0) and as it goes, with why it is needed, elapsed time and an ETA. */
  onRebuild?: (progress: IndexRebuildProgress) => void;
}

/** Where a rebuild of the HNSW index from SQLite stands, and why it runs. */
export interface IndexRebuildProgress {
  /** 'missing', 'stale' or 'corrupt' at open; 'tombstones' when a save finds deleted vectors outnumbering live ones. */
  reason: RebuildReason | 'tombstones';
  /** The reason in words. */
  detail: string;
  indexPath: string;
  done: number;
  total: number;
  elapsedMs: number;
  etaMs?: number;
}

export interface HnswSearchOptions {
  /** Candidate list size for this search (at least k is used). */
  ef?: number;
  /** Only ids for which this returns true are returned; HNSW keeps walking the graph past the others. */
  filter?: (id: number) => boolean;
}

/** Why `open` built the index from SQLite instead of loading the file. */
export type RebuildReason = 'missing' | 'stale' | 'corrupt';

const DEFAULTS = { M: 16, efConstruction: 200, efSearch: 64, randomSeed: 100 } as const;
const MAX_LABEL = 2 ** 32 - 1;

interface BuildSettings {
  M: number;
  efConstruction: number;
  randomSeed: number;
}

/**
 * Approximate nearest-neighbour search (hnswlib, cosine) over the vectors of a SqliteStore, plus the same vectors
 * contiguous in memory (a VectorMatrix) for exact and filtered scans. Both are caches: labels are chunk row ids,
 * the file records the store generation (and its token) it reflects, and whatever is missing, stale, from another
 * history of the store, or unreadable is rebuilt or caught up from SQLite.
 */
export class HnswIndex {
  /** What `open` had to do: null when the file was loaded (and caught up), else why it rebuilt. */
  readonly rebuilt: RebuildReason | null;
  /** The reason in words when `rebuilt` is not null (for logs). */
  readonly rebuildDetail: string | undefined;
  readonly indexPath: string;
  readonly dimensions: number;
  private native: HierarchicalNSW | undefined;
  /** The live labels and their normalised vectors (read into memory on the first scan that needs them). */
  private vectors: IndexVectors;
  /** Labels that may still sit in the graph as tombstones (a superset: hnswlib reuses tombstone slots silently). */
  private tombstones: Set<number>;
  private generation: number;
  private token: string;
  private efSearch: number;
  /** Vectors added or removed since the file was last written. */
  private unsaved = 0;
  /** The loaded file's checksum, until its verdict is in. */
  private fileCheck: IndexFileCheck | undefined;
  private readonly settings: BuildSettings;

  private constructor(
    private readonly store: SqliteStore,
    indexPath: string,
    settings: BuildSettings & { efSearch: number },
    state: LoadedState,
    rebuilt: RebuildReason | null,
    rebuildDetail: string | undefined,
    private readonly reporting: Pick<HnswIndexOptions, 'onRebuild' | 'onRebuildProgress'>,
  ) {
    this.indexPath = indexPath;
    this.dimensions = store.dimensions;
    this.settings = {
      M: settings.M,
      efConstruction: settings.efConstruction,
      randomSeed: settings.randomSeed,
    };
    this.efSearch = settings.efSearch;
    this.native = state.native;
    this.vectors = state.vectors;
    this.tombstones = state.tombstones;
    this.generation = state.generation;
    this.token = state.token;
    this.fileCheck = state.fileCheck;
    this.rebuilt = rebuilt;
    this.rebuildDetail = rebuildDetail;
    if (rebuilt !== null) this.unsaved = state.vectors.size + 1;
  }

  /**
   * Loads `indexPath` when it belongs to this store's history and passes its checks, then catches up with writes
   * made since it was saved; otherwise rebuilds from the store's vectors. A rebuilt or much caught-up index is
   * saved (when the file can be written) so the next open is fast.
   */
  static async open(
    store: SqliteStore,
    indexPath: string,
    options: HnswIndexOptions = {},
  ): Promise<HnswIndex> {
    validateOptions(options);
    const embedder = store.embedder;
    if (!embedder || embedder.dimensions === 0) {
      throw kbError(
        'INVALID_OPTION',
        `The store ${store.path} has no vectors (${embedder ? 'BM25-only' : 'no embedder recorded'}), so it has no HNSW index; use BM25 search or a store with an embedder.`,
        { input: store.path },
      );
    }
    const resolved = path.resolve(indexPath);
    const settings = {
      M: options.M ?? DEFAULTS.M,
      efConstruction: options.efConstruction ?? DEFAULTS.efConstruction,
      efSearch: options.efSearch ?? DEFAULTS.efSearch,
      randomSeed: options.randomSeed ?? DEFAULTS.randomSeed,
    };

    let reason: RebuildReason = 'missing';
    let detail = `${resolved} does not exist`;
    // Two attempts: a save by another process between reading the sidecar and the index looks corrupt once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const reading = readMeta(resolved);
      if (reading.status === 'missing') break;
      if (reading.status === 'corrupt') {
        reason = 'corrupt';
        detail = reading.reason;
        continue;
      }
      const { meta } = reading;
      const mismatch = staleness(meta, store, embedder.id, options);
      if (mismatch) {
        reason = 'stale';
        detail = mismatch;
        break;
      }
      const loaded = await loadFile(resolved, meta);
      if ('problem' in loaded) {
        reason = 'corrupt';
        detail = loaded.problem;
        continue;
      }
      const fileSettings = { ...settings, M: meta.M, efConstruction: meta.efConstruction };
      const index = new HnswIndex(store, resolved, fileSettings, loaded, null, undefined, options);
      const changed = index.catchUp();
      // A file far behind the store costs every later open the same catch-up: write the caught-up one.
      if (changed > Math.max(1000, index.size * 0.05)) index.trySave();
      return index;
    }
    const state = buildFromStore(store, settings, rebuildReporter(options, resolved, reason, detail));
    const index = new HnswIndex(store, resolved, settings, state, reason, detail, options);
    index.trySave();
    return index;
  }

  /** Number of searchable vectors. */
  get size(): number {
    this.assertOpen();
    return this.vectors.size;
  }

  /** Slots allocated in the graph; grows geometrically as vectors are added. */
  get capacity(): number {
    return this.handle.getMaxElements();
  }

  /** The store `vector_generation` this index has caught up with. */
  get storeGeneration(): number {
    return this.generation;
  }

  /** Vectors added or removed since the file was last saved. */
  get unsavedChanges(): number {
    return this.unsaved;
  }

  has(id: number): boolean {
    return this.vectors.has(id);
  }

  /** The stored vector of `id`, L2-normalised (what cosine similarity compares). */
  vector(id: number): Float32Array | undefined {
    return this.vectors.has(id) ? this.matrix().get(id) : undefined;
  }

  /** True once the vectors are in memory for exact scans (they are read on the first one after a load). */
  get vectorsLoaded(): boolean {
    return this.vectors.loaded;
  }

  /** Adds (or replaces) vectors under the given labels. Grows past the current capacity as needed. */
  add(ids: readonly number[], vectors: readonly Float32Array[]): void {
    const native = this.handle;
    if (ids.length !== vectors.length) {
      throw kbError(
        'INVALID_OPTION',
        `add() got ${ids.length} ids but ${vectors.length} vectors; pass one vector per id.`,
        {
          input: 'vectors',
        },
      );
    }
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id > MAX_LABEL) {
        throw kbError('INVALID_OPTION', `HNSW labels are chunk ids (integers 0…2^32−1), got ${id}.`, {
          input: String(id),
        });
      }
      this.checkVector(vectors[i], `vector ${i}`);
    });
    const fresh = ids.filter((id) => !this.vectors.has(id)).length;
    const needed = native.getCurrentCount() + fresh;
    if (needed > native.getMaxElements()) {
      native.resizeIndex(Math.max(needed, Math.ceil(native.getMaxElements() * 1.5)));
    }
    for (let i = 0; i < ids.length; i++) this.insert(native, ids[i]!, vectors[i]!);
    this.unsaved += ids.length;
  }

  /** Tombstones these labels: they are never returned again. Unknown or already removed ids are ignored. */
  remove(ids: readonly number[]): void {
    const native = this.handle;
    for (const id of ids) {
      if (!this.vectors.has(id)) continue;
      native.markDelete(id);
      this.vectors.delete(id);
      this.tombstones.add(id);
      this.unsaved++;
    }
  }

  /**
   * The k nearest vectors by cosine similarity (score = 1 − cosine distance), best first. Fewer than k come back
   * only when fewer exist (or, with a filter, when fewer pass it).
   */
  search(vector: Float32Array, k: number, options: HnswSearchOptions = {}): ScoredId[] {
    const native = this.handle;
    this.checkVector(vector, 'the query vector');
    checkK(k);
    if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef < 1)) {
      throw kbError('INVALID_OPTION', `ef must be a positive integer, got ${options.ef}.`, { input: 'ef' });
    }
    if (this.vectors.size === 0) return [];
    const wanted = Math.min(k, this.vectors.size);
    const point = Array.from(vector);
    let filterError: unknown;
    const { filter } = options;
    // An exception thrown inside hnswlib's native callback would be lost; keep it and rethrow after the search.
    const guarded = filter
      ? (id: number) => {
          if (filterError !== undefined) return false;
          try {
            return filter(id) === true;
          } catch (error) {
            filterError = error;
            return false;
          }
        }
      : undefined;
    const slots = native.getCurrentCount();
    let ef = Math.max(options.ef ?? this.efSearch, wanted);
    for (;;) {
      native.setEf(ef);
      const result = native.searchKnn(point, wanted, guarded);
      if (filterError !== undefined) throw filterError;
      if (result.neighbors.length >= wanted) {
        return result.neighbors.map((id, i) => ({ id, score: 1 - result.distances[i]! }));
      }
      // Tombstones and filters can leave the candidate list short; widen it a few times, then score exactly:
      // whatever passes the filter is found, so k results come back whenever k vectors pass.
      if (ef >= Math.min(slots, 4096)) {
        const exact = this.matrix().search(vector, wanted, undefined, guarded);
        if (filterError !== undefined) throw filterError;
        return exact;
      }
      ef = Math.min(ef * 4, slots);
    }
  }

  /**
   * Exact top-k by cosine similarity over the in-memory vectors: every vector, only `candidates`, or only those
   * `filter` accepts. The recall baseline, and the fast path for selective filters.
   */
  exactSearch(
    vector: Float32Array,
    k: number,
    options: { candidates?: Iterable<number>; filter?: (id: number) => boolean } = {},
  ): ScoredId[] {
    this.assertOpen();
    this.checkVector(vector, 'the query vector');
    checkK(k);
    return this.matrix().search(vector, k, options.candidates, options.filter);
  }

  /**
   * Cheap check of the store's generation and token; when another connection or process has written since,
   * applies those changes (from the store's change log, or by comparing ids when the log no longer reaches
   * back), and when the store's history is not the one this index followed (a restored backup), rebuilds.
   */
  refreshIfStale(): 'current' | 'caught-up' {
    this.assertOpen();
    const { generation, token } = this.store.generationState();
    if (generation === this.generation && token === this.token) return 'current';
    this.catchUp();
    return 'caught-up';
  }

  /**
   * Writes the index atomically (temp file, fsync, rename, fsync the folder) with a sidecar recording the store
   * generation and token it reflects. Catches up with the store first, and rebuilds instead when tombstones
   * dominate.
   */
  save(): HnswFileMeta {
    const native = this.handle;
    // Windows cannot rename over a file a handle holds open: read the vectors now, which lets go of the file.
    if (process.platform === 'win32') this.matrix();
    this.catchUp();
    const dead = native.getCurrentCount() - this.vectors.size;
    if (dead > Math.max(1024, this.vectors.size)) {
      this.replaceWith(
        buildFromStore(
          this.store,
          this.settings,
          rebuildReporter(
            this.reporting,
            this.indexPath,
            'tombstones',
            `${dead} deleted vectors outnumber the live ones`,
          ),
        ),
      );
    }
    const current = this.handle;
    const labels = current.getIdsList();
    const deletedLabels = labels.filter((label) => !this.vectors.has(label));
    this.tombstones = new Set(deletedLabels);
    const embedder = this.store.embedder!;
    const meta = saveIndexFiles(this.indexPath, (temporaryPath) => current.writeIndexSync(temporaryPath), {
      format: HNSW_FILE_FORMAT,
      formatVersion: HNSW_FILE_FORMAT_VERSION,
      space: 'cosine',
      dimensions: this.dimensions,
      embedderId: embedder.id,
      storeId: this.store.storeId,
      generation: this.generation,
      generationToken: this.token,
      elementCount: current.getCurrentCount(),
      deletedLabels,
      M: this.settings.M,
      efConstruction: this.settings.efConstruction,
    });
    this.unsaved = 0;
    return meta;
  }

  /** Saves unless the folder cannot be written (a read-only mount): the index is a cache, SQLite stays right. */
  trySave(): boolean {
    try {
      this.save();
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOSPC') return false;
      throw error;
    }
  }

  /**
   * Saves when the next open would spend longer catching up with the unsaved changes (about 1 ms per vector
   * inserted) than this save takes (a few µs per vector written): small indexes always, a million-vector one
   * after some thousands of changes. The change log covers whatever is left unsaved.
   */
  saveIfBehind(): boolean {
    if (!this.native || this.unsaved === 0) return false;
    if (this.unsaved < this.vectors.size * 0.003) return false;
    return this.trySave();
  }

  /** Sets the default search-time ef. */
  setEfSearch(ef: number): void {
    if (!Number.isInteger(ef) || ef < 1) {
      throw kbError('INVALID_OPTION', `efSearch must be a positive integer, got ${ef}.`, {
        input: 'efSearch',
      });
    }
    this.efSearch = ef;
  }

  /** The default search-time ef. */
  get defaultEf(): number {
    return this.efSearch;
  }

  /** Drops the native index; later calls throw STORE_CLOSED. Does not save. */
  close(): void {
    // A check still under way is waited for: nothing of this index reads its file after close.
    this.fileCheck?.settle();
    this.fileCheck = undefined;
    this.native = undefined;
    this.vectors.release();
  }

  private get handle(): HierarchicalNSW {
    this.assertOpen();
    this.settleFileCheck();
    return this.native!;
  }

  /**
   * Waits for the loaded file's CRC-32 check (started at open on another thread; done long before the first query
   * in practice) before anything uses the graph; a file that fails it is rebuilt from the store, as at open.
   */
  private settleFileCheck(): void {
    const check = this.fileCheck;
    if (!check) return;
    this.fileCheck = undefined;
    const problem = check.settle();
    if (problem === undefined) return;
    this.rebuildFromStore('corrupt', problem);
    // As a rebuild at open is: saved, so the next open loads a good file.
    this.trySave();
  }

  private assertOpen(): void {
    if (!this.native)
      throw kbError('STORE_CLOSED', `The HNSW index ${this.indexPath} is closed; open it again.`);
  }

  private checkVector(vector: unknown, what: string): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `${what} must be a ${this.dimensions}-d Float32Array, got ${vector instanceof Float32Array ? `${vector.length} dimensions` : typeof vector}.`,
        {
          input: what,
          details: { expected: this.dimensions },
        },
      );
    }
  }

  private insert(native: HierarchicalNSW, id: number, vector: Float32Array): void {
    const point = Array.from(vector);
    if (this.vectors.has(id)) {
      native.addPoint(point, id, false);
      this.vectors.set(id, vector);
      return;
    }
    if (this.tombstones.has(id)) {
      this.tombstones.delete(id);
      try {
        // The label's old slot is still in the graph: revive it and overwrite its vector.
        native.unmarkDelete(id);
        native.addPoint(point, id, false);
        this.vectors.set(id, vector);
        return;
      } catch (error) {
        // Its slot was reused by another label in the meantime, so it is simply new.
        if (!String((error as Error).message).includes('Label not found')) throw error;
      }
    }
    native.addPoint(point, id, true);
    this.vectors.set(id, vector);
  }

  /**
   * Brings the index to the store's current generation: adds new vectors, tombstones removed ones; rebuilds
   * when the store's history does not pass through this index's generation. Returns how many vectors changed.
   */
  private catchUp(): number {
    return this.store.readSnapshot(() => {
      let step = catchUpFrom(this.store, { generation: this.generation, token: this.token });
      if (step.kind === 'current') return 0;
      if (this.fileCheck) {
        // Changes go into the graph only once it is known good; a rebuild instead is already current.
        this.settleFileCheck();
        step = catchUpFrom(this.store, { generation: this.generation, token: this.token });
        if (step.kind === 'current') return this.vectors.size;
      }
      if (step.kind === 'rebuild') {
        const why = 'the store follows another history than this index (restored from a backup?)';
        this.rebuildFromStore('stale', why);
        return this.vectors.size;
      }
      let removed: number[];
      let missing: number[];
      if (step.kind === 'changes') {
        const present = this.store.vectorChunkIdsAmong(step.chunkIds);
        removed = step.chunkIds.filter((id) => this.vectors.has(id) && !present.has(id));
        missing = step.chunkIds.filter((id) => !this.vectors.has(id) && present.has(id));
      } else {
        const ids = this.store.vectorChunkIds();
        const present = new Set(ids);
        removed = this.vectors.ids().filter((id) => !present.has(id));
        missing = ids.filter((id) => !this.vectors.has(id));
      }
      this.remove(removed);
      const batchSize = 4096;
      for (let offset = 0; offset < missing.length; offset += batchSize) {
        const vectors = this.store.getVectors(missing.slice(offset, offset + batchSize));
        this.add([...vectors.keys()], [...vectors.values()]);
      }
      this.generation = step.to.generation;
      this.token = step.to.token;
      return removed.length + missing.length;
    });
  }

  /**
   * The vectors in memory for exact scans: read from the loaded file on first use (it is kept open, so a newer file
   * saved since cannot mix in) with the changes made since laid over them. A file that no longer reads as it did
   * at load means the index is rebuilt from the store.
   */
  private matrix(): VectorMatrix {
    this.settleFileCheck();
    const matrix = this.vectors.vectors();
    if (matrix) return matrix;
    const why = `${this.indexPath} no longer reads as it did when loaded`;
    this.rebuildFromStore('corrupt', why);
    return this.vectors.vectors()!;
  }

  /** Replaces the graph and vectors with new ones built from the store, reporting why; saved on the next save. */
  private rebuildFromStore(reason: RebuildReason, why: string): void {
    this.replaceWith(
      buildFromStore(this.store, this.settings, rebuildReporter(this.reporting, this.indexPath, reason, why)),
    );
    this.unsaved = this.vectors.size + 1;
  }

  private replaceWith(state: LoadedState): void {
    this.vectors.release();
    this.fileCheck = undefined;
    this.native = state.native;
    this.vectors = state.vectors;
    this.tombstones = state.tombstones;
    this.generation = state.generation;
    this.token = state.token;
  }
}

interface LoadedState {
  native: HierarchicalNSW;
  vectors: IndexVectors;
  /** A loaded file's CRC-32 check still under way. */
  fileCheck?: IndexFileCheck;
  tombstones: Set<number>;
  generation: number;
  token: string;
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw kbError('INVALID_OPTION', `k must be a positive integer, got ${k}.`, { input: 'k' });
  }
}

const HNSW_INDEX_OPTIONS = declareOptions<HnswIndexOptions>('HnswIndex.open', {
  M: 'integer',
  efConstruction: 'integer',
  efSearch: 'integer',
  randomSeed: 'integer',
  onRebuildProgress: 'function',
  onRebuild: 'function',
});

function validateOptions(options: HnswIndexOptions): void {
  checkOptions(HNSW_INDEX_OPTIONS, options);
  const checks: ['M' | 'efConstruction' | 'efSearch' | 'randomSeed', number, number][] = [
    ['M', 2, 256],
    ['efConstruction', 1, 100_000],
    ['efSearch', 1, 100_000],
    ['randomSeed', 0, MAX_LABEL],
  ];
  for (const [key, min, max] of checks) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw kbError('INVALID_OPTION', `hnsw ${key} must be an integer from ${min} to ${max}, got ${value}.`, {
        input: key,
      });
    }
  }
  if (options.onRebuildProgress !== undefined && typeof options.onRebuildProgress !== 'function') {
    throw kbError('INVALID_OPTION', 'hnsw onRebuildProgress must be a function.', {
      input: 'onRebuildProgress',
    });
  }
}

/** Why a well-formed file cannot serve this store, or undefined when it can. */
function staleness(meta: HnswFileMeta, store: SqliteStore, embedderId: string, options: HnswIndexOptions) {
  if (meta.storeId !== store.storeId) return `the file was built for another store (${meta.storeId})`;
  if (meta.embedderId !== embedderId)
    return `the file holds "${meta.embedderId}" vectors, the store "${embedderId}"`;
  if (meta.dimensions !== store.dimensions)
    return `the file is ${meta.dimensions}-d, the store ${store.dimensions}-d`;
  if (meta.generation > store.vectorGeneration())
    return `the file is from generation ${meta.generation}, ahead of the store (restored from a backup?)`;
  if (store.generationToken(meta.generation) !== meta.generationToken) {
    return `the file is from generation ${meta.generation} of another history of this store (restored from a backup, or a copy written to on its own)`;
  }
  if (options.M !== undefined && options.M !== meta.M) return `M changed from ${meta.M} to ${options.M}`;
  if (options.efConstruction !== undefined && options.efConstruction !== meta.efConstruction) {
    return `efConstruction changed from ${meta.efConstruction} to ${options.efConstruction}`;
  }
  return undefined;
}

/**
 * hnswlib reads the file on a worker thread; then another thread checks its CRC-32 (`IndexFileCheck`) while the
 * index is already returned: it waits for the verdict before it first uses the graph, so a damaged file is still
 * never searched. Nothing else reads the file now: the vectors for exact scans are read from it on the first such
 * scan (`IndexVectors`), from the descriptor opened here and kept for that.
 */
async function loadFile(indexPath: string, meta: HnswFileMeta): Promise<LoadedState | { problem: string }> {
  const problem = indexFileProblem(indexPath, meta);
  if (problem) return { problem };
  let fd: number;
  try {
    fd = fs.openSync(indexPath, 'r');
  } catch (error) {
    return { problem: `${indexPath} could not be read: ${(error as Error).message}` };
  }
  let kept = false;
  try {
    // A fresh object per attempt: hnswlib-node leaves a failed object's pointer dangling.
    const native = new hnswlib.HierarchicalNSW('cosine', meta.dimensions);
    const loadProblem = await native.readIndex(indexPath, true).then(
      () => undefined,
      (error: Error) => `hnswlib could not read ${indexPath}: ${error.message}`,
    );
    if (loadProblem) return { problem: loadProblem };
    // hnswlib opened the file by its name: it must have read the very file checked here, not one saved since.
    if (!sameFile(fd, indexPath)) return { problem: `${indexPath} was replaced while it was being loaded` };
    if (native.getCurrentCount() !== meta.elementCount) {
      return {
        problem: `${indexPath} has ${native.getCurrentCount()} elements, ${meta.elementCount} were saved`,
      };
    }
    const deleted = new Set(meta.deletedLabels);
    const labels = native.getIdsList();
    const live = deleted.size === 0 ? labels : labels.filter((label) => !deleted.has(label));
    // Started once hnswlib is done, so the two do not compete for a core (or the disk); it reads the pages just read.
    const fileCheck = checkIndexFileInBackground(indexPath, meta, fd);
    kept = true;
    const vectors = IndexVectors.deferred(
      meta.dimensions,
      Float64Array.from(live),
      fileSource(fd, indexPath, meta),
    );
    return {
      native,
      vectors,
      tombstones: deleted,
      generation: meta.generation,
      token: meta.generationToken,
      fileCheck,
    };
  } finally {
    if (!kept) fs.closeSync(fd);
  }
}

function sameFile(fd: number, file: string): boolean {
  try {
    const opened = fs.fstatSync(fd);
    const named = fs.statSync(file);
    return opened.ino === named.ino && opened.dev === named.dev;
  } catch {
    return false;
  }
}

/** The vectors of the loaded file, read again (checksum included) from the descriptor kept since the load. */
function fileSource(fd: number, indexPath: string, meta: HnswFileMeta): MatrixSource {
  let open = true;
  return {
    fill(matrix, labels) {
      let found = 0;
      let problem: string | undefined;
      try {
        problem = scanIndexFile(
          indexPath,
          meta,
          (label, floats, start) => {
            if (!labels.has(label)) return;
            matrix.setNormalised(label, floats, start);
            found++;
          },
          fd,
        );
      } catch (error) {
        problem = (error as Error).message;
      }
      return problem === undefined && found === labels.size;
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** One progress callback for a rebuild: the plain (done, total) one and the full event with reason and ETA. */
function rebuildReporter(
  options: Pick<HnswIndexOptions, 'onRebuild' | 'onRebuildProgress'>,
  indexPath: string,
  reason: IndexRebuildProgress['reason'],
  detail: string,
): ((done: number, total: number) => void) | undefined {
  const { onRebuild, onRebuildProgress } = options;
  if (!onRebuild && !onRebuildProgress) return undefined;
  const started = Date.now();
  return (done, total) => {
    onRebuildProgress?.(done, total);
    if (!onRebuild) return;
    const elapsedMs = Date.now() - started;
    const etaMs = done > 0 ? Math.round((elapsedMs / done) * (total - done)) : undefined;
    onRebuild({
      reason,
      detail,
      indexPath,
      done,
      total,
      elapsedMs,
      ...(etaMs !== undefined ? { etaMs } : {}),
    });
  };
}

/** A new graph of every vector in the store, read in one snapshot so the recorded generation is exact. */
function buildFromStore(
  store: SqliteStore,
  settings: BuildSettings,
  onProgress?: (done: number, total: number) => void,
): LoadedState {
  return store.readSnapshot(() => {
    const { generation, token } = store.generationState();
    const count = store.countVectors();
    const native = new hnswlib.HierarchicalNSW('cosine', store.dimensions);
    native.initIndex({
      maxElements: Math.max(1024, Math.ceil(count * 1.25)),
      m: settings.M,
      efConstruction: settings.efConstruction,
      randomSeed: settings.randomSeed,
      allowReplaceDeleted: true,
    });
    const vectors = new VectorMatrix(store.dimensions);
    onProgress?.(0, count);
    for (const batch of store.iterateVectors(1024)) {
      batch.ids.forEach((id, i) => {
        native.addPoint(Array.from(batch.vectors[i]!), id);
        vectors.set(id, batch.vectors[i]!);
      });
      onProgress?.(vectors.size, count);
    }
    return { native, vectors: IndexVectors.built(vectors), tombstones: new Set<number>(), generation, token };
  });
}
