/** `auto` settling for the weak bundled USE says so: once on stderr, in the ingest summary and in --json. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let docs: string;
let emptyCache: string;
/** No MiniLM anywhere: no model folder, an empty cache. */
const NO_MINILM = { LOCALKB_MODEL_PATH: '', LOCALKB_CACHE_DIR: '' };

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-auto-'));
  docs = path.join(dir, 'docs');
  emptyCache = path.join(dir, 'empty-cache');
  mkdirSync(docs);
  mkdirSync(emptyCache);
  writeFileSync(path.join(docs, 'note.md'), '# Foghorns\n\nA diaphone foghorn sounds two tones.\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("embedder 'auto' falling back to USE", () => {
  it('the library says why, in the first ingest summary only', async () => {
    const dbPath = path.join(dir, 'lib.db');
    const kb = await LocalKnowledgeBase.open(dbPath, { cacheDir: emptyCache, embedWorkers: 0 });
    expect(kb.embedder?.id).toMatch(/^use:/);
    expect(kb.embedderNotice).toContain('Xenova/all-MiniLM-L6-v2 is not in');
    expect(kb.embedderNotice).toContain(emptyCache);
    const first = await kb.ingest([{ id: 'a', text: 'Granite towers on the reef.' }]);
    expect(first.notes).toEqual([kb.embedderNotice]);
    const second = await kb.ingest([{ id: 'b', text: 'A second document.' }]);
    expect(second.notes ?? []).toEqual([]);
    await kb.close();
    // The store now names its embedder: reopening is no fallback.
    const reopened = await LocalKnowledgeBase.open(dbPath, { cacheDir: emptyCache, embedWorkers: 0 });
    expect(reopened.embedderNotice).toBeUndefined();
    await reopened.close();
  });

  it('the CLI prints it once on stderr and in the summary, and --json carries it', async () => {
    const dbPath = path.join(dir, 'cli.db');
    const args = ['ingest', docs, '--db', dbPath, '--cache-dir', emptyCache, '--quiet'];
    const result = await runCli(args, { env: NO_MINILM });
    expect(result.code).toBe(0);
    expect(result.stderr.match(/embedder auto fell back/g)).toHaveLength(1);
    expect(result.stderr).toContain('localkb ingest: note: embedder auto fell back');
    expect(result.stdout).toContain('note: embedder auto fell back');
    expect(result.stdout).toContain('--embedder minilm');

    const jsonDb = path.join(dir, 'json.db');
    const json = await runCli(['ingest', docs, '--db', jsonDb, '--cache-dir', emptyCache, '--json'], {
      env: NO_MINILM,
    });
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary.notes).toEqual([expect.stringContaining('embedder auto fell back')]);
    expect(json.stderr.match(/embedder auto fell back/g)).toHaveLength(1);

    // Into the same store again: it is a USE store now, no fallback to report.
    const again = await runCli(args, { env: NO_MINILM });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('fell back');
    expect(again.stdout).not.toContain('fell back');
  });

  it('says nothing when the embedder was chosen, not fallen back to', async () => {
    const none = await runCli([
      'ingest',
      docs,
      '--db',
      path.join(dir, 'bm25.db'),
      '--embedder',
      'none',
      '--quiet',
    ]);
    expect(none.code).toBe(0);
    expect(none.stderr + none.stdout).not.toContain('fell back');
  });
});
