import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';

let dir: string;
let kb: LocalKnowledgeBase;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-list-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'list.db'), {
    embedder: 'none',
    chunking: { chunkSize: 20, chunkOverlap: 0 },
  });
  const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i} beacon light keeper.`).join(' ');
  await kb.ingest([
    { id: 'short', text: 'A single short line about a lighthouse.' },
    { id: 'long', text: `# Many words\n\n${words(80)}`, format: 'markdown' },
    { id: 'middle', text: words(20) },
  ]);
});

afterAll(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalKnowledgeBase.listDocuments', () => {
  it('gives each document its chunk count, in ingest order, summing to the store total', async () => {
    const all = await kb.listDocuments();
    expect(all.map((d) => d.id)).toEqual(['short', 'long', 'middle']);
    expect(all[0]?.chunks).toBe(1);
    expect(all[1]?.chunks).toBeGreaterThan(all[2]?.chunks ?? Infinity);
    expect(all[1]?.title).toBe('Many words');
    expect(all.reduce((sum, d) => sum + d.chunks, 0)).toBe((await kb.stats()).chunks);
  });

  it('pages with offset and limit', async () => {
    expect((await kb.listDocuments({ offset: 1, limit: 1 })).map((d) => d.id)).toEqual(['long']);
    expect((await kb.listDocuments({ offset: 2 })).map((d) => d.id)).toEqual(['middle']);
    expect(await kb.listDocuments({ offset: 3 })).toEqual([]);
  });

  it('refuses bad paging options by name', async () => {
    for (const [options, input] of [
      [{ limit: 0 }, 'limit'],
      [{ offset: -1 }, 'offset'],
      [{ limit: 1.5 }, 'limit'],
      [{ skip: 1 }, 'skip'],
    ] as const) {
      await expect(kb.listDocuments(options as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      await kb
        .listDocuments(options as never)
        .catch((error: Error) => expect(error.message).toContain(input));
    }
  });
});
