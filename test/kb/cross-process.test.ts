import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { DocumentInput } from '../../src/types.js';
import { BagOfWordsEmbedder } from '../fixtures/ingest/bag-of-words-embedder.js';

const WRITER = path.join(import.meta.dirname, 'kb-writer-process.ts');
const run = promisify(execFile);

/** Ingests and deletes in a separate node process, as another CLI invocation or server would. */
async function writeFromAnotherProcess(dbPath: string, ingest: DocumentInput[], remove: string[] = []) {
  await run(process.execPath, ['--import', 'tsx', WRITER, dbPath, JSON.stringify({ ingest, remove })]);
}

const topic = (id: string, words: string) => ({ id, text: `${words} ${words} ${words}` });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-xproc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a long-lived knowledge base', () => {
  it('sees documents another process adds and stops returning the ones it deletes', async () => {
    const dbPath = path.join(dir, 'shared.db');
    const kb = await LocalKnowledgeBase.open(dbPath, { embedder: new BagOfWordsEmbedder(64) });
    try {
      await kb.ingest([
        topic('granite', 'granite quarry stone masonry'),
        topic('tides', 'tides moon harbour currents'),
        topic('lamps', 'lamps wicks paraffin oil'),
      ]);
      expect((await kb.retrieve('granite stone', { k: 1, searchType: 'semantic' }))[0]?.documentId).toBe(
        'granite',
      );

      await writeFromAnotherProcess(dbPath, [topic('fresnel', 'fresnel lens prisms optics')], ['granite']);

      for (const searchType of ['semantic', 'hybrid', 'bm25'] as const) {
        const lens = await kb.retrieve('fresnel lens prisms', { k: 5, searchType });
        expect(lens[0]?.documentId).toBe('fresnel');
        const stone = await kb.retrieve('granite quarry stone', { k: 5, searchType });
        expect(stone.map((r) => r.documentId)).not.toContain('granite');
      }
      const all = await kb.retrieve('anything at all tides lamps fresnel', { k: 10, searchType: 'semantic' });
      expect(all.map((r) => r.documentId).sort()).toEqual(['fresnel', 'lamps', 'tides']);
      expect((await kb.stats()).indexedVectors).toBe(3);
    } finally {
      await kb.close();
    }
  });

  it('never pairs a restored copy of the store with the HNSW cache of another history', async () => {
    const dbPath = path.join(dir, 'restored.db');
    const copyPath = path.join(dir, 'laptop.db');
    const ingest = async (target: string, document: DocumentInput) => {
      const kb = await LocalKnowledgeBase.open(target, { embedder: new BagOfWordsEmbedder(64) });
      await kb.ingest([document]);
      await kb.close();
    };
    await ingest(dbPath, topic('tides', 'tides moon harbour currents'));
    copyFileSync(dbPath, copyPath);
    // Each copy moves on by itself; the HNSW cache beside restored.db is saved with granite's vector.
    await ingest(dbPath, topic('granite', 'granite quarry stone masonry'));
    await ingest(copyPath, topic('lamps', 'lamps wicks paraffin oil'));
    await ingest(copyPath, topic('keepers', 'keepers logbook watch duty'));
    // The copy is restored over the original: a later generation, the same chunk ids, other content.
    copyFileSync(copyPath, dbPath);
    for (const suffix of ['-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });

    const kb = await LocalKnowledgeBase.open(dbPath, { embedder: new BagOfWordsEmbedder(64) });
    try {
      for (const [id, words] of [
        ['lamps', 'lamps wicks paraffin oil'],
        ['keepers', 'keepers logbook watch duty'],
      ]) {
        const [top] = await kb.retrieve(words!, { k: 1, searchType: 'semantic' });
        expect(top?.documentId).toBe(id);
        expect(top?.rawScore).toBeGreaterThan(0.99);
      }
      // No vector of the other history may answer for the chunk that took its id.
      const [granite] = await kb.retrieve('granite quarry stone masonry', { k: 1, searchType: 'semantic' });
      expect(granite?.rawScore).toBeLessThan(0.5);
      expect((await kb.stats()).indexedVectors).toBe(3);
    } finally {
      await kb.close();
    }
  });
});
