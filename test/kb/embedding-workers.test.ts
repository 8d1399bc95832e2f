import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import type { WorkerPoolEmbedder } from '../../src/embed/worker-pool-embedder.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { DocumentInput } from '../../src/types.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';

const tiny = () =>
  new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, model: 'localkb/tiny-test', offline: true });

/** About 80 KB of text: past the size at which an ingest starts its embedding workers. */
const documents: DocumentInput[] = Array.from({ length: 60 }, (_, d) => ({
  id: `doc${d}`,
  text: Array.from(
    { length: 12 },
    (_, p) =>
      `Keeper ${d} wrote entry ${p}: the lamp of tower ${d} burned ${p} hours through fog and gale on the reef.`,
  ).join('\n\n'),
}));

let dir: string;
let pooled: LocalKnowledgeBase;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-workers-'));
  // One pooled knowledge base for both tests: starting workers (a model load each) is the slow part.
  pooled = await LocalKnowledgeBase.open(path.join(dir, 'pooled.db'), {
    embedder: tiny(),
    embedWorkers: 2,
    embedBatchSize: 16,
  });
});
afterAll(async () => {
  await pooled.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedding in worker threads', () => {
  it('stops an ingest at once when aborted while workers embed, keeping the store whole', async () => {
    const controller = new AbortController();
    const ingest = pooled.ingest(documents, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.chunks > 0) controller.abort();
      },
    });
    await expect(ingest).rejects.toMatchObject({ code: 'ABORTED' });
    expect((pooled.embedder as WorkerPoolEmbedder).usingWorkers).toBe(true);
    const stats = await pooled.stats();
    expect(stats.documents).toBeLessThan(documents.length);
    expect(stats.vectors).toBe(stats.indexedVectors);
  });

  it('embeds a large ingest in workers, with the vectors this thread computes', async () => {
    const summary = await pooled.ingest(documents);
    // The aborted ingest left some documents; this one embedded the rest in the workers.
    expect(summary.documentsAdded + summary.documentsUnchanged).toBe(documents.length);
    const stats = await pooled.stats();
    expect(stats.vectors).toBe(stats.indexedVectors);
    expect(stats.documents).toBe(documents.length);
    const texts = documents.slice(0, 3).map((d) => d.text.slice(0, 300));
    const local = tiny();
    try {
      const [inWorkers, here] = [
        await pooled.embedder!.embedDocuments(texts),
        await local.embedDocuments(texts),
      ];
      expect(inWorkers.map((v) => [...v])).toEqual(here.map((v) => [...v]));
    } finally {
      await local.close();
    }
    const [top] = await pooled.retrieve(documents[17]!.text.slice(0, 200), { k: 1, searchType: 'semantic' });
    expect(top?.documentId).toBe('doc17');
  });
});
