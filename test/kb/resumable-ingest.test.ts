import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestResume } from '../../src/kb/ingest-resume.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { IngestSummary } from '../../src/kb/types.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import type { StoredDocument } from '../../src/store/sqlite-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { SourceDocument } from '../../src/types.js';
import { startScript } from '../helpers/script-process.js';

const INGEST = path.join(import.meta.dirname, 'ingest-process.ts');
const FILES = 30;

let dir: string;
let corpus: string;
let dbPath: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkb-resume-'));
  corpus = path.join(dir, 'corpus');
  fs.mkdirSync(corpus);
  for (let i = 0; i < FILES; i++) {
    const name = `note-${String(i).padStart(2, '0')}.txt`;
    fs.writeFileSync(path.join(corpus, name), `Note ${i} is about topic number ${i * 7} and nothing else.\n`);
  }
  dbPath = path.join(dir, 'kb.db');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Stored document id → when it was written, read from another connection while an ingest may be running. */
function committed(): Map<string, string> {
  if (SqliteStore.readSettings(dbPath) === undefined) return new Map(); // not created yet
  const store = SqliteStore.open(dbPath, { readonly: true });
  try {
    return new Map(store.listDocuments().map((doc) => [doc.id, doc.ingestedAt]));
  } finally {
    store.close();
  }
}

/** Runs an ingest and kills it with SIGKILL once `atLeast` documents are committed. */
async function ingestKilledAfter(atLeast: number): Promise<Map<string, string>> {
  const run = startScript(INGEST, [dbPath, corpus]);
  const deadline = Date.now() + 60_000;
  while (committed().size < atLeast) {
    if (Date.now() > deadline)
      throw new Error(`the ingest committed fewer than ${atLeast} documents in 60 s`);
    if (run.child.exitCode !== null) throw new Error('the ingest finished before it could be killed');
    await sleep(5);
  }
  expect(await run.kill9()).toBe('SIGKILL');
  return committed();
}

describe('an ingest killed with SIGKILL', () => {
  it('resumes after its last committed document, so each run makes progress', async () => {
    const first = await ingestKilledAfter(4);
    expect(first.size).toBeLessThan(FILES);

    const second = await ingestKilledAfter(first.size + 4);
    expect(second.size).toBeLessThan(FILES);
    // what the first run committed was kept, not written again
    for (const [id, ingestedAt] of first) expect(second.get(id)).toBe(ingestedAt);

    const last = startScript(INGEST, [dbPath, corpus]);
    const { summary } = (await last.waitFor('summary')) as unknown as { summary: IngestSummary };
    await last.exited;
    expect(summary.documentsUnchanged).toBe(second.size);
    expect(summary.documentsAdded).toBe(FILES - second.size);
    expect(summary.documentsUpdated).toBe(0);
    const final = committed();
    expect(final.size).toBe(FILES);
    for (const [id, ingestedAt] of second) expect(final.get(id)).toBe(ingestedAt);
  });
});

describe('which stored documents an ingest keeps', () => {
  const settings = { chunkSize: 200, chunkOverlap: 20 };
  const document = { id: 'a', contentHash: 'h1', metadata: { lang: 'en' } } as unknown as SourceDocument;
  const stored = (extra: Partial<StoredDocument>) =>
    ({ id: 'a', contentHash: 'h1', metadata: { lang: 'en' }, ...extra }) as StoredDocument;

  it('keeps a document recorded with the same chunker settings and content', () => {
    const resume = new IngestResume(settings, undefined);
    expect(resume.isCurrent(stored({ chunkedWith: resume.fingerprint }), document)).toBe(true);
  });

  it('redoes a document chunked with other settings, even when its content is unchanged', () => {
    const other = new IngestResume({ ...settings, chunkSize: 100 }, undefined);
    expect(
      new IngestResume(settings, undefined).isCurrent(stored({ chunkedWith: other.fingerprint }), document),
    ).toBe(false);
  });

  it("judges documents stored before per-document records by the store's old marker", () => {
    const legacy = JSON.stringify(settings);
    expect(new IngestResume(settings, legacy).isCurrent(stored({}), document)).toBe(true);
    expect(new IngestResume({ ...settings, chunkSize: 100 }, legacy).isCurrent(stored({}), document)).toBe(
      false,
    );
    expect(new IngestResume(settings, undefined).isCurrent(stored({}), document)).toBe(false);
  });

  it('opens and migrates a store made before per-document records', async () => {
    const oldPath = path.join(dir, 'schema-1.db');
    const kb = await LocalKnowledgeBase.open(oldPath, { embedder: 'none' });
    await kb.ingest([{ id: 'old', text: 'a document from an older localkb' }]);
    await kb.close();
    const db = new Database(oldPath);
    // Undo the migration that added per-document records: the store is as an older localkb left it.
    const added = MIGRATIONS.find((migration) => migration.sql.includes('chunked_with'))!.version;
    db.exec(`ALTER TABLE documents DROP COLUMN chunked_with;
      DELETE FROM schema_migrations WHERE version = ${added};
      UPDATE settings SET value = ${added - 1} WHERE key = 'schema_version';`);
    db.close();

    const reopened = await LocalKnowledgeBase.open(oldPath, { embedder: 'none' });
    const summary = await reopened.ingest([{ id: 'old', text: 'a document from an older localkb' }]);
    expect(summary.documentsUpdated + summary.documentsUnchanged).toBe(1);
    expect(
      (await reopened.ingest([{ id: 'old', text: 'a document from an older localkb' }])).documentsUnchanged,
    ).toBe(1);
    await reopened.close();
  });
});
