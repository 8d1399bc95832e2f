import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLocalKbError, type LocalKbError } from '../../src/errors.js';
import { exactSearch } from '../../src/store/exact-search.js';
import { HnswIndex, type IndexRebuildProgress } from '../../src/store/hnsw-index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { makeDocument, makeTempDir, randomUnitVector, seededRandom } from './store-fixtures.js';

const DIMENSIONS = 16;
const EMBEDDER = { id: 'test:embedder', dimensions: DIMENSIONS };

function thrown(fn: () => unknown): LocalKbError {
  try {
    fn();
  } catch (error) {
    if (isLocalKbError(error)) return error;
    throw error;
  }
  throw new Error('expected a LocalKbError, nothing was thrown');
}

describe('HnswIndex', async () => {
  let dir: string;
  let dbPath: string;
  let indexPath: string;
  let store: SqliteStore;
  let random: () => number;
  const opened: HnswIndex[] = [];

  /** Stores one document per call with `count` chunks; returns chunk ids and their vectors. */
  function ingest(docId: string, count: number, target = store) {
    const { document, chunks } = makeDocument(
      docId,
      Array.from({ length: count }, (_, i) => `chunk ${i} of ${docId}`),
    );
    const vectors = chunks.map(() => randomUnitVector(DIMENSIONS, random));
    const { addedChunkIds, removedChunkIds } = target.upsertDocument(document, chunks, vectors);
    return { ids: addedChunkIds, vectors, removedChunkIds };
  }

  async function open(options = {}) {
    const index = await HnswIndex.open(store, indexPath, options);
    opened.push(index);
    return index;
  }

  beforeEach(() => {
    dir = makeTempDir();
    dbPath = path.join(dir, 'kb.db');
    indexPath = `${dbPath}.hnsw`;
    random = seededRandom(42);
    store = SqliteStore.open(dbPath, { embedder: EMBEDDER });
  });
  afterEach(() => {
    for (const index of opened.splice(0)) index.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds from SQLite when the file is missing, saves it, and loads it on the next open', async () => {
    const { ids, vectors } = ingest('a', 50);
    const progress: [number, number][] = [];
    const first = await open({
      onRebuildProgress: (done: number, total: number) => progress.push([done, total]),
    });
    expect(first.rebuilt).toBe('missing');
    expect(progress.at(-1)).toEqual([50, 50]);
    expect(first.size).toBe(50);
    expect(fs.existsSync(indexPath)).toBe(true);
    const query = vectors[7]!;
    const expected = first.search(query, 5);
    expect(expected[0]).toEqual({ id: ids[7], score: expect.closeTo(1, 5) });

    const second = await open();
    expect(second.rebuilt).toBeNull();
    expect(second.size).toBe(50);
    expect(second.search(query, 5)).toEqual(expected);
  });

  it('says why it rebuilds and reports the rebuild up to its total, then loads the saved result', async () => {
    ingest('a', 30);
    const events: IndexRebuildProgress[] = [];
    (await open({ onRebuild: (p: IndexRebuildProgress) => events.push(p) })).close();
    expect(events[0]).toMatchObject({ reason: 'missing', done: 0, total: 30, indexPath });
    expect(events[0]!.detail).toContain('does not exist');
    expect(events.at(-1)).toMatchObject({ done: 30, total: 30, etaMs: 0 });
    const again: IndexRebuildProgress[] = [];
    const loaded = await open({ onRebuild: (p: IndexRebuildProgress) => again.push(p) });
    expect(loaded.rebuilt).toBeNull();
    expect(again).toEqual([]);
  });

  it('catches a lagging file up with the writes made since it was saved', async () => {
    const a = ingest('a', 20);
    (await open()).close();
    const b = ingest('b', 10);
    store.deleteDocument('a');

    const index = await open();
    expect(index.rebuilt).toBeNull();
    expect(index.size).toBe(10);
    expect(index.storeGeneration).toBe(store.vectorGeneration());
    const found = index.search(b.vectors[3]!, 30).map((r) => r.id);
    expect(found[0]).toBe(b.ids[3]);
    expect(found.filter((id) => a.ids.includes(id))).toEqual([]);
  });

  it('catches up by comparing ids when the change log no longer reaches back', async () => {
    const a = ingest('a', 20);
    (await open()).close();
    const b = ingest('b', 10);
    store.deleteDocument('a');
    const raw = new Database(dbPath);
    raw.exec(
      "DELETE FROM chunk_changes; UPDATE settings SET value = 1000 WHERE key = 'vector_changes_floor'",
    );
    raw.close();
    expect(store.chunkChangesSince(1)).toBeUndefined();

    const index = await open();
    expect(index.rebuilt).toBeNull();
    expect(index.size).toBe(10);
    const found = index.search(b.vectors[0]!, 30).map((r) => r.id);
    expect(found[0]).toBe(b.ids[0]);
    expect(found.filter((id) => a.ids.includes(id))).toEqual([]);
  });

  it('rebuilds a file that belongs to another store as stale', async () => {
    ingest('a', 5);
    (await open()).close();
    const otherDb = path.join(dir, 'other.db');
    const other = SqliteStore.open(otherDb, { embedder: EMBEDDER });
    ingest('b', 3, other);
    fs.copyFileSync(indexPath, `${otherDb}.hnsw`);
    fs.copyFileSync(`${indexPath}.json`, `${otherDb}.hnsw.json`);
    const index = await HnswIndex.open(other, `${otherDb}.hnsw`);
    expect(index.rebuilt).toBe('stale');
    expect(index.rebuildDetail).toContain('another store');
    expect(index.size).toBe(3);
    index.close();
    other.close();
  });

  it('rebuilds instead of trusting a file saved in another history of the store (a restored backup)', async () => {
    ingest('a', 10);
    store.close();
    const backup = path.join(dir, 'backup.db');
    fs.copyFileSync(dbPath, backup);
    store = SqliteStore.open(dbPath);
    const lost = ingest('b', 10);
    (await open()).close(); // saved at generation 2, with b in it
    // Restore the backup (generation 1) and write once more: generation 2 again, but not the same write.
    store.close();
    fs.copyFileSync(backup, dbPath);
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${dbPath}${suffix}`, { force: true });
    store = SqliteStore.open(dbPath);
    const kept = ingest('c', 5);
    expect(store.vectorGeneration()).toBe(2);

    const index = await open();
    expect(index.rebuilt).toBe('stale');
    expect(index.rebuildDetail).toContain('another history');
    expect(index.size).toBe(15);
    const found = index.search(lost.vectors[0]!, 15).map((r) => r.id);
    expect(found).toEqual(expect.arrayContaining(kept.ids));
    expect(found.filter((id) => lost.ids.includes(id) && !kept.ids.includes(id))).toEqual([]);
  });

  it('rebuilds an open index whose store turns out to follow another history', async () => {
    ingest('a', 10);
    const index = await open();
    // Another history: the token of the index's generation is not the store's any more.
    const raw = new Database(dbPath);
    raw
      .prepare("UPDATE store_generations SET token = 'f00d' WHERE generation = ?")
      .run(index.storeGeneration);
    raw.close();
    const replaced = ingest('b', 4);
    store.deleteDocument('a');
    expect(index.refreshIfStale()).toBe('caught-up');
    expect(index.size).toBe(4);
    expect(index.search(replaced.vectors[1]!, 1)[0]?.id).toBe(replaced.ids[1]);
  });

  it('rebuilds as stale when the build parameters change', async () => {
    ingest('a', 5);
    (await open({ M: 16 })).close();
    const index = await open({ M: 8 });
    expect(index.rebuilt).toBe('stale');
    expect((await open({ M: 8 })).rebuilt).toBeNull();
  });

  it('reads the vectors for exact scans on first need, with the changes made since the load laid over them', async () => {
    const first = ingest('a', 60);
    (await open()).close();
    const index = await open();
    expect(index.rebuilt).toBeNull();
    expect(index.vectorsLoaded).toBe(false);
    // Changes before the first exact scan: a removal, a replacement, a new vector.
    const replacement = randomUnitVector(DIMENSIONS, random);
    const added = randomUnitVector(DIMENSIONS, random);
    index.remove([first.ids[0]!]);
    index.add([first.ids[1]!, 10_000], [replacement, added]);
    // A newer file saved by someone else in the meantime must not mix in: the loaded one was kept open.
    const other = await open();
    other.remove(first.ids.slice(10, 20));
    other.save();
    const scanned = index.exactSearch(first.vectors[5]!, 70);
    expect(index.vectorsLoaded).toBe(true);
    expect(scanned).toHaveLength(60);
    expect(scanned[0]).toEqual({ id: first.ids[5], score: expect.closeTo(1, 5) });
    expect(scanned.map((r) => r.id)).not.toContain(first.ids[0]);
    expect(scanned.map((r) => r.id)).toContain(first.ids[15]);
    expect(index.exactSearch(replacement, 1)[0]).toEqual({ id: first.ids[1], score: expect.closeTo(1, 5) });
    expect(index.exactSearch(added, 1)[0]).toEqual({ id: 10_000, score: expect.closeTo(1, 5) });
    expect(Array.from(index.vector(first.ids[7]!)!)).toEqual(
      Array.from(first.vectors[7]!, (x) => expect.closeTo(x, 5)),
    );
  });

  it('rebuilds from the store when the loaded file is damaged in place before its vectors are read', async () => {
    const { ids, vectors } = ingest('a', 40);
    (await open()).close();
    const rebuilds: IndexRebuildProgress[] = [];
    const index = await open({ onRebuild: (progress: IndexRebuildProgress) => rebuilds.push(progress) });
    expect(index.rebuilt).toBeNull();
    // Written into the very file the index holds open (a rename would leave the loaded copy intact).
    const fd = fs.openSync(indexPath, 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0xab), 0, 64, 400);
    fs.closeSync(fd);
    expect(index.exactSearch(vectors[3]!, 1)[0]).toEqual({ id: ids[3], score: expect.closeTo(1, 5) });
    expect(rebuilds[0]?.reason).toBe('corrupt');
    expect(index.size).toBe(40);
    expect(index.search(vectors[9]!, 1)[0]?.id).toBe(ids[9]);
  });

  it('checks the checksum of a loaded file before its first search, and rebuilds a file that fails it', async () => {
    const { ids, vectors } = ingest('a', 40);
    (await open()).close();
    // Bytes of one vector changed: the header, the size and hnswlib's own checks all still pass.
    const fd = fs.openSync(indexPath, 'r+');
    // Element 20 of 16-d, M 16 elements (132 bytes of links, 64 of vector, 8 of label), after the 96-byte header.
    fs.writeSync(fd, Buffer.alloc(32, 0x5a), 0, 32, 96 + 20 * 204 + 132);
    fs.closeSync(fd);
    const rebuilds: IndexRebuildProgress[] = [];
    const index = await open({ onRebuild: (progress: IndexRebuildProgress) => rebuilds.push(progress) });
    expect(index.search(vectors[3]!, 1)[0]).toEqual({ id: ids[3], score: expect.closeTo(1, 5) });
    expect(rebuilds[0]).toMatchObject({ reason: 'corrupt', detail: expect.stringContaining('CRC-32') });
    expect(index.size).toBe(40);
    // The rebuild was saved: the next open loads it and finds nothing wrong.
    const again = await open({ onRebuild: (progress: IndexRebuildProgress) => rebuilds.push(progress) });
    expect(again.search(vectors[5]!, 1)[0]?.id).toBe(ids[5]);
    expect(rebuilds.filter((r) => r.done === 0)).toHaveLength(1);
  });

  it('rebuilds a truncated file as corrupt without crashing', async () => {
    const { ids, vectors } = ingest('a', 40);
    (await open()).close();
    const size = fs.statSync(indexPath).size;
    fs.truncateSync(indexPath, Math.floor(size / 2));
    const index = await open();
    expect(index.rebuilt).toBe('corrupt');
    expect(index.search(vectors[0]!, 1)[0]?.id).toBe(ids[0]);
    // The rebuild was saved, so the next open loads it.
    expect((await open()).rebuilt).toBeNull();
  });

  it('rebuilds a file overwritten with garbage of the same size as corrupt', async () => {
    ingest('a', 40);
    (await open()).close();
    const size = fs.statSync(indexPath).size;
    const garbage = Buffer.alloc(size);
    for (let i = 0; i < size; i++) garbage[i] = Math.floor(random() * 256);
    fs.writeFileSync(indexPath, garbage);
    const index = await open();
    expect(index.rebuilt).toBe('corrupt');
    expect(index.size).toBe(40);
  });

  it('rebuilds when the sidecar is not JSON, or when only one of the two files is there', async () => {
    ingest('a', 10);
    (await open()).close();
    fs.writeFileSync(`${indexPath}.json`, '{not json');
    expect((await open()).rebuilt).toBe('corrupt');
    fs.rmSync(`${indexPath}.json`);
    expect((await open()).rebuilt).toBe('corrupt');
  });

  it('grows past its initial capacity', async () => {
    const index = await open();
    const initialCapacity = index.capacity;
    const batches = [];
    while (index.size <= initialCapacity) {
      const batch = ingest(`doc${batches.length}`, 300);
      index.add(batch.ids, batch.vectors);
      batches.push(batch);
    }
    expect(index.capacity).toBeGreaterThan(initialCapacity);
    expect(index.size).toBe(store.countVectors());
    for (const batch of [batches[0]!, batches[batches.length - 1]!]) {
      expect(index.search(batch.vectors[5]!, 1)[0]?.id).toBe(batch.ids[5]);
    }
  });

  it('never returns a removed id, even when asked for every vector', async () => {
    const { ids, vectors } = ingest('a', 200);
    const index = await open();
    const removed = ids.filter((_, i) => i % 2 === 0);
    index.remove(removed);
    expect(index.size).toBe(100);
    for (const query of [vectors[0]!, vectors[1]!, vectors[50]!]) {
      const results = index.search(query, 200);
      expect(results).toHaveLength(100);
      expect(results.filter((r) => removed.includes(r.id))).toEqual([]);
    }
  });

  it('widens its search until k results come back when tombstones crowd a sparse graph', async () => {
    // M=2 with 98% of the graph tombstoned: a search at the default ef comes back short, a wider one does not.
    const ids: number[] = [];
    for (let d = 0; d < 6; d++) ids.push(...ingest(`d${d}`, 500).ids);
    const index = await open({ M: 2, efConstruction: 10, efSearch: 10 });
    const kept = ids.filter((_, i) => i % 50 === 0);
    index.remove(ids.filter((_, i) => i % 50 !== 0));
    for (let q = 0; q < 5; q++) {
      const results = index.search(randomUnitVector(DIMENSIONS, random), kept.length);
      expect(results.map((r) => r.id).sort((x, y) => x - y)).toEqual(kept);
    }
  });

  it('takes back a removed label when it is added again', async () => {
    const { ids, vectors } = ingest('a', 30);
    const index = await open();
    index.remove([ids[4]!]);
    expect(index.search(vectors[4]!, 1)[0]?.id).not.toBe(ids[4]);
    const replacement = randomUnitVector(DIMENSIONS, random);
    index.add([ids[4]!], [replacement]);
    expect(index.size).toBe(30);
    expect(index.search(replacement, 1)[0]).toEqual({ id: ids[4], score: expect.closeTo(1, 5) });
  });

  it('returns only ids the filter allows, still k of them', async () => {
    const { ids, vectors } = ingest('a', 300);
    const index = await open();
    const allowed = new Set(ids.filter((_, i) => i % 10 === 0));
    const results = index.search(vectors[1]!, 10, { filter: (id) => allowed.has(id) });
    expect(results).toHaveLength(10);
    expect(results.every((r) => allowed.has(r.id))).toBe(true);
    expect(results.map((r) => r.id)).toEqual(
      exactSearch(store, vectors[1]!, 10, { candidateIds: [...allowed] }).map((r) => r.id),
    );
  });

  it('passes on an error thrown by the filter', async () => {
    ingest('a', 20);
    const index = await open();
    expect(() =>
      index.search(randomUnitVector(DIMENSIONS, random), 5, {
        filter: () => {
          throw new Error('filter broke');
        },
      }),
    ).toThrow('filter broke');
  });

  it('saves atomically, leaving only the index and its sidecar', async () => {
    ingest('a', 100);
    const index = await open();
    const meta = index.save();
    const names = fs.readdirSync(dir).filter((name) => name.startsWith('kb.db.hnsw'));
    expect(names.sort()).toEqual(['kb.db.hnsw', 'kb.db.hnsw.json']);
    expect(fs.statSync(indexPath).size).toBe(meta.bytes);
    expect(JSON.parse(fs.readFileSync(`${indexPath}.json`, 'utf8'))).toMatchObject({
      generation: store.vectorGeneration(),
      dimensions: DIMENSIONS,
      embedderId: EMBEDDER.id,
      storeId: store.storeId,
      space: 'cosine',
      elementCount: 100,
    });
  });

  it('records tombstones in the file so a reload does not resurrect them', async () => {
    const { ids, vectors } = ingest('a', 50);
    const index = await open();
    index.remove([ids[0]!]);
    // The store still has the vector: only the index forgot it. A reload must keep it forgotten.
    index.save();
    const reloaded = await open();
    expect(reloaded.rebuilt).toBeNull();
    expect(reloaded.size).toBe(49);
    expect(reloaded.search(vectors[0]!, 50).map((r) => r.id)).not.toContain(ids[0]);
  });

  it('picks up writes made through another connection when refreshed', async () => {
    ingest('a', 10);
    const index = await open();
    const writer = SqliteStore.open(dbPath);
    const added = ingest('b', 5, writer);
    writer.deleteDocument('a');
    writer.close();

    expect(index.refreshIfStale()).toBe('caught-up');
    expect(index.size).toBe(5);
    expect(index.search(added.vectors[2]!, 1)[0]?.id).toBe(added.ids[2]);
    expect(index.refreshIfStale()).toBe('current');
  });

  it('agrees with exact search at recall@10 of at least 0.95 on random vectors', async () => {
    const ids: number[] = [];
    for (let d = 0; d < 6; d++) ids.push(...ingest(`d${d}`, 100).ids);
    const index = await open();
    let hits = 0;
    const queries = 40;
    for (let q = 0; q < queries; q++) {
      const query = randomUnitVector(DIMENSIONS, random);
      const exact = exactSearch(store, query, 10);
      const approximate = index.search(query, 10);
      expect(approximate.map((r) => r.score)).toEqual(
        [...approximate.map((r) => r.score)].sort((x, y) => y - x),
      );
      const truth = new Set(exact.map((r) => r.id));
      hits += approximate.filter((r) => truth.has(r.id)).length;
      expect(approximate[0]!.score).toBeCloseTo(
        exact.find((r) => r.id === approximate[0]!.id)?.score ?? -1,
        5,
      );
    }
    expect(hits / (queries * 10)).toBeGreaterThanOrEqual(0.95);
  });

  it('returns fewer than k only when fewer vectors exist', async () => {
    ingest('a', 3);
    expect((await open()).search(randomUnitVector(DIMENSIONS, random), 10)).toHaveLength(3);
  });

  it('rejects a query of the wrong dimension', async () => {
    ingest('a', 3);
    const index = await open();
    const error = thrown(() => index.search(new Float32Array(DIMENSIONS + 1), 3));
    expect(error.code).toBe('DIMENSION_MISMATCH');
  });

  it('refuses a BM25-only store', async () => {
    const bm25 = SqliteStore.open(path.join(dir, 'bm25.db'), { embedder: { id: 'none', dimensions: 0 } });
    await expect(HnswIndex.open(bm25, path.join(dir, 'bm25.db.hnsw'))).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    bm25.close();
  });

  it('throws STORE_CLOSED once closed', async () => {
    const index = await open();
    index.close();
    expect(thrown(() => index.search(new Float32Array(DIMENSIONS), 1)).code).toBe('STORE_CLOSED');
  });
});

describe('exactSearch', async () => {
  it('ranks by cosine similarity and honours candidate ids', async () => {
    const dir = makeTempDir();
    const store = SqliteStore.open(path.join(dir, 'kb.db'), { embedder: { id: 'e', dimensions: 3 } });
    const { document, chunks } = makeDocument('a', ['x', 'y', 'z']);
    const vectors = [
      new Float32Array([1, 0, 0]),
      new Float32Array([0.7, 0.7, 0]),
      new Float32Array([0, 0, 5]),
    ];
    const ids = store.upsertDocument(document, chunks, vectors).addedChunkIds;
    const results = exactSearch(store, new Float32Array([2, 0, 0]), 3);
    expect(results.map((r) => r.id)).toEqual(ids);
    expect(results[0]!.score).toBeCloseTo(1, 6);
    expect(results[1]!.score).toBeCloseTo(Math.SQRT1_2, 6);
    expect(results[2]!.score).toBeCloseTo(0, 6);
    expect(
      exactSearch(store, new Float32Array([2, 0, 0]), 3, { candidateIds: [ids[2]!] }).map((r) => r.id),
    ).toEqual([ids[2]]);
    expect(thrown(() => exactSearch(store, new Float32Array(2), 3)).code).toBe('DIMENSION_MISMATCH');
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
