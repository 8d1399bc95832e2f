import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinText, textGaps } from '../../src/store/document-text.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { encodeVector, VECTOR_BLOCK_SIZE } from '../../src/store/vector-codec.js';
import type { Chunk } from '../../src/types.js';
import { makeDocument, makeTempDir, randomUnitVector, seededRandom } from './store-fixtures.js';

const EMBEDDER = { id: 'test:embedder', dimensions: 8 };

describe('a document text kept as the gaps its chunks leave', () => {
  const text = 'Title\n\nFirst part 😀 here.\n\nSecond part, longer.\n\nTail';
  const span = (part: string, from = 0) => {
    const start = text.indexOf(part, from);
    return { start, end: start + part.length, text: part };
  };

  it('keeps only what no chunk covers and gives the text back', () => {
    const chunks = [span('Second part, longer.'), span('First part 😀 here.')];
    const gaps = textGaps(text, chunks);
    expect(gaps).toBe('Title\n\n\n\n\n\nTail');
    expect(joinText(gaps!, chunks)).toBe(text);
  });

  it('puts overlapping chunks (a section and its passages) together once', () => {
    const section = span('First part 😀 here.\n\nSecond part, longer.');
    const chunks = [section, span('First part 😀'), span('😀 here.\n\nSecond'), span('longer.\n\nTail')];
    const gaps = textGaps(text, chunks);
    expect(gaps).toBe('Title\n\n');
    expect(joinText(gaps!, chunks)).toBe(text);
  });

  it('is the whole text without chunks, and refuses chunks that are not slices of it', () => {
    expect(textGaps(text, [])).toBe(text);
    expect(textGaps(text, [{ start: 0, end: 5, text: 'title' }])).toBeUndefined();
    expect(textGaps(text, [{ start: 50, end: 80, text: 'Tail' }])).toBeUndefined();
  });
});

describe('SqliteStore storage layout (schema 7)', () => {
  let dir: string;
  let dbPath: string;
  let store: SqliteStore;
  const random = seededRandom(11);
  const vectorsFor = (chunks: Chunk[]) => chunks.map(() => randomUnitVector(EMBEDDER.dimensions, random));
  const raw = <T>(sql: string, ...params: unknown[]): T => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T;
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    dir = makeTempDir('localkb-layout-');
    dbPath = path.join(dir, 'kb.db');
    store = SqliteStore.open(dbPath, { embedder: EMBEDDER });
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a document text once: the chunks hold it, the document row only the gaps', () => {
    const { document, chunks } = makeDocument('a', ['alpha beta', 'gamma delta', 'epsilon']);
    store.upsertDocument(document, chunks, vectorsFor(chunks));
    expect(raw('SELECT text, text_gaps FROM documents')).toEqual([{ text: null, text_gaps: '\n\n\n\n' }]);
    expect(store.getDocument('a')?.text).toBe(document.text);
    expect(store.getChunks([1])[0]?.textHash).toBe(createHash('sha256').update('alpha beta').digest('hex'));
  });

  it('keeps the whole text when the chunks are not slices of it', () => {
    const { document, chunks } = makeDocument('a', ['alpha beta', 'gamma']);
    chunks[1] = { ...chunks[1]!, text: 'rewritten' };
    store.upsertDocument(document, chunks, vectorsFor(chunks));
    expect(raw('SELECT text, text_gaps FROM documents')).toEqual([{ text: document.text, text_gaps: null }]);
    expect(store.getDocument('a')?.text).toBe(document.text);
  });

  it('packs a document’s vectors in blocks and reads each one back, chunks without vectors skipped', () => {
    const texts = Array.from({ length: VECTOR_BLOCK_SIZE + 9 }, (_, i) => `chunk ${i}`);
    const { document, chunks } = makeDocument('a', texts);
    const vectors = vectorsFor(chunks).map((vector, i) => (i % 5 === 2 ? null : vector));
    const other = makeDocument('b', ['other one', 'other two']);
    store.upsertDocument(other.document, other.chunks, vectorsFor(other.chunks));
    const { addedChunkIds: ids } = store.upsertDocument(document, chunks, vectors);
    const embedded = ids.filter((_, i) => vectors[i]);
    expect(raw<unknown[]>('SELECT 1 FROM vector_blocks WHERE document_id = 2')).toHaveLength(2);
    expect(store.countVectors()).toBe(embedded.length + 2);
    ids.forEach((id, i) => {
      expect(store.getVector(id)).toEqual(vectors[i] ?? undefined);
    });
    const some = [ids[3]!, ids[2]!, ids[40]!, 999_999];
    expect([...store.getVectors(some).keys()].sort((x, y) => x - y)).toEqual(
      [ids[3]!, ids[40]!].sort((x, y) => x - y),
    );
    expect([...store.vectorChunkIdsAmong(some)].sort((x, y) => x - y)).toEqual([ids[3]!, ids[40]!]);
    expect(store.vectorChunkIds()).toEqual([1, 2, ...embedded]);
    const batches = [...store.iterateVectors(7)];
    expect(batches.slice(0, -1).every((batch) => batch.ids.length === 7)).toBe(true);
    expect(batches.flatMap((batch) => batch.ids)).toEqual([1, 2, ...embedded]);
    expect(batches[0]!.vectors[2]).toEqual(vectors[0]);

    store.deleteDocument('a');
    expect(raw<unknown[]>('SELECT 1 FROM vector_blocks')).toHaveLength(1);
    expect(store.getVector(ids[0]!)).toBeUndefined();
    expect(store.countVectors()).toBe(2);
  });

  describe('migrating a schema-6 store', () => {
    /** A store as schema 6 wrote it: vectors a row each, the text whole in the document and again in its chunks. */
    function schema6Store(): { texts: Map<string, string>; vectors: Map<number, Float32Array> } {
      store.close();
      fs.rmSync(dbPath);
      const db = new Database(dbPath);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      for (const migration of MIGRATIONS.filter((m) => m.version <= 6)) {
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, 'old', '2026');
      }
      db.exec(`INSERT INTO settings (key, value) VALUES ('schema_version', 6), ('store_id', 'old-store'),
        ('distance', 'cosine'), ('vector_generation', 0), ('vector_changes_floor', 0), ('created_at', '2026'),
        ('embedder_id', '${EMBEDDER.id}'), ('dimensions', ${EMBEDDER.dimensions});
        INSERT INTO store_generations VALUES (0, 'token-0');`);
      const texts = new Map<string, string>();
      const vectors = new Map<number, Float32Array>();
      const docs: [string, string[]][] = [
        ['a', ['one two', 'three four', 'five']],
        ['b', Array.from({ length: 40 }, (_, i) => `passage ${i} of b`)],
        ['c', ['not a slice']],
      ];
      for (const [id, parts] of docs) {
        const { document, chunks } = makeDocument(id, parts);
        texts.set(id, document.text);
        const rowId = db
          .prepare(
            `INSERT INTO documents (doc_id, uri, format, content_hash, metadata, ingested_at, text)
             VALUES (?, ?, 'text', ?, '{}', '2026', ?) RETURNING id`,
          )
          .pluck()
          .get(id, document.uri, document.contentHash, document.text) as number;
        for (const chunk of chunks) {
          const chunkText = id === 'c' ? 'rewritten' : chunk.text;
          const chunkId = db
            .prepare(
              `INSERT INTO chunks (document_id, chunk_index, text, start_offset, end_offset, token_count, text_hash)
               VALUES (?, ?, ?, ?, ?, 1, ?) RETURNING id`,
            )
            .pluck()
            .get(rowId, chunk.index, chunkText, chunk.start, chunk.end, 'hash') as number;
          if (chunk.index === 1 && id === 'b') continue;
          const vector = randomUnitVector(EMBEDDER.dimensions, random);
          vectors.set(chunkId, vector);
          db.prepare('INSERT INTO vectors (chunk_id, vector) VALUES (?, ?)').run(
            chunkId,
            encodeVector(vector),
          );
        }
      }
      db.close();
      return { texts, vectors };
    }

    it('moves vectors into blocks and texts into gaps, losing nothing', () => {
      const { texts, vectors } = schema6Store();
      const ftsBefore = raw<unknown[]>('SELECT * FROM bm25_fts_docsize ORDER BY id');
      store = SqliteStore.open(dbPath);
      expect(store.settings().schemaVersion).toBe(SCHEMA_VERSION);
      for (const [id, text] of texts) expect(store.getDocument(id)?.text).toBe(text);
      expect(store.countVectors()).toBe(vectors.size);
      expect(store.getVectors([...vectors.keys()])).toEqual(vectors);
      expect(raw('SELECT doc_id, text IS NULL AS derived FROM documents ORDER BY id')).toEqual([
        { doc_id: 'a', derived: 1 },
        { doc_id: 'b', derived: 1 },
        { doc_id: 'c', derived: 0 },
      ]);
      expect(raw("SELECT name FROM sqlite_master WHERE name = 'vectors'")).toEqual([]);
      // BM25's index and statistics are untouched by the move.
      expect(raw('SELECT * FROM bm25_fts_docsize ORDER BY id')).toEqual(ftsBefore);
      const check = new Database(dbPath);
      // With rank 1, FTS5 also checks its index against the text it is the index of (the chunks, via the view).
      expect(() =>
        check.exec("INSERT INTO bm25_fts(bm25_fts, rank) VALUES ('integrity-check', 1)"),
      ).not.toThrow();
      check.close();
      expect(store.chunkChangesSince(0)).toEqual([]);
    });

    it('leaves the store as it was when the migration fails part way, and migrates on a later open', () => {
      const { texts, vectors } = schema6Store();
      const db = new Database(dbPath);
      // A failure after the first document was already rewritten.
      db.exec(`CREATE TRIGGER fail_migration BEFORE UPDATE ON documents WHEN old.doc_id = 'b'
        BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      db.close();
      expect(() => SqliteStore.open(dbPath)).toThrow(/injected failure/);
      expect(raw('SELECT value FROM settings WHERE key = ?', 'schema_version')).toEqual([{ value: 6 }]);
      expect(raw<unknown[]>('SELECT 1 FROM vectors')).toHaveLength(vectors.size);
      expect(raw("SELECT name FROM sqlite_master WHERE name = 'vector_blocks'")).toEqual([]);
      expect(raw('SELECT text FROM documents ORDER BY id')).toEqual(
        [...texts.values()].map((text) => ({ text })),
      );
      const fix = new Database(dbPath);
      fix.exec('DROP TRIGGER fail_migration');
      fix.close();
      store = SqliteStore.open(dbPath);
      expect(store.getVectors([...vectors.keys()])).toEqual(vectors);
      for (const [id, text] of texts) expect(store.getDocument(id)?.text).toBe(text);
    });
  });
});
