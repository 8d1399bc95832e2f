import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildFtsQuery } from '../../src/retrieve/index.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { makeDocument, makeTempDir, seededRandom } from './store-fixtures.js';

const BM25_ONLY = { id: 'none', dimensions: 0 };
const WORDS = (
  'harbour beacon lantern keeper granite tower reef storm channel lamp lens oil wick rock tide signal ' +
  'coast vessel mast shoal current fog horn bell gallery dome spiral stair masonry timber copper'
).split(' ');
const QUERIES = [
  'granite tower',
  'lantern oil wick',
  'fog horn bell',
  'storm reef tide channel',
  'copper dome',
];

/** A document of `paragraphs` random-length chunks of random words. */
function randomTexts(random: () => number, paragraphs: number): string[] {
  return Array.from({ length: paragraphs }, () =>
    Array.from(
      { length: 3 + Math.floor(random() * 40) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    ).join(' '),
  );
}

/** Every query's top 20 as (document, chunk index, score): comparable between stores whatever their row ids. */
function bm25Results(store: SqliteStore) {
  return QUERIES.map((query) => {
    const hits = store.bm25Search(buildFtsQuery(query)!, 20);
    const chunks = new Map(store.getChunks(hits.map((h) => h.id)).map((c) => [c.id, c]));
    return hits.map((h) => ({
      doc: chunks.get(h.id)!.documentId,
      index: chunks.get(h.id)!.index,
      score: h.score,
    }));
  });
}

describe('BM25 statistics', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('localkb-bm25-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('score and rank an updated store exactly like a fresh store holding the same content', () => {
    const random = seededRandom(12);
    const history = SqliteStore.open(path.join(dir, 'history.db'), { embedder: BM25_ONLY });
    const content = new Map<string, string[]>();
    const put = (id: string, texts: string[]) => {
      const { document, chunks } = makeDocument(id, texts);
      history.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
      content.set(id, texts);
    };
    for (let i = 0; i < 40; i++) put(`doc-${i}`, randomTexts(random, 1 + Math.floor(random() * 3)));
    // Rewrite a third of the documents three times (new lengths, new words), then delete a few.
    for (let round = 0; round < 3; round++) {
      for (let i = round; i < 40; i += 3) put(`doc-${i}`, randomTexts(random, 1 + Math.floor(random() * 4)));
    }
    for (const id of ['doc-2', 'doc-17', 'doc-31']) {
      history.deleteDocument(id);
      content.delete(id);
    }

    const fresh = SqliteStore.open(path.join(dir, 'fresh.db'), { embedder: BM25_ONLY });
    for (const [id, texts] of [...content].sort(() => random() - 0.5)) {
      const { document, chunks } = makeDocument(id, texts);
      fresh.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
    }

    const before = bm25Results(history);
    const after = bm25Results(fresh);
    expect(before.map((list) => list.map(({ doc, index }) => `${doc}#${index}`))).toEqual(
      after.map((list) => list.map(({ doc, index }) => `${doc}#${index}`)),
    );
    before.forEach((list, q) => {
      for (const [i, hit] of list.entries())
        expect(Math.abs(hit.score - after[q]![i]!.score)).toBeLessThan(1e-9);
    });
    expect(history.bm25Statistics(['"granite"']).sections).toBe(fresh.bm25Statistics(['"granite"']).sections);
    history.close();
    fresh.close();
  });

  it('counts the sections indexed and those matching each phrase, deletes included', () => {
    const store = SqliteStore.open(path.join(dir, 'counts.db'), { embedder: BM25_ONLY });
    const add = (id: string, texts: string[]) => {
      const { document, chunks } = makeDocument(id, texts);
      store.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
    };
    add('a', ['granite tower', 'oil lamp']);
    add('b', ['granite reef']);
    add('c', ['fog bell']);
    store.deleteDocument('c');
    expect(store.bm25Statistics(['"granite"', '"fog"', '"lamp"'])).toEqual({
      sections: 3,
      matching: [2, 0, 1],
    });
    store.close();
  });

  it('keeps its counts exact across queries while this store and another connection write', () => {
    const dbPath = path.join(dir, 'shared.db');
    const store = SqliteStore.open(dbPath, { embedder: BM25_ONLY });
    const add = (target: SqliteStore, id: string, texts: string[]) => {
      const { document, chunks } = makeDocument(id, texts);
      target.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
    };
    const phrases = ['"granite"', '"fog"'];
    /** What a store opened afresh counts now. */
    const fresh = () => {
      const other = SqliteStore.open(dbPath, { readonly: true });
      try {
        return other.bm25Statistics(phrases);
      } finally {
        other.close();
      }
    };
    add(store, 'a', ['granite tower', 'granite reef']);
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 2, matching: [2, 0] });
    // The same question again is answered from what was counted; a write of this store moves the generation.
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 2, matching: [2, 0] });
    add(store, 'b', ['fog bell granite']);
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 3, matching: [3, 1] });
    // Another connection (another process, as far as SQLite is concerned) updates and deletes.
    const writer = SqliteStore.open(dbPath, { embedder: BM25_ONLY });
    add(writer, 'a', ['fog lamp']);
    expect(store.bm25Statistics(phrases)).toEqual(fresh());
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 2, matching: [1, 2] });
    writer.deleteDocument('b');
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 1, matching: [0, 1] });
    // A write rolled back leaves the counts of the state that stays.
    expect(() =>
      store.transaction(() => {
        add(store, 'c', ['granite granite']);
        expect(store.bm25Statistics(phrases)).toEqual({ sections: 2, matching: [1, 1] });
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(store.bm25Statistics(phrases)).toEqual({ sections: 1, matching: [0, 1] });
    expect(store.bm25Statistics(phrases)).toEqual(fresh());
    writer.close();
    store.close();
  });

  it('breaks equal scores by document id, not by row id', () => {
    const store = SqliteStore.open(path.join(dir, 'ties.db'), { embedder: BM25_ONLY });
    for (const id of ['zeta', 'alpha', 'mu']) {
      const { document, chunks } = makeDocument(id, ['the same granite tower text']);
      store.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
    }
    const hits = store.bm25Search(buildFtsQuery('granite')!, 2);
    expect(store.getChunks(hits.map((h) => h.id)).map((c) => c.documentId)).toEqual(['alpha', 'mu']);
    store.close();
  });

  it('breaks a tie at the cut that reaches far past k by document id, in any insertion order', () => {
    const store = SqliteStore.open(path.join(dir, 'long-ties.db'), { embedder: BM25_ONLY });
    const names = Array.from({ length: 90 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    const shuffled = [...names].sort((a, b) => ((a.charCodeAt(2) * 7) % 10) - ((b.charCodeAt(2) * 7) % 10));
    const add = (id: string, text: string) => {
      const { document, chunks } = makeDocument(id, [text]);
      store.upsertDocument(
        document,
        chunks,
        chunks.map(() => null),
      );
    };
    add('best', 'granite granite tower text');
    for (const id of shuffled) add(id, 'the same granite tower text');
    for (const k of [1, 2, 30, 80]) {
      const hits = store.bm25Search(buildFtsQuery('granite')!, k);
      expect(hits).toHaveLength(k);
      expect(store.getChunks(hits.map((h) => h.id)).map((c) => c.documentId)).toEqual(
        ['best', ...names].slice(0, k),
      );
    }
    store.close();
  });

  it('moves a store made by the first schema onto the section index, keeping its chunks searchable', () => {
    const dbPath = path.join(dir, 'v1.db');
    const db = new Database(dbPath);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    db.exec(MIGRATIONS[0]!.sql);
    const setting = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)');
    for (const [key, value] of [
      ['store_id', 'e0d6b8f2-0000-4000-8000-000000000001'],
      ['distance', 'cosine'],
      ['vector_generation', 0],
      ['vector_changes_floor', 0],
      ['created_at', new Date().toISOString()],
      ['schema_version', 1],
      ['embedder_id', 'none'],
      ['dimensions', 0],
    ] as const) {
      setting.run(key, value);
    }
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'first', '2024-01-01')").run();
    db.prepare(
      "INSERT INTO documents (id, doc_id, uri, format, content_hash, ingested_at, text) VALUES (1, 'old', 'file:///old', 'text', 'h', 'now', 'granite tower')",
    ).run();
    db.prepare(
      "INSERT INTO chunks (document_id, chunk_index, text, start_offset, end_offset, token_count, text_hash) VALUES (1, 0, 'granite tower', 0, 13, 2, 'h')",
    ).run();
    db.close();

    const store = SqliteStore.open(dbPath);
    expect(store.settings().schemaVersion).toBe(MIGRATIONS.at(-1)!.version);
    expect(store.bm25Search(buildFtsQuery('granite')!, 5)).toHaveLength(1);
    expect(store.bm25Statistics(['"tower"'])).toEqual({ sections: 1, matching: [1] });
    store.close();
  });
});
