import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/index.js';
import { tuneHybridWeights } from '../../src/eval/evaluate-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { fuseHybrid, type Reranker } from '../../src/retrieve/index.js';
import type { DocumentInput, Embedder, EmbedOptions, TokenCounter } from '../../src/types.js';
import { REPO_ROOT, TINY_EMBEDDER_PATH } from '../helpers/models.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');

/** Keeps every text the knowledge base asks the real embedder to embed. */
class RecordingEmbedder implements Embedder {
  readonly texts: string[] = [];
  constructor(readonly inner: Embedder) {}
  get id() {
    return this.inner.id;
  }
  get dimensions() {
    return this.inner.dimensions;
  }
  get maxInputTokens() {
    return this.inner.maxInputTokens;
  }
  init() {
    return this.inner.init();
  }
  tokenCounter(): Promise<TokenCounter> {
    return this.inner.tokenCounter();
  }
  embedDocuments(texts: readonly string[], options?: EmbedOptions) {
    this.texts.push(...texts);
    return this.inner.embedDocuments(texts, options);
  }
  embedQuery(text: string, options?: EmbedOptions) {
    return this.inner.embedQuery(text, options);
  }
}

/** A reranker whose scores are raw logits, as a cross-encoder without its sigmoid gives them. */
const logitReranker: Reranker = {
  id: 'test:logits',
  async rerank(_query, documents) {
    return documents.map((d, index) => ({ id: d.id, score: 8 - index * 3, index }));
  },
};

let dir: string;
let tiny: TransformersEmbedder;
const open: LocalKnowledgeBase[] = [];

async function openKb(name: string, embedder: Embedder | 'none' = tiny, extra = {}) {
  const kb = await LocalKnowledgeBase.open(path.join(dir, name), { embedder, ...extra });
  open.push(kb);
  return kb;
}

/** A Markdown guide with one long section, so its section holds several passages. */
function longGuide(): DocumentInput {
  const filler = (topic: string, n: number) =>
    Array.from({ length: n }, (_, i) => `Sentence ${i} of the part on ${topic} says little else.`).join(' ');
  return {
    id: 'guide.md',
    format: 'markdown',
    metadata: { title: 'Keeping a rock lighthouse' },
    text: [
      '# Keeping a rock lighthouse',
      '## Daily duties',
      filler('routine', 12),
      'Every evening the keeper trimmed the wick and polished the brass before lighting.',
      filler('weather', 12),
      '## Relief',
      'Boats brought fresh keepers every month when the sea allowed a landing.',
    ].join('\n\n'),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-layout-'));
  tiny = new TransformersEmbedder({
    modelPath: TINY_EMBEDDER_PATH,
    model: 'localkb/tiny-test',
    offline: true,
  });
  await tiny.init();
});

afterEach(async () => {
  for (const kb of open.splice(0)) await kb.close();
});

afterAll(async () => {
  await tiny.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search over sections and passages', () => {
  it('gives every search type scores in [0, 1], higher first, with the raw score beside them', async () => {
    const kb = await openKb('scores.db');
    await kb.ingest([CORPUS]);
    const query = 'who designed the granite tower on the reef';
    const settings = [
      { searchType: 'semantic' },
      { searchType: 'bm25' },
      { searchType: 'hybrid', hybrid: { method: 'rrf' } },
      { searchType: 'hybrid', hybrid: { method: 'weighted', weights: { semantic: 0.3, bm25: 0.7 } } },
      { searchType: 'hybrid', reranker: logitReranker },
      { searchType: 'hybrid', level: 'document' },
      { searchType: 'semantic', level: 'section' },
    ] as const;
    for (const options of settings) {
      const results = await kb.retrieve(query, { k: 5, ...options });
      expect(results.length, JSON.stringify(options)).toBeGreaterThan(0);
      for (const [i, r] of results.entries()) {
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
        expect(typeof r.rawScore).toBe('number');
        if (i > 0) expect(r.score).toBeLessThanOrEqual(results[i - 1]!.score);
      }
    }
    const semantic = await kb.retrieve(query, { k: 3, searchType: 'semantic' });
    for (const r of semantic) expect(r.score).toBeCloseTo((1 + r.rawScore!) / 2, 12);
    const reranked = await kb.retrieve(query, { k: 2, reranker: logitReranker });
    expect(reranked.map((r) => r.rawScore)).toEqual([8, 5]);
    expect(reranked[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-8)), 12);
  });

  it('scores a BM25 match by the share of what the query could score, the same in any store', async () => {
    const small = await openKb('share-small.db', 'none');
    await small.ingest([{ id: 'a', text: 'granite tower on the reef' }]);
    const [hit] = await small.retrieve('granite', { searchType: 'bm25' });
    // One section matching a one-term query: idf·tf·(k1+1)/(tf+k1·(1−b+b·dl/avgdl)) over idf·(k1+1) with dl = avgdl.
    expect(hit!.score).toBeCloseTo(1 / 2.2, 9);
  });

  it('ranks sections with BM25 and returns the passage that holds the words, pointing into its section', async () => {
    const kb = await openKb('sections.db', tiny, { chunking: { chunkSize: 40, chunkOverlap: 0 } });
    await kb.ingest([longGuide()]);
    const [top] = await kb.retrieve('keeper trimmed the wick', { k: 1, searchType: 'bm25' });
    expect(top!.content.text).toContain('trimmed the wick');
    expect(top!.section).toBeDefined();
    expect(top!.section!.start).toBeLessThanOrEqual(top!.location.start!);
    expect(top!.section!.end).toBeGreaterThanOrEqual(top!.location.end!);
    const [hybrid] = await kb.retrieve('keeper trimmed the wick', {
      k: 1,
      hybrid: { method: 'rrf', weights: { semantic: 0.2, bm25: 1 } },
    });
    expect(hybrid!.content.text).toContain('trimmed the wick');
  });

  it('lets BM25 match the title and headings, and gives the embedder title > headings before each passage', async () => {
    const recording = new RecordingEmbedder(tiny);
    const kb = await openKb('context.db', recording, { chunking: { chunkSize: 40, chunkOverlap: 0 } });
    await kb.ingest([longGuide()]);
    // "Relief" is only a heading, and the passage under it does not repeat the title
    const [relief] = await kb.retrieve('rock lighthouse relief', { k: 1, searchType: 'bm25' });
    expect(relief!.content.text).toContain('fresh keepers');
    expect(relief!.content.text).not.toContain('Keeping a rock lighthouse');
    expect(recording.texts.some((t) => t.startsWith('Keeping a rock lighthouse > Daily duties\n\n'))).toBe(
      true,
    );
    // the stored text stays the document's own: offsets still slice it exactly
    expect(relief!.location.end! - relief!.location.start!).toBe(relief!.content.text.length);
  });

  it('returns one result per document at document level', async () => {
    const kb = await openKb('documents.db');
    await kb.ingest([CORPUS]);
    const results = await kb.retrieve('lighthouse lamp oil', { k: 6, level: 'document' });
    const ids = results.map((r) => r.documentId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(6);
  });

  it('keeps BM25 scores of an updated and pruned knowledge base equal to a fresh one with the same content', async () => {
    const words = 'granite tower reef storm lantern wick keeper tide channel fog bell copper dome'.split(' ');
    const text = (seed: number, n: number) =>
      Array.from({ length: n }, (_, i) => words[(seed * 7 + i * ((seed % 5) + 1)) % words.length]).join(' ');
    const content = new Map<string, string>();
    const batch = (docs: DocumentInput[]) => {
      for (const d of docs) content.set(d.id, d.text);
      return docs;
    };
    const history = await openKb('history.db', 'none');
    await history.ingest(
      batch(Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, text: text(i, 20 + i * 9) }))),
    );
    await history.ingest(
      batch(Array.from({ length: 6 }, (_, i) => ({ id: `d${i * 2}`, text: text(i + 50, 10 + i * 30) }))),
    );
    for (const id of ['d3', 'd7']) {
      await history.delete(id);
      content.delete(id);
    }
    const fresh = await openKb('fresh.db', 'none');
    await fresh.ingest([...content].reverse().map(([id, t]) => ({ id, text: t })));
    for (const query of ['granite tower', 'fog bell copper', 'keeper wick lantern storm']) {
      const a = await history.retrieve(query, { k: 20, searchType: 'bm25' });
      const b = await fresh.retrieve(query, { k: 20, searchType: 'bm25' });
      expect(a.map((r) => r.documentId)).toEqual(b.map((r) => r.documentId));
      for (const [i, r] of a.entries()) expect(Math.abs(r.rawScore! - b[i]!.rawScore!)).toBeLessThan(1e-9);
    }
  });

  it('tunes on exactly what hybrid search fuses', async () => {
    const kb = await openKb('tune.db');
    await kb.ingest([CORPUS]);
    const query = 'how were lighthouse lamps lit';
    const setting = { method: 'weighted' as const, weights: { semantic: 0.4, bm25: 0.6 } };
    const candidates = await kb.hybridCandidates(query, { k: 10, level: 'document' });
    const fused = fuseHybrid(candidates, setting).slice(0, 10);
    const retrieved = await kb.retrieve(query, { k: 10, level: 'document', hybrid: setting });
    expect(retrieved.map((r) => r.documentId)).toEqual(fused.map((f) => f.id));
    for (const [i, r] of retrieved.entries()) expect(r.score).toBeCloseTo(fused[i]!.score, 12);

    const qrels = new Map([['q', new Map([['ancient-lights.md', 1]])]]);
    const tuning = await tuneHybridWeights(kb, new Map([['q', query]]), qrels, { grid: [0, 1] });
    expect(tuning.tried).toHaveLength(4);
  });
});
