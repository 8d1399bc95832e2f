/**
 * The SQLite schema of a localkb store, as an ordered list of migrations.
 * A store records its version in `settings.schema_version` and each applied step in `schema_migrations`;
 * opening a store runs the steps it lacks, and refuses a store made by a newer version.
 */

import type Database from 'better-sqlite3';
import { type ChunkSpan, textGaps } from './document-text.js';
import { encodeVectorBlocks } from './vector-codec.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Row-by-row work SQL alone cannot do, run after `sql` in the same transaction. */
  run?: (db: Database.Database) => void;
}

/** Moves a metadata key of every row of `table` to `to`, keeping its JSON value. */
function renameMetadataKey(table: string, from: string, to: string): string {
  return `UPDATE ${table} SET metadata = json_remove(json_set(metadata, '$."${to}"', json(metadata -> '$."${from}"')), '$."${from}"')
    WHERE json_type(metadata, '$."${from}"') IS NOT NULL;`;
}

/** localkb's keys as they were before schema 6 → as they are since. */
const LOCALKB_KEY_RENAMES: [string, string][] = [
  ['title', 'x-localkb-title'],
  ['sizeBytes', 'x-localkb-size-bytes'],
  ['modifiedAt', 'x-localkb-modified-at'],
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'documents, chunks, vectors, FTS5 over chunk text, settings, vector change log',
    sql: `
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value
      ) WITHOUT ROWID;

      CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL UNIQUE,
        uri TEXT NOT NULL,
        format TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        title TEXT,
        size INTEGER,
        modified_at TEXT,
        ingested_at TEXT NOT NULL,
        text TEXT,
        pages TEXT
      );

      -- AUTOINCREMENT: a chunk id is also its HNSW label, so ids are never reused by later chunks.
      CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        text TEXT NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        page INTEGER,
        heading_path TEXT,
        token_count INTEGER NOT NULL,
        role TEXT NOT NULL DEFAULT 'leaf' CHECK (role IN ('leaf', 'parent', 'child')),
        parent_chunk_id INTEGER REFERENCES chunks(id) ON DELETE SET NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        text_hash TEXT NOT NULL,
        UNIQUE (document_id, chunk_index)
      );
      CREATE INDEX chunks_parent ON chunks(parent_chunk_id) WHERE parent_chunk_id IS NOT NULL;

      CREATE TABLE vectors (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        vector BLOB NOT NULL
      );

      -- Contentless: the text lives in chunks; contentless_delete lets rows be deleted by rowid alone.
      CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text,
        content = '',
        contentless_delete = 1,
        tokenize = 'porter unicode61 remove_diacritics 2'
      );

      -- Triggers keep FTS in step inside whatever transaction touches chunks, cascades included.
      -- Parent chunks (hierarchical chunking) are stored for context but not searched.
      CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks WHEN new.role <> 'parent' BEGIN
        INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks WHEN old.role <> 'parent' BEGIN
        DELETE FROM chunks_fts WHERE rowid = old.id;
      END;

      -- Every vector added or removed, tagged with the vector_generation that did it, so a long-lived HNSW
      -- cache in another process can catch up with a few rows instead of rebuilding.
      CREATE TABLE vector_changes (
        generation INTEGER NOT NULL,
        chunk_id INTEGER NOT NULL
      );
      CREATE INDEX vector_changes_generation ON vector_changes(generation);
      CREATE TRIGGER vectors_log_insert AFTER INSERT ON vectors BEGIN
        INSERT INTO vector_changes(generation, chunk_id)
        VALUES ((SELECT value FROM settings WHERE key = 'vector_generation'), new.chunk_id);
      END;
      CREATE TRIGGER vectors_log_delete AFTER DELETE ON vectors BEGIN
        INSERT INTO vector_changes(generation, chunk_id)
        VALUES ((SELECT value FROM settings WHERE key = 'vector_generation'), old.chunk_id);
      END;
    `,
  },
  {
    version: 2,
    description:
      'BM25 over sections with their title and headings: external-content FTS5 whose deletes keep its statistics exact',
    sql: `
      -- The title and heading path a chunk is read with (BM25 indexes it beside the text; embedders get it prepended).
      ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT '';

      -- A contentless_delete table never takes a deleted row's tokens out of its totals, so BM25 drifted with every
      -- update; an external-content table is told the deleted row's text and stays equal to a fresh index.
      DROP TRIGGER chunks_fts_insert;
      DROP TRIGGER chunks_fts_delete;
      DROP TABLE chunks_fts;

      -- BM25's unit is the section: a parent chunk, or a leaf (its own section). Children are only embedded.
      CREATE VIEW bm25_units AS SELECT id, context, text FROM chunks WHERE role <> 'child';
      CREATE VIRTUAL TABLE bm25_fts USING fts5(
        context,
        text,
        content = 'bm25_units',
        content_rowid = 'id',
        tokenize = 'porter unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER bm25_units_insert AFTER INSERT ON chunks WHEN new.role <> 'child' BEGIN
        INSERT INTO bm25_fts(rowid, context, text) VALUES (new.id, new.context, new.text);
      END;
      CREATE TRIGGER bm25_units_delete AFTER DELETE ON chunks WHEN old.role <> 'child' BEGIN
        INSERT INTO bm25_fts(bm25_fts, rowid, context, text) VALUES ('delete', old.id, old.context, old.text);
      END;
      CREATE TRIGGER bm25_units_update AFTER UPDATE OF role, context, text ON chunks BEGIN
        INSERT INTO bm25_fts(bm25_fts, rowid, context, text)
          SELECT 'delete', old.id, old.context, old.text WHERE old.role <> 'child';
        INSERT INTO bm25_fts(rowid, context, text) SELECT new.id, new.context, new.text WHERE new.role <> 'child';
      END;
      INSERT INTO bm25_fts(bm25_fts) VALUES ('rebuild');
    `,
  },
  {
    version: 3,
    description:
      'documents.chunked_with: which chunker settings made each document, so interrupted ingests resume',
    sql: `
      ALTER TABLE documents ADD COLUMN chunked_with TEXT;
    `,
  },
  {
    version: 4,
    description: 'prompt versions and prompt-lab runs (localkb playground)',
    sql: `
      -- A version is immutable: saving under an existing name adds the next version number.
      CREATE TABLE IF NOT EXISTS prompt_versions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        template TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (name, version)
      );

      -- One run of a prompt version over a question set; settings and results are JSON the playground writes.
      CREATE TABLE IF NOT EXISTS prompt_runs (
        id INTEGER PRIMARY KEY,
        prompt_version_id INTEGER REFERENCES prompt_versions(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        settings TEXT NOT NULL,
        results TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    description:
      'change log of chunks (not only vectors) for every in-memory cache; a random token per generation so a cache can tell a restored backup from its own history',
    sql: `
      CREATE TABLE chunk_changes (
        generation INTEGER NOT NULL,
        chunk_id INTEGER NOT NULL
      );
      CREATE INDEX chunk_changes_generation ON chunk_changes(generation);
      INSERT INTO chunk_changes (generation, chunk_id) SELECT generation, chunk_id FROM vector_changes;
      DROP TRIGGER vectors_log_insert;
      DROP TRIGGER vectors_log_delete;
      DROP TABLE vector_changes;
      -- A vector is only written or removed together with its chunk, so logging chunks covers vectors too.
      CREATE TRIGGER chunks_log_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunk_changes(generation, chunk_id)
        VALUES ((SELECT value FROM settings WHERE key = 'vector_generation'), new.id);
      END;
      CREATE TRIGGER chunks_log_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunk_changes(generation, chunk_id)
        VALUES ((SELECT value FROM settings WHERE key = 'vector_generation'), old.id);
      END;

      -- Each generation's random token. A cache records (generation, token); the store agrees with it only if
      -- its own history passes through that very write, which a restored backup's later writes never do.
      CREATE TABLE store_generations (
        generation INTEGER PRIMARY KEY,
        token TEXT NOT NULL
      );
      INSERT INTO store_generations (generation, token)
        SELECT value, lower(hex(randomblob(16))) FROM settings WHERE key = 'vector_generation';
    `,
  },
  {
    version: 6,
    description:
      "Bedrock's reserved metadata keys stored on every chunk (filterable); localkb's own keys under x-localkb-",
    sql: `
      -- localkb's source was the document's URI, which x-amz-bedrock-kb-source-uri now carries; a different
      -- source is the user's own and stays. A guess that was wrong only makes the next ingest redo that document.
      UPDATE documents SET metadata = json_remove(metadata, '$.source') WHERE metadata ->> '$.source' = uri;
      UPDATE chunks SET metadata = json_remove(metadata, '$.source')
        WHERE metadata ->> '$.source' = (SELECT uri FROM documents d WHERE d.id = chunks.document_id);
      ${LOCALKB_KEY_RENAMES.flatMap(([from, to]) => [renameMetadataKey('documents', from, to), renameMetadataKey('chunks', from, to)]).join('\n    ')}
      UPDATE chunks SET metadata = json_set(metadata,
        '$."x-amz-bedrock-kb-source-uri"',
          coalesce(metadata ->> '$."x-amz-bedrock-kb-source-uri"', (SELECT uri FROM documents d WHERE d.id = chunks.document_id)),
        '$."x-amz-bedrock-kb-data-source-id"',
          coalesce(metadata ->> '$."x-amz-bedrock-kb-data-source-id"',
            upper(substr(replace((SELECT value FROM settings WHERE key = 'store_id'), '-', ''), 1, 10))),
        '$."x-amz-bedrock-kb-chunk-id"', CAST(id AS TEXT));
      UPDATE chunks SET metadata = json_set(metadata, '$."x-amz-bedrock-kb-document-page-number"', page)
        WHERE page IS NOT NULL AND json_type(metadata, '$."x-amz-bedrock-kb-document-page-number"') IS NULL;
    `,
  },
  {
    version: 7,
    description:
      "each text stored once (a document keeps only what its chunks do not cover) and vectors packed per document in blocks that fill SQLite's pages",
    sql: `
      -- One row per document per up to 32 vectors, keyed by its first chunk id: a 1.5 KB vector row of its own
      -- took 2 KB of a 4 KB page. The chunk ids are uint32 offsets from the first; the vectors float32, back to back.
      CREATE TABLE vector_blocks (
        first_chunk_id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        chunk_offsets BLOB NOT NULL,
        vectors BLOB NOT NULL
      );
      CREATE INDEX vector_blocks_document ON vector_blocks(document_id);
      -- The text no chunk covers; documents.text stays NULL then (it holds the whole text when chunks are not slices).
      ALTER TABLE documents ADD COLUMN text_gaps TEXT;
      -- sha256 of the text, computed again when asked: 65 bytes a chunk nothing searched.
      ALTER TABLE chunks DROP COLUMN text_hash;
    `,
    run: packVectorsAndText,
  },
];

/**
 * Schema 7's rewrite of what earlier schemas stored: every document's vectors into blocks, and its text into the
 * gaps its chunks leave (kept whole when the chunks are not slices of it). Documents go a page at a time, so
 * memory stays flat; the migration's transaction makes it all or nothing.
 */
function packVectorsAndText(db: Database.Database): void {
  const documents = db.prepare('SELECT id, text FROM documents WHERE id > ? ORDER BY id LIMIT 256').raw();
  const spans = db.prepare(
    'SELECT start_offset AS start, end_offset AS end, text FROM chunks WHERE document_id = ?',
  );
  const vectors = db
    .prepare(
      'SELECT v.chunk_id, v.vector FROM chunks c JOIN vectors v ON v.chunk_id = c.id WHERE c.document_id = ? ORDER BY v.chunk_id',
    )
    .raw();
  const insertBlock = db.prepare(
    'INSERT INTO vector_blocks (first_chunk_id, document_id, chunk_offsets, vectors) VALUES (?, ?, ?, ?)',
  );
  const keepGaps = db.prepare('UPDATE documents SET text = NULL, text_gaps = ? WHERE id = ?');
  let after = 0;
  for (;;) {
    const page = documents.all(after) as [number, string | null][];
    for (const [id, text] of page) {
      const rows = vectors.all(id) as [number, Buffer][];
      const blocks = encodeVectorBlocks(
        rows.map((row) => row[0]),
        rows.map((row) => new Float32Array(new Uint8Array(row[1]).buffer)),
      );
      for (const block of blocks) insertBlock.run(block.first, id, block.offsets, block.vectors);
      if (typeof text !== 'string') continue;
      const gaps = textGaps(text, spans.all(id) as ChunkSpan[]);
      if (gaps !== undefined) keepGaps.run(gaps, id);
    }
    if (page.length === 0) break;
    after = page[page.length - 1]![0];
  }
  // Every vector had its chunk (a foreign key with ON DELETE CASCADE), so the join above took them all.
  db.exec('DROP TABLE vectors');
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Tables every localkb store has; a database with other tables and none of these is not ours. */
export const CORE_TABLES = ['settings', 'documents', 'chunks', 'vector_blocks', 'bm25_fts'] as const;

/** How many generations of chunk changes are kept for catch-up; older readers reconcile by id instead. */
export const CHANGE_LOG_RETENTION = 10_000;

/** How many generation tokens are kept; a cache older than that cannot prove its history and is rebuilt. */
export const GENERATION_TOKEN_RETENTION = 1_000_000;
