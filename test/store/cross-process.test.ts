import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { makeDocument, makeTempDir, randomUnitVector, seededRandom } from './store-fixtures.js';

const DIMENSIONS = 16;
const READER = path.join(import.meta.dirname, 'store-reader-process.ts');

interface Report {
  seen: { chunks: number; indexed: number; bm25: number; hnsw: number }[];
  errors: string[];
}

describe('a reader in another process', () => {
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps querying without errors while this process writes, and sees every write', async () => {
    const dbPath = path.join(dir, 'kb.db');
    const random = seededRandom(3);
    const writer = SqliteStore.open(dbPath, { embedder: { id: 'test:embedder', dimensions: DIMENSIONS } });
    const ingest = (id: string) => {
      const { document, chunks } = makeDocument(id, [`marker text of ${id}`, `more words for ${id}`]);
      writer.upsertDocument(
        document,
        chunks,
        chunks.map(() => randomUnitVector(DIMENSIONS, random)),
      );
    };
    ingest('seed');

    const child = fork(READER, [dbPath, `${dbPath}.hnsw`, String(DIMENSIONS)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const messages: { type: string }[] = [];
    child.on('message', (message: { type: string }) => messages.push(message));
    const waitFor = async (type: string) => {
      const deadline = Date.now() + 30_000;
      while (!messages.some((m) => m.type === type)) {
        if (Date.now() > deadline) throw new Error(`the reader process sent no ${type} message in 30 s`);
        await sleep(10);
      }
      return messages.find((m) => m.type === type)!;
    };

    try {
      await waitFor('ready');
      // Write one document at a time with pauses, replacing and deleting some, while the child reads.
      for (let i = 0; i < 40; i++) {
        ingest(`doc${i}`);
        if (i % 10 === 9) ingest(`doc${i - 5}`);
        if (i % 10 === 0 && i > 0) writer.deleteDocument(`doc${i - 1}`);
        await sleep(15);
      }
      const finalChunks = writer.countChunks();
      const finalVectors = writer.countVectors();
      child.send({ type: 'stop' });
      const report = (await waitFor('report')) as unknown as Report;

      expect(report.errors).toEqual([]);
      expect(report.seen.length).toBeGreaterThan(20);
      const counts = report.seen.map((s) => s.chunks);
      // The reader saw the store grow while it was being written, not just before and after.
      expect(new Set(counts).size).toBeGreaterThan(3);
      const last = report.seen[report.seen.length - 1]!;
      expect(last).toEqual({ chunks: finalChunks, indexed: finalVectors, bm25: finalChunks / 2, hnsw: 5 });
      // Every snapshot it saw was consistent: BM25 rows and indexed vectors match the chunk count at that moment.
      for (const snapshot of report.seen) {
        expect(snapshot.bm25).toBe(snapshot.chunks / 2);
      }
    } finally {
      if (child.exitCode === null) child.kill();
      await exited;
      writer.close();
    }
  });
});
