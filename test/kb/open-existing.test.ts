import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-must-exist-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function openError(dbPath: string, options: Record<string, unknown>) {
  try {
    await LocalKnowledgeBase.open(dbPath, options);
  } catch (error) {
    return error as { code?: string; message: string; input?: string };
  }
  throw new Error(`LocalKnowledgeBase.open(${dbPath}) did not fail`);
}

describe('LocalKnowledgeBase.open({ mustExist })', () => {
  it('refuses a missing store with STORE_NOT_FOUND naming the path and the fix, creating no file', async () => {
    const folder = mkdtempSync(path.join(dir, 'missing-'));
    const dbPath = path.join(folder, 'typo.db');
    const error = await openError(dbPath, { mustExist: true, embedder: 'none' });
    expect(error.code).toBe('STORE_NOT_FOUND');
    expect(error.input).toBe(dbPath);
    expect(error.message).toContain(dbPath);
    expect(error.message).toContain('localkb ingest');
    expect(error.message).toContain('without mustExist');
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses a file that holds no store yet (a first ingest interrupted), leaving it as it was', async () => {
    const dbPath = path.join(dir, 'empty.db');
    writeFileSync(dbPath, '');
    const error = await openError(dbPath, { mustExist: true, embedder: 'none' });
    expect(error.code).toBe('STORE_NOT_FOUND');
    expect(error.message).toContain('no tables');
    expect(readdirSync(dir).filter((name) => name.startsWith('empty.db'))).toEqual(['empty.db']);
  });

  it('opens an existing store, and creates one without mustExist', async () => {
    const dbPath = path.join(dir, 'made.db');
    const made = await LocalKnowledgeBase.open(dbPath, { embedder: 'none', mustExist: false });
    await made.ingest([{ id: 'a', text: 'Granite towers stand on the reef.' }]);
    await made.close();
    expect(existsSync(dbPath)).toBe(true);
    const reopened = await LocalKnowledgeBase.open(dbPath, { mustExist: true });
    expect((await reopened.stats()).documents).toBe(1);
    await reopened.close();
  });

  it('validates the option itself', async () => {
    const error = await openError(path.join(dir, 'x.db'), { mustExist: 'yes' });
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('mustExist');
    const typo = await openError(path.join(dir, 'x.db'), { mustexist: true });
    expect(typo.code).toBe('INVALID_OPTION');
    expect(typo.message).toContain('mustExist');
    expect(existsSync(path.join(dir, 'x.db'))).toBe(false);
  });
});
