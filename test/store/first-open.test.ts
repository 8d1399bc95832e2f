import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { startScript } from '../helpers/script-process.js';
import { makeTempDir } from './store-fixtures.js';

const OPENER = path.join(import.meta.dirname, 'first-open-process.ts');

describe('the first open of a store', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('localkb-first-open-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets several processes create the same stores at once, each ingesting into them', async () => {
    const processes = 4;
    const stores = 12;
    const openers = Array.from({ length: processes }, () =>
      startScript(OPENER, ['race', dir, String(stores)]),
    );
    try {
      await Promise.all(openers.map((opener) => opener.waitFor('ready')));
      for (const opener of openers) opener.child.send({ type: 'go' });
      const reports = await Promise.all(openers.map((opener) => opener.waitFor('report')));
      expect(reports.flatMap((report) => report.errors as string[])).toEqual([]);
      for (let i = 0; i < stores; i++) {
        const store = SqliteStore.open(path.join(dir, `store-${i}.db`), { readonly: true });
        expect(store.listDocuments()).toHaveLength(processes);
        store.close();
      }
    } finally {
      await Promise.all(openers.map((opener) => opener.kill9()));
    }
  });

  it('never leaves a file that later opens refuse when the creating process is killed', async () => {
    for (let round = 0; round < 3; round++) {
      const roundDir = path.join(dir, `round-${round}`);
      fs.mkdirSync(roundDir);
      const creator = startScript(OPENER, ['loop', roundDir]);
      await creator.waitFor('looping');
      await sleep(Math.random() * 50);
      expect(await creator.kill9()).toBe('SIGKILL');
      const files = fs.readdirSync(roundDir).filter((name) => name.endsWith('.db'));
      expect(files.length).toBeGreaterThan(3);
      for (const name of files) {
        const kb = await LocalKnowledgeBase.open(path.join(roundDir, name), { embedder: 'none' });
        await kb.ingest([{ id: 'after-the-kill', text: 'the store works after its creator was killed' }]);
        expect((await kb.retrieve('creator killed', { searchType: 'bm25' }))[0]?.content.text).toContain(
          'creator was killed',
        );
        await kb.close();
      }
    }
  });

  it('reports a store whose creation never committed as not there yet to read-only opens', () => {
    const dbPath = path.join(dir, 'interrupted.db');
    fs.writeFileSync(dbPath, '');
    expect(SqliteStore.readSettings(dbPath)).toBeUndefined();
    let code: string | undefined;
    try {
      SqliteStore.open(dbPath, { readonly: true });
    } catch (error) {
      code = (error as { code?: string }).code;
    }
    expect(code).toBe('STORE_NOT_FOUND');
  });
});
