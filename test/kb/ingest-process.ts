/**
 * An ingest in its own process, for the resume test: ingests a folder into a store with a slow deterministic
 * embedder (one document per commit), so the test can `kill -9` it part-way. Reports its summary when it
 * finishes. Run with `node --import tsx ingest-process.ts <db> <folder>`.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { Embedder } from '../../src/types.js';

const [dbPath, folder] = process.argv.slice(2) as [string, string];

/** Vectors from a hash of the text, 20 ms per call: slow enough to be killed between commits. */
const slowHashEmbedder: Embedder = {
  id: 'test:slow-hash',
  dimensions: 8,
  maxInputTokens: 512,
  async init() {},
  async tokenCounter() {
    return { count: (text: string) => text.split(/\s+/).filter(Boolean).length };
  },
  async embedDocuments(texts) {
    await sleep(20);
    return texts.map(hashVector);
  },
  async embedQuery(text) {
    return hashVector(text);
  },
};

function hashVector(text: string): Float32Array {
  const bytes = createHash('sha256').update(text).digest();
  const vector = Float32Array.from(bytes.subarray(0, 8), (byte) => byte - 127.5);
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

const kb = await LocalKnowledgeBase.open(dbPath, { embedder: slowHashEmbedder, embedBatchSize: 1 });
process.send?.({ type: 'started' });
const summary = await kb.ingest([folder]);
await kb.close();
process.send?.({ type: 'summary', summary }, () => process.exit(0));
