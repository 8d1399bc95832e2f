/**
 * Damage met after open: a real store file whose pages are overwritten (in a copy) fails queries and deletes with
 * STORE_CORRUPT naming the file and the fix, never a raw SQLITE_CORRUPT or an INVALID_QUERY blaming the query;
 * and a --db that names a folder says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { runCli } from '../helpers/cli.js';
import { CORPUS } from '../kb-contract/corpus.js';

let dir: string;
let pristine: string;
let pageSize: number;
let rootPages: Map<string, number>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkb-corrupt-'));
  pristine = path.join(dir, 'pristine.db');
  const kb = await LocalKnowledgeBase.open(pristine, { embedder: 'none' });
  const filler = Array.from({ length: 120 }, (_, i) => ({
    id: `filler-${i}`,
    text: `Filler document ${i} about honey bees, barn owls and salmon, number ${i}. `.repeat(30),
  }));
  await kb.ingest([...CORPUS, ...filler]);
  await kb.close();
  const db = new Database(pristine, { readonly: true });
  pageSize = db.pragma('page_size', { simple: true }) as number;
  const rows = db.prepare('SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0').all() as {
    name: string;
    rootpage: number;
  }[];
  rootPages = new Map(rows.map((row) => [row.name, row.rootpage]));
  db.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the store with the root page of `table` overwritten by junk bytes. */
function damagedCopy(table: string): string {
  const copy = path.join(dir, `${table}-${Math.random().toString(36).slice(2)}.db`);
  fs.copyFileSync(pristine, copy);
  const page = rootPages.get(table);
  if (page === undefined) throw new Error(`no table ${table} in the store`);
  const fd = fs.openSync(copy, 'r+');
  fs.writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (page - 1) * pageSize);
  fs.closeSync(fd);
  return copy;
}

async function failureOf(
  file: string,
  run: (kb: LocalKnowledgeBase) => Promise<unknown>,
): Promise<LocalKbError> {
  const kb = await LocalKnowledgeBase.open(file, { embedder: 'none' });
  try {
    await run(kb);
  } catch (error) {
    return error as LocalKbError;
  } finally {
    await kb.close();
  }
  throw new Error('expected the call to fail');
}

function expectStoreCorrupt(error: LocalKbError, file: string): void {
  expect(error.code).toBe('STORE_CORRUPT');
  expect(error.input).toBe(file);
  expect(error.message).toContain(`${file} is damaged`);
  expect(error.message).toContain('restore it from a backup, or ingest the documents again into a new --db');
}

describe('a store damaged after it was written', () => {
  it.each(['bm25_fts_data', 'bm25_fts_idx', 'bm25_fts_config'])(
    'answers a BM25 query over a damaged %s with STORE_CORRUPT, not INVALID_QUERY',
    async (table) => {
      const file = damagedCopy(table);
      expectStoreCorrupt(await failureOf(file, (kb) => kb.retrieve('Why do honey bees dance?')), file);
    },
  );

  it.each(['chunks', 'documents'])(
    'answers a query over a damaged %s table with STORE_CORRUPT',
    async (table) => {
      const file = damagedCopy(table);
      expectStoreCorrupt(await failureOf(file, (kb) => kb.retrieve('barn owls')), file);
    },
  );

  it.each(['documents', 'bm25_fts_data'])(
    'fails delete on a damaged %s with STORE_CORRUPT',
    async (table) => {
      const file = damagedCopy(table);
      expectStoreCorrupt(await failureOf(file, (kb) => kb.delete('filler-5')), file);
    },
  );

  it('answers the same queries on the undamaged original (the control)', async () => {
    const kb = await LocalKnowledgeBase.open(pristine, { embedder: 'none' });
    try {
      expect((await kb.retrieve('Why do honey bees dance?')).length).toBeGreaterThan(0);
    } finally {
      await kb.close();
    }
  });

  it('prints STORE_CORRUPT with the path from `localkb delete` and `localkb query`', async () => {
    const file = damagedCopy('documents');
    const deleted = await runCli(['delete', '--db', file, 'filler-5']);
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toContain('STORE_CORRUPT');
    expect(deleted.stderr).toContain(`${file} is damaged`);
    expect(deleted.stderr).not.toMatch(/^database disk image is malformed$/m);
    const queried = await runCli(['query', '--db', damagedCopy('bm25_fts_data'), 'honey bees']);
    expect(queried.stderr).toContain('STORE_CORRUPT');
    expect(queried.stderr).not.toContain('not a valid FTS5 match expression');
  });
});

describe('--db naming a folder', () => {
  it('says the path is a folder instead of "disk I/O error"', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'folder-'));
    let error: LocalKbError | undefined;
    try {
      await LocalKnowledgeBase.open(folder, { embedder: 'none' });
    } catch (e) {
      error = e as LocalKbError;
    }
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.input).toBe(folder);
    expect(error?.message).toContain(`${folder} is a folder, not a store file`);
    const cli = await runCli(['query', '--db', folder, 'anything']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('is a folder, not a store file');
    expect(cli.stderr).not.toContain('disk I/O error');
  });
});
