import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { IngestProgress } from '../../src/kb/types.js';
import type { EmbedOptions } from '../../src/types.js';
import { BagOfWordsEmbedder } from '../fixtures/ingest/bag-of-words-embedder.js';

/** Records the size of every embedder call. */
class CallSizeEmbedder extends BagOfWordsEmbedder {
  readonly calls: number[] = [];
  override async embedDocuments(texts: readonly string[], options?: EmbedOptions) {
    this.calls.push(texts.length);
    return super.embedDocuments(texts, options);
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-pipeline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function paragraphs(count: number, seed: string): string {
  return Array.from(
    { length: count },
    (_, i) => `Paragraph ${i} about ${seed}: lighthouses, harbours and tides recorded in the log of ${seed}.`,
  ).join('\n\n');
}

describe('the ingest pipeline', () => {
  it('knows the file total before the first file is loaded and the chunk total once all are chunked', async () => {
    const corpus = path.join(dir, 'corpus');
    mkdirSync(corpus);
    for (let i = 0; i < 5; i++)
      writeFileSync(path.join(corpus, `doc${i}.md`), paragraphs(20 + i * 10, `doc${i}`));
    const events: IngestProgress[] = [];
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'totals.db'), {
      embedder: new BagOfWordsEmbedder(64),
      chunking: { chunkSize: 40, chunkOverlap: 0 },
      embedBatchSize: 8,
    });
    try {
      const summary = await kb.ingest([corpus], { onProgress: (p) => events.push(p) });
      expect(events[0]).toMatchObject({ files: 0, totalFiles: 5, chunks: 0 });
      const last = events[events.length - 1]!;
      expect(last).toMatchObject({ files: 5, totalFiles: 5, chunks: summary.chunksEmbedded, fraction: 1 });
      expect(last.totalChunks).toBe(summary.chunksEmbedded);
      expect(last.etaMs).toBe(0);
      const fractions = events.map((e) => e.fraction);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(events.every((e) => e.elapsedMs >= 0 && e.chunksPerSecond >= 0)).toBe(true);
    } finally {
      await kb.close();
    }
  });

  it('embeds a large document in batches of embedBatchSize so progress moves through it', async () => {
    const embedder = new CallSizeEmbedder(64);
    const events: IngestProgress[] = [];
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'large.db'), {
      embedder,
      chunking: { chunkSize: 30, chunkOverlap: 0 },
      embedBatchSize: 16,
    });
    try {
      const summary = await kb.ingest([{ id: 'big', text: paragraphs(400, 'big') }], {
        onProgress: (p) => events.push(p),
      });
      expect(summary.chunksEmbedded).toBeGreaterThan(100);
      expect(Math.max(...embedder.calls)).toBeLessThanOrEqual(16);
      const moving = new Set(events.filter((e) => e.chunks < summary.chunksEmbedded).map((e) => e.chunks));
      expect(moving.size).toBeGreaterThan(5);
      expect((await kb.stats()).passages).toBe(summary.chunksEmbedded);
    } finally {
      await kb.close();
    }
  });

  it('counts stored chunks as progress in a BM25-only store', async () => {
    const events: IngestProgress[] = [];
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'bm25.db'), { embedder: 'none' });
    try {
      await kb.ingest(
        [
          { id: 'a', text: paragraphs(3, 'a') },
          { id: 'b', text: paragraphs(3, 'b') },
        ],
        { onProgress: (p) => events.push(p) },
      );
      const last = events[events.length - 1]!;
      expect(last.chunks).toBe((await kb.stats()).chunks);
      expect(last.fraction).toBe(1);
    } finally {
      await kb.close();
    }
  });

  it('stops at an abort between batches, keeping the documents already written', async () => {
    const controller = new AbortController();
    const embedder = new CallSizeEmbedder(64);
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'abort.db'), {
      embedder,
      chunking: { chunkSize: 30, chunkOverlap: 0 },
      embedBatchSize: 4,
    });
    try {
      const documents = Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, text: paragraphs(4, `d${i}`) }));
      const ingest = kb.ingest(documents, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.chunks >= 12) controller.abort();
        },
      });
      await expect(ingest).rejects.toMatchObject({ code: 'ABORTED' });
      const stats = await kb.stats();
      expect(stats.documents).toBeGreaterThan(0);
      expect(stats.documents).toBeLessThan(20);
      // Every stored document is whole: its chunks and vectors are all there.
      expect(stats.vectors).toBe(stats.passages);
    } finally {
      await kb.close();
    }
  });
});
