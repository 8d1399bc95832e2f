/** Search by a caller's vector and storing caller-given vectors: what the LangChain VectorStore stands on. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';

let dir: string;
let kb: LocalKnowledgeBase;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-vectors-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), {
    embedder: new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true }),
    embedWorkers: 0,
  });
});
afterAll(async () => {
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('addVectors and retrieveByVector', () => {
  it('stores one chunk per document with the vector given, found again by that vector (unnormalised input too)', async () => {
    const [a, b] = await kb.embedder!.embedDocuments(['granite tower', 'wooden pier']);
    await kb.addVectors(
      [
        { id: 'tower', text: 'granite tower', metadata: { kind: 'stone' } },
        { id: 'pier', text: 'wooden pier', metadata: { kind: 'wood' } },
      ],
      [a!, Array.from(b!, (x) => x * 3)],
    );
    const [top] = await kb.retrieveByVector(b!, { k: 1 });
    expect(top).toMatchObject({ documentId: 'pier', content: { text: 'wooden pier' } });
    expect(top?.score).toBeCloseTo(1, 5);
    const filtered = await kb.retrieveByVector(b!, {
      k: 2,
      filter: { equals: { key: 'kind', value: 'stone' } },
    });
    expect(filtered.map((r) => r.documentId)).toEqual(['tower']);
  });

  it('lets a later ingest of the same id chunk and embed it anew', async () => {
    const summary = await kb.ingest([{ id: 'tower', text: 'granite tower' }]);
    expect(summary).toMatchObject({ documentsUpdated: 1, documentsUnchanged: 0 });
  });

  it('refuses mismatched counts, wrong dimensions and unknown options', async () => {
    await expect(kb.addVectors([{ id: 'x', text: 'x' }], [])).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(kb.addVectors([{ id: 'x', text: 'x' }], [[1, 2]])).rejects.toMatchObject({
      code: 'DIMENSION_MISMATCH',
    });
    await expect(kb.retrieveByVector([1, 2], { k: 1 })).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
    await expect(kb.retrieveByVector([1], { topK: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('refuses both on a BM25-only store', async () => {
    const bm25 = await LocalKnowledgeBase.open(path.join(dir, 'bm25.db'), { embedder: 'none' });
    try {
      await bm25.ingest([{ id: 'a', text: 'alpha' }]);
      await expect(bm25.retrieveByVector([1], { k: 1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      await expect(bm25.addVectors([{ id: 'x', text: 'x' }], [[1]])).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
    } finally {
      await bm25.close();
    }
  });
});
