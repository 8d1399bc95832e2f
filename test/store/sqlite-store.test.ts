import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLocalKbError, type LocalKbError } from '../../src/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Chunk } from '../../src/types.js';
import { makeDocument, makeTempDir, randomUnitVector, seededRandom } from './store-fixtures.js';

const EMBEDDER = { id: 'test:embedder', dimensions: 8 };

function thrown(fn: () => unknown): LocalKbError {
  try {
    fn();
  } catch (error) {
    if (isLocalKbError(error)) return error;
    throw error;
  }
  throw new Error('expected a LocalKbError, nothing was thrown');
}

/** Counts rows straight from SQLite, bypassing the store, to see what is really on disk. */
function rawCounts(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      documents: count('SELECT count(*) FROM documents'),
      chunks: count('SELECT count(*) FROM chunks'),
      vectors: count('SELECT coalesce(sum(length(chunk_offsets)), 0) / 4 FROM vector_blocks'),
      // One docsize row per section FTS5 indexes.
      ftsRows: count('SELECT count(*) FROM bm25_fts_docsize'),
    };
  } finally {
    db.close();
  }
}

describe('SqliteStore', () => {
  let dir: string;
  let dbPath: string;
  const random = seededRandom(7);
  const vectorsFor = (chunks: Chunk[]) => chunks.map(() => randomUnitVector(EMBEDDER.dimensions, random));

  beforeEach(() => {
    dir = makeTempDir();
    dbPath = path.join(dir, 'kb.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('opening', () => {
    it('creates the schema, its migration record and the settings on first open', () => {
      const store = SqliteStore.open(dbPath, {
        embedder: EMBEDDER,
        chunker: { strategy: 'fixed', size: 200 },
      });
      const settings = store.settings();
      store.close();
      expect(settings).toMatchObject({
        schemaVersion: SCHEMA_VERSION,
        embedderId: EMBEDDER.id,
        dimensions: EMBEDDER.dimensions,
        distance: 'cosine',
        chunker: { strategy: 'fixed', size: 200 },
        vectorGeneration: 0,
      });
      expect(settings.storeId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(settings.createdAt))).toBe(false);

      const db = new Database(dbPath, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual(
        MIGRATIONS.map((m) => m.version),
      );
      db.close();
    });

    it('reads the settings of a store without keeping it open, and nothing for a missing file', () => {
      expect(SqliteStore.readSettings(dbPath)).toBeUndefined();
      SqliteStore.open(dbPath, { embedder: EMBEDDER }).close();
      expect(SqliteStore.readSettings(dbPath)).toMatchObject({ embedderId: EMBEDDER.id, dimensions: 8 });
    });

    it('keeps the store id and embedder across reopenings', () => {
      const first = SqliteStore.open(dbPath, { embedder: EMBEDDER });
      const id = first.storeId;
      first.close();
      const second = SqliteStore.open(dbPath);
      expect(second.storeId).toBe(id);
      expect(second.embedder).toEqual(EMBEDDER);
      second.close();
    });

    it('refuses another embedder id, naming both embedders and the fix', () => {
      SqliteStore.open(dbPath, { embedder: EMBEDDER }).close();
      const error = thrown(() =>
        SqliteStore.open(dbPath, { embedder: { id: 'other:model', dimensions: 8 } }),
      );
      expect(error.code).toBe('EMBEDDER_MISMATCH');
      expect(error.message).toContain('"test:embedder" (8 dimensions)');
      expect(error.message).toContain('"other:model" (8 dimensions)');
      expect(error.message).toContain('new --db');
      expect(SqliteStore.readSettings(dbPath)?.embedderId).toBe(EMBEDDER.id);
    });

    it('refuses the same embedder id with another dimension', () => {
      SqliteStore.open(dbPath, { embedder: EMBEDDER }).close();
      const error = thrown(() => SqliteStore.open(dbPath, { embedder: { id: EMBEDDER.id, dimensions: 16 } }));
      expect(error.code).toBe('DIMENSION_MISMATCH');
      expect(error.message).toContain('8 dimensions');
      expect(error.message).toContain('16 dimensions');
    });

    it('refuses a file that is not a SQLite database as STORE_CORRUPT', () => {
      fs.writeFileSync(dbPath, 'this is a text file, not a database '.repeat(200));
      const error = thrown(() => SqliteStore.open(dbPath, { embedder: EMBEDDER }));
      expect(error.code).toBe('STORE_CORRUPT');
      expect(error.input).toBe(dbPath);
    });

    it('refuses a SQLite database of another application as STORE_CORRUPT', () => {
      const db = new Database(dbPath);
      db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)');
      db.close();
      expect(thrown(() => SqliteStore.open(dbPath, { embedder: EMBEDDER })).code).toBe('STORE_CORRUPT');
    });

    it('refuses a store with a newer schema version than it knows', () => {
      SqliteStore.open(dbPath, { embedder: EMBEDDER }).close();
      const db = new Database(dbPath);
      db.prepare("UPDATE settings SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION + 1);
      db.close();
      const error = thrown(() => SqliteStore.open(dbPath));
      expect(error.code).toBe('STORE_CORRUPT');
      expect(error.message).toContain('upgrade localkb');
    });

    it('opens read-only for queries and refuses writes there', () => {
      const writer = SqliteStore.open(dbPath, { embedder: EMBEDDER });
      const { document, chunks } = makeDocument('a', ['alpha beta']);
      writer.upsertDocument(document, chunks, vectorsFor(chunks));
      writer.close();
      const reader = SqliteStore.open(dbPath, { readonly: true });
      expect(reader.bm25Search('alpha', 5)).toHaveLength(1);
      expect(thrown(() => reader.upsertDocument(document, chunks, vectorsFor(chunks))).code).toBe(
        'INVALID_OPTION',
      );
      reader.close();
    });

    it('reports a missing file for a read-only open', () => {
      const error = thrown(() => SqliteStore.open(path.join(dir, 'nope.db'), { readonly: true }));
      expect(error.code).toBe('STORE_NOT_FOUND');
    });

    it('reports a chunker change against the recorded one', () => {
      SqliteStore.open(dbPath, { embedder: EMBEDDER, chunker: { size: 200 } }).close();
      const same = SqliteStore.open(dbPath, { chunker: { size: 200 } });
      expect(same.chunkerChanged).toBe(false);
      same.close();
      const changed = SqliteStore.open(dbPath, { chunker: { size: 300 } });
      expect(changed.chunkerChanged).toBe(true);
      expect(changed.settings().chunker).toEqual({ size: 300 });
      changed.close();
    });
  });

  describe('documents and chunks', () => {
    let store: SqliteStore;
    beforeEach(() => {
      store = SqliteStore.open(dbPath, { embedder: EMBEDDER });
    });
    afterEach(() => store.close());

    it('reads one committed state inside readSnapshot, nests, and ends the transaction when it throws', () => {
      const a = makeDocument('a', ['one']);
      store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
      const writer = SqliteStore.open(dbPath, { embedder: EMBEDDER });
      const b = makeDocument('b', ['two']);
      const seen = store.readSnapshot(() => {
        const before = store.countChunks();
        writer.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
        return [before, store.readSnapshot(() => store.countChunks())];
      });
      expect(seen).toEqual([1, 1]);
      expect(store.countChunks()).toBe(2);
      expect(() =>
        store.readSnapshot(() => {
          store.countChunks();
          throw new Error('inside');
        }),
      ).toThrow('inside');
      // The snapshot ended with the throw: the next read sees the next write.
      writer.deleteDocument('a');
      expect(store.countChunks()).toBe(1);
      writer.close();
    });

    it('stores a document with its text, chunks, vectors and FTS rows in one upsert', () => {
      const { document, chunks } = makeDocument(
        'guide.md',
        ['Install the package with npm', 'Configure the region'],
        {
          team: 'docs',
        },
      );
      document.pages = [{ page: 1, start: 0, end: document.text.length }];
      const vectors = vectorsFor(chunks);
      const result = store.upsertDocument(document, chunks, vectors);

      expect(result.addedChunkIds).toHaveLength(2);
      expect(result.removedChunkIds).toEqual([]);
      expect(rawCounts(dbPath)).toEqual({ documents: 1, chunks: 2, vectors: 2, ftsRows: 2 });
      const stored = store.getDocument('guide.md');
      expect(stored).toMatchObject({
        rowId: result.documentRowId,
        uri: 'file:///docs/guide.md',
        text: document.text,
        title: 'Title of guide.md',
        pages: document.pages,
        metadata: { team: 'docs', title: 'Title of guide.md' },
      });
      expect(store.getVector(result.addedChunkIds[1]!)).toEqual(vectors[1]);
      expect(store.vectorGeneration()).toBe(1);
    });

    it('replaces all chunks of a document on a second upsert and keeps the document row', () => {
      const first = makeDocument('a', ['the old zebra text', 'more old zebra words']);
      const before = store.upsertDocument(first.document, first.chunks, vectorsFor(first.chunks));
      const second = makeDocument('a', ['a new giraffe text']);
      const after = store.upsertDocument(second.document, second.chunks, vectorsFor(second.chunks));

      expect(after.documentRowId).toBe(before.documentRowId);
      expect(after.removedChunkIds.sort()).toEqual([...before.addedChunkIds].sort());
      expect(Math.min(...after.addedChunkIds)).toBeGreaterThan(Math.max(...before.addedChunkIds));
      expect(rawCounts(dbPath)).toEqual({ documents: 1, chunks: 1, vectors: 1, ftsRows: 1 });
      expect(store.bm25Search('zebra', 10)).toEqual([]);
      expect(store.bm25Search('giraffe', 10).map((r) => r.id)).toEqual(after.addedChunkIds);
      expect(store.getVectors(before.addedChunkIds).size).toBe(0);
      expect(store.vectorGeneration()).toBe(2);
    });

    it('deletes a document with its chunks, vectors and FTS rows and returns the chunk ids', () => {
      const kept = makeDocument('kept', ['kept document about whales']);
      const gone = makeDocument('gone', ['deleted document about whales', 'and walruses']);
      store.upsertDocument(kept.document, kept.chunks, vectorsFor(kept.chunks));
      const { addedChunkIds } = store.upsertDocument(gone.document, gone.chunks, vectorsFor(gone.chunks));

      expect(store.deleteDocument('gone')?.sort()).toEqual([...addedChunkIds].sort());
      expect(rawCounts(dbPath)).toEqual({ documents: 1, chunks: 1, vectors: 1, ftsRows: 1 });
      expect(store.bm25Search('walruses', 10)).toEqual([]);
      expect(store.bm25Search('whales', 10)).toHaveLength(1);
      expect(store.getDocument('gone')).toBeUndefined();
      expect(store.vectorGeneration()).toBe(3);
    });

    it('returns undefined for deleting an unknown document and leaves the generation alone', () => {
      expect(store.deleteDocument('never-stored')).toBeUndefined();
      expect(store.vectorGeneration()).toBe(0);
    });

    it('rejects a wrong-length vector before writing anything', () => {
      const original = makeDocument('a', ['original text stays']);
      store.upsertDocument(original.document, original.chunks, vectorsFor(original.chunks));
      const countsBefore = rawCounts(dbPath);
      const replacement = makeDocument('a', ['replacement text', 'second chunk']);
      const vectors = [randomUnitVector(8, random), randomUnitVector(7, random)];

      const error = thrown(() => store.upsertDocument(replacement.document, replacement.chunks, vectors));
      expect(error.code).toBe('DIMENSION_MISMATCH');
      expect(error.message).toContain('7-d');
      expect(error.message).toContain('8-d');
      expect(rawCounts(dbPath)).toEqual(countsBefore);
      expect(store.getDocument('a')?.text).toBe(original.document.text);
      expect(store.bm25Search('original', 5)).toHaveLength(1);
      expect(store.vectorGeneration()).toBe(1);
    });

    it('rejects a vector list that does not match the chunk list', () => {
      const { document, chunks } = makeDocument('a', ['one', 'two']);
      expect(thrown(() => store.upsertDocument(document, chunks, [null])).code).toBe('INVALID_OPTION');
      expect(rawCounts(dbPath).documents).toBe(0);
    });

    it('rejects non-finite vector values', () => {
      const { document, chunks } = makeDocument('a', ['one']);
      const vector = new Float32Array(8).fill(Number.NaN);
      expect(thrown(() => store.upsertDocument(document, chunks, [vector])).code).toBe('INVALID_OPTION');
    });

    it('indexes sections (parents) for BM25, not their children, and links children to them', () => {
      const { document } = makeDocument('h', ['parent text about penguins and their colonies']);
      const chunks: Chunk[] = [
        {
          index: 0,
          text: 'parent text about penguins and their colonies',
          start: 0,
          end: 46,
          tokenCount: 7,
          role: 'parent',
        },
        {
          index: 1,
          text: 'parent text about penguins',
          start: 0,
          end: 26,
          tokenCount: 4,
          role: 'child',
          parentIndex: 0,
        },
        {
          index: 2,
          text: 'and their colonies',
          start: 27,
          end: 46,
          tokenCount: 3,
          role: 'child',
          parentIndex: 0,
        },
      ];
      const vectors = [null, randomUnitVector(8, random), randomUnitVector(8, random)];
      const { addedChunkIds } = store.upsertDocument(document, chunks, vectors);
      const [parentId, childA, childB] = addedChunkIds as [number, number, number];

      expect(store.bm25Search('colonies', 10).map((r) => r.id)).toEqual([parentId]);
      expect(store.getChunks([childA])[0]?.parentChunkId).toBe(parentId);
      const parents = store.getParentChunks([childA, childB, parentId]);
      expect([...parents.keys()].sort()).toEqual([childA, childB].sort());
      expect(parents.get(childA)?.role).toBe('parent');
      expect(store.passagesOfSections([parentId]).get(parentId)).toEqual([childA, childB]);
      expect(rawCounts(dbPath)).toMatchObject({ chunks: 3, vectors: 2, ftsRows: 1 });
    });

    it('rejects a child that names a chunk which is not a parent', () => {
      const { document } = makeDocument('h', ['x y']);
      const chunks: Chunk[] = [
        { index: 0, text: 'x', start: 0, end: 1, tokenCount: 1 },
        { index: 1, text: 'y', start: 2, end: 3, tokenCount: 1, role: 'child', parentIndex: 0 },
      ];
      expect(thrown(() => store.upsertDocument(document, chunks, [null, null])).code).toBe('INVALID_OPTION');
    });

    it('returns chunks in the order asked, with document fields and merged metadata', () => {
      const { document, chunks } = makeDocument('m', ['first', 'second'], { lang: 'en', tier: 1 });
      chunks[1]!.metadata = { tier: 2 };
      chunks[1]!.headingPath = ['Guide', 'Setup'];
      chunks[1]!.page = 3;
      const { addedChunkIds } = store.upsertDocument(document, chunks, vectorsFor(chunks));
      const [first, second] = addedChunkIds as [number, number];

      const got = store.getChunks([second, 999_999, first]);
      expect(got.map((c) => c.id)).toEqual([second, first]);
      expect(got[0]).toMatchObject({
        documentId: 'm',
        uri: 'file:///docs/m',
        title: 'Title of m',
        index: 1,
        text: 'second',
        start: chunks[1]!.start,
        end: chunks[1]!.end,
        page: 3,
        headingPath: ['Guide', 'Setup'],
        role: 'leaf',
        metadata: { lang: 'en', tier: 2, title: 'Title of m' },
      });
      expect(got[1]?.metadata.tier).toBe(1);
      expect(got[1]?.page).toBeUndefined();

      // What a retrieval result shows: the same values, only those fields.
      const shown = store.resultChunks([second, 999_999, first]);
      expect(shown).toEqual(
        got.map((c) => ({
          id: c.id,
          documentId: c.documentId,
          uri: c.uri,
          text: c.text,
          start: c.start,
          end: c.end,
          ...(c.page !== undefined ? { page: c.page } : {}),
          metadata: c.metadata,
        })),
      );
    });

    it('shows a child chunk with its section (parent) id', () => {
      const document = makeDocument('h', ['whole section', 'part one']).document;
      const chunks: Chunk[] = [
        { index: 0, text: 'whole section', start: 0, end: 13, tokenCount: 2, role: 'parent' },
        { index: 1, text: 'part one', start: 0, end: 8, tokenCount: 2, role: 'child', parentIndex: 0 },
      ];
      const [parent, child] = store.upsertDocument(document, chunks, [null, vectorsFor(chunks)[1]!])
        .addedChunkIds as [number, number];
      expect(store.resultChunks([child])[0]?.parentChunkId).toBe(parent);
      expect(store.resultChunks([parent])[0]?.parentChunkId).toBeUndefined();
    });

    it('runs a filter expression over merged chunk metadata', () => {
      const a = makeDocument('a', ['one', 'two'], { lang: 'en' });
      const b = makeDocument('b', ['three'], { lang: 'de' });
      const idsA = store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks)).addedChunkIds;
      store.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
      const ids = store.chunkIdsWhere("json_extract(c.metadata, '$.lang') = ?", ['en']);
      expect(ids.sort()).toEqual([...idsA].sort());
      expect(thrown(() => store.chunkIdsWhere('no_such_function(c.metadata)', [])).code).toBe(
        'INVALID_FILTER',
      );
    });

    it('ranks BM25 matches best first and can restrict them to candidate ids', () => {
      const doc = makeDocument('bm', [
        'rust rust rust compiler',
        'a compiler for rust and other languages with many more words in it',
        'gardening tips for spring',
      ]);
      const [strong, weak] = store.upsertDocument(doc.document, doc.chunks, vectorsFor(doc.chunks))
        .addedChunkIds as [number, number];
      const results = store.bm25Search('rust', 10);
      expect(results.map((r) => r.id)).toEqual([strong, weak]);
      expect(results[0]!.score).toBeGreaterThan(results[1]!.score);
      expect(store.bm25Search('rust', 10, { candidateIds: [weak] }).map((r) => r.id)).toEqual([weak]);
      expect(store.bm25Search('rust', 10, { candidateIds: [] })).toEqual([]);
      expect(store.bm25Search('rust', 1)).toHaveLength(1);
      // porter stemming and diacritics folding
      expect(store.bm25Search('garden', 10)).toHaveLength(1);
    });

    it('reports a malformed FTS5 expression as INVALID_QUERY', () => {
      const error = thrown(() => store.bm25Search('"unbalanced', 5));
      expect(error.code).toBe('INVALID_QUERY');
      expect(error.input).toBe('"unbalanced');
    });

    it('iterates all vectors in id order in batches', () => {
      const ids: number[] = [];
      for (let d = 0; d < 5; d++) {
        const { document, chunks } = makeDocument(`d${d}`, ['a', 'b', 'c']);
        ids.push(...store.upsertDocument(document, chunks, vectorsFor(chunks)).addedChunkIds);
      }
      const batches = [...store.iterateVectors(4)];
      expect(batches.map((b) => b.ids.length)).toEqual([4, 4, 4, 3]);
      expect(batches.flatMap((b) => b.ids)).toEqual(ids);
      expect(batches[0]!.vectors[0]).toEqual(store.getVector(ids[0]!));
    });

    it('logs vector changes per generation for caches to catch up', () => {
      const a = makeDocument('a', ['one']);
      const first = store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks)).addedChunkIds;
      const generation = store.vectorGeneration();
      const b = makeDocument('a', ['two']);
      const second = store.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks)).addedChunkIds;
      expect(store.chunkChangesSince(generation)?.sort()).toEqual([...first, ...second].sort());
      expect(store.chunkChangesSince(store.vectorGeneration())).toEqual([]);
    });

    it('prunes the change log past its retention and says it no longer reaches back', () => {
      const a = makeDocument('a', ['one']);
      store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
      // Jump to just below a pruning point instead of writing 20 000 times.
      const raw = new Database(dbPath);
      raw.prepare("UPDATE settings SET value = 20031 WHERE key = 'vector_generation'").run();
      raw.close();
      const b = makeDocument('b', ['two']);
      const { addedChunkIds } = store.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
      expect(store.vectorGeneration()).toBe(20032);
      expect(store.chunkChangesSince(1)).toBeUndefined();
      expect(store.chunkChangesSince(20031)).toEqual(addedChunkIds);
    });

    it('gives every generation a token of its own, so two histories never share one', () => {
      const a = makeDocument('a', ['one']);
      store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
      const { generation, token } = store.generationState();
      expect(generation).toBe(1);
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      expect(store.generationToken(1)).toBe(token);
      expect(store.generationToken(0)).toMatch(/^[0-9a-f]{32}$/);
      expect(store.generationToken(0)).not.toBe(token);
      expect(store.generationToken(2)).toBeUndefined();
      // A copy of the store written to on its own reaches generation 2 with another token.
      const copyPath = path.join(dir, 'copy.db');
      store.close();
      fs.copyFileSync(dbPath, copyPath);
      store = SqliteStore.open(dbPath);
      const copy = SqliteStore.open(copyPath);
      const b = makeDocument('b', ['two']);
      store.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
      copy.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
      expect(copy.generationToken(1)).toBe(token);
      expect(copy.generationToken(2)).not.toBe(store.generationToken(2));
      copy.close();
    });

    it('migrates a version-1 store, keeping its change log and giving its generation a token', () => {
      store.close();
      fs.rmSync(dbPath);
      const raw = new Database(dbPath);
      raw.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      raw.exec(MIGRATIONS[0]!.sql);
      raw.exec(`INSERT INTO schema_migrations VALUES (1, 'v1', '2025-01-01');
        INSERT INTO settings (key, value) VALUES ('schema_version', 1), ('store_id', 'old-store'),
          ('distance', 'cosine'), ('vector_generation', 7), ('vector_changes_floor', 0),
          ('created_at', '2025-01-01'), ('embedder_id', '${EMBEDDER.id}'), ('dimensions', ${EMBEDDER.dimensions});
        INSERT INTO vector_changes (generation, chunk_id) VALUES (6, 11), (7, 12);`);
      raw.close();
      store = SqliteStore.open(dbPath);
      expect(store.settings().schemaVersion).toBe(SCHEMA_VERSION);
      expect(store.chunkChangesSince(5)?.sort()).toEqual([11, 12]);
      expect(store.generationToken(7)).toMatch(/^[0-9a-f]{32}$/);
      const a = makeDocument('a', ['one', 'two']);
      const { addedChunkIds } = store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
      expect(store.chunkChangesSince(7)).toEqual(addedChunkIds);
    });

    it('counts documents, chunks and vectors and measures the files', () => {
      const { document, chunks } = makeDocument('a', ['one', 'two', 'three']);
      store.upsertDocument(document, chunks, [...vectorsFor(chunks.slice(0, 2)), null]);
      expect(store.stats()).toMatchObject({
        documents: 1,
        chunks: 3,
        vectors: 2,
        dimensions: 8,
        embedderId: EMBEDDER.id,
        vectorGeneration: 1,
      });
      expect(store.stats().storeBytes).toBeGreaterThan(fs.statSync(dbPath).size - 1);
    });

    it('lists documents without their text', () => {
      const a = makeDocument('a', ['one']);
      const b = makeDocument('b', ['two']);
      store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
      store.upsertDocument(b.document, b.chunks, vectorsFor(b.chunks));
      const listed = store.listDocuments();
      expect(listed.map((d) => d.id)).toEqual(['a', 'b']);
      expect(listed[0]?.text).toBeUndefined();
    });

    it('keeps application settings and refuses the keys it manages', () => {
      store.setSetting('last_ingest_root', '/data');
      expect(store.getSetting('last_ingest_root')).toBe('/data');
      expect(thrown(() => store.setSetting('embedder_id', 'x')).code).toBe('INVALID_OPTION');
    });

    it('rolls back every write of a failed transaction', () => {
      const a = makeDocument('a', ['one']);
      expect(() =>
        store.transaction(() => {
          store.upsertDocument(a.document, a.chunks, vectorsFor(a.chunks));
          throw new Error('abort');
        }),
      ).toThrow('abort');
      expect(rawCounts(dbPath)).toEqual({ documents: 0, chunks: 0, vectors: 0, ftsRows: 0 });
      expect(store.vectorGeneration()).toBe(0);
    });

    it('throws STORE_CLOSED once closed', () => {
      store.close();
      expect(thrown(() => store.countChunks()).code).toBe('STORE_CLOSED');
      store = SqliteStore.open(dbPath);
    });
  });

  describe('a BM25-only store', () => {
    it('takes documents without vectors and refuses vectors', () => {
      const store = SqliteStore.open(dbPath, { embedder: { id: 'none', dimensions: 0 } });
      const { document, chunks } = makeDocument('a', ['lexical search only']);
      store.upsertDocument(document, chunks, [null]);
      expect(store.bm25Search('lexical', 5)).toHaveLength(1);
      expect(store.stats()).toMatchObject({ vectors: 0, dimensions: 0, embedderId: 'none' });
      const error = thrown(() => store.upsertDocument(document, chunks, [new Float32Array(8)]));
      expect(error.code).toBe('DIMENSION_MISMATCH');
      expect(error.message).toContain('BM25-only');
      store.close();
      expect(thrown(() => SqliteStore.open(dbPath, { embedder: EMBEDDER })).code).toBe('EMBEDDER_MISMATCH');
    });
  });
});
