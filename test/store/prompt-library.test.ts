import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryPromptLibrary } from '../../src/store/prompt-library.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prompt versions in a store', () => {
  it('numbers versions per name and keeps them after the store is closed and reopened', () => {
    const file = path.join(dir, 'versions.db');
    const store = SqliteStore.open(file);
    const library = store.promptLibrary();
    expect(library.saveVersion('terse', '$search_results$ A').version).toBe(1);
    expect(library.saveVersion('verbose', '$search_results$ B').version).toBe(1);
    expect(library.saveVersion('terse', '$search_results$ C').version).toBe(2);
    store.close();
    const reopened = SqliteStore.open(file);
    const versions = reopened.promptLibrary().listVersions();
    expect(versions.map((v) => [v.name, v.version, v.template])).toEqual([
      ['terse', 1, '$search_results$ A'],
      ['verbose', 1, '$search_results$ B'],
      ['terse', 2, '$search_results$ C'],
    ]);
    reopened.close();
  });

  it('keeps runs with their results and lists them newest first without the results', () => {
    const store = SqliteStore.open(path.join(dir, 'runs.db'));
    const library = store.promptLibrary();
    const version = library.saveVersion('v', '$search_results$');
    const first = library.saveRun({ promptVersionId: version.id, settings: { k: 3 }, results: [{ q: 1 }] });
    const second = library.saveRun({ promptVersionId: version.id, settings: {}, results: [{}, {}] });
    expect(library.listRuns().map((r) => [r.id, r.questions, r.results.length])).toEqual([
      [second.id, 2, 0],
      [first.id, 1, 0],
    ]);
    expect(library.getRun(first.id)).toMatchObject({ settings: { k: 3 }, results: [{ q: 1 }] });
    store.close();
  });

  it('refuses an empty name or template before writing', () => {
    const store = SqliteStore.open(path.join(dir, 'refuse.db'));
    const library = store.promptLibrary();
    expect(() => library.saveVersion(' ', '$search_results$')).toThrow(
      expect.objectContaining({ input: 'name' }),
    );
    expect(() => library.saveVersion('x', '')).toThrow(expect.objectContaining({ input: 'template' }));
    expect(library.listVersions()).toEqual([]);
    store.close();
  });

  it('fails with STORE_CLOSED once the store is closed', () => {
    const store = SqliteStore.open(path.join(dir, 'closed.db'));
    const library = store.promptLibrary();
    store.close();
    expect(() => library.listVersions()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
  });
});

describe('prompt versions in memory', () => {
  it('numbers versions like a store and says it does not keep them', () => {
    const library = new MemoryPromptLibrary();
    library.saveVersion('a', '$search_results$');
    expect(library.saveVersion('a', '$search_results$!').version).toBe(2);
    expect(library.persistent).toBe(false);
  });
});
