/** Commands that read a store never create one: a mistyped --db is STORE_NOT_FOUND, exit 1, and no file appears. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/models.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-read-commands-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NO_MODEL = ['--embedder', 'none'];
const READ_COMMANDS: Record<string, string[]> = {
  stats: ['stats', ...NO_MODEL],
  'stats --json': ['stats', '--json', ...NO_MODEL],
  list: ['list'],
  query: ['query', 'granite tower', ...NO_MODEL],
  ask: ['ask', 'who built the tower?', '--generator', 'extractive', ...NO_MODEL],
  delete: ['delete', 'some-document.md', '--json', ...NO_MODEL],
  serve: ['serve', ...NO_MODEL],
  playground: ['playground', ...NO_MODEL],
};

describe('read commands on a store that does not exist', () => {
  it.each(Object.entries(READ_COMMANDS))(
    '%s fails with STORE_NOT_FOUND and creates nothing',
    async (_, args) => {
      const folder = mkdtempSync(path.join(dir, 'case-'));
      const typo = path.join(folder, 'typo.db');
      const result = await runCli([...args, '--db', typo]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('[STORE_NOT_FOUND]');
      expect(result.stderr).toContain(typo);
      // The fix: check the path or build the store with ingest.
      expect(result.stderr).toContain(`localkb ingest <files or folders> --db ${typo}`);
      expect(result.stdout).toBe('');
      expect(readdirSync(folder)).toEqual([]);
    },
  );

  it('ingest of a missing path exits 1 naming it, before any store is made', async () => {
    const folder = mkdtempSync(path.join(dir, 'case-'));
    const db = path.join(folder, 'new.db');
    const result = await runCli(['ingest', './no-such-folder', '--db', db, '--embedder', 'none', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[FILE_NOT_FOUND]');
    expect(result.stderr).toContain(path.join(REPO_ROOT, 'no-such-folder'));
    expect(readdirSync(folder)).toEqual([]);
  });

  it('ingest still creates the store it is pointed at', async () => {
    const db = path.join(dir, 'made.db');
    const corpus = path.join(REPO_ROOT, 'examples/corpus');
    const made = await runCli(['ingest', corpus, '--db', db, '--embedder', 'none', '--quiet']);
    expect(made.code).toBe(0);
    const stats = await runCli(['stats', '--db', db, '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).documents).toBeGreaterThan(0);
  });
});
