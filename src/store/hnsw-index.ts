import path from 'node:path';
import hnswlib, { type HierarchicalNSW } from 'hnswlib-node';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  HNSW_FILE_FORMAT,
  HNSW_FILE_FORMAT_VERSION,
  type HnswFileMeta,
  indexFileProblem,
  readMeta,
  saveIndexFiles,
} from './hnsw-file.js';
import type { ScoredId, SqliteStore } from './sqlite-store.js';
import { TopK } from './top-k.js';

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

/**
 * Approximate nearest-neighbour search (hnswlib, cosine) over the vectors of a SqliteStore. The index is a cache:
 * labels are chunk row ids, the file records the store generation it reflects, and whatever is missing, stale or
 * unreadable is rebuilt or caught up from SQLite.
 */
export class HnswIndex {
  /** What `open` had to do: null when the file was loaded (and caught up), else why it rebuilt. */
  readonly rebuilt: RebuildReason | null;
  /** The reason in words when `rebuilt` is not null (for logs). */
  readonly rebuildDetail: string | undefined;
  readonly indexPath: string;
  readonly dimensions: number;
  private native: HierarchicalNSW | undefined;
  /** Labels searchable now. */
  private live: Set<number>;
  /** Labels that may still sit in the graph as tombstones (a superset: hnswlib reuses tombstone slots silently). */
  private tombstones: Set<number>;
  private generation: number;
  private efSearch: number;
  private readonly M: number;
  private readonly efConstruction: number;
  private readonly randomSeed: number;

  private constructor(
    private readonly store: SqliteStore,
    indexPath: string,
    settings: { M: number; efConstruction: number; efSearch: number; randomSeed: number },
    state: LoadedState,
    rebuilt: RebuildReason | null,
    rebuildDetail: string | undefined,
  ) {
    this.indexPath = indexPath;
    this.dimensions = store.dimensions;
    this.M = settings.M;
    this.efConstruction = settings.efConstruction;
    this.efSearch = settings.efSearch;
    this.randomSeed = settings.randomSeed;
    this.native = state.native;
    this.live = state.live;
    this.tombstones = state.tombstones;
    this.generation = state.generation;
    this.rebuilt = rebuilt;
    this.rebuildDetail = rebuildDetail;
  }

  /**
   * Loads `indexPath` when it belongs to this store and passes its checks, then catches up with writes made since
   * it was saved; otherwise rebuilds from the store's vectors (and saves, unless the store is read-only).
   */
  static open(store: SqliteStore, indexPath: string, options: HnswIndexOptions = {}): HnswIndex {
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
      const loaded = loadFile(resolved, meta);
      if ('problem' in loaded) {
        reason = 'corrupt';
        detail = loaded.problem;
        continue;
      }
      const fileSettings = { ...settings, M: meta.M, efConstruction: meta.efConstruction };
      const index = new HnswIndex(store, resolved, fileSettings, loaded, null, undefined);
      index.catchUp();
      return index;
    }
    const state = buildFromStore(store, settings, options.onRebuildProgress);
    const index = new HnswIndex(store, resolved, settings, state, reason, detail);
    if (!store.readonly) index.save();
    return index;
  }

  /** Number of searchable vectors. */
  get size(): number {
    this.assertOpen();
    return this.live.size;
  }

  /** Slots allocated in the graph; grows geometrically as vectors are added. */
  get capacity(): number {
    return this.handle.getMaxElements();
  }

  /** The store `vector_generation` this index has caught up with. */
  get storeGeneration(): number {
    return this.generation;
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
    const fresh = ids.filter((id) => !this.live.has(id)).length;
    const needed = native.getCurrentCount() + fresh;
    if (needed > native.getMaxElements()) {
      native.resizeIndex(Math.max(needed, Math.ceil(native.getMaxElements() * 1.5)));
    }
    for (let i = 0; i < ids.length; i++) this.insert(native, ids[i]!, vectors[i]!);
  }

  /** Tombstones these labels: they are never returned again. Unknown or already removed ids are ignored. */
  remove(ids: readonly number[]): void {
    const native = this.handle;
    for (const id of ids) {
      if (!this.live.has(id)) continue;
      native.markDelete(id);
      this.live.delete(id);
      this.tombstones.add(id);
    }
  }

  /**
   * The k nearest vectors by cosine similarity (score = 1 − cosine distance), best first. Fewer than k come back
   * only when fewer exist (or, with a filter, when fewer pass it).
   */
  search(vector: Float32Array, k: number, options: HnswSearchOptions = {}): ScoredId[] {
    const native = this.handle;
    this.checkVector(vector, 'the query vector');
    if (!Number.isInteger(k) || k < 1) {
      throw kbError('INVALID_OPTION', `k must be a positive integer, got ${k}.`, { input: 'k' });
    }
    if (options.ef !== undefined && (!Number.isInteger(options.ef) || options.ef < 1)) {
      throw kbError('INVALID_OPTION', `ef must be a positive integer, got ${options.ef}.`, { input: 'ef' });
    }
    if (this.live.size === 0) return [];
    const wanted = Math.min(k, this.live.size);
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
      // Tombstones and filters can leave the candidate list short; widen it until the whole graph is in reach,
      // and if the graph still cannot reach enough live vectors, score them all.
      if (ef >= slots) return this.scanLive(native, point, wanted, guarded, () => filterError);
      ef = Math.min(ef * 4, slots);
    }
  }

  /**
   * Cheap check of the store's generation; when another connection or process has written since, applies those
   * changes (from the store's change log, or by comparing ids when the log no longer reaches back).
   */
  refreshIfStale(): 'current' | 'caught-up' {
    this.assertOpen();
    if (this.store.vectorGeneration() === this.generation) return 'current';
    this.catchUp();
    return 'caught-up';
  }

  /**
   * Writes the index atomically (temp file, fsync, rename, fsync the folder) with a sidecar recording the store
   * generation it reflects. Catches up with the store first, and rebuilds instead when tombstones dominate.
   */
  save(): HnswFileMeta {
    const native = this.handle;
    this.catchUp();
    const dead = native.getCurrentCount() - this.live.size;
    if (dead > Math.max(1024, this.live.size)) {
      this.replaceWith(
        buildFromStore(this.store, {
          M: this.M,
          efConstruction: this.efConstruction,
          randomSeed: this.randomSeed,
        }),
      );
    }
    const current = this.handle;
    const labels = current.getIdsList();
    const deletedLabels = labels.filter((label) => !this.live.has(label));
    this.tombstones = new Set(deletedLabels);
    const embedder = this.store.embedder!;
    return saveIndexFiles(this.indexPath, (temporaryPath) => current.writeIndexSync(temporaryPath), {
      format: HNSW_FILE_FORMAT,
      formatVersion: HNSW_FILE_FORMAT_VERSION,
      space: 'cosine',
      dimensions: this.dimensions,
      embedderId: embedder.id,
      storeId: this.store.storeId,
      generation: this.generation,
      elementCount: current.getCurrentCount(),
      deletedLabels,
      M: this.M,
      efConstruction: this.efConstruction,
    });
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

  /** Drops the native index; later calls throw STORE_CLOSED. Does not save. */
  close(): void {
    this.native = undefined;
  }

  private get handle(): HierarchicalNSW {
    this.assertOpen();
    return this.native!;
  }

  private assertOpen(): void {
    if (!this.native)
      throw kbError('STORE_CLOSED', `The HNSW index ${this.indexPath} is closed; open it again.`);
  }

  private checkVector(vector: Float32Array | undefined, what: string): void {
    if (!(vector instanceof Float32Array) || vector.length !== this.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `${what} has ${vector instanceof Float32Array ? `${vector.length} dimensions` : 'no Float32Array'}, but the index ${this.indexPath} holds ${this.dimensions}-d vectors; use the store's embedder.`,
        { input: what, details: { expected: this.dimensions, actual: vector?.length } },
      );
    }
  }

  private insert(native: HierarchicalNSW, id: number, vector: Float32Array): void {
    const point = Array.from(vector);
    if (this.live.has(id)) {
      native.addPoint(point, id, false);
      return;
    }
    if (this.tombstones.has(id)) {
      this.tombstones.delete(id);
      try {
        // The label's old slot is still in the graph: revive it and overwrite its vector.
        native.unmarkDelete(id);
        native.addPoint(point, id, false);
        this.live.add(id);
        return;
      } catch (error) {
        // Its slot was reused by another label in the meantime, so it is simply new.
        if (!String((error as Error).message).includes('Label not found')) throw error;
      }
    }
    native.addPoint(point, id, true);
    this.live.add(id);
  }

  /** Exact scan of the live vectors held by the graph (already normalised by hnswlib's cosine space). */
  private scanLive(
    native: HierarchicalNSW,
    point: number[],
    k: number,
    filter: ((id: number) => boolean) | undefined,
    filterError: () => unknown,
  ): ScoredId[] {
    const norm = Math.sqrt(point.reduce((sum, value) => sum + value * value, 0)) || 1;
    const query = point.map((value) => value / norm);
    const top = new TopK(k);
    for (const id of this.live) {
      if (filter && !filter(id)) continue;
      const stored = native.getPoint(id);
      let dot = 0;
      for (let i = 0; i < query.length; i++) dot += query[i]! * stored[i]!;
      top.push(id, dot);
    }
    if (filterError() !== undefined) throw filterError();
    return top.sorted();
  }

  /** Brings the index to the store's current generation: adds new vectors, tombstones removed ones. */
  private catchUp(): void {
    this.store.readSnapshot(() => {
      const current = this.store.vectorGeneration();
      if (current === this.generation) return;
      const changed = this.store.vectorChangesSince(this.generation);
      let removed: number[];
      let missing: number[];
      if (changed) {
        // Chunk ids are never reused and their vectors never change, so presence is all that matters.
        const present = this.store.vectorChunkIdsAmong(changed);
        removed = changed.filter((id) => this.live.has(id) && !present.has(id));
        missing = changed.filter((id) => !this.live.has(id) && present.has(id));
      } else {
        // The change log has been pruned past our generation: compare the full id sets instead.
        const ids = this.store.vectorChunkIds();
        const present = new Set(ids);
        removed = [...this.live].filter((id) => !present.has(id));
        missing = ids.filter((id) => !this.live.has(id));
      }
      this.remove(removed);
      const batchSize = 4096;
      for (let offset = 0; offset < missing.length; offset += batchSize) {
        const vectors = this.store.getVectors(missing.slice(offset, offset + batchSize));
        this.add([...vectors.keys()], [...vectors.values()]);
      }
      this.generation = current;
    });
  }

  private replaceWith(state: LoadedState): void {
    this.native = state.native;
    this.live = state.live;
    this.tombstones = state.tombstones;
    this.generation = state.generation;
  }
}

interface LoadedState {
  native: HierarchicalNSW;
  live: Set<number>;
  tombstones: Set<number>;
  generation: number;
}

const HNSW_INDEX_OPTIONS = declareOptions<HnswIndexOptions>('HnswIndex.open', {
  M: 'integer',
  efConstruction: 'integer',
  efSearch: 'integer',
  randomSeed: 'integer',
  onRebuildProgress: 'function',
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
    return `the file is from generation ${meta.generation}, ahead of the store`;
  if (options.M !== undefined && options.M !== meta.M) return `M changed from ${meta.M} to ${options.M}`;
  if (options.efConstruction !== undefined && options.efConstruction !== meta.efConstruction) {
    return `efConstruction changed from ${meta.efConstruction} to ${options.efConstruction}`;
  }
  return undefined;
}

function loadFile(indexPath: string, meta: HnswFileMeta): LoadedState | { problem: string } {
  const problem = indexFileProblem(indexPath, meta);
  if (problem) return { problem };
  // A fresh object per attempt: hnswlib-node leaves a failed object's pointer dangling.
  const native = new hnswlib.HierarchicalNSW('cosine', meta.dimensions);
  try {
    native.readIndexSync(indexPath, true);
  } catch (error) {
    return { problem: `hnswlib could not read ${indexPath}: ${(error as Error).message}` };
  }
  const labels = native.getIdsList();
  if (labels.length !== meta.elementCount) {
    return { problem: `${indexPath} has ${labels.length} labels, ${meta.elementCount} were saved` };
  }
  const tombstones = new Set(meta.deletedLabels);
  const live = new Set(labels.filter((label) => !tombstones.has(label)));
  return { native, live, tombstones, generation: meta.generation };
}

/** A new graph of every vector in the store, read in one snapshot so the recorded generation is exact. */
function buildFromStore(
  store: SqliteStore,
  settings: { M: number; efConstruction: number; randomSeed: number },
  onProgress?: (done: number, total: number) => void,
): LoadedState {
  return store.readSnapshot(() => {
    const generation = store.vectorGeneration();
    const count = store.countVectors();
    const native = new hnswlib.HierarchicalNSW('cosine', store.dimensions);
    native.initIndex({
      maxElements: Math.max(1024, Math.ceil(count * 1.25)),
      m: settings.M,
      efConstruction: settings.efConstruction,
      randomSeed: settings.randomSeed,
      allowReplaceDeleted: true,
    });
    const live = new Set<number>();
    for (const batch of store.iterateVectors()) {
      batch.ids.forEach((id, i) => {
        native.addPoint(Array.from(batch.vectors[i]!), id);
        live.add(id);
      });
      onProgress?.(live.size, count);
    }
    return { native, live, tombstones: new Set<number>(), generation };
  });
}
