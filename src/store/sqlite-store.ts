import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  BEDROCK_METADATA_KEYS,
  type Chunk,
  type DocumentFormat,
  LOCALKB_METADATA_KEYS,
  type Metadata,
  type PageSpan,
  type SourceDocument,
} from '../types.js';
import { type ChunkSpan, joinText, textGaps } from './document-text.js';
import { readFts5Varint } from './fts5-varint.js';
import type { PromptLibrary } from './prompt-library.js';
import {
  CHANGE_LOG_RETENTION,
  CORE_TABLES,
  GENERATION_TOKEN_RETENTION,
  MIGRATIONS,
  SCHEMA_VERSION,
} from './schema.js';
import { SqlitePromptLibrary } from './sqlite-prompt-library.js';
import { blockIds, blockVector, encodeVectorBlocks, VECTOR_BLOCK_SIZE } from './vector-codec.js';

/** Which embedder made (or will make) the vectors of a store. `{ id: 'none', dimensions: 0 }` is a BM25-only store. */
export interface EmbedderIdentity {
  id: string;
  dimensions: number;
}

export interface SqliteStoreOptions {
  /** Recorded on first open; a later open with another id or dimension throws. Omit to use the stored one. */
  embedder?: EmbedderIdentity;
  /** Chunker settings, recorded so a change can be noticed (`chunkerChanged`). */
  chunker?: Record<string, unknown>;
  readonly?: boolean;
  /** How long to wait for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

export interface StoreSettings {
  schemaVersion: number;
  /** Random id made when the store was created: tells a cache file which store it belongs to. */
  storeId: string;
  embedderId?: string;
  dimensions?: number;
  distance: 'cosine';
  chunker?: Record<string, unknown>;
  vectorGeneration: number;
  createdAt: string;
}

export interface StoredDocument {
  rowId: number;
  /** The document's own id (`SourceDocument.id`). */
  id: string;
  uri: string;
  format: DocumentFormat;
  contentHash: string;
  metadata: Metadata;
  title?: string;
  sizeBytes?: number;
  modifiedAt?: string;
  ingestedAt: string;
  pages?: PageSpan[];
  /** What the caller recorded as making this document's chunks (the knowledge base: its chunker settings). */
  chunkedWith?: string;
  /** The full extracted text; only `getDocument` returns it. */
  text?: string;
}

/** A stored document in a listing, with how many chunks it holds (passages and sections alike). */
export interface ListedDocument extends StoredDocument {
  chunks: number;
}

/** A chunk as stored, with what retrieval needs to cite it. */
export interface StoredChunk {
  /** Row id, which is also the HNSW label. */
  id: number;
  documentRowId: number;
  documentId: string;
  uri: string;
  title?: string;
  format: DocumentFormat;
  index: number;
  text: string;
  start: number;
  end: number;
  page?: number;
  headingPath?: string[];
  tokenCount: number;
  role: 'leaf' | 'parent' | 'child';
  parentChunkId?: number;
  /** Title and heading path the chunk is searched and embedded with ('' when its text carries them). */
  context: string;
  /** Document metadata with the chunk's own metadata laid over it. */
  metadata: Metadata;
  /** sha256 hex of the chunk text. */
  textHash: string;
}

/** What a retrieval result shows of a chunk: its text, where it is, its metadata and its section. */
export type ResultChunk = Pick<
  StoredChunk,
  'id' | 'documentId' | 'uri' | 'text' | 'start' | 'end' | 'page' | 'parentChunkId' | 'metadata'
>;

/** Where a chunk sits: its role, its section (a parent, or itself for leaves and parents) and its document. */
export interface ChunkLink {
  id: number;
  role: 'leaf' | 'parent' | 'child';
  sectionId: number;
  documentRowId: number;
}

export interface UpsertResult {
  documentRowId: number;
  /** Row ids of the new chunks: `addedChunkIds[i]` is the id of `chunks[i]`. */
  addedChunkIds: number[];
  /** Row ids of the chunks the document had before (all gone now). */
  removedChunkIds: number[];
}

export interface VectorBatch {
  ids: number[];
  vectors: Float32Array[];
}

export interface ScoredId {
  id: number;
  score: number;
}

export interface StoreStats {
  documents: number;
  /** Every chunk: passages and the sections made of several passages. */
  chunks: number;
  /** Chunks the embedder reads and search returns (leaves and children). */
  passages: number;
  /** Units BM25 ranks (parents and leaves). */
  sections: number;
  vectors: number;
  dimensions?: number;
  embedderId?: string;
  /** Size of the database file plus its write-ahead log. */
  storeBytes: number;
  vectorGeneration: number;
}

/** Settings only the store itself writes. */
const RESERVED_SETTINGS = new Set([
  'schema_version',
  'store_id',
  'embedder_id',
  'dimensions',
  'distance',
  'chunker',
  'vector_generation',
  'vector_changes_floor',
  'created_at',
]);

const NO_EMBEDDER_ID = 'none';

interface ChunkRow {
  id: number;
  document_id: number;
  chunk_index: number;
  text: string;
  start_offset: number;
  end_offset: number;
  page: number | null;
  heading_path: string | null;
  token_count: number;
  role: 'leaf' | 'parent' | 'child';
  parent_chunk_id: number | null;
  context: string;
  metadata: string;
  doc_id: string;
  uri: string;
  title: string | null;
  format: DocumentFormat;
}

interface DocumentRow {
  id: number;
  doc_id: string;
  uri: string;
  format: DocumentFormat;
  content_hash: string;
  metadata: string;
  title: string | null;
  size: number | null;
  modified_at: string | null;
  ingested_at: string;
  pages: string | null;
  chunked_with: string | null;
  text?: string | null;
  text_gaps?: string | null;
}

const CHUNK_COLUMNS = `c.id, c.document_id, c.chunk_index, c.text, c.start_offset, c.end_offset, c.page, c.heading_path,
  c.token_count, c.role, c.parent_chunk_id, c.context, c.metadata, d.doc_id, d.uri, d.title, d.format`;

/** SQLite page cache per connection, KiB (grown only as pages are read). */
const PAGE_CACHE_KIB = 65_536;
/** How much of the file SQLite reads through a memory map instead of read() calls. */
const MMAP_BYTES = 2 ** 30;

/** The columns of a ResultChunk, read as raw rows (arrays) in this order. */
const RESULT_COLUMNS =
  'c.id, c.text, c.start_offset, c.end_offset, c.page, c.parent_chunk_id, c.metadata, d.doc_id, d.uri';

type ResultRow = [
  id: number,
  text: string,
  start: number,
  end: number,
  page: number | null,
  parentChunkId: number | null,
  metadata: string,
  docId: string,
  uri: string,
];

/** What breaks a tie between equal BM25 scores: the document id, then the chunk's place in it (raw rows). */
const TIE_COLUMNS = 'c.id, d.doc_id, c.chunk_index';

/** Phrases whose BM25 document frequency is remembered between queries (per store generation). */
const DOCUMENT_FREQUENCY_CACHE_SIZE = 4096;

/** Ids per chunk lookup statement; longer lists take several. */
const CHUNKS_PER_LOOKUP = 64;

const DOCUMENT_COLUMNS = `id, doc_id, uri, format, content_hash, metadata, title, size, modified_at, ingested_at, pages,
  chunked_with`;

/**
 * The source of truth of a local knowledge base: documents, chunks, vectors and a BM25 index in one SQLite file.
 * WAL mode lets readers in other processes keep working while one process writes.
 */
export class SqliteStore {
  /** True when this open recorded chunker settings different from the ones stored before. */
  readonly chunkerChanged: boolean;
  private handle: Database.Database | undefined;
  /** Prepared statements by row shape, then SQL text. */
  private readonly statements = {
    rows: new Map<string, Database.Statement>(),
    pluck: new Map<string, Database.Statement>(),
    raw: new Map<string, Database.Statement>(),
  };
  /**
   * BM25 statistics already counted, valid while the store stays at `mark` (its generation and token: every
   * write that changes chunks moves it, this process's and other processes' alike).
   */
  private documentFrequencies: { mark: string; sections: number; matching: Map<string, number> } | undefined;

  private constructor(
    readonly path: string,
    handle: Database.Database,
    readonly readonly: boolean,
    chunkerChanged: boolean,
  ) {
    this.handle = handle;
    this.chunkerChanged = chunkerChanged;
  }

  static open(dbPath: string, options: SqliteStoreOptions = {}): SqliteStore {
    validateOpenOptions(options);
    const resolved = path.resolve(dbPath);
    const readonly = options.readonly === true;
    if (readonly && !fs.existsSync(resolved)) throw storeNotFound(resolved);
    if (!readonly && !fs.existsSync(path.dirname(resolved))) {
      throw kbError(
        'FILE_NOT_FOUND',
        `The folder of ${resolved} does not exist; create it or choose another --db path.`,
        { input: resolved },
      );
    }
    let db: Database.Database;
    try {
      db = connect(resolved, readonly, options.busyTimeoutMs ?? 5000);
    } catch (error) {
      throw asStoreError(error, resolved);
    }
    try {
      if (!readonly) {
        switchToWal(db, options.busyTimeoutMs ?? 5000);
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      ensureSchema(db, resolved, readonly);
      checkEmbedder(db, resolved, options.embedder, readonly);
      const chunkerChanged = recordChunker(db, options.chunker, readonly);
      return new SqliteStore(resolved, db, readonly, chunkerChanged);
    } catch (error) {
      db.close();
      throw asStoreError(error, resolved);
    }
  }

  /**
   * The settings of the store at `dbPath` without keeping it open; undefined when there is no store yet (no
   * file, or a file whose creation is under way in another process or was interrupted). Stores of an older
   * schema are read as they are: migrating is the writable open's job.
   */
  static readSettings(dbPath: string): StoreSettings | undefined {
    const resolved = path.resolve(dbPath);
    if (!fs.existsSync(resolved)) return undefined;
    let db: Database.Database;
    try {
      db = connect(resolved, true, 5000);
    } catch (error) {
      throw asStoreError(error, resolved);
    }
    try {
      const tables = tableNames(db);
      if (tables.size === 0) return undefined;
      if (!tables.has('settings')) throw notAStore(resolved, 'it has no settings table');
      return settingsOf(db);
    } catch (error) {
      throw asStoreError(error, resolved);
    } finally {
      db.close();
    }
  }

  settings(): StoreSettings {
    return settingsOf(this.db);
  }

  /** The embedder recorded in the store, if any. */
  get embedder(): EmbedderIdentity | undefined {
    const id = this.getSetting('embedder_id');
    const dimensions = this.getSetting('dimensions');
    return id === undefined || dimensions === undefined ? undefined : { id, dimensions: Number(dimensions) };
  }

  /** Vector length of the store; 0 for a BM25-only store or one with no embedder recorded yet. */
  get dimensions(): number {
    return Number(this.getSetting('dimensions') ?? 0);
  }

  get storeId(): string {
    return this.getSetting('store_id')!;
  }

  /**
   * The x-amz-bedrock-kb-data-source-id of chunks ingested without one: a Bedrock-shaped id ([0-9A-Z]{10})
   * derived from the store id, as migration 6 derives it.
   */
  get dataSourceId(): string {
    return this.storeId.replace(/-/g, '').slice(0, 10).toUpperCase();
  }

  /**
   * Replaces a document and all its chunks in one transaction. `vectors[i]` belongs to `chunks[i]`; null for
   * chunks that are not embedded (parents, BM25-only stores). Everything is validated before anything is written.
   * `chunkedWith` is kept with the document in the same transaction (see `StoredDocument.chunkedWith`).
   */
  upsertDocument(
    doc: SourceDocument,
    chunks: Chunk[],
    vectors: (Float32Array | null)[],
    options: { chunkedWith?: string } = {},
  ): UpsertResult {
    this.assertWritable('upsertDocument');
    validateDocument(doc);
    validateChunks(doc.id, chunks);
    this.validateVectors(doc.id, chunks, vectors);

    const gaps = textGaps(doc.text, chunks);
    const write = () => {
      this.bumpGeneration();
      const documentRowId = (
        this.prepare(
          `INSERT INTO documents (doc_id, uri, format, content_hash, metadata, title, size, modified_at, ingested_at,
             text, text_gaps, pages, chunked_with)
           VALUES (@docId, @uri, @format, @contentHash, @metadata, @title, @size, @modifiedAt, @ingestedAt, @text,
             @textGaps, @pages, @chunkedWith)
           ON CONFLICT(doc_id) DO UPDATE SET uri = excluded.uri, format = excluded.format,
             content_hash = excluded.content_hash, metadata = excluded.metadata, title = excluded.title,
             size = excluded.size, modified_at = excluded.modified_at, ingested_at = excluded.ingested_at,
             text = excluded.text, text_gaps = excluded.text_gaps, pages = excluded.pages,
             chunked_with = excluded.chunked_with
           RETURNING id`,
        ).get({
          ...documentParams(doc),
          // The text once: what the chunks hold is not kept again (see document-text.ts).
          text: gaps === undefined ? doc.text : null,
          textGaps: gaps ?? null,
          chunkedWith: options.chunkedWith ?? null,
        }) as { id: number }
      ).id;
      const removedChunkIds = this.prepare(
        'DELETE FROM chunks WHERE document_id = ? RETURNING id',
        'pluck',
      ).all(documentRowId) as number[];

      const insertChunk = this.prepare(
        `INSERT INTO chunks (document_id, chunk_index, text, start_offset, end_offset, page, heading_path,
           token_count, role, context, metadata)
         VALUES (@documentRowId, @index, @text, @start, @end, @page, @headingPath, @tokenCount, @role, @context,
           @metadata)
         RETURNING id`,
        'pluck',
      );
      const addedChunkIds = chunks.map(
        (chunk) =>
          insertChunk.get({
            documentRowId,
            index: chunk.index,
            text: chunk.text,
            start: chunk.start,
            end: chunk.end,
            page: chunk.page ?? null,
            headingPath: chunk.headingPath ? JSON.stringify(chunk.headingPath) : null,
            tokenCount: chunk.tokenCount,
            role: chunk.role ?? 'leaf',
            context: chunk.context ?? '',
            metadata: JSON.stringify(chunkMetadata(doc, chunk, this.dataSourceId)),
          }) as number,
      );
      // The chunk id is known once the row is in: Bedrock's x-amz-bedrock-kb-chunk-id, filterable like the rest.
      // Every chunk of the document was inserted just above, so one statement sets them all.
      this.prepare(
        `UPDATE chunks SET metadata = json_set(metadata, '$."${BEDROCK_METADATA_KEYS.chunkId}"', CAST(id AS TEXT))
         WHERE document_id = ?`,
      ).run(documentRowId);
      const idByIndex = new Map(chunks.map((chunk, i) => [chunk.index, addedChunkIds[i]!]));
      const setParent = this.prepare('UPDATE chunks SET parent_chunk_id = ? WHERE id = ?');
      chunks.forEach((chunk, i) => {
        if (chunk.parentIndex !== undefined)
          setParent.run(idByIndex.get(chunk.parentIndex)!, addedChunkIds[i]!);
      });
      this.prepare('DELETE FROM vector_blocks WHERE document_id = ?').run(documentRowId);
      const embedded = vectors.flatMap((vector, i) => (vector ? [i] : []));
      const insertBlock = this.prepare(
        'INSERT INTO vector_blocks (first_chunk_id, document_id, chunk_offsets, vectors) VALUES (?, ?, ?, ?)',
      );
      const blocks = encodeVectorBlocks(
        embedded.map((i) => addedChunkIds[i]!),
        embedded.map((i) => vectors[i]!),
      );
      for (const block of blocks) insertBlock.run(block.first, documentRowId, block.offsets, block.vectors);
      return { documentRowId, addedChunkIds, removedChunkIds };
    };
    return this.db.transaction(write).immediate();
  }

  /** Removes a document with its chunks, vectors and BM25 rows; returns the removed chunk ids, or undefined. */
  deleteDocument(docId: string): number[] | undefined {
    this.assertWritable('deleteDocument');
    const remove = () => {
      const row = this.prepare('SELECT id FROM documents WHERE doc_id = ?', 'pluck').get(docId) as
        | number
        | undefined;
      if (row === undefined) return undefined;
      this.bumpGeneration();
      const removed = this.prepare('DELETE FROM chunks WHERE document_id = ? RETURNING id', 'pluck').all(
        row,
      ) as number[];
      this.prepare('DELETE FROM vector_blocks WHERE document_id = ?').run(row);
      this.prepare('DELETE FROM documents WHERE id = ?').run(row);
      return removed;
    };
    return this.db.transaction(remove).immediate();
  }

  getDocument(docId: string): StoredDocument | undefined {
    return this.readSnapshot(() => {
      const row = this.prepare(
        `SELECT ${DOCUMENT_COLUMNS}, text, text_gaps FROM documents WHERE doc_id = ?`,
      ).get(docId) as DocumentRow | undefined;
      if (!row) return undefined;
      if (typeof row.text_gaps === 'string') {
        const spans = this.prepare(
          'SELECT start_offset AS start, end_offset AS end, text FROM chunks WHERE document_id = ?',
        ).all(row.id) as ChunkSpan[];
        row.text = joinText(row.text_gaps, spans);
      }
      return toStoredDocument(row);
    });
  }

  /** Every document, without its text, in insertion order. */
  listDocuments(): StoredDocument[] {
    const rows = this.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents ORDER BY id`).all() as DocumentRow[];
    return rows.map(toStoredDocument);
  }

  /** Up to `limit` documents after the first `offset`, in ingest order, each with its chunk count. */
  listDocumentPage(offset: number, limit: number): ListedDocument[] {
    const rows = this.prepare(
      `SELECT ${DOCUMENT_COLUMNS}, (SELECT count(*) FROM chunks c WHERE c.document_id = documents.id) AS chunk_count
       FROM documents ORDER BY id LIMIT ? OFFSET ?`,
    ).all(limit, offset) as (DocumentRow & { chunk_count: number })[];
    return rows.map((row) => ({ ...toStoredDocument(row), chunks: row.chunk_count }));
  }

  /** The chunks with these ids, in the order asked; ids that do not exist are skipped. */
  getChunks(ids: readonly number[]): StoredChunk[] {
    const byId = this.chunkRowsById<ChunkRow>(ids, CHUNK_COLUMNS, 'rows', (row) => row.id);
    return inOrderAsked(ids, byId, toStoredChunk);
  }

  /**
   * The chunks with these ids as a retrieval result shows them, in the order asked (missing ids skipped): the
   * few columns a result needs, read as raw rows, so the lookups of a query cost what they must and no more.
   */
  resultChunks(ids: readonly number[]): ResultChunk[] {
    const byId = this.chunkRowsById<ResultRow>(ids, RESULT_COLUMNS, 'raw', (row) => row[0]);
    return inOrderAsked(ids, byId, toResultChunk);
  }

  /** Rows of `chunks c JOIN documents d` with these chunk ids, by chunk id. */
  private chunkRowsById<Row>(
    ids: readonly number[],
    columns: string,
    shape: 'rows' | 'raw',
    idOf: (row: Row) => number,
  ): Map<number, Row> {
    const byId = new Map<number, Row>();
    // Primary-key lookups through `IN (?, …)` statements, one prepared per list length: the query plan is a
    // handful of b-tree probes, where a json_each join parses JSON and sorts.
    for (let offset = 0; offset < ids.length; offset += CHUNKS_PER_LOOKUP) {
      const part =
        offset === 0 && ids.length <= CHUNKS_PER_LOOKUP ? ids : ids.slice(offset, offset + CHUNKS_PER_LOOKUP);
      const rows = this.prepare(
        `SELECT ${columns} FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN (${placeholders(part.length)})`,
        shape,
      ).all(...part) as Row[];
      for (const row of rows) byId.set(idOf(row), row);
    }
    return byId;
  }

  /**
   * Where chunks sit in their document: role, the section each belongs to (its parent, or itself for a leaf or
   * parent) and the document's row id. Ids that do not exist are left out.
   */
  chunkLinks(ids: readonly number[]): Map<number, ChunkLink> {
    if (ids.length === 0) return new Map();
    const rows = this.prepare(
      `SELECT c.id, c.role, c.parent_chunk_id, c.document_id FROM json_each(?) j JOIN chunks c ON c.id = j.value`,
      'raw',
    ).all(JSON.stringify(ids)) as [number, StoredChunk['role'], number | null, number][];
    return new Map(
      rows.map(([id, role, parent, documentRowId]) => [
        id,
        { id, role, sectionId: role === 'child' && parent !== null ? parent : id, documentRowId },
      ]),
    );
  }

  /** The passages (embedded chunks) of each section: a parent's children in order, or a leaf itself. */
  passagesOfSections(sectionIds: readonly number[]): Map<number, number[]> {
    const passages = new Map<number, number[]>();
    if (sectionIds.length === 0) return passages;
    const json = JSON.stringify(sectionIds);
    const rows = this.prepare(
      `SELECT c.id, coalesce(c.parent_chunk_id, c.id) FROM chunks c
       WHERE c.parent_chunk_id IN (SELECT value FROM json_each(@ids))
          OR (c.role = 'leaf' AND c.id IN (SELECT value FROM json_each(@ids)))
       ORDER BY c.document_id, c.chunk_index`,
      'raw',
    ).all({ ids: json }) as [number, number][];
    for (const [id, section] of rows) {
      const list = passages.get(section);
      if (list) list.push(id);
      else passages.set(section, [id]);
    }
    return passages;
  }

  /** Document ids (`SourceDocument.id`) by document row id. */
  documentIdsOf(documentRowIds: readonly number[]): Map<number, string> {
    if (documentRowIds.length === 0) return new Map();
    const rows = this.prepare(
      'SELECT d.id, d.doc_id FROM json_each(?) j JOIN documents d ON d.id = j.value',
      'raw',
    ).all(JSON.stringify(documentRowIds)) as [number, string][];
    return new Map(rows);
  }

  /** Each document's passages (embedded chunks) or sections (BM25 units), by document row id, in order. */
  chunksOfDocuments(documentRowIds: readonly number[], kind: 'passages' | 'sections'): Map<number, number[]> {
    const byDocument = new Map<number, number[]>();
    if (documentRowIds.length === 0) return byDocument;
    const excluded = kind === 'passages' ? 'parent' : 'child';
    const rows = this.prepare(
      `SELECT c.id, c.document_id FROM chunks c
       WHERE c.document_id IN (SELECT value FROM json_each(?)) AND c.role <> ?
       ORDER BY c.document_id, c.chunk_index`,
      'raw',
    ).all(JSON.stringify(documentRowIds), excluded) as [number, number][];
    for (const [id, documentRowId] of rows) {
      const list = byDocument.get(documentRowId);
      if (list) list.push(id);
      else byDocument.set(documentRowId, [id]);
    }
    return byDocument;
  }

  /** For each child chunk id that has a parent: child id → its parent chunk. */
  getParentChunks(childIds: readonly number[]): Map<number, StoredChunk> {
    if (childIds.length === 0) return new Map();
    const rows = this.prepare(
      `SELECT child.id AS child_id, ${CHUNK_COLUMNS} FROM json_each(?) j
       JOIN chunks child ON child.id = j.value
       JOIN chunks c ON c.id = child.parent_chunk_id JOIN documents d ON d.id = c.document_id`,
    ).all(JSON.stringify(childIds)) as (ChunkRow & { child_id: number })[];
    return new Map(rows.map((row) => [row.child_id, toStoredChunk(row)]));
  }

  getVector(chunkId: number): Float32Array | undefined {
    return this.getVectors([chunkId]).get(chunkId);
  }

  getVectors(chunkIds: readonly number[]): Map<number, Float32Array> {
    const asked = new Set(chunkIds);
    const found = new Map<number, Float32Array>();
    this.visitBlocksOf(chunkIds, true, (ids, vectors) => {
      const dimensions = vectors!.byteLength / 4 / ids.length;
      ids.forEach((id, i) => {
        if (asked.has(id)) found.set(id, blockVector(vectors!, i, dimensions, true));
      });
    });
    return found;
  }

  /**
   * All vectors in chunk id order, `batchSize` at a time (memory stays flat at a million vectors). Each batch is
   * its own query; wrap the loop in `readSnapshot` to see one consistent state throughout.
   */
  *iterateVectors(batchSize = 4096): Generator<VectorBatch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw kbError('INVALID_OPTION', `batchSize must be a positive integer, got ${batchSize}.`, {
        input: 'batchSize',
      });
    }
    const page = this.prepare(
      `SELECT first_chunk_id, chunk_offsets, vectors FROM vector_blocks WHERE first_chunk_id > ?
       ORDER BY first_chunk_id LIMIT ?`,
      'raw',
    );
    const blocksPerPage = Math.max(1, Math.ceil(batchSize / VECTOR_BLOCK_SIZE));
    let batch: VectorBatch = { ids: [], vectors: [] };
    let after = 0;
    for (;;) {
      const rows = page.all(after, blocksPerPage) as [number, Buffer, Buffer][];
      for (const [first, offsets, blob] of rows) {
        const ids = blockIds(first, offsets);
        const dimensions = blob.byteLength / 4 / ids.length;
        for (let i = 0; i < ids.length; i++) {
          batch.ids.push(ids[i]!);
          // Each blob is its own allocation, so views into it are as safe to keep as copies.
          batch.vectors.push(blockVector(blob, i, dimensions));
          if (batch.ids.length === batchSize) {
            yield batch;
            batch = { ids: [], vectors: [] };
          }
        }
      }
      if (rows.length < blocksPerPage) break;
      after = rows[rows.length - 1]![0];
    }
    if (batch.ids.length > 0) yield batch;
  }

  /**
   * Every chunk's metadata (the document's with the chunk's own laid over it), in chunk id order, `batchSize` at
   * a time: what an in-memory filter index is built from. Wrap the loop in `readSnapshot` for one state throughout.
   */
  *iterateChunkMetadata(batchSize = 8192): Generator<[id: number, metadata: Metadata][]> {
    const page = this.prepare('SELECT id, metadata FROM chunks WHERE id > ? ORDER BY id LIMIT ?', 'raw');
    let after = 0;
    for (;;) {
      const rows = page.all(after, batchSize) as [number, string][];
      if (rows.length === 0) return;
      yield rows.map(([id, json]) => [id, JSON.parse(json) as Metadata]);
      after = rows[rows.length - 1]![0];
      if (rows.length < batchSize) return;
    }
  }

  /** The metadata of those of `chunkIds` that exist, as `iterateChunkMetadata` gives it. */
  chunkMetadataAmong(chunkIds: readonly number[]): Map<number, Metadata> {
    if (chunkIds.length === 0) return new Map();
    const rows = this.prepare(
      'SELECT c.id, c.metadata FROM json_each(?) j JOIN chunks c ON c.id = j.value',
      'raw',
    ).all(JSON.stringify(chunkIds)) as [number, string][];
    return new Map(rows.map(([id, json]) => [id, JSON.parse(json) as Metadata]));
  }

  /** Ids of every chunk, ascending. */
  chunkIds(): number[] {
    return this.prepare('SELECT id FROM chunks ORDER BY id', 'pluck').all() as number[];
  }

  /** Whether the store holds any chunk: one index probe, unlike a count. */
  hasChunks(): boolean {
    return this.prepare('SELECT EXISTS (SELECT 1 FROM chunks)', 'pluck').get() === 1;
  }

  countDocuments(): number {
    return this.prepare('SELECT count(*) FROM documents', 'pluck').get() as number;
  }

  /** All chunks, parents included. */
  countChunks(): number {
    return this.prepare('SELECT count(*) FROM chunks', 'pluck').get() as number;
  }

  countVectors(): number {
    return this.prepare(
      'SELECT coalesce(sum(length(chunk_offsets)), 0) / 4 FROM vector_blocks',
      'pluck',
    ).get() as number;
  }

  /** Ids of every chunk that has a vector, ascending. */
  vectorChunkIds(): number[] {
    const rows = this.prepare(
      'SELECT first_chunk_id, chunk_offsets FROM vector_blocks ORDER BY first_chunk_id',
      'raw',
    ).all() as [number, Buffer][];
    return rows.flatMap(([first, offsets]) => blockIds(first, offsets));
  }

  /** Which of these chunk ids have a vector, without reading the vectors. */
  vectorChunkIdsAmong(chunkIds: readonly number[]): Set<number> {
    const asked = new Set(chunkIds);
    const present = new Set<number>();
    this.visitBlocksOf(chunkIds, false, (ids) => {
      for (const id of ids) if (asked.has(id)) present.add(id);
    });
    return present;
  }

  /**
   * Calls `visit` once for each block that may hold a vector of `chunkIds` (the block with the greatest first id
   * at or below the id), with its ids and, when `withVectors`, its vectors blob.
   */
  private visitBlocksOf(
    chunkIds: readonly number[],
    withVectors: boolean,
    visit: (ids: number[], vectors: Buffer | undefined) => void,
  ): void {
    if (chunkIds.length === 0) return;
    const lookup = this.prepare(
      `SELECT first_chunk_id, chunk_offsets${withVectors ? ', vectors' : ''} FROM vector_blocks
       WHERE first_chunk_id <= ? ORDER BY first_chunk_id DESC LIMIT 1`,
      'raw',
    );
    const sorted = [...new Set(chunkIds)].sort((a, b) => a - b);
    let last: number | undefined;
    this.readSnapshot(() => {
      for (const id of sorted) {
        // Ids a block visited already covers need no other lookup.
        if (last !== undefined && id <= last) continue;
        const row = lookup.get(id) as [number, Buffer, Buffer?] | undefined;
        if (!row) continue;
        const ids = blockIds(row[0], row[1]);
        last = ids[ids.length - 1]!;
        if (id > last) continue;
        visit(ids, row[2]);
      }
    });
  }

  /**
   * Ids of chunks (passages and sections) where a boolean SQL expression over alias `c` holds. The expression
   * comes from the retrieve layer's filter compiler and reads `c.metadata` (document + chunk metadata as JSON).
   */
  chunkIdsWhere(sqlBooleanExpression: string, params: readonly unknown[]): number[] {
    try {
      return this.prepare(`SELECT c.id FROM chunks c WHERE (${sqlBooleanExpression})`, 'pluck').all(
        ...params,
      ) as number[];
    } catch (error) {
      if (isLocalKbError(error)) throw error;
      throw kbError(
        'INVALID_FILTER',
        `The filter could not be run as SQL (${(error as Error).message}); check the filter's keys and values.`,
        { input: sqlBooleanExpression, cause: error },
      );
    }
  }

  /**
   * BM25 over sections (parent and leaf chunks, context and text) with FTS5: k1 = 1.2, b = 0.75, fixed by SQLite.
   * Score = −bm25(), so higher is better; equal scores are ordered by document id and chunk index, so the order
   * depends on the content only, never on the history of row ids. `ftsMatchExpression` is FTS5 query syntax;
   * `candidateIds` restricts the search to those sections.
   */
  bm25Search(
    ftsMatchExpression: string,
    k: number,
    options: { candidateIds?: readonly number[] } = {},
  ): ScoredId[] {
    if (!Number.isInteger(k) || k < 1) {
      throw kbError('INVALID_OPTION', `k must be a positive integer, got ${k}.`, { input: 'k' });
    }
    if (typeof ftsMatchExpression !== 'string' || ftsMatchExpression.trim() === '') {
      throw kbError('INVALID_QUERY', 'The BM25 match expression is empty; pass words to search for.', {
        input: String(ftsMatchExpression),
      });
    }
    const { candidateIds } = options;
    if (candidateIds && candidateIds.length === 0) return [];
    // Sorted on the score column by SQLite's own top-N sorter: FTS5's `ORDER BY rank` sorts the same values in a
    // nested statement and takes ~1.3× as long (bench:search's BM25 row shows both).
    const statement = candidateIds
      ? this.prepare(
          `SELECT rowid AS id, -bm25(bm25_fts) AS score FROM bm25_fts
           WHERE bm25_fts MATCH ? AND rowid IN (SELECT value FROM json_each(?))
           ORDER BY score DESC LIMIT ?`,
        )
      : this.prepare(
          'SELECT rowid AS id, -bm25(bm25_fts) AS score FROM bm25_fts WHERE bm25_fts MATCH ? ORDER BY score DESC LIMIT ?',
        );
    const run = (limit: number) =>
      this.runFts(ftsMatchExpression, () =>
        candidateIds
          ? (statement.all(ftsMatchExpression, JSON.stringify(candidateIds), limit) as ScoredId[])
          : (statement.all(ftsMatchExpression, limit) as ScoredId[]),
      );
    // Every row tied with the k-th score is needed, so ties at the cut are broken by content too. FTS5 scores and
    // sorts all matches whatever the LIMIT, so one query reads past k (a few rows more cost microseconds) and,
    // only when the tie at the cut reaches even further, one more reads every match (LIMIT -1): a term in every
    // document ties them all, and growing the limit step by step would score the whole doclist each time.
    const limit = k + Math.max(k, 16);
    let rows = run(limit + 1);
    if (rows.length > limit && rows[limit]!.score === rows[k - 1]!.score) rows = run(-1);
    const cut = rows[k - 1]?.score;
    return this.orderTies(cut === undefined ? rows : rows.filter((row) => row.score >= cut)).slice(0, k);
  }

  /**
   * What BM25 knows about a query: the number of sections indexed and, per FTS5 phrase (a quoted term), how many
   * sections match it — the inputs of FTS5's idf, so callers can put a BM25 score on a [0, 1] scale.
   */
  bm25Statistics(phrases: readonly string[]): { sections: number; matching: number[] } {
    // Counting a phrase's matches reads its whole doclist; the counts only change when chunks do, so they are
    // kept until the store's generation moves. The mark is read before counting: a write landing in between
    // leaves counts under the older mark, which the next call finds stale.
    const { generation, token } = this.generationState();
    const mark = `${generation}:${token}`;
    let cache = this.documentFrequencies;
    if (cache?.mark !== mark || cache.matching.size > DOCUMENT_FREQUENCY_CACHE_SIZE) {
      const block = this.prepare('SELECT block FROM bm25_fts_data WHERE id = 1', 'pluck').get() as
        | Buffer
        | undefined;
      cache = { mark, sections: block ? readFts5Varint(block, 0) : 0, matching: new Map() };
      this.documentFrequencies = cache;
    }
    const { matching: known } = cache;
    const count = this.prepare('SELECT count(*) FROM bm25_fts WHERE bm25_fts MATCH ?', 'pluck');
    const matching = phrases.map((phrase) => {
      let matches = known.get(phrase);
      if (matches === undefined) {
        matches = this.runFts(phrase, () => count.get(phrase) as number);
        known.set(phrase, matches);
      }
      return matches;
    });
    return { sections: cache.sections, matching };
  }

  private runFts<T>(ftsMatchExpression: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (isLocalKbError(error)) throw error;
      // A damaged BM25 index fails the query too, but the fix is the file's, not the query's.
      if (isCorruption(error)) throw storeCorrupt(error, this.path);
      throw kbError(
        'INVALID_QUERY',
        `"${ftsMatchExpression}" is not a valid FTS5 match expression (${(error as Error).message}); quote the terms.`,
        { input: ftsMatchExpression, cause: error },
      );
    }
  }

  /** Rows with equal scores in document-id, chunk-index order (row ids differ between stores of equal content). */
  private orderTies(rows: ScoredId[]): ScoredId[] {
    const tied = rows.filter(
      (row, i) => row.score === rows[i - 1]?.score || row.score === rows[i + 1]?.score,
    );
    if (tied.length === 0) return rows;
    const keys = this.chunkRowsById<[number, string, number]>(
      tied.map((row) => row.id),
      TIE_COLUMNS,
      'raw',
      (row) => row[0],
    );
    return [...rows].sort((a, b) => {
      if (b.score !== a.score) return b.score - a.score;
      const x = keys.get(a.id);
      const y = keys.get(b.id);
      if (!x || !y) return 0;
      return x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[2] - y[2];
    });
  }

  stats(): StoreStats {
    const embedder = this.embedder;
    const count = (sql: string) => this.prepare(sql, 'pluck').get() as number;
    return {
      documents: this.countDocuments(),
      chunks: this.countChunks(),
      passages: count("SELECT count(*) FROM chunks WHERE role <> 'parent'"),
      sections: count("SELECT count(*) FROM chunks WHERE role <> 'child'"),
      vectors: this.countVectors(),
      ...(embedder ? { dimensions: embedder.dimensions, embedderId: embedder.id } : {}),
      storeBytes: fileSize(this.path) + fileSize(`${this.path}-wal`),
      vectorGeneration: this.vectorGeneration(),
    };
  }

  /** Goes up by one with every write that adds or removes chunks; caches compare it to know they are stale. */
  vectorGeneration(): number {
    return this.prepare(
      "SELECT value FROM settings WHERE key = 'vector_generation'",
      'pluck',
    ).get() as number;
  }

  /**
   * The random token written with `generation`, or undefined when this store's history has no such generation
   * (it is ahead of the store, or older than the tokens kept). A cache that recorded another token for the same
   * generation belongs to another history of the store, such as the one a restored backup left behind.
   */
  generationToken(generation: number): string | undefined {
    return this.prepare('SELECT token FROM store_generations WHERE generation = ?', 'pluck').get(
      generation,
    ) as string | undefined;
  }

  /** The current generation and its token, read together. */
  generationState(): { generation: number; token: string } {
    const row = this.prepare(
      `SELECT s.value AS generation, g.token AS token FROM settings s
       LEFT JOIN store_generations g ON g.generation = s.value WHERE s.key = 'vector_generation'`,
    ).get() as { generation: number; token: string | null };
    return { generation: row.generation, token: row.token ?? '' };
  }

  /**
   * Ids of chunks added or removed after `generation` (their current state is in `chunks` and `vectors`), or
   * undefined when the change log no longer reaches back that far.
   */
  chunkChangesSince(generation: number): number[] | undefined {
    const floor = Number(this.getSetting('vector_changes_floor') ?? 0);
    if (generation < floor) return undefined;
    return this.prepare('SELECT DISTINCT chunk_id FROM chunk_changes WHERE generation > ?', 'pluck').all(
      generation,
    ) as number[];
  }

  getSetting(key: string): string | undefined {
    const value = this.prepare('SELECT value FROM settings WHERE key = ?', 'pluck').get(key);
    return value === undefined || value === null ? undefined : String(value);
  }

  /** Stores an application setting. Keys the store manages itself (schema_version, embedder_id…) are refused. */
  setSetting(key: string, value: string): void {
    this.assertWritable('setSetting');
    if (RESERVED_SETTINGS.has(key)) {
      throw kbError(
        'INVALID_OPTION',
        `Setting "${key}" is managed by the store itself; choose another key.`,
        {
          input: key,
        },
      );
    }
    this.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ).run(key, String(value));
  }

  /** Runs `fn` in one write transaction (nested calls become savepoints); a throw rolls everything back. */
  transaction<T>(fn: () => T): T {
    const transaction = this.db.transaction(fn);
    return this.readonly ? transaction() : transaction.immediate();
  }

  /** Runs `fn` in one read transaction, so every read inside sees the same committed state. */
  readSnapshot<T>(fn: () => T): T {
    const db = this.db;
    if (db.inTransaction) return fn();
    // Cached BEGIN/COMMIT statements: db.transaction(fn) builds a new wrapper per call (~15 µs, a query's worth).
    this.prepare('BEGIN DEFERRED').run();
    let result: T;
    try {
      result = fn();
    } catch (error) {
      if (db.inTransaction) this.prepare('ROLLBACK').run();
      throw error;
    }
    this.prepare('COMMIT').run();
    return result;
  }

  /** The prompt versions and prompt-lab runs kept in this store. */
  promptLibrary(): PromptLibrary {
    return new SqlitePromptLibrary(() => this.db);
  }

  close(): void {
    if (!this.handle) return;
    for (const cache of Object.values(this.statements)) cache.clear();
    this.handle.close();
    this.handle = undefined;
  }

  get closed(): boolean {
    return this.handle === undefined;
  }

  private get db(): Database.Database {
    if (!this.handle) throw kbError('STORE_CLOSED', `The store ${this.path} is closed; open it again.`);
    return this.handle;
  }

  /** Prepared statements are cached per SQL text and row shape ('pluck': first column, 'raw': arrays). */
  private prepare(sql: string, shape: 'rows' | 'pluck' | 'raw' = 'rows'): Database.Statement {
    const db = this.db;
    const cache = this.statements[shape];
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (shape === 'pluck') statement.pluck();
      if (shape === 'raw') statement.raw();
      cache.set(sql, statement);
    }
    return statement;
  }

  private assertWritable(operation: string): void {
    if (this.readonly) {
      throw kbError(
        'INVALID_OPTION',
        `${operation} needs a writable store, but ${this.path} was opened read-only.`,
        {
          input: this.path,
        },
      );
    }
  }

  private bumpGeneration(): number {
    const generation = this.prepare(
      "UPDATE settings SET value = value + 1 WHERE key = 'vector_generation' RETURNING value",
      'pluck',
    ).get() as number;
    this.prepare('INSERT OR REPLACE INTO store_generations (generation, token) VALUES (?, ?)').run(
      generation,
      randomBytes(16).toString('hex'),
    );
    if (generation % 64 === 0 && generation > CHANGE_LOG_RETENTION) {
      const floor = generation - CHANGE_LOG_RETENTION;
      this.prepare('DELETE FROM chunk_changes WHERE generation <= ?').run(floor);
      this.prepare("UPDATE settings SET value = ? WHERE key = 'vector_changes_floor'").run(floor);
    }
    if (generation % 1024 === 0 && generation > GENERATION_TOKEN_RETENTION) {
      this.prepare('DELETE FROM store_generations WHERE generation <= ?').run(
        generation - GENERATION_TOKEN_RETENTION,
      );
    }
    return generation;
  }

  private validateVectors(docId: string, chunks: Chunk[], vectors: (Float32Array | null)[]): void {
    if (!Array.isArray(vectors) || vectors.length !== chunks.length) {
      throw kbError(
        'INVALID_OPTION',
        `Document "${docId}" has ${chunks.length} chunks but ${Array.isArray(vectors) ? vectors.length : 'no'} vectors; pass one vector (or null) per chunk.`,
        { input: docId },
      );
    }
    const embedder = this.embedder;
    vectors.forEach((vector, i) => {
      if (vector === null) return;
      if (!(vector instanceof Float32Array)) {
        throw kbError('INVALID_OPTION', `Vector ${i} of document "${docId}" is not a Float32Array or null.`, {
          input: docId,
        });
      }
      if (!embedder) {
        throw kbError(
          'INVALID_OPTION',
          `The store ${this.path} has no embedder recorded, so it cannot take vectors; open it with { embedder }.`,
          { input: this.path },
        );
      }
      if (vector.length !== embedder.dimensions) {
        throw kbError(
          'DIMENSION_MISMATCH',
          embedder.dimensions === 0
            ? `The store ${this.path} is BM25-only (embedder none) but chunk ${i} of "${docId}" has a ${vector.length}-d vector; pass null vectors or use a store with an embedder.`
            : `Chunk ${i} of "${docId}" has a ${vector.length}-d vector, but the store ${this.path} holds ${embedder.dimensions}-d vectors of "${embedder.id}"; embed with that embedder or use a new --db.`,
          { input: docId, details: { expected: embedder.dimensions, actual: vector.length, chunk: i } },
        );
      }
      for (const value of vector) {
        if (!Number.isFinite(value)) {
          throw kbError(
            'INVALID_OPTION',
            `Vector ${i} of document "${docId}" contains ${value}; vectors must be finite.`,
            {
              input: docId,
            },
          );
        }
      }
    });
  }
}

/** Why a file that exists is still no store. */
export const NO_TABLES_YET = 'the file has no tables: its first ingest is under way or was interrupted';

/** SqliteStore's private helpers that only its (wrapped) methods call, synchronously. */
const INNER_STEPS: ReadonlySet<string> = new Set([
  'prepare',
  'runFts',
  'orderTies',
  'chunkRowsById',
  'visitBlocksOf',
  'assertWritable',
  'bumpGeneration',
  'validateVectors',
]);

/**
 * Damage can surface in any query, not only at open: every SqliteStore method reports a damaged file as
 * STORE_CORRUPT naming it (our own errors, and SQLite errors that are not corruption, pass through unchanged).
 */
for (const name of Object.getOwnPropertyNames(SqliteStore.prototype)) {
  const descriptor = Object.getOwnPropertyDescriptor(SqliteStore.prototype, name);
  if (name === 'constructor' || typeof descriptor?.value !== 'function') continue;
  // Private steps of a query run only inside methods already wrapped: a second layer would only cost time.
  if (INNER_STEPS.has(name)) continue;
  const method = descriptor.value as (...args: unknown[]) => unknown;
  Object.defineProperty(SqliteStore.prototype, name, {
    ...descriptor,
    value(this: SqliteStore, ...args: unknown[]) {
      try {
        return method.apply(this, args);
      } catch (error) {
        throw !isLocalKbError(error) && isCorruption(error) ? storeCorrupt(error, this.path) : error;
      }
    },
  });
}

/**
 * Opening a store to read found none: nothing was created. The fix names both ways to make one, the CLI's and
 * the library's.
 */
export function storeNotFound(dbPath: string, why?: string): LocalKbError {
  return kbError(
    'STORE_NOT_FOUND',
    `No knowledge base at ${dbPath}${why ? ` (${why})` : ''}; nothing was created. Check the path, or build ` +
      `the store first: localkb ingest <files or folders> --db ${dbPath} (in code, LocalKnowledgeBase.open ` +
      'without mustExist creates it).',
    { input: dbPath },
  );
}

const SQLITE_STORE_OPTIONS = declareOptions<SqliteStoreOptions>('SqliteStore.open', {
  embedder: declareOptions<EmbedderIdentity>('embedder', { id: 'string', dimensions: 'integer' }),
  chunker: 'object',
  readonly: 'boolean',
  busyTimeoutMs: 'integer',
});

function validateOpenOptions(options: SqliteStoreOptions): void {
  checkOptions(SQLITE_STORE_OPTIONS, options);
  const { embedder, busyTimeoutMs } = options;
  if (busyTimeoutMs !== undefined && (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)) {
    throw kbError('INVALID_OPTION', `busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}.`, {
      input: 'busyTimeoutMs',
    });
  }
  if (embedder === undefined) return;
  if (typeof embedder.id !== 'string' || embedder.id.trim() === '') {
    throw kbError(
      'INVALID_OPTION',
      `embedder.id must be a non-empty string, got ${JSON.stringify(embedder.id)}.`,
      {
        input: 'embedder.id',
      },
    );
  }
  if (!Number.isInteger(embedder.dimensions) || embedder.dimensions < 0) {
    throw kbError(
      'INVALID_OPTION',
      `embedder.dimensions must be a non-negative integer, got ${embedder.dimensions}.`,
      {
        input: 'embedder.dimensions',
      },
    );
  }
  if ((embedder.dimensions === 0) !== (embedder.id === NO_EMBEDDER_ID)) {
    throw kbError(
      'INVALID_OPTION',
      `embedder ${JSON.stringify(embedder)}: use { id: 'none', dimensions: 0 } for a BM25-only store, and a positive dimension for any other embedder.`,
      { input: 'embedder' },
    );
  }
}

/**
 * Opens the SQLite file. A read-only connection cannot roll back the hot journal of a writer killed mid-write
 * (SQLite answers SQLITE_READONLY_ROLLBACK or _RECOVERY), so such a file is first recovered by a brief
 * writable connection, as SQLite itself would with write access.
 */
function connect(file: string, readonly: boolean, busyTimeoutMs: number): Database.Database {
  // SQLite opens a folder and then fails with "disk I/O error"; say what is wrong instead.
  if (isFolder(file)) {
    throw kbError(
      'INVALID_OPTION',
      `${file} is a folder, not a store file; name a file for the store, e.g. ${path.join(file, 'kb.db')}.`,
      { input: file },
    );
  }
  const open = (asReadonly: boolean) => {
    const db = new Database(file, { readonly: asReadonly, fileMustExist: asReadonly });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    return db;
  };
  const db = open(readonly);
  if (!readonly) return withReadCache(db);
  try {
    tableNames(db);
    return withReadCache(db);
  } catch (error) {
    db.close();
    if (!String((error as { code?: unknown }).code).startsWith('SQLITE_READONLY')) throw error;
  }
  const recovering = new Database(file, { fileMustExist: true });
  try {
    recovering.pragma(`busy_timeout = ${busyTimeoutMs}`);
    tableNames(recovering);
  } finally {
    recovering.close();
  }
  return withReadCache(open(true));
}

/**
 * A query touches a few dozen pages spread over the chunk, FTS and document b-trees; SQLite's default 2 MiB cache
 * kept few of them between queries, so each lookup became a read() of the OS's copy. The file is mapped and a
 * larger cache keeps what was read (pages are held only as they are used). Set once the file is known readable:
 * on a read-only connection to a file with a hot journal, a pragma would be the first statement to fail.
 */
function withReadCache(db: Database.Database): Database.Database {
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  return db;
}

/**
 * Turns on WAL. On a brand-new file still in rollback mode, two processes doing this at once can deadlock
 * (each holds a shared lock and wants an exclusive one), and SQLite answers SQLITE_BUSY without waiting; so the
 * switch is retried, with jitter, for as long as the busy timeout.
 */
function switchToWal(db: Database.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}

function tableNames(db: Database.Database): Set<string> {
  return new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
}

function settingsOf(db: Database.Database): StoreSettings {
  const rows = db.prepare('SELECT key, value FROM settings').all() as { key: string; value: unknown }[];
  const values = new Map(rows.map((row) => [row.key, row.value]));
  const chunker = values.get('chunker');
  const dimensions = values.get('dimensions');
  const embedderId = values.get('embedder_id');
  return {
    schemaVersion: Number(values.get('schema_version')),
    storeId: String(values.get('store_id')),
    ...(typeof embedderId === 'string' ? { embedderId } : {}),
    ...(dimensions !== undefined && dimensions !== null ? { dimensions: Number(dimensions) } : {}),
    distance: 'cosine',
    ...(typeof chunker === 'string' ? { chunker: JSON.parse(chunker) as Record<string, unknown> } : {}),
    vectorGeneration: Number(values.get('vector_generation')),
    createdAt: String(values.get('created_at')),
  };
}

function ensureSchema(db: Database.Database, dbPath: string, readonly: boolean): void {
  const tables = tableNames(db);
  if (tables.size === 0) {
    // A store is created in one transaction, so a file without tables was never a store: another process is
    // creating it right now, or a creation was killed before it committed. A writable open (re)creates it.
    if (readonly) {
      throw storeNotFound(dbPath, NO_TABLES_YET);
    }
    // Another process may create the schema at the same moment: the immediate transaction re-checks under lock.
    db.transaction(() => {
      const count = db
        .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .pluck()
        .get() as number;
      if (count === 0) createSchema(db);
    }).immediate();
    return;
  }
  if (!tables.has('settings')) throw notAStore(dbPath, 'it has no settings table');
  const version = Number(
    db.prepare("SELECT value FROM settings WHERE key = 'schema_version'").pluck().get() ?? Number.NaN,
  );
  if (!Number.isInteger(version)) throw notAStore(dbPath, 'it records no schema version');
  if (version > SCHEMA_VERSION) {
    throw kbError(
      'STORE_CORRUPT',
      `The store ${dbPath} has schema version ${version}, newer than this localkb understands (${SCHEMA_VERSION}); upgrade localkb.`,
      { input: dbPath },
    );
  }
  if (version < SCHEMA_VERSION) {
    if (readonly) {
      throw kbError(
        'STORE_CORRUPT',
        `The store ${dbPath} has schema version ${version} and needs migrating to ${SCHEMA_VERSION}; open it writable once.`,
        { input: dbPath },
      );
    }
    db.transaction(() => migrate(db, version)).immediate();
  }
  const present = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
  const missing = CORE_TABLES.filter((table) => !present.has(table));
  if (missing.length > 0) throw notAStore(dbPath, `tables ${missing.join(', ')} are missing`);
}

function createSchema(db: Database.Database): void {
  db.exec(`CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  migrate(db, 0);
  const insert = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)');
  insert.run('store_id', randomUUID());
  insert.run('distance', 'cosine');
  insert.run('vector_generation', 0);
  insert.run('vector_changes_floor', 0);
  db.prepare('INSERT INTO store_generations (generation, token) VALUES (0, ?)').run(
    randomBytes(16).toString('hex'),
  );
  insert.run('created_at', new Date().toISOString());
}

function migrate(db: Database.Database, fromVersion: number): void {
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)',
  );
  // A step recorded as applied is never run twice, whatever schema_version says.
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  for (const migration of MIGRATIONS) {
    if (migration.version <= fromVersion || applied.has(migration.version)) continue;
    db.exec(migration.sql);
    migration.run?.(db);
    record.run(migration.version, migration.description, new Date().toISOString());
  }
  db.prepare(
    "INSERT INTO settings (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  ).run(SCHEMA_VERSION);
}

function checkEmbedder(
  db: Database.Database,
  dbPath: string,
  requested: EmbedderIdentity | undefined,
  readonly: boolean,
): void {
  if (!requested) return;
  const storedId = db.prepare("SELECT value FROM settings WHERE key = 'embedder_id'").pluck().get() as
    | string
    | undefined;
  const storedDimensions = db.prepare("SELECT value FROM settings WHERE key = 'dimensions'").pluck().get() as
    | number
    | undefined;
  if (storedId === undefined || storedDimensions === undefined) {
    if (readonly) return;
    db.transaction(() => {
      const upsert = db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      );
      upsert.run('embedder_id', requested.id);
      upsert.run('dimensions', requested.dimensions);
    }).immediate();
    return;
  }
  const stored = `"${storedId}" (${storedDimensions} dimensions)`;
  const asked = `"${requested.id}" (${requested.dimensions} dimensions)`;
  const fix = `Use a new --db for the new embedder, or open this store with "${storedId}" again.`;
  if (storedId !== requested.id) {
    throw kbError(
      'EMBEDDER_MISMATCH',
      `The store ${dbPath} was built with embedder ${stored} but was opened with ${asked}. ${fix}`,
      {
        input: dbPath,
        details: {
          storedEmbedder: storedId,
          storedDimensions,
          requestedEmbedder: requested.id,
          requestedDimensions: requested.dimensions,
        },
      },
    );
  }
  if (Number(storedDimensions) !== requested.dimensions) {
    throw kbError(
      'DIMENSION_MISMATCH',
      `The store ${dbPath} holds ${stored} vectors but was opened expecting ${asked}. ${fix}`,
      {
        input: dbPath,
        details: {
          storedEmbedder: storedId,
          storedDimensions,
          requestedEmbedder: requested.id,
          requestedDimensions: requested.dimensions,
        },
      },
    );
  }
}

function recordChunker(
  db: Database.Database,
  chunker: Record<string, unknown> | undefined,
  readonly: boolean,
): boolean {
  if (chunker === undefined) return false;
  const json = JSON.stringify(chunker);
  const stored = db.prepare("SELECT value FROM settings WHERE key = 'chunker'").pluck().get() as
    | string
    | undefined;
  if (stored === json) return false;
  if (!readonly) {
    db.prepare(
      "INSERT INTO settings (key, value) VALUES ('chunker', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(json);
  }
  return stored !== undefined;
}

function validateDocument(doc: SourceDocument): void {
  if (!doc || typeof doc.id !== 'string' || doc.id === '') {
    throw kbError('INVALID_OPTION', 'A document needs a non-empty string id.', { input: String(doc?.id) });
  }
  for (const field of ['uri', 'format', 'text', 'contentHash'] as const) {
    if (typeof doc[field] !== 'string') {
      throw kbError('INVALID_OPTION', `Document "${doc.id}" has no ${field} string.`, { input: doc.id });
    }
  }
}

function validateChunks(docId: string, chunks: Chunk[]): void {
  if (!Array.isArray(chunks)) {
    throw kbError('INVALID_OPTION', `The chunks of document "${docId}" must be an array.`, { input: docId });
  }
  const indexes = new Set<number>();
  for (const chunk of chunks) {
    if (!Number.isInteger(chunk.index) || chunk.index < 0 || indexes.has(chunk.index)) {
      throw kbError(
        'INVALID_OPTION',
        `Chunk index ${chunk.index} of document "${docId}" is not a unique non-negative integer.`,
        { input: docId },
      );
    }
    if (typeof chunk.text !== 'string') {
      throw kbError('INVALID_OPTION', `Chunk ${chunk.index} of document "${docId}" has no text.`, {
        input: docId,
      });
    }
    if (chunk.context !== undefined && typeof chunk.context !== 'string') {
      throw kbError(
        'INVALID_OPTION',
        `Chunk ${chunk.index} of document "${docId}" has a context that is not a string.`,
        {
          input: docId,
        },
      );
    }
    indexes.add(chunk.index);
  }
  const roles = new Map(chunks.map((chunk) => [chunk.index, chunk.role]));
  for (const chunk of chunks) {
    if (chunk.parentIndex === undefined) continue;
    if (roles.get(chunk.parentIndex) !== 'parent') {
      throw kbError(
        'INVALID_OPTION',
        `Chunk ${chunk.index} of document "${docId}" names parent ${chunk.parentIndex}, which is not a parent chunk of that document.`,
        { input: docId },
      );
    }
  }
}

/**
 * What a chunk's row stores as metadata: the document's with the chunk's own laid over it, and Bedrock's reserved
 * keys (source URI, data source id, page) where they are not given, so filters can name them. The chunk id
 * follows once the row has one.
 */
function chunkMetadata(doc: SourceDocument, chunk: Chunk, dataSourceId: string): Metadata {
  const metadata: Metadata = { ...doc.metadata, ...chunk.metadata };
  metadata[BEDROCK_METADATA_KEYS.sourceUri] ??= doc.uri;
  metadata[BEDROCK_METADATA_KEYS.dataSourceId] ??= dataSourceId;
  if (chunk.page !== undefined) metadata[BEDROCK_METADATA_KEYS.pageNumber] ??= chunk.page;
  return metadata;
}

function documentParams(doc: SourceDocument) {
  const metadata = doc.metadata ?? {};
  const title = metadata[LOCALKB_METADATA_KEYS.title] ?? metadata.title;
  const sizeBytes = metadata[LOCALKB_METADATA_KEYS.sizeBytes];
  const modifiedAt = metadata[LOCALKB_METADATA_KEYS.modifiedAt];
  return {
    docId: doc.id,
    uri: doc.uri,
    format: doc.format,
    contentHash: doc.contentHash,
    metadata: JSON.stringify(doc.metadata ?? {}),
    title: typeof title === 'string' ? title : null,
    size: typeof sizeBytes === 'number' ? sizeBytes : null,
    modifiedAt: typeof modifiedAt === 'string' ? modifiedAt : null,
    ingestedAt: new Date().toISOString(),
    text: doc.text,
    pages: doc.pages ? JSON.stringify(doc.pages) : null,
  };
}

function toStoredDocument(row: DocumentRow): StoredDocument {
  return {
    rowId: row.id,
    id: row.doc_id,
    uri: row.uri,
    format: row.format,
    contentHash: row.content_hash,
    metadata: JSON.parse(row.metadata) as Metadata,
    ...(row.title !== null ? { title: row.title } : {}),
    ...(row.size !== null ? { sizeBytes: row.size } : {}),
    ...(row.modified_at !== null ? { modifiedAt: row.modified_at } : {}),
    ingestedAt: row.ingested_at,
    ...(row.pages !== null ? { pages: JSON.parse(row.pages) as PageSpan[] } : {}),
    ...(row.chunked_with !== null ? { chunkedWith: row.chunked_with } : {}),
    ...(typeof row.text === 'string' ? { text: row.text } : {}),
  };
}

function toResultChunk(row: ResultRow): ResultChunk {
  const [id, text, start, end, page, parentChunkId, json, documentId, uri] = row;
  // `metadata` is parsed on first read (a query fetches candidates and shows the metadata of few), as an accessor
  // of the literal itself: one object shape for every chunk, where defining it afterwards reshapes each object.
  let metadata: Metadata | undefined;
  const chunk: ResultChunk = {
    id,
    documentId,
    uri,
    text,
    start,
    end,
    get metadata(): Metadata {
      metadata ??= JSON.parse(json) as Metadata;
      return metadata;
    },
    set metadata(value: Metadata) {
      metadata = value;
    },
  };
  if (page !== null) chunk.page = page;
  if (parentChunkId !== null) chunk.parentChunkId = parentChunkId;
  return chunk;
}

/** `?, ?, …`: `count` SQL parameters. */
function placeholders(count: number): string {
  return count === 1 ? '?' : `?${', ?'.repeat(count - 1)}`;
}

/** The rows of `ids` that exist, converted, in the order of `ids`. */
function inOrderAsked<Row, T>(ids: readonly number[], byId: Map<number, Row>, convert: (row: Row) => T): T[] {
  const found: T[] = [];
  for (const id of ids) {
    const row = byId.get(id);
    if (row !== undefined) found.push(convert(row));
  }
  return found;
}

/** Sets `metadata` as a property parsed on first read: a query fetches candidates and shows the metadata of few. */
function withLazyMetadata<T extends { metadata: Metadata }>(chunk: T, json: string): T {
  let metadata: Metadata | undefined;
  Object.defineProperty(chunk, 'metadata', {
    enumerable: true,
    configurable: true,
    get: () => {
      metadata ??= JSON.parse(json) as Metadata;
      return metadata;
    },
    set: (value: Metadata) => {
      metadata = value;
    },
  });
  return chunk;
}

function toStoredChunk(row: ChunkRow): StoredChunk {
  const chunk = {
    id: row.id,
    documentRowId: row.document_id,
    documentId: row.doc_id,
    uri: row.uri,
    ...(row.title !== null ? { title: row.title } : {}),
    format: row.format,
    index: row.chunk_index,
    text: row.text,
    start: row.start_offset,
    end: row.end_offset,
    ...(row.page !== null ? { page: row.page } : {}),
    ...(row.heading_path !== null ? { headingPath: JSON.parse(row.heading_path) as string[] } : {}),
    tokenCount: row.token_count,
    role: row.role,
    ...(row.parent_chunk_id !== null ? { parentChunkId: row.parent_chunk_id } : {}),
    context: row.context,
  } as StoredChunk;
  // Not stored (schema 7): the text is there to hash, and few readers ask.
  let textHash: string | undefined;
  Object.defineProperty(chunk, 'textHash', {
    enumerable: true,
    configurable: true,
    get: () => {
      textHash ??= sha256(row.text);
      return textHash;
    },
  });
  return withLazyMetadata(chunk, row.metadata);
}

function notAStore(dbPath: string, why: string) {
  return kbError(
    'STORE_CORRUPT',
    `${dbPath} is not a localkb store (${why}); point --db at a localkb store or at a new file.`,
    { input: dbPath },
  );
}

/**
 * SQLite errors that mean the file is damaged rather than the request wrong: SQLITE_CORRUPT (and its extended
 * codes), SQLITE_NOTADB, and FTS5's reports of a damaged index, which come as plain SQLITE_ERROR.
 */
function isCorruption(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return true;
  const message = String((error as { message?: unknown }).message ?? '');
  return code.startsWith('SQLITE_') && /malformed|fts5: corruption|invalid fts5 file format/i.test(message);
}

/** STORE_CORRUPT naming the file, what SQLite said, and the fix. */
function storeCorrupt(error: unknown, dbPath: string): LocalKbError {
  return kbError(
    'STORE_CORRUPT',
    `${dbPath} is damaged (SQLite: ${(error as Error).message}); restore it from a backup, or ingest the ` +
      'documents again into a new --db. PRAGMA integrity_check in the sqlite3 shell lists the damaged tables.',
    { input: dbPath, cause: error, details: { sqliteCode: (error as { code?: unknown }).code } },
  );
}

/** SQLite's "not a database" and corruption errors become STORE_CORRUPT; our own errors pass through. */
function asStoreError(error: unknown, dbPath: string): unknown {
  if (isLocalKbError(error)) return error;
  const code = (error as { code?: string }).code ?? '';
  if (isCorruption(error)) return storeCorrupt(error, dbPath);
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return kbError(
      'FILE_NOT_FOUND',
      `Cannot open the store ${dbPath} (${(error as Error).message}); check the path.`,
      {
        input: dbPath,
        cause: error,
      },
    );
  }
  return error;
}

function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
