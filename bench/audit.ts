/**
 * npm run bench:audit — the outside reliability audit of #15, re-run with real parts: real SQLite files, real
 * hnswlib, real child processes killed with SIGKILL, the real AWS SDK client against `localkb serve` with keys.
 * Six checks, each scaled by a flag; the defaults finish in a few minutes on two busy cores, the audit's scale is
 *
 *   nice -n 10 npx tsx bench/audit.ts --kills 360 --hnsw-rounds 1 --filters 5034 --fts 3000 --requests 7250
 *
 * 1. kill -9 during ingest: a child ingests a corpus of files (embedder none, a deterministic in-process hash
 *    embedder, or the tiny random-weight ONNX test model through transformers.js), killed at random moments (some
 *    during a fresh store's first open). After each kill: PRAGMA integrity_check, FTS5's integrity-check, every
 *    document whole (chunks, vectors, BM25 rows equal to an uninterrupted ingest's) or absent, nothing committed
 *    earlier lost or redone; the next run must open the store and resume.
 * 2. damaged HNSW cache: truncations, flipped bytes in header/links/vectors/labels, zeroed, wrong size, swapped with
 *    another store's, damaged or missing sidecar, stale after a restored SQLite backup; each must be detected on
 *    open (onIndexRebuild), rebuilt, saved (the next open does not rebuild), and answer like a fresh store.
 * 3. fuzzed filters over hostile metadata, compared with a reference evaluator written here from the documented
 *    semantics: the SQL path (compileFilterToSql → SqliteStore.chunkIdsWhere), the in-memory index
 *    (StoreFilterIndex), and retrieve on every side (BM25 candidates / BM25 broad, exact scan / HNSW callback).
 * 4. FTS5-syntax queries: BM25 retrieve must equal the same query reduced to its plain words (bm25-query.ts: every
 *    word is a quoted term, OR-ed); raw FTS5 through SqliteStore.bm25Search must answer or fail typed.
 * 5. the real PDFs of ../shared/data/pdf-sample-files ingested one by one: 0 crashes (typed errors reported).
 * 6. signed requests under load: Retrieve and RetrieveAndGenerate through @aws-sdk/client-bedrock-agent-runtime at
 *    concurrency 16 against `localkb serve --access-key-id … --secret-access-key …` (HTTP/2 and HTTP/1.1), plus
 *    requests that must fail as AWS fails them.
 *
 * Prints one JSON object (stdout) and a table (stderr). `--only kills,hnsw,filters,fts,pdf,requests` picks checks.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  BedrockAgentRuntimeClient,
  RetrieveAndGenerateCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Database from 'better-sqlite3';
import { isLocalKbError } from '../src/errors.js';
import { StoreFilterIndex } from '../src/kb/filter-index.js';
import { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from '../src/kb/local-knowledge-base.js';
import { ATTRIBUTE_OPERATORS, compileFilterToSql } from '../src/retrieve/filter.js';
import { seededRandom } from '../src/seeded-random.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { DocumentInput, Embedder, RetrievalFilter, RetrievalResult } from '../src/types.js';
import { ensureGeneratedModel, TINY_EMBEDDER_PATH } from '../test/helpers/models.js';
import { percentile, printTable, repoRoot, sharedData } from './shared-data.js';

const SELF = fileURLToPath(import.meta.url);
const CLI_MAIN = path.join(repoRoot, 'src/cli/main.ts');

// ───────────────────────────── shared parts ─────────────────────────────

/** A real, deterministic embedder: SHA-256 of the text spread over 16 dimensions, L2-normalised. */
function hashEmbedder(): Embedder {
  const vector = (text: string) => {
    const bytes = createHash('sha256').update(text).digest();
    const v = Float32Array.from(bytes.subarray(0, 16), (byte) => byte - 127.5);
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  };
  return {
    id: 'audit:sha256-16',
    dimensions: 16,
    maxInputTokens: 512,
    async init() {},
    async tokenCounter() {
      return { count: (text: string) => text.split(/\s+/).filter(Boolean).length };
    },
    async embedDocuments(texts) {
      return texts.map(vector);
    },
    async embedQuery(text) {
      return vector(text);
    },
  };
}

type Lane = 'none' | 'hash' | 'onnx';
const CHUNKING = { chunkSize: 48, chunkOverlap: 8 };

function laneOptions(lane: Lane): LocalKnowledgeBaseOptions {
  const common: LocalKnowledgeBaseOptions = { chunking: CHUNKING, embedWorkers: 0, embedBatchSize: 4 };
  if (lane === 'none') return { ...common, embedder: 'none' };
  if (lane === 'hash') return { ...common, embedder: hashEmbedder() };
  return { ...common, embedder: 'minilm', modelPath: TINY_EMBEDDER_PATH, offline: true };
}

interface CheckRow {
  check: string;
  runs: number;
  failures: number;
  notes: string;
  details?: Record<string, unknown>;
}

/** Failures kept with an example each, so the report says what went wrong. */
class Failures {
  count = 0;
  readonly examples: string[] = [];
  add(what: string): void {
    this.count++;
    if (this.examples.length < 8) this.examples.push(what.slice(0, 3000));
  }
}

function describeError(error: unknown): string {
  if (isLocalKbError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `localkb-audit-${name}-`));
}

function removeStore(db: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal', '.hnsw', '.hnsw.json'])
    fs.rmSync(`${db}${suffix}`, { force: true });
}

function copyStore(from: string, to: string): void {
  removeStore(to);
  for (const suffix of ['', '-wal', '-shm', '.hnsw', '.hnsw.json'])
    if (fs.existsSync(`${from}${suffix}`)) fs.copyFileSync(`${from}${suffix}`, `${to}${suffix}`);
}

// ───────────────────────────── child: one ingest ─────────────────────────────

async function childIngest(lane: Lane, db: string, corpus: string): Promise<void> {
  process.send?.({ type: 'opening' });
  const kb = await LocalKnowledgeBase.open(db, laneOptions(lane));
  process.send?.({ type: 'opened' });
  const summary = await kb.ingest([corpus]);
  await kb.close();
  process.send?.({ type: 'summary', summary }, () => process.exit(0));
}

interface Child {
  child: ChildProcess;
  messages: { type: string; [key: string]: unknown }[];
  stderr: () => string;
  exited: Promise<number | string | null>;
}

function startChild(args: string[]): Child {
  const child = fork(SELF, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const messages: Child['messages'] = [];
  child.on('message', (message: { type: string }) => messages.push(message));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { child, messages, stderr: () => stderr, exited };
}

async function waitForMessage(run: Child, type: string, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!run.messages.some((m) => m.type === type)) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) return false;
    if (Date.now() > deadline) return false;
    await sleep(1);
  }
  return true;
}

// ───────────────────────────── 1. kill -9 during ingest ─────────────────────────────

const WORDS = [
  'river',
  'granite',
  'lantern',
  'orchard',
  'falcon',
  'harbor',
  'meadow',
  'copper',
  'thunder',
  'glacier',
  'willow',
  'ember',
  'citadel',
  'saffron',
  'nebula',
  'quartz',
  'tundra',
  'velvet',
  'zephyr',
  'Zürich',
  'café',
  'naïve',
  'Ελλάδα',
  'москва',
  '東京',
  'straße',
  'common',
];

function sentence(random: () => number, words: number): string {
  const picked = Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]!);
  return `${picked.join(' ')}.`;
}

function writeCorpus(folder: string, files: number, random: () => number): void {
  fs.mkdirSync(path.join(folder, 'nested'), { recursive: true });
  for (let i = 0; i < files; i++) {
    const paragraphs = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
      Array.from({ length: 2 + Math.floor(random() * 5) }, () =>
        sentence(random, 6 + Math.floor(random() * 10)),
      ).join(' '),
    );
    const name = i % 4 === 0 ? `nested/note-${i}.md` : `note-${i}.txt`;
    const text = name.endsWith('.md')
      ? `# Note ${i}\n\n${paragraphs.join('\n\n')}\n`
      : `${paragraphs.join('\n\n')}\n`;
    fs.writeFileSync(path.join(folder, name), text);
  }
}

interface DocumentState {
  signature: string;
  ingestedAt: string;
}

/** A document row joined with one of its chunks and that chunk's vector (chunk columns null for no chunk). */
interface StoredRow {
  docId: string;
  contentHash: string;
  text: string;
  documentMetadata: string;
  ingestedAt: string;
  chunkId: number | null;
  chunkIndex: number | null;
  chunk: string;
  chunkMetadata: string;
  vector: Buffer | null;
}

/**
 * Every stored vector by chunk id, unpacked from the store's blocks (schema 7: one row per document per up to 32
 * vectors, keyed by the first chunk id, with uint32 chunk-id offsets and float32 vectors back to back).
 */
function storedVectors(sqlite: Database.Database): Map<number, Buffer> {
  const vectors = new Map<number, Buffer>();
  const blocks = sqlite
    .prepare('SELECT first_chunk_id AS first, chunk_offsets AS offsets, vectors FROM vector_blocks')
    .all() as { first: number; offsets: Buffer; vectors: Buffer }[];
  for (const { first, offsets, vectors: packed } of blocks) {
    const count = offsets.length / 4;
    const size = packed.length / count;
    for (let i = 0; i < count; i++) {
      vectors.set(first + offsets.readUInt32LE(i * 4), packed.subarray(i * size, (i + 1) * size));
    }
  }
  return vectors;
}

/** Each document's full content as stored (row, chunks, vectors), read with a plain SQLite connection. */
function readDocuments(db: string, lane: Lane): Map<string, DocumentState> {
  const sqlite = new Database(db, { fileMustExist: true });
  try {
    const vectors = storedVectors(sqlite);
    const rows = (
      sqlite
        .prepare(
          `SELECT d.doc_id AS docId, d.content_hash AS contentHash,
                  json_array(d.text, d.text_gaps) AS text, d.metadata AS documentMetadata,
                  d.ingested_at AS ingestedAt, c.id AS chunkId, c.chunk_index AS chunkIndex,
                  c.metadata AS chunkMetadata,
                  json_array(c.role, c.text, c.context, c.start_offset, c.end_offset) AS chunk
             FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
            ORDER BY d.doc_id, c.chunk_index`,
        )
        .all() as StoredRow[]
    ).map((row) => ({ ...row, vector: row.chunkId === null ? null : (vectors.get(row.chunkId) ?? null) }));
    const byDocument = new Map<string, { hash: ReturnType<typeof createHash>; ingestedAt: string }>();
    for (const row of rows) {
      let entry = byDocument.get(row.docId);
      if (!entry) {
        const head = `${row.contentHash}\0${row.text}\0${stripVolatile(row.documentMetadata)}`;
        entry = { hash: createHash('sha256').update(head), ingestedAt: row.ingestedAt };
        byDocument.set(row.docId, entry);
      }
      if (row.chunkIndex === null) continue;
      const vector = row.vector;
      const vectorPart =
        vector === null
          ? 'no-vector'
          : lane === 'onnx'
            ? `vector:${vector.length}`
            : createHash('sha256').update(vector).digest('hex');
      entry.hash.update(
        `\n${row.chunkIndex}\0${row.chunk}\0${stripVolatile(row.chunkMetadata)}\0${vectorPart}`,
      );
    }
    return new Map(
      [...byDocument].map(([id, { hash, ingestedAt }]) => [
        id,
        { signature: hash.digest('hex'), ingestedAt },
      ]),
    );
  } finally {
    sqlite.close();
  }
}

/** Chunk ids are row ids and the data source id is the store's own: they differ between stores of equal content. */
function stripVolatile(metadata: string): string {
  const parsed = JSON.parse(metadata) as Record<string, unknown>;
  delete parsed['x-amz-bedrock-kb-chunk-id'];
  delete parsed['x-amz-bedrock-kb-data-source-id'];
  return JSON.stringify(parsed);
}

/** Whole-store checks after a crash: SQLite's and FTS5's integrity, no orphans. Problems as strings. */
function storeIntegrity(db: string): { problems: string[]; hasTables: boolean } {
  const sqlite = new Database(db, { fileMustExist: true });
  try {
    const problems: string[] = [];
    const integrity = sqlite.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0]?.integrity_check !== 'ok')
      problems.push(`integrity_check: ${integrity.map((r) => r.integrity_check).join('; ')}`);
    const tables = new Set(
      sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        .pluck()
        .all() as string[],
    );
    if (!tables.has('documents')) return { problems, hasTables: false };
    try {
      sqlite.prepare("INSERT INTO bm25_fts(bm25_fts, rank) VALUES ('integrity-check', 1)").run();
    } catch (error) {
      problems.push(`FTS5 integrity-check: ${(error as Error).message}`);
    }
    const orphans = [
      [
        'chunks without document',
        'SELECT count(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)',
      ],
      [
        'vector blocks without document',
        'SELECT count(*) FROM vector_blocks WHERE document_id NOT IN (SELECT id FROM documents)',
      ],
      [
        'documents without chunks',
        'SELECT count(*) FROM documents WHERE id NOT IN (SELECT document_id FROM chunks)',
      ],
    ] as const;
    const chunkIds = new Set(sqlite.prepare('SELECT id FROM chunks').pluck().all() as number[]);
    const strays = [...storedVectors(sqlite).keys()].filter((id) => !chunkIds.has(id)).length;
    if (strays > 0) problems.push(`${strays} vectors without chunk`);
    for (const [what, sql] of orphans) {
      const n = sqlite.prepare(sql).pluck().get() as number;
      if (n > 0) problems.push(`${n} ${what}`);
    }
    return { problems, hasTables: true };
  } finally {
    sqlite.close();
  }
}

interface LaneState {
  lane: Lane;
  db: string;
  reference: Map<string, DocumentState>;
  /** Documents seen committed since the store was last started fresh. */
  committed: Map<string, DocumentState>;
  runMs: number;
}

async function runToEnd(
  lane: Lane,
  db: string,
  corpus: string,
): Promise<{ ms: number; summary: unknown; error?: string }> {
  const run = startChild(['--child-ingest', lane, db, corpus]);
  await waitForMessage(run, 'opening');
  const started = Date.now();
  const exit = await run.exited;
  const ms = Date.now() - started;
  const summary = run.messages.find((m) => m.type === 'summary')?.summary;
  if (exit !== 0) return { ms, summary, error: `exit ${exit}: ${run.stderr().slice(-600)}` };
  return { ms, summary };
}

async function checkKills(options: { kills: number; files: number; seed: number }): Promise<CheckRow[]> {
  const random = seededRandom(options.seed);
  const dir = tempDir('kills');
  const corpus = path.join(dir, 'corpus');
  writeCorpus(corpus, options.files, random);
  ensureGeneratedModel(TINY_EMBEDDER_PATH, 'tiny');
  const failures = new Failures();
  const progress = new Failures();
  const lanes = new Map<Lane, LaneState>();
  for (const lane of ['none', 'hash', 'onnx'] as Lane[]) {
    const referenceDb = path.join(dir, `reference-${lane}.db`);
    const done = await runToEnd(lane, referenceDb, corpus);
    if (done.error) throw new Error(`the uninterrupted ${lane} ingest failed: ${done.error}`);
    lanes.set(lane, {
      lane,
      db: path.join(dir, `killed-${lane}.db`),
      reference: readDocuments(referenceDb, lane),
      committed: new Map(),
      runMs: done.ms,
    });
  }
  const order: Lane[] = ['hash', 'none', 'hash', 'none', 'hash', 'onnx'];
  const counts = {
    kills: 0,
    killsInFirstOpen: 0,
    killsBeforeOpen: 0,
    emptyFileAfterKill: 0,
    runsCompleted: 0,
    resumedRuns: 0,
    documentsSkippedOnResume: 0,
    killsMidIngest: 0,
    byLane: { none: 0, hash: 0, onnx: 0 } as Record<Lane, number>,
  };
  let round = 0;
  while (counts.kills < options.kills) {
    const state = lanes.get(order[round % order.length]!)!;
    round++;
    const complete = state.committed.size === state.reference.size;
    const fresh = complete || !fs.existsSync(state.db) || random() < 0.12;
    if (fresh) {
      removeStore(state.db);
      state.committed = new Map();
    }
    const before = new Map(state.committed);
    // A fresh store: half the kills land in its first open (the first 40 ms after the child says it opens).
    const delay = fresh && random() < 0.5 ? random() * 40 : random() * state.runMs * 1.1;
    const run = startChild(['--child-ingest', state.lane, state.db, corpus]);
    const opening = await waitForMessage(run, 'opening');
    if (!opening) {
      failures.add(`${state.lane} run ${round} exited before opening: ${run.stderr().slice(-400)}`);
      continue;
    }
    await sleep(delay);
    const openedBeforeKill = run.messages.some((m) => m.type === 'opened');
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    const exit = await run.exited;
    if (exit !== 'SIGKILL') {
      if (exit !== 0) {
        failures.add(
          `${state.lane} run ${round} failed instead of being killed: ${run.stderr().slice(-400)}`,
        );
        continue;
      }
      counts.runsCompleted++;
    } else {
      counts.kills++;
      counts.byLane[state.lane]++;
      if (!openedBeforeKill) {
        if (fresh) counts.killsInFirstOpen++;
        else counts.killsBeforeOpen++;
      }
    }
    const summary = run.messages.find((m) => m.type === 'summary')?.summary as
      | { documentsUnchanged: number; documentsAdded: number; documentsUpdated: number }
      | undefined;
    if (summary && before.size > 0) {
      counts.resumedRuns++;
      counts.documentsSkippedOnResume += summary.documentsUnchanged;
      if (summary.documentsUnchanged !== before.size || summary.documentsUpdated !== 0)
        progress.add(
          `${state.lane} run ${round}: ${before.size} documents were committed, the resumed run kept ${summary.documentsUnchanged} and redid ${summary.documentsUpdated}`,
        );
    }
    if (!fs.existsSync(state.db)) continue;
    const { problems, hasTables } = storeIntegrity(state.db);
    for (const problem of problems) failures.add(`${state.lane} after kill ${counts.kills}: ${problem}`);
    if (!hasTables) {
      counts.emptyFileAfterKill++;
      continue;
    }
    const now = readDocuments(state.db, state.lane);
    if (exit === 'SIGKILL' && now.size > 0 && now.size < state.reference.size) counts.killsMidIngest++;
    for (const [id, doc] of now) {
      const expected = state.reference.get(id);
      if (!expected) failures.add(`${state.lane}: unexpected document ${id}`);
      else if (expected.signature !== doc.signature)
        failures.add(
          `${state.lane} after kill ${counts.kills}: document ${id} is half-written or differs from an uninterrupted ingest`,
        );
    }
    for (const [id, doc] of before) {
      const kept = now.get(id);
      if (!kept) failures.add(`${state.lane} after kill ${counts.kills}: committed document ${id} was lost`);
      else if (kept.ingestedAt !== doc.ingestedAt)
        progress.add(`${state.lane} after kill ${counts.kills}: committed document ${id} was written again`);
    }
    state.committed = now;
  }
  // Every lane resumes to the end: all documents whole, and what was committed before is kept as it was.
  const finals: string[] = [];
  for (const state of lanes.values()) {
    if (!fs.existsSync(state.db)) continue;
    const before = state.committed;
    const done = await runToEnd(state.lane, state.db, corpus);
    if (done.error) {
      failures.add(`${state.lane}: the final resumed run failed: ${done.error}`);
      continue;
    }
    const summary = done.summary as { documentsUnchanged: number; documentsUpdated: number } | undefined;
    counts.resumedRuns++;
    counts.documentsSkippedOnResume += summary?.documentsUnchanged ?? 0;
    if (summary?.documentsUnchanged !== before.size || summary.documentsUpdated !== 0)
      progress.add(
        `${state.lane}: the final run kept ${summary?.documentsUnchanged} of ${before.size} committed documents`,
      );
    const now = readDocuments(state.db, state.lane);
    let lost = 0;
    for (const [id, expected] of state.reference) {
      const got = now.get(id);
      if (!got || got.signature !== expected.signature) lost++;
    }
    for (const [id, doc] of before)
      if (now.get(id)?.ingestedAt !== doc.ingestedAt)
        progress.add(`${state.lane}: ${id} redone by the final run`);
    if (lost > 0) failures.add(`${state.lane}: ${lost} documents missing or different after the final run`);
    finals.push(`${state.lane} ${now.size}/${state.reference.size} (kept ${before.size})`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return [
    {
      check: 'kill -9 during ingest',
      runs: counts.kills,
      failures: failures.count,
      notes:
        `${counts.byLane.hash} hash / ${counts.byLane.none} none / ${counts.byLane.onnx} onnx; ` +
        `${counts.killsMidIngest} mid-ingest, ${counts.killsInFirstOpen} in a fresh store's first open, ${counts.emptyFileAfterKill} left a file with no tables (next open fine); ` +
        `integrity_check + FTS5 integrity-check + whole-or-absent documents after each; final resumes ${finals.join(', ')}`,
      details: {
        ...counts,
        failures: failures.examples,
        lanes: [...lanes.values()].map((l) => ({
          lane: l.lane,
          documents: l.reference.size,
          runMs: l.runMs,
        })),
      },
    },
    {
      check: 'ingest resumes (#15 item 3)',
      runs: counts.resumedRuns + counts.kills,
      failures: progress.count,
      notes: `committed documents never written again after a kill; ${counts.documentsSkippedOnResume} documents skipped by ${counts.resumedRuns} runs that finished after resuming`,
      details: { failures: progress.examples },
    },
  ];
}

// ───────────────────────────── 2. damaged HNSW cache ─────────────────────────────

function documentsFor(prefix: string, count: number, random: () => number): DocumentInput[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    text: `${sentence(random, 8 + Math.floor(random() * 8))} ${sentence(random, 6)}`,
    metadata: { group: `g${i % 7}` },
  }));
}

async function buildStore(db: string, documents: DocumentInput[][]): Promise<void> {
  const kb = await LocalKnowledgeBase.open(db, {
    embedder: hashEmbedder(),
    embedWorkers: 0,
    hnsw: { efSearch: 512 },
  });
  for (const batch of documents) await kb.ingest(batch);
  await kb.close();
}

const HNSW_QUERIES = [
  'river granite',
  'café lantern',
  'москва glacier',
  'common thunder',
  'zephyr',
  '東京 quartz orchard',
];

async function semanticAnswers(
  db: string,
  onRebuild?: (reason: string, detail: string) => void,
): Promise<string> {
  const kb = await LocalKnowledgeBase.open(db, {
    embedder: hashEmbedder(),
    embedWorkers: 0,
    hnsw: { efSearch: 512 },
    ...(onRebuild ? { onIndexRebuild: (p) => onRebuild(p.reason, p.detail) } : {}),
  });
  try {
    const answers: unknown[] = [];
    for (const query of HNSW_QUERIES) {
      const results = await kb.retrieve(query, { searchType: 'semantic', k: 10 });
      answers.push(results.map((r) => [r.documentId, r.content.text, r.score.toFixed(6)]));
      const filtered = await kb.retrieve(query, {
        searchType: 'semantic',
        k: 5,
        filter: { equals: { key: 'group', value: 'g3' } },
      });
      answers.push(filtered.map((r) => [r.documentId, r.score.toFixed(6)]));
    }
    return JSON.stringify(answers);
  } finally {
    await kb.close();
  }
}

interface HnswLayout {
  elementCount: number;
  sizePerElement: number;
  offsetData: number;
  labelOffset: number;
  bytes: number;
}

function hnswLayout(file: string): HnswLayout {
  const header = fs.readFileSync(file).subarray(0, 96);
  const size = (offset: number) => Number(header.readBigUInt64LE(offset));
  return {
    elementCount: size(16),
    sizePerElement: size(24),
    labelOffset: size(32),
    offsetData: size(40),
    bytes: fs.statSync(file).size,
  };
}

function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0x5a;
    fs.writeSync(fd, byte, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

async function checkHnsw(options: { rounds: number; seed: number }): Promise<CheckRow> {
  const random = seededRandom(options.seed + 1);
  const dir = tempDir('hnsw');
  const base = documentsFor('doc', 400, random);
  const extra = documentsFor('late', 40, random);
  const diverged = documentsFor('other-history', 40, random);
  const pristine = path.join(dir, 'pristine.db');
  await buildStore(pristine, [base]);
  const other = path.join(dir, 'other.db');
  await buildStore(other, [documentsFor('foreign', 400, random)]);

  const freshAnswers = new Map<string, string>();
  const fresh = async (key: string, batches: DocumentInput[][]) => {
    if (!freshAnswers.has(key)) {
      const db = path.join(dir, `fresh-${key}.db`);
      await buildStore(db, batches);
      freshAnswers.set(key, await semanticAnswers(db));
    }
    return freshAnswers.get(key)!;
  };
  await fresh('base', [base]);

  const generations: string[] = [];
  type Damage = { name: string; expected?: 'diverged'; apply: (db: string) => Promise<void> | void };
  const index = (db: string) => `${db}.hnsw`;
  const sidecar = (db: string) => `${db}.hnsw.json`;
  const element = (db: string, n: number) => {
    const layout = hnswLayout(index(db));
    return { layout, start: 96 + (n % layout.elementCount) * layout.sizePerElement };
  };
  const randomElement = () => Math.floor(random() * 400);
  const damages: Damage[] = [
    {
      name: 'truncated to 0 bytes',
      apply: (db) => {
        fs.truncateSync(index(db), 0);
      },
    },
    {
      name: 'truncated inside the header',
      apply: (db) => {
        fs.truncateSync(index(db), 40);
      },
    },
    {
      name: 'truncated at a random point',
      apply: (db) => {
        fs.truncateSync(index(db), 96 + Math.floor(random() * (hnswLayout(index(db)).bytes - 97)));
      },
    },
    {
      name: 'last byte cut',
      apply: (db) => {
        fs.truncateSync(index(db), hnswLayout(index(db)).bytes - 1);
      },
    },
    {
      name: 'grown (wrong size)',
      apply: (db) => {
        fs.appendFileSync(index(db), Buffer.alloc(4096));
      },
    },
    {
      name: 'flipped byte in the header',
      apply: (db) => {
        flipByte(index(db), 8 + Math.floor(random() * 80));
      },
    },
    {
      name: 'flipped byte in level-0 links',
      apply: (db) => {
        const { layout, start } = element(db, randomElement());
        flipByte(index(db), start + Math.floor(random() * layout.offsetData));
      },
    },
    {
      name: 'flipped byte in a vector',
      apply: (db) => {
        const { layout, start } = element(db, randomElement());
        flipByte(
          index(db),
          start + layout.offsetData + Math.floor(random() * (layout.labelOffset - layout.offsetData)),
        );
      },
    },
    {
      name: 'flipped byte in a label',
      apply: (db) => {
        const { layout, start } = element(db, randomElement());
        flipByte(index(db), start + layout.labelOffset + Math.floor(random() * 4));
      },
    },
    {
      name: 'flipped byte in upper-level links',
      apply: (db) => {
        const layout = hnswLayout(index(db));
        const upper = 96 + layout.elementCount * layout.sizePerElement;
        flipByte(index(db), upper + Math.floor(random() * (layout.bytes - upper)));
      },
    },
    {
      name: 'zeroed (same size)',
      apply: (db) => {
        fs.writeFileSync(index(db), Buffer.alloc(hnswLayout(index(db)).bytes));
      },
    },
    {
      name: 'random bytes (same size)',
      apply: (db) => {
        const bytes = Buffer.alloc(hnswLayout(index(db)).bytes);
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
        fs.writeFileSync(index(db), bytes);
      },
    },
    {
      name: "swapped with another store's (file and sidecar)",
      apply: (db) => {
        fs.copyFileSync(index(other), index(db));
        fs.copyFileSync(sidecar(other), sidecar(db));
      },
    },
    {
      name: "another store's file under this sidecar",
      apply: (db) => {
        fs.copyFileSync(index(other), index(db));
      },
    },
    {
      name: 'sidecar deleted',
      apply: (db) => {
        fs.rmSync(sidecar(db));
      },
    },
    {
      name: 'index file deleted, sidecar kept',
      apply: (db) => {
        fs.rmSync(index(db));
      },
    },
    {
      name: 'sidecar not JSON',
      apply: (db) => {
        fs.writeFileSync(sidecar(db), '{"format": "localkb-hnsw", ');
      },
    },
    {
      name: 'sidecar checksum edited',
      apply: (db) => {
        const meta = JSON.parse(fs.readFileSync(sidecar(db), 'utf8')) as { crc32: number };
        fs.writeFileSync(sidecar(db), JSON.stringify({ ...meta, crc32: (meta.crc32 + 1) % 2 ** 32 }));
      },
    },
    {
      name: 'stale after a restored SQLite backup',
      apply: async (db) => {
        const backup = `${db}.backup`;
        fs.copyFileSync(db, backup);
        const kb = await LocalKnowledgeBase.open(db, { embedder: hashEmbedder(), embedWorkers: 0 });
        await kb.ingest(extra);
        await kb.close();
        for (const suffix of ['-wal', '-shm']) fs.rmSync(`${db}${suffix}`, { force: true });
        fs.copyFileSync(backup, db);
      },
    },
    {
      name: 'cache of a diverged history at the same generation',
      expected: 'diverged',
      apply: async (db) => {
        const backup = `${db}.backup`;
        fs.copyFileSync(db, backup);
        const write = async (documents: DocumentInput[]) => {
          const kb = await LocalKnowledgeBase.open(db, { embedder: hashEmbedder(), embedWorkers: 0 });
          await kb.ingest(documents);
          await kb.close();
        };
        await write(extra);
        const later = { index: fs.readFileSync(index(db)), sidecar: fs.readFileSync(sidecar(db)) };
        for (const suffix of ['-wal', '-shm']) fs.rmSync(`${db}${suffix}`, { force: true });
        fs.copyFileSync(backup, db);
        await write(diverged);
        fs.writeFileSync(index(db), later.index);
        fs.writeFileSync(sidecar(db), later.sidecar);
        const sqlite = new Database(db, { readonly: true });
        const current = sqlite
          .prepare("SELECT value FROM settings WHERE key = 'vector_generation'")
          .pluck()
          .get();
        sqlite.close();
        const cached = (JSON.parse(later.sidecar.toString()) as { generation: number }).generation;
        generations.push(`cache generation ${cached}, store generation ${current}`);
      },
    },
  ];
  await fresh('diverged', [base, diverged]);

  const failures = new Failures();
  const reasons: Record<string, number> = {};
  const detected: Record<string, string> = {};
  // The control: an undamaged copy must open without a rebuild, or "detected" would mean nothing.
  const control = path.join(dir, 'control.db');
  copyStore(pristine, control);
  const controlEvents: string[] = [];
  if (
    (await semanticAnswers(control, (reason) => controlEvents.push(reason))) !== (await fresh('base', [base]))
  )
    failures.add('undamaged copy: results differ from a fresh store');
  if (controlEvents.length > 0) failures.add(`undamaged copy: rebuilt on open (${controlEvents[0]})`);
  let runs = 0;
  for (let round = 0; round < options.rounds; round++) {
    for (const damage of damages) {
      runs++;
      const db = path.join(dir, `case-${round}-${runs}.db`);
      copyStore(pristine, db);
      try {
        await damage.apply(db);
        const expectedKey = damage.expected ?? 'base';
        const events: string[] = [];
        const answers = await semanticAnswers(db, (reason, detail) => {
          if (events.length === 0) {
            events.push(`${reason}: ${detail}`);
            detected[damage.name] = `${reason}: ${detail}`.slice(0, 200);
          }
          reasons[reason] = (reasons[reason] ?? 0) + 1;
        });
        if (events.length === 0) failures.add(`${damage.name}: not detected (no rebuild on open)`);
        if (answers !== (await fresh(expectedKey, expectedKey === 'base' ? [base] : [base, diverged])))
          failures.add(`${damage.name}: results differ from a fresh store's`);
        const again: string[] = [];
        await semanticAnswers(db, (reason) => again.push(reason));
        if (again.length > 0) failures.add(`${damage.name}: rebuilt again on the next open (${again[0]})`);
      } catch (error) {
        failures.add(`${damage.name}: ${describeError(error)}`);
      }
      removeStore(db);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    check: 'damaged HNSW cache',
    runs,
    failures: failures.count,
    notes: `${damages.length} kinds of damage x ${options.rounds} (and an undamaged control: no rebuild); detected on open (${Object.entries(
      reasons,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} rebuild events), rebuilt, saved, semantic results = a fresh store's`,
    details: { detected, generations, failures: failures.examples },
  };
}

// ───────────────────────────── 3. fuzzed filters ─────────────────────────────

const HOSTILE_STRINGS = [
  '',
  "'",
  "''",
  '"',
  '""',
  "'); DROP TABLE chunks;--",
  '" OR 1=1 --',
  "x' OR '1'='1",
  '%',
  '_',
  '%_%',
  'a%b',
  'a_b',
  '\\',
  '\\%',
  'NULL',
  'null',
  'true',
  '1',
  '0',
  '1e3',
  '$.x',
  '$[0]',
  '*',
  'Ünïcödé',
  'e\u0301', // e + combining acute (NFD)
  'é', // NFC
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '日本語',
  '🙂🙃',
  '\uFFFF',
  '\uE000',
  'line\nbreak',
  'tab\tbed',
  '\u2028',
  'nul\u0000byte',
  ' leading',
  'trailing ',
  'A',
  'a',
  'abc',
  'abd',
  'ab',
  'x'.repeat(5000),
];
const METADATA_KEYS = [
  'genre',
  'year',
  'rating',
  'published',
  'tags',
  'title',
  'quote"key',
  "it's",
  "'); DROP TABLE documents;--",
  '100%',
  'under_score',
  'back\\slash',
  'a.b',
  'a[0]',
  '$.x',
  'ключ',
  '日本語キー',
  'emoji🙂',
  'sp ace',
  'k'.repeat(100),
];
/** Keys a filter may name that no document has, and one over Bedrock's 100-character limit. */
const ABSENT_KEYS = ['missing', 'GENRE', 'tags ', 'x-amz-bedrock-kb-nothing'];
const SOURCE_KEY = 'x-amz-bedrock-kb-source-uri';

type Value = string | number | boolean | string[];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function randomString(random: () => number): string {
  const r = random();
  if (r < 0.55) return pick(random, HOSTILE_STRINGS);
  if (r < 0.8) return pick(random, ['fiction', 'science', 'poetry', 'history', 'Fiction', 'sci']);
  return `${pick(random, HOSTILE_STRINGS)}${pick(random, HOSTILE_STRINGS)}`.slice(0, 200);
}

function randomNumber(random: () => number): number {
  const r = random();
  if (r < 0.5) return 1990 + Math.floor(random() * 40);
  if (r < 0.7) return Math.round(random() * 10) / 2;
  return pick(random, [0, -0, -1, 1, 2 ** 53, -(2 ** 53), 1e21, 1.5e-7, 0.1 + 0.2, 0.3, -273.15]);
}

function randomValue(random: () => number, key: string): Value {
  const kind =
    key === 'year'
      ? 'number'
      : key === 'tags'
        ? 'list'
        : key === 'published'
          ? 'boolean'
          : pick(random, ['string', 'string', 'number', 'boolean', 'list']);
  if (kind === 'number') return randomNumber(random);
  if (kind === 'boolean') return random() < 0.5;
  if (kind === 'list') return Array.from({ length: Math.floor(random() * 4) }, () => randomString(random));
  return randomString(random);
}

function randomMetadata(random: () => number): Record<string, Value> {
  const metadata: Record<string, Value> = {};
  for (const key of METADATA_KEYS) if (random() < 0.45) metadata[key] = randomValue(random, key);
  return metadata;
}

/** The documented semantics (src/retrieve/filter.ts, Bedrock's RetrievalFilter), written again independently. */
function reference(filter: RetrievalFilter, metadata: Record<string, unknown>): boolean {
  const f = filter as Record<string, unknown>;
  if ('andAll' in f) return (f.andAll as RetrievalFilter[]).every((m) => reference(m, metadata));
  if ('orAll' in f) return (f.orAll as RetrievalFilter[]).some((m) => reference(m, metadata));
  const [operator, { key, value: target }] = Object.entries(f)[0] as [
    string,
    { key: string; value: unknown },
  ];
  const present = Object.hasOwn(metadata, key);
  const v = present ? metadata[key] : undefined;
  const scalar = (x: unknown) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  const same = (a: unknown, b: unknown) => scalar(a) && typeof a === typeof b && a === b;
  const codePoints = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
  const order = (a: unknown, b: unknown): number | undefined => {
    if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    if (typeof a === 'string' && typeof b === 'string') {
      const x = codePoints(a);
      const y = codePoints(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    }
    return undefined;
  };
  const member = (list: unknown[]) =>
    (typeof v === 'string' || typeof v === 'number') && list.some((m) => typeof m === typeof v && m === v);
  switch (operator) {
    case 'equals':
      return same(v, target);
    case 'notEquals':
      return !same(v, target);
    case 'greaterThan':
      return (order(v, target) ?? 0) > 0;
    case 'greaterThanOrEquals': {
      const c = order(v, target);
      return c !== undefined && c >= 0;
    }
    case 'lessThan':
      return (order(v, target) ?? 0) < 0;
    case 'lessThanOrEquals': {
      const c = order(v, target);
      return c !== undefined && c <= 0;
    }
    case 'in':
      return member(target as unknown[]);
    case 'notIn':
      return present && !member(target as unknown[]);
    case 'startsWith':
      return typeof v === 'string' && v.slice(0, (target as string).length) === target;
    case 'listContains':
      return Array.isArray(v) && v.some((m) => typeof m === typeof target && m === target);
    case 'stringContains':
      return typeof v === 'string'
        ? v.indexOf(target as string) >= 0
        : Array.isArray(v) && v.some((m) => typeof m === 'string' && m.indexOf(target as string) >= 0);
  }
  throw new Error(`reference: unknown operator ${operator}`);
}

function randomFilter(random: () => number, seen: Map<string, Value[]>, depth: number): RetrievalFilter {
  if (depth < 4 && random() < 0.35) {
    const members = Array.from({ length: 2 + Math.floor(random() * 3) }, () =>
      randomFilter(random, seen, depth + 1),
    );
    return (random() < 0.5 ? { andAll: members } : { orAll: members }) as RetrievalFilter;
  }
  const key = random() < 0.9 ? pick(random, [...METADATA_KEYS, SOURCE_KEY]) : pick(random, ABSENT_KEYS);
  const values = seen.get(key) ?? [];
  const seenValue = (): Value =>
    values.length > 0 && random() < 0.7 ? pick(random, values) : randomValue(random, key);
  const scalarOf = (v: Value): string | number | boolean =>
    Array.isArray(v) ? (v[0] ?? randomString(random)) : v;
  const stringOf = (v: Value): string => {
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s !== 'string') return randomString(random);
    if (random() < 0.5) return s;
    // A prefix cut between code points: a lone surrogate is not text SQLite can hold (see the report).
    const points = Array.from(s);
    return points.slice(0, Math.floor(random() * (points.length + 1))).join('');
  };
  const comparable = (): string | number => {
    const v = scalarOf(seenValue());
    return typeof v === 'boolean' ? randomNumber(random) : v;
  };
  const operator = pick(random, ATTRIBUTE_OPERATORS);
  let value: unknown;
  if (operator === 'equals' || operator === 'notEquals') value = scalarOf(seenValue());
  else if (operator === 'in' || operator === 'notIn')
    value = Array.from({ length: 1 + Math.floor(random() * 4) }, comparable);
  else if (operator === 'startsWith' || operator === 'stringContains') value = stringOf(seenValue());
  else if (operator === 'listContains') {
    const v = seenValue();
    value = Array.isArray(v) && v.length > 0 ? pick(random, v) : comparable();
  } else value = comparable();
  return { [operator]: { key, value } } as unknown as RetrievalFilter;
}

/** Filters that are wrong in one way each; they must be refused with INVALID_FILTER. */
function invalidFilter(random: () => number, seen: Map<string, Value[]>): unknown {
  const valid = randomFilter(random, seen, 4) as Record<string, unknown>;
  const deep = (n: number): unknown => (n === 0 ? valid : { andAll: [deep(n - 1), valid] });
  return pick(random, [
    () => ({ andAll: [valid] }),
    () => ({ orAll: [] }),
    () => ({ equals: { key: 'genre', value: ['a'] } }),
    () => ({ in: { key: 'genre', value: [] } }),
    () => ({ in: { key: 'genre', value: 'fiction' } }),
    () => ({ startsWith: { key: 'genre', value: 3 } }),
    () => ({ greaterThan: { key: 'year', value: true } }),
    () => ({ equals: { key: 'k'.repeat(101), value: 'x' } }),
    () => ({ equals: { key: '', value: 'x' } }),
    () => ({ equals: { key: 'genre' } }),
    () => ({ equals: { key: 'genre', value: 'x', extra: 1 } }),
    () => ({ like: { key: 'genre', value: '%' } }),
    () => ({ equals: { key: 'genre', value: 'x' }, notEquals: { key: 'genre', value: 'y' } }),
    () => ({ equals: { key: 'genre', value: Number.NaN } }),
    () => deep(12),
    () => "'); DROP TABLE chunks;--",
    () => ({ andAll: 'x' }),
  ])();
}

interface FuzzStore {
  dir: string;
  db: string;
  kb: LocalKnowledgeBase;
  /** The same store, filtered vector search through hnswlib's filter callback (exactFilterThreshold 0). */
  kbHnsw: LocalKnowledgeBase;
  documents: { id: string; metadata: Record<string, unknown> }[];
  seen: Map<string, Value[]>;
  chunkDocument: Map<number, string>;
  /** Each document's words, to know which ones a one-word BM25 query must find. */
  words: Map<string, Set<string>>;
}

async function openFuzzStore(
  documentCount: number,
  seed: number,
): Promise<{ store: FuzzStore; altered: Failures }> {
  const random = seededRandom(seed + 2);
  const dir = tempDir('fuzz');
  const db = path.join(dir, 'fuzz.db');
  const inputs: DocumentInput[] = Array.from({ length: documentCount }, (_, i) => ({
    id: `f${i}`,
    text: `${Array.from({ length: 1 + (i % 5) }, () => 'common').join(' ')} ${sentence(random, 10)}`,
    metadata: randomMetadata(random),
  }));
  const build = await LocalKnowledgeBase.open(db, {
    embedder: hashEmbedder(),
    embedWorkers: 0,
    embedBatchSize: 256,
  });
  await build.ingest(inputs);
  await build.close();
  const kb = await LocalKnowledgeBase.open(db, { embedder: hashEmbedder(), embedWorkers: 0 });
  const kbHnsw = await LocalKnowledgeBase.open(db, {
    embedder: hashEmbedder(),
    embedWorkers: 0,
    retrieval: { exactFilterThreshold: 0 },
  });
  // The reference sees the metadata as given plus the reserved keys the store adds (read with plain SQLite).
  const sqlite = new Database(db, { readonly: true });
  const rows = sqlite
    .prepare('SELECT c.id, d.doc_id, c.metadata FROM chunks c JOIN documents d ON d.id = c.document_id')
    .raw()
    .all() as [number, string, string][];
  sqlite.close();
  const altered = new Failures();
  const byId = new Map(inputs.map((d) => [d.id!, d.metadata as Record<string, unknown>]));
  const documents: FuzzStore['documents'] = [];
  const chunkDocument = new Map<number, string>();
  for (const [chunkId, docId, json] of rows) {
    chunkDocument.set(chunkId, docId);
    const stored = JSON.parse(json) as Record<string, unknown>;
    const given = byId.get(docId)!;
    const reserved = Object.fromEntries(
      Object.entries(stored).filter(([k]) => k.startsWith('x-amz-bedrock-kb-') || k.startsWith('x-localkb-')),
    );
    const userKeys = Object.fromEntries(Object.entries(stored).filter(([k]) => !(k in reserved)));
    if (
      JSON.stringify(userKeys, Object.keys(userKeys).sort()) !==
      JSON.stringify(given, Object.keys(given).sort())
    )
      altered.add(
        `${docId}: stored metadata ${JSON.stringify(userKeys).slice(0, 120)} ≠ given ${JSON.stringify(given).slice(0, 120)}`,
      );
    documents.push({ id: docId, metadata: { ...given, ...reserved } });
  }
  const seen = new Map<string, Value[]>();
  for (const { metadata } of documents)
    for (const [key, value] of Object.entries(metadata)) {
      const list = seen.get(key) ?? [];
      if (list.length < 200) list.push(value as Value);
      seen.set(key, list);
    }
  const words = new Map(inputs.map((d) => [d.id!, new Set(d.text.split(/[\s.]+/))]));
  return { store: { dir, db, kb, kbHnsw, documents, seen, chunkDocument, words }, altered };
}

function schemaFingerprint(db: string): string {
  const sqlite = new Database(db, { readonly: true });
  try {
    const schema = sqlite
      .prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name')
      .raw()
      .all();
    const counts = ['documents', 'chunks', 'vector_blocks', 'settings', 'store_generations'].map(
      (table) => sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number,
    );
    const integrity = sqlite.pragma('integrity_check', { simple: true });
    return JSON.stringify({ schema, counts, integrity });
  } finally {
    sqlite.close();
  }
}

type RetrievePath = 'bm25 candidates' | 'bm25 broad' | 'semantic exact' | 'semantic hnsw';

async function checkFilters(store: FuzzStore, options: { filters: number; seed: number }): Promise<CheckRow> {
  const random = seededRandom(options.seed + 3);
  const failures = new Failures();
  const injections = new Failures();
  const untyped = new Failures();
  const fingerprint = schemaFingerprint(store.db);
  const sql = SqliteStore.open(store.db, { readonly: true });
  const filterIndex = new StoreFilterIndex(sql);
  const k = 100;
  const paths: Record<RetrievePath | 'sql' | 'index' | 'invalid refused', number> = {
    sql: 0,
    index: 0,
    'bm25 candidates': 0,
    'bm25 broad': 0,
    'semantic exact': 0,
    'semantic hnsw': 0,
    'invalid refused': 0,
  };
  const sizes: number[] = [];
  const metadataOf = new Map(store.documents.map((d) => [d.id, d.metadata]));
  const check = (label: string, filter: unknown, got: string[], expected: Set<string>, exact: boolean) => {
    const shown = JSON.stringify(filter);
    const wrong = got.filter((id) => !expected.has(id));
    const missing = exact ? [...expected].filter((id) => !got.includes(id)) : [];
    const example = (id: string | undefined) =>
      id === undefined ? '' : ` (e.g. ${id}: ${JSON.stringify(metadataOf.get(id)).slice(0, 600)})`;
    if (wrong.length > 0)
      failures.add(`${label}: ${wrong.length} results outside the filter ${shown}${example(wrong[0])}`);
    else if (new Set(got).size !== got.length) failures.add(`${label}: repeated results for ${shown}`);
    else if (exact ? missing.length > 0 : got.length !== Math.min(k, expected.size))
      failures.add(
        `${label}: ${got.length} results, ${exact ? expected.size : Math.min(k, expected.size)} expected for ${shown}${example(missing[0])}`,
      );
  };
  const spent: Record<string, number> = {};
  const typedOr = async (label: string, filter: unknown, run: () => Promise<void> | void) => {
    const t0 = performance.now();
    try {
      await run();
      spent[label] = (spent[label] ?? 0) + performance.now() - t0;
    } catch (error) {
      if (isLocalKbError(error))
        failures.add(
          `${label}: refused a valid filter (${describeError(error)}) ${JSON.stringify(filter).slice(0, 200)}`,
        );
      else untyped.add(`${label}: ${describeError(error)} for ${JSON.stringify(filter).slice(0, 200)}`);
    }
  };
  for (let n = 0; n < options.filters; n++) {
    if (random() < 0.1) {
      const filter = invalidFilter(random, store.seen);
      for (const [label, run] of [
        ['sql', () => compileFilterToSql(filter as RetrievalFilter)],
        [
          'retrieve',
          () => store.kb.retrieve('common', { searchType: 'bm25', filter: filter as RetrievalFilter }),
        ],
      ] as const) {
        try {
          await run();
          failures.add(`${label} accepted the invalid filter ${JSON.stringify(filter).slice(0, 200)}`);
        } catch (error) {
          // retrieve checks its options' types first: a filter that is not an object is an INVALID_OPTION there.
          const optionType = label === 'retrieve' && (typeof filter !== 'object' || filter === null);
          if (
            isLocalKbError(error, 'INVALID_FILTER') ||
            (optionType && isLocalKbError(error, 'INVALID_OPTION'))
          )
            paths['invalid refused']++;
          else if (isLocalKbError(error))
            failures.add(
              `${label}: invalid filter refused with ${error.code}, not INVALID_FILTER: ${JSON.stringify(filter).slice(0, 200)}`,
            );
          else untyped.add(`${label}: ${describeError(error)}`);
        }
      }
      continue;
    }
    const filter = randomFilter(random, store.seen, 0);
    const expected = new Set(store.documents.filter((d) => reference(filter, d.metadata)).map((d) => d.id));
    sizes.push(expected.size);
    await typedOr('sql', filter, () => {
      const compiled = compileFilterToSql(filter);
      const ids = sql.chunkIdsWhere(compiled.sql, compiled.params).map((id) => store.chunkDocument.get(id)!);
      check('sql', filter, ids, expected, true);
      paths.sql++;
    });
    await typedOr('index', filter, () => {
      const ids = [...filterIndex.matching(filter)].map((id) => store.chunkDocument.get(id)!);
      check('index', filter, ids, expected, true);
      paths.index++;
    });
    // Retrieve on every side: BM25 hands the allowed chunks to FTS5 up to 5,000 and filters its ranking beyond;
    // semantic search scans the allowed vectors exactly, or (kbHnsw) filters inside hnswlib's search.
    const retrieved = (label: RetrievePath, kb: LocalKnowledgeBase, query: string, wanted: Set<string>) =>
      typedOr(label, filter, async () => {
        const searchType = label.startsWith('bm25') ? 'bm25' : 'semantic';
        const results = await kb.retrieve(query, { searchType, k, filter });
        check(
          label,
          filter,
          results.map((r) => r.documentId),
          wanted,
          wanted.size <= k,
        );
        paths[label]++;
      });
    const word = pick(random, WORDS.slice(0, -1));
    const holding = new Set([...expected].filter((id) => store.words.get(id)!.has(word)));
    await retrieved(expected.size > 5000 ? 'bm25 broad' : 'bm25 candidates', store.kb, word, holding);
    if (n % 2 === 1) await retrieved('semantic hnsw', store.kbHnsw, sentence(random, 3), expected);
    else await retrieved('semantic exact', store.kb, sentence(random, 3), expected);
  }
  sql.close();
  const after = schemaFingerprint(store.db);
  if (after !== fingerprint) injections.add('the schema, row counts or integrity changed while filters ran');
  sizes.sort((a, b) => a - b);
  return {
    check: 'fuzzed filters',
    runs: options.filters,
    failures: failures.count + injections.count + untyped.count,
    notes:
      `${failures.count} wrong, ${injections.count} injections, ${untyped.count} untyped errors; ` +
      `${store.documents.length} docs of hostile metadata; paths sql ${paths.sql}, index ${paths.index}, ` +
      `bm25 candidates ${paths['bm25 candidates']} / broad ${paths['bm25 broad']}, semantic exact ${paths['semantic exact']} / hnsw ${paths['semantic hnsw']}; ` +
      `${paths['invalid refused']} invalid refused INVALID_FILTER; matches p50 ${percentile(sizes, 50)}, max ${sizes[sizes.length - 1] ?? 0}`,
    details: {
      paths,
      msByPath: Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(v)])),
      wrong: failures.examples,
      injections: injections.examples,
      untyped: untyped.examples,
    },
  };
}

// ───────────────────────────── 4. FTS5-syntax queries ─────────────────────────────

const FTS_SPECIALS = [
  '"',
  '*',
  '^',
  ':',
  'NEAR(',
  ')',
  '(',
  'AND',
  'OR',
  'NOT',
  '+',
  '-',
  ',',
  'text:',
  'context:',
  '{text context}:',
  '{',
  '}',
  '""',
  "'",
  '\\',
  '\u0000',
  '🙂',
  '‘',
  '—',
  '¿',
  '\u200b',
  '\t',
  '\n',
];

function ftsQuery(random: () => number): string {
  const r = random();
  if (r < 0.04) return pick(random, ['', ' ', '""', '*', 'AND', 'NEAR()', '(', ')', '^', 'the and of']);
  const parts: string[] = [];
  const words = 1 + Math.floor(random() * 5);
  for (let i = 0; i < words; i++) {
    let word = pick(random, WORDS);
    if (random() < 0.2) word = word.toUpperCase();
    if (random() < 0.1) word = word.normalize('NFD');
    const prefix =
      random() < 0.4
        ? pick(random, ['"', '^', '(', '-', '+', 'text:', 'context:', '{text context}:', 'NEAR('])
        : '';
    const suffix = random() < 0.4 ? pick(random, ['*', '"', ')', ',', "'", ':']) : '';
    parts.push(`${prefix}${word}${suffix}`);
    if (random() < 0.5) parts.push(pick(random, FTS_SPECIALS));
    if (random() < 0.1)
      parts.push(`NEAR(${pick(random, WORDS)} ${pick(random, WORDS)}, ${Math.floor(random() * 10)})`);
  }
  return parts.join(random() < 0.8 ? ' ' : '');
}

/** The query reduced to its plain words (letters, digits, marks, private use: FTS5 unicode61's token characters). */
function plainWords(query: string): string {
  return (query.match(/[\p{L}\p{N}\p{M}\p{Co}]+/gu) ?? []).join(' ');
}

type Outcome = { results: string } | { code: string };

async function bm25Outcome(kb: LocalKnowledgeBase, query: string): Promise<Outcome> {
  try {
    const results = await kb.retrieve(query, { searchType: 'bm25', k: 10 });
    return {
      results: JSON.stringify(results.map((r: RetrievalResult) => [r.documentId, r.chunkId, r.score])),
    };
  } catch (error) {
    if (isLocalKbError(error)) return { code: error.code };
    throw error;
  }
}

async function checkFts(store: FuzzStore, options: { fts: number; seed: number }): Promise<CheckRow> {
  const random = seededRandom(options.seed + 4);
  const wrong = new Failures();
  const untyped = new Failures();
  const fingerprint = schemaFingerprint(store.db);
  const sql = SqliteStore.open(store.db, { readonly: true });
  let typedRefusals = 0;
  let withResults = 0;
  let rawAnswered = 0;
  let rawTyped = 0;
  for (let n = 0; n < options.fts; n++) {
    const query = ftsQuery(random);
    try {
      const got = await bm25Outcome(store.kb, query);
      const plain = await bm25Outcome(store.kb, plainWords(query));
      if (JSON.stringify(got) !== JSON.stringify(plain))
        wrong.add(
          `${JSON.stringify(query)}: ${JSON.stringify(got).slice(0, 120)} ≠ plain ${JSON.stringify(plainWords(query))}: ${JSON.stringify(plain).slice(0, 120)}`,
        );
      if ('code' in got) typedRefusals++;
      else if (got.results !== '[]') withResults++;
    } catch (error) {
      untyped.add(`retrieve ${JSON.stringify(query)}: ${describeError(error)}`);
    }
    // The store's own entry point takes FTS5 syntax as it is: it must answer or refuse with a typed error.
    try {
      sql.bm25Search(query, 10);
      rawAnswered++;
    } catch (error) {
      if (isLocalKbError(error)) rawTyped++;
      else untyped.add(`bm25Search ${JSON.stringify(query)}: ${describeError(error)}`);
    }
  }
  sql.close();
  const injected = schemaFingerprint(store.db) !== fingerprint;
  return {
    check: 'FTS5-syntax queries',
    runs: options.fts,
    failures: wrong.count + untyped.count + (injected ? 1 : 0),
    notes:
      `${wrong.count} differ from their plain words, ${untyped.count} untyped errors/crashes, ${injected ? 1 : 0} schema changes; ` +
      `${withResults} with results, ${typedRefusals} typed INVALID_QUERY (no words, both sides); ` +
      `raw FTS5 via SqliteStore.bm25Search: ${rawAnswered} answered, ${rawTyped} typed refusals`,
    details: { wrong: wrong.examples, untyped: untyped.examples },
  };
}

// ───────────────────────────── 5. real PDFs ─────────────────────────────

async function checkPdfs(): Promise<CheckRow> {
  const folder = path.join(sharedData, 'pdf-sample-files');
  const manifestPath = path.join(folder, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    return { check: 'real PDFs', runs: 0, failures: 0, notes: `SKIPPED: ${manifestPath} is absent` };
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')).files as {
    path: string;
    pdftotext_chars: number;
  }[];
  const dir = tempDir('pdf');
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'pdf.db'), {
    embedder: hashEmbedder(),
    embedWorkers: 0,
  });
  const crashes = new Failures();
  const typed: string[] = [];
  const noText: string[] = [];
  /** Files refused although pdftotext reads text from them (not crashes, but worth knowing). */
  const refusedWithText: string[] = [];
  let ingested = 0;
  let runs = 0;
  for (const entry of manifest) {
    const file = path.join(folder, entry.path);
    if (!fs.existsSync(file)) {
      typed.push(`${entry.path}: not in the shared folder`);
      continue;
    }
    runs++;
    try {
      const summary = await kb.ingest([file]);
      if (summary.skipped.length > 0) {
        typed.push(`${path.basename(entry.path)}: ${summary.skipped[0]!.code}`);
        if (entry.pdftotext_chars > 0) refusedWithText.push(path.basename(entry.path));
      } else if (summary.chunksEmbedded === 0 && summary.documentsAdded === 0)
        noText.push(path.basename(entry.path));
      else ingested++;
      if (summary.documentsAdded > 0 && entry.pdftotext_chars > 0) {
        const stored = (await kb.listDocuments()).at(-1);
        if (stored && stored.chunks === 0) noText.push(path.basename(entry.path));
      }
    } catch (error) {
      if (isLocalKbError(error)) typed.push(`${path.basename(entry.path)}: thrown ${error.code}`);
      else crashes.add(`${entry.path}: ${describeError(error)}`);
    }
  }
  await kb.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    check: 'real PDFs',
    runs,
    failures: crashes.count,
    notes:
      `${ingested} ingested, ${typed.length} typed errors (${typed.join('; ')}); ` +
      `${refusedWithText.length} of them refused although pdftotext reads text${noText.length ? `; stored without text: ${noText.join(', ')}` : ''}`,
    details: { crashes: crashes.examples, typed, refusedWithText, noText },
  };
}

// ───────────────────────────── 6. signed requests under load ─────────────────────────────

const KEYS = { accessKeyId: 'AKIDAUDIT15', secretAccessKey: 'audit-secret-15' };
const MODEL_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';

async function startServe(
  db: string,
): Promise<{ child: ChildProcess; endpoint: string; knowledgeBaseId: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI_MAIN,
      'serve',
      '--db',
      db,
      '--json',
      '--region',
      'us-east-1',
      '--access-key-id',
      KEYS.accessKeyId,
      '--secret-access-key',
      KEYS.secretAccessKey,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        const ready = JSON.parse(line) as { endpoint: string; knowledgeBaseId: string };
        resolve({ child, ...ready });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`localkb serve exited with ${code}: ${output}`)));
  });
}

async function checkRequests(options: {
  requests: number;
  concurrency: number;
  seed: number;
}): Promise<CheckRow[]> {
  const random = seededRandom(options.seed + 5);
  const dir = tempDir('serve');
  const db = path.join(dir, 'served.db');
  const build = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await build.ingest(documentsFor('served', 300, random));
  await build.close();
  const server = await startServe(db);
  const client = (extra: Record<string, unknown> = {}) =>
    new BedrockAgentRuntimeClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: KEYS,
      maxAttempts: 1,
      ...extra,
    });
  const h2 = client();
  const h1 = client({
    requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true, maxSockets: options.concurrency } }),
  });
  const errors = new Failures();
  const latencies: number[] = [];
  let next = 0;
  let rag = 0;
  let results = 0;
  const started = Date.now();
  const worker = async () => {
    for (;;) {
      const n = next++;
      if (n >= options.requests) return;
      const sdk = n % 2 === 0 ? h2 : h1;
      const query = `common ${pick(random, WORDS)} ${pick(random, WORDS)}`;
      const t0 = performance.now();
      try {
        if (n % 10 === 9) {
          rag++;
          const answer = await sdk.send(
            new RetrieveAndGenerateCommand({
              input: { text: query },
              retrieveAndGenerateConfiguration: {
                type: 'KNOWLEDGE_BASE',
                knowledgeBaseConfiguration: { knowledgeBaseId: server.knowledgeBaseId, modelArn: MODEL_ARN },
              },
            }),
          );
          if (!answer.output?.text) errors.add(`RetrieveAndGenerate ${n}: no answer text`);
        } else {
          const response = await sdk.send(
            new RetrieveCommand({
              knowledgeBaseId: server.knowledgeBaseId,
              retrievalQuery: { text: query },
              retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: 5 } },
            }),
          );
          const count = response.retrievalResults?.length ?? 0;
          if (count === 0) errors.add(`Retrieve ${n}: no results for ${query}`);
          results += count;
        }
      } catch (error) {
        errors.add(`request ${n} (${n % 2 === 0 ? 'h2' : 'http/1.1'}): ${describeError(error)}`);
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;

  // Requests that must fail exactly as AWS fails them.
  const refused = new Failures();
  let refusals = 0;
  const expectRefusal = async (
    label: string,
    sdk: BedrockAgentRuntimeClient,
    name: string,
    message?: RegExp,
  ) => {
    refusals++;
    try {
      await sdk.send(
        new RetrieveCommand({ knowledgeBaseId: server.knowledgeBaseId, retrievalQuery: { text: 'common' } }),
      );
      refused.add(`${label}: accepted`);
    } catch (error) {
      const e = error as Error & { $metadata?: { httpStatusCode?: number } };
      if (e.name !== name) refused.add(`${label}: ${e.name} (${e.message}), expected ${name}`);
      else if (message && !message.test(e.message)) refused.add(`${label}: message "${e.message}"`);
    } finally {
      sdk.destroy();
    }
  };
  for (const handler of [undefined, () => new NodeHttpHandler()]) {
    const extra = (more: Record<string, unknown>) => ({
      ...more,
      ...(handler ? { requestHandler: handler() } : {}),
    });
    const via = handler ? 'http/1.1' : 'h2';
    await expectRefusal(
      `wrong secret (${via})`,
      client(extra({ credentials: { ...KEYS, secretAccessKey: 'not-the-secret' } })),
      'InvalidSignatureException',
    );
    await expectRefusal(
      `unknown key (${via})`,
      client(extra({ credentials: { accessKeyId: 'AKIDUNKNOWN0', secretAccessKey: KEYS.secretAccessKey } })),
      'UnrecognizedClientException',
    );
    await expectRefusal(
      `signed 20 minutes ago (${via})`,
      client(extra({ systemClockOffset: -20 * 60_000 })),
      'InvalidSignatureException',
      /Signature expired/,
    );
    await expectRefusal(
      `signed 20 minutes ahead (${via})`,
      client(extra({ systemClockOffset: 20 * 60_000 })),
      'InvalidSignatureException',
      /Signature not yet current|Signature expired/,
    );
    await expectRefusal(
      `unsigned (${via})`,
      client(extra({ credentials: { accessKeyId: '', secretAccessKey: '' } })),
      'UnrecognizedClientException',
    );
  }
  h1.destroy();
  h2.destroy();
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return [
    {
      check: 'signed requests under load',
      runs: options.requests,
      failures: errors.count,
      notes:
        `${options.requests - rag} Retrieve + ${rag} RetrieveAndGenerate via localkb serve with keys, concurrency ${options.concurrency}, ` +
        `h2 and http/1.1 alternating; ${(options.requests / seconds).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ${results} results`,
      details: { errors: errors.examples },
    },
    {
      check: 'refused requests',
      runs: refusals,
      failures: refused.count,
      notes:
        'wrong secret → InvalidSignatureException, unknown key / unsigned → UnrecognizedClientException, ±20 min → InvalidSignatureException "Signature expired"',
      details: { failures: refused.examples },
    },
  ];
}

// ───────────────────────────── main ─────────────────────────────

function flag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} needs a whole number, got ${args[at + 1]}`);
  return value;
}

async function main(args: string[]): Promise<void> {
  const known = [
    'kills',
    'files',
    'hnsw-rounds',
    'filters',
    'filter-docs',
    'fts',
    'requests',
    'concurrency',
    'seed',
    'only',
  ];
  for (const arg of args)
    if (arg.startsWith('--') && !known.includes(arg.slice(2)))
      throw new Error(`unknown flag ${arg}; known: ${known.map((k) => `--${k}`).join(' ')}`);
  const seed = flag(args, 'seed', 15);
  const onlyAt = args.indexOf('--only');
  const only = new Set(
    onlyAt === -1
      ? ['kills', 'hnsw', 'filters', 'fts', 'pdf', 'requests']
      : (args[onlyAt + 1] ?? '').split(','),
  );
  const load = {
    start: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  const started = Date.now();
  const rows: CheckRow[] = [];
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    process.stderr.write(`audit: ${name}…\n`);
    const value = await run();
    process.stderr.write(`audit: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    return value;
  };
  if (only.has('kills'))
    rows.push(
      ...(await timed('kill -9', () =>
        checkKills({ kills: flag(args, 'kills', 24), files: flag(args, 'files', 40), seed }),
      )),
    );
  if (only.has('hnsw'))
    rows.push(await timed('hnsw', () => checkHnsw({ rounds: flag(args, 'hnsw-rounds', 1), seed })));
  if (only.has('filters') || only.has('fts')) {
    const { store, altered } = await timed('fuzz store', () =>
      openFuzzStore(flag(args, 'filter-docs', 5200), seed),
    );
    rows.push({
      check: 'hostile metadata stored as given',
      runs: store.documents.length,
      failures: altered.count,
      notes: `${METADATA_KEYS.length} keys (quotes, SQL, %, _, unicode, 100 chars) x ${HOSTILE_STRINGS.length} hostile strings, numbers, booleans, lists`,
      details: { failures: altered.examples },
    });
    if (only.has('filters'))
      rows.push(
        await timed('filters', () => checkFilters(store, { filters: flag(args, 'filters', 400), seed })),
      );
    if (only.has('fts'))
      rows.push(await timed('fts', () => checkFts(store, { fts: flag(args, 'fts', 300), seed })));
    await store.kb.close();
    await store.kbHnsw.close();
    fs.rmSync(store.dir, { recursive: true, force: true });
  }
  if (only.has('pdf')) rows.push(await timed('pdf', () => checkPdfs()));
  if (only.has('requests'))
    rows.push(
      ...(await timed('requests', () =>
        checkRequests({
          requests: flag(args, 'requests', 400),
          concurrency: flag(args, 'concurrency', 16),
          seed,
        }),
      )),
    );
  const report = {
    bench: 'audit',
    args: args.join(' '),
    seconds: Math.round((Date.now() - started) / 1000),
    load: {
      ...load,
      end: os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
      cores: os.availableParallelism(),
    },
    checks: rows,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `\n${printTable(rows.map(({ check, runs, failures, notes }) => ({ check, runs, failures, notes })))}\n` +
      `load ${report.load.start} → ${report.load.end} on ${report.load.cores} cores, ${report.seconds} s\n`,
  );
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child-ingest') {
  await childIngest(argv[1] as Lane, argv[2]!, argv[3]!);
} else {
  await main(argv);
}
