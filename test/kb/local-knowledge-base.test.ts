import { appendFileSync, cpSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/index.js';
import { isLocalKbError } from '../../src/errors.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { Embedder, EmbedOptions, TokenCounter } from '../../src/types.js';
import { REPO_ROOT, TINY_EMBEDDER_PATH } from '../helpers/models.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');

/** Counts what the knowledge base asks the real embedder to embed. */
class CountingEmbedder implements Embedder {
  embedded = 0;
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
  async embedDocuments(texts: readonly string[], options?: EmbedOptions) {
    this.embedded += texts.length;
    return this.inner.embedDocuments(texts, options);
  }
  embedQuery(text: string, options?: EmbedOptions) {
    return this.inner.embedQuery(text, options);
  }
}

let dir: string;
let tiny: TransformersEmbedder;
const open: LocalKnowledgeBase[] = [];

async function openKb(name: string, embedder: Embedder | 'none' = tiny, extra = {}) {
  const kb = await LocalKnowledgeBase.open(path.join(dir, name), { embedder, ...extra });
  open.push(kb);
  return kb;
}

function copyCorpus(name: string): string {
  const target = path.join(dir, name);
  cpSync(CORPUS, target, { recursive: true });
  return target;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-kb-'));
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

describe('LocalKnowledgeBase', () => {
  it('ingests Markdown, HTML and PDF files and finds a chunk by its own text', async () => {
    const kb = await openKb('basic.db');
    const summary = await kb.ingest([CORPUS]);
    expect(summary.documentsAdded).toBe(6);
    expect(summary.skipped).toEqual([]);
    const stats = await kb.stats();
    expect(stats.documents).toBe(6);
    // every passage is embedded; sections of several passages are stored beside them for BM25
    expect(stats.vectors).toBe(summary.chunksEmbedded);
    expect(stats.chunks).toBeGreaterThanOrEqual(summary.chunksEmbedded);

    const sentence = 'John Smeaton, often called the father of civil engineering';
    const [top] = await kb.retrieve(sentence, { k: 3, searchType: 'bm25' });
    expect(top?.documentId).toBe('eddystone.md');
    expect(top?.content.text).toContain('Smeaton');
    expect(top?.location.uri).toMatch(/^file:\/\/.*eddystone\.md$/);
    expect(top?.metadata['x-amz-bedrock-kb-source-uri']).toBe(top?.location.uri);
    // sidecar metadata from eddystone.md.metadata.json travels with every chunk
    expect(top?.metadata.topic).toBe('engineering');

    // Metadata is built when first read; copies, JSON and structured clones carry it as a plain property.
    const [first] = await kb.retrieve(sentence, { k: 1, searchType: 'bm25' });
    const expected = { ...top!.metadata };
    expect(Object.keys(first!)).toContain('metadata');
    expect(JSON.parse(JSON.stringify(first)).metadata).toEqual(expected);
    expect(structuredClone(first)!.metadata).toEqual(expected);
    expect({ ...first }.metadata).toEqual(expected);
    first!.metadata.note = 'kept';
    expect(first!.metadata.note).toBe('kept');
    first!.metadata = { replaced: true };
    expect(first!.metadata).toEqual({ replaced: true });
  });

  it('returns similarities, highest first, for semantic search', async () => {
    const kb = await openKb('semantic.db');
    await kb.ingest([CORPUS]);
    const [probe] = await kb.retrieve('Fresnel lens concentric rings', { k: 1, searchType: 'bm25' });
    const results = await kb.retrieve(probe!.content.text, { k: 5, searchType: 'semantic' });
    expect(results[0]?.chunkId).toBe(probe?.chunkId);
    expect(results[0]?.score).toBeCloseTo(1, 2);
    for (let i = 1; i < results.length; i++)
      expect(results[i]!.score).toBeLessThanOrEqual(results[i - 1]!.score);
  });

  it('keeps page numbers and exact offsets for PDF chunks', async () => {
    const kb = await openKb('pdf.db', 'none');
    await kb.ingest([path.join(CORPUS, 'lighthouse-timeline.pdf')]);
    const results = await kb.retrieve('automated lights', { k: 10, searchType: 'bm25' });
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) {
      expect(result.location.page).toBeGreaterThanOrEqual(1);
      expect(result.metadata['x-amz-bedrock-kb-document-page-number']).toBe(result.location.page);
      expect(result.location.end! - result.location.start!).toBe(result.content.text.length);
    }
  });

  it('embeds nothing when unchanged files are ingested again', async () => {
    const corpus = copyCorpus('unchanged');
    const counting = new CountingEmbedder(tiny);
    const kb = await openKb('unchanged.db', counting);
    await kb.ingest([corpus]);
    const first = counting.embedded;
    expect(first).toBeGreaterThan(0);
    const again = await kb.ingest([corpus]);
    expect(counting.embedded).toBe(first);
    expect(again.documentsUnchanged).toBe(6);
    expect(again.chunksEmbedded).toBe(0);
  });

  it('replaces the chunks of a changed file and keeps the others', async () => {
    const corpus = copyCorpus('changed');
    const kb = await openKb('changed.db');
    await kb.ingest([corpus]);
    const before = await kb.stats();
    appendFileSync(
      path.join(corpus, 'eddystone.md'),
      '\n\n## Postscript\n\nA zebra-striped daymark was never painted on the tower.\n',
    );
    const summary = await kb.ingest([corpus]);
    expect(summary.documentsUpdated).toBe(1);
    expect(summary.documentsUnchanged).toBe(5);
    const [hit] = await kb.retrieve('zebra-striped daymark', { k: 1, searchType: 'bm25' });
    expect(hit?.documentId).toBe('eddystone.md');
    const after = await kb.stats();
    expect(after.documents).toBe(before.documents);
  });

  it('deletes a document with its chunks and vectors', async () => {
    const kb = await openKb('delete.db');
    await kb.ingest([CORPUS]);
    expect(await kb.delete('eddystone.md')).toBe(true);
    expect(await kb.delete('eddystone.md')).toBe(false);
    const results = await kb.retrieve('Smeaton Winstanley Rudyerd Douglass', { k: 10, searchType: 'hybrid' });
    expect(results.map((r) => r.documentId)).not.toContain('eddystone.md');
    const stats = await kb.stats();
    expect(stats.documents).toBe(5);
    expect(stats.indexedVectors).toBe(stats.vectors);
  });

  it('prunes documents whose files are gone when asked', async () => {
    const corpus = copyCorpus('prune');
    const kb = await openKb('prune.db', 'none');
    await kb.ingest([corpus]);
    rmSync(path.join(corpus, 'reading-a-light.html'));
    const kept = await kb.ingest([corpus]);
    expect(kept.documentsDeleted).toBe(0);
    expect((await kb.stats()).documents).toBe(6);
    const pruned = await kb.ingest([corpus], { prune: true });
    expect(pruned.documentsDeleted).toBe(1);
    expect((await kb.stats()).documents).toBe(5);
  });

  it('reports bad files as skips and ingests the rest, losing nothing already stored', async () => {
    const corpus = copyCorpus('bad');
    const kb = await openKb('bad.db', 'none');
    await kb.ingest([corpus]);
    writeFileSync(path.join(corpus, 'binary.txt'), Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00, 0x10]));
    writeFileSync(
      path.join(corpus, 'garbled.txt'),
      Buffer.from([0x63, 0x61, 0x66, 0x81, 0x8d, 0x20, 0x6f, 0x6c]),
    );
    writeFileSync(path.join(corpus, 'empty.md'), '');
    writeFileSync(path.join(corpus, 'broken.pdf'), '%PDF-1.4\nthis is not really a pdf');
    writeFileSync(
      path.join(corpus, 'new.md'),
      '# New\n\nA new document about foghorns and their diaphones.\n',
    );
    const summary = await kb.ingest([corpus, path.join(dir, 'does-not-exist')]);
    const codes = Object.fromEntries(summary.skipped.map((s) => [path.basename(s.path), s.code]));
    expect(codes).toEqual({
      'binary.txt': 'BINARY_FILE',
      'garbled.txt': 'INVALID_ENCODING',
      'empty.md': 'EMPTY_DOCUMENT',
      'broken.pdf': 'PDF_CORRUPT',
      'does-not-exist': 'FILE_NOT_FOUND',
    });
    expect(summary.documentsAdded).toBe(1);
    expect(summary.documentsUnchanged).toBe(6);
    expect((await kb.stats()).documents).toBe(7);
  });

  it('refuses a query against an empty store with a typed error', async () => {
    const kb = await openKb('empty.db');
    await expect(kb.retrieve('anything')).rejects.toMatchObject({ code: 'EMPTY_STORE' });
  });

  it('refuses to open a store with another embedder instead of mixing vectors', async () => {
    const kb = await openKb('mismatch.db');
    await kb.ingest([path.join(CORPUS, 'eddystone.md')]);
    await kb.close();
    const error = await LocalKnowledgeBase.open(path.join(dir, 'mismatch.db'), { embedder: 'none' }).catch(
      (e) => e,
    );
    expect(isLocalKbError(error, 'EMBEDDER_MISMATCH')).toBe(true);
    // reopening with no embedder named uses the store's own, so nothing else is needed to query it
    const reopened = await LocalKnowledgeBase.open(path.join(dir, 'mismatch.db'), {
      embedder: new TransformersEmbedder({
        modelPath: TINY_EMBEDDER_PATH,
        model: 'localkb/tiny-test',
        offline: true,
      }),
    });
    open.push(reopened);
    expect((await reopened.retrieve('Smeaton', { k: 1 })).length).toBe(1);
  });

  it('rebuilds a damaged HNSW file from SQLite and answers the same', async () => {
    const kb = await openKb('rebuild.db');
    await kb.ingest([CORPUS]);
    const [probe] = await kb.retrieve('Pharos of Alexandria', { k: 1, searchType: 'bm25' });
    const before = await kb.retrieve(probe!.content.text, { k: 5, searchType: 'semantic' });
    await kb.close();
    truncateSync(path.join(dir, 'rebuild.db.hnsw'), 100);
    const reopened = await openKb('rebuild.db');
    const after = await reopened.retrieve(probe!.content.text, { k: 5, searchType: 'semantic' });
    expect(after.map((r) => r.chunkId)).toEqual(before.map((r) => r.chunkId));
  });

  it('applies a Bedrock metadata filter and still returns k results', async () => {
    const kb = await openKb('filter.db');
    await kb.ingest([CORPUS]);
    const results = await kb.retrieve('lighthouse tower', {
      k: 3,
      searchType: 'semantic',
      filter: {
        andAll: [
          { equals: { key: 'topic', value: 'engineering' } },
          { greaterThan: { key: 'firstLit', value: 1600 } },
        ],
      },
    });
    expect(results).toHaveLength(3);
    for (const result of results) expect(result.documentId).toBe('eddystone.md');
    await expect(kb.retrieve('x', { filter: { equals: { key: 'topic' } } as never })).rejects.toMatchObject({
      code: 'INVALID_FILTER',
    });
  });

  it('accepts Bedrock search type names in any case', async () => {
    const kb = await openKb('case.db');
    await kb.ingest([path.join(CORPUS, 'eddystone.md')]);
    expect((await kb.retrieve('Smeaton', { k: 2, searchType: 'HYBRID' })).length).toBe(2);
    expect((await kb.retrieve('Smeaton', { k: 2, searchType: 'SEMANTIC' })).length).toBe(2);
    await expect(kb.retrieve('Smeaton', { searchType: 'fuzzy' as never })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('answers from hierarchical chunks with their parents, once each', async () => {
    const kb = await openKb('hier.db', tiny, {
      chunking: { strategy: 'hierarchical', parentSize: 120, childSize: 30 },
    });
    await kb.ingest([path.join(CORPUS, 'eddystone.md')]);
    const results = await kb.retrieve('Smeaton oak tree granite', { k: 4, searchType: 'hybrid' });
    const ids = results.map((r) => r.chunkId);
    expect(new Set(ids).size).toBe(ids.length);
    // the results are parents: each child the passage level finds points at one of them
    for (const result of results) expect(result.section).toBeUndefined();
    const children = await kb.retrieve('Smeaton oak tree granite', {
      k: 4,
      searchType: 'semantic',
      level: 'passage',
    });
    const parents = await kb.retrieve('Smeaton oak tree granite', { k: 50, searchType: 'semantic' });
    for (const child of children) {
      expect(parents.map((p) => p.chunkId)).toContain(child.section?.chunkId);
      expect(child.content.text.length).toBeLessThanOrEqual(
        parents.find((p) => p.chunkId === child.section?.chunkId)!.content.text.length,
      );
    }
  });

  it('re-chunks unchanged files when the chunker settings change', async () => {
    const counting = new CountingEmbedder(tiny);
    const corpus = copyCorpus('rechunk');
    const first = await openKb('rechunk.db', counting, { chunking: { chunkSize: 200 } });
    await first.ingest([corpus]);
    await first.close();
    const second = await openKb('rechunk.db', counting, { chunking: { chunkSize: 60, chunkOverlap: 10 } });
    const summary = await second.ingest([corpus]);
    expect(summary.documentsUpdated).toBe(6);
    // and reopening without chunker options keeps the store's settings: nothing to redo
    await second.close();
    const third = await openKb('rechunk.db', counting);
    expect((await third.ingest([corpus])).documentsUnchanged).toBe(6);
  });
});
