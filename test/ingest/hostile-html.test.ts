import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlToText } from '../../src/ingest/index.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { EmbedOptions } from '../../src/types.js';
import { BagOfWordsEmbedder } from '../fixtures/ingest/bag-of-words-embedder.js';

describe('hostile HTML', () => {
  it('renders 10,000 nested elements without overflowing the stack', () => {
    const depth = 10_000;
    const html = `${'<div><span>'.repeat(depth)}deep text${'</span></div>'.repeat(depth)}<p>after</p>`;
    expect(htmlToText(html).text).toBe('deep text\n\nafter');
  });

  it('renders a page of 50,000 unclosed elements in one pass', () => {
    // The tree-building parser took seconds per 100 KB of this and grew quadratically.
    const html = '<div><span><b><p>word <i>x</i> '.repeat(50_000);
    const { text } = htmlToText(html);
    expect(text.split('\n\n')).toHaveLength(50_000);
    expect(text.startsWith('word x\n\nword x')).toBe(true);
  });

  it('ends open cells, rows and list items as browsers imply them', () => {
    const html = '<table><tr><td>a<td>b<tr><td>c<td>d</table><ul><li>one<li>two<ul><li>inner</ul></ul>';
    expect(htmlToText(html).text).toBe('a | b\nc | d\n\n- one\n- two\n  - inner');
  });

  it('keeps the text of markup inside <pre> without the tags', () => {
    const html = '<pre><code><span class="k">let</span> x = 1;<br>x &lt; 2</code></pre>';
    expect(htmlToText(html).text).toBe('```\nlet x = 1;\nx < 2\n```');
  });
});

/** Drops the last vector of every batch, as a faulty remote embedder might. */
class ShortEmbedder extends BagOfWordsEmbedder {
  override async embedDocuments(texts: readonly string[], options?: EmbedOptions) {
    return (await super.embedDocuments(texts, options)).slice(0, -1);
  }
}

describe('an embedder that returns fewer vectors than texts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-short-embedder-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the ingest with EMBEDDING_FAILED and stores no document half-written', async () => {
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'short.db'), { embedder: new ShortEmbedder(32) });
    try {
      await expect(
        kb.ingest([{ id: 'a.txt', text: 'Lighthouses guard harbours.\n\nTides rise twice a day.' }]),
      ).rejects.toMatchObject({ code: 'EMBEDDING_FAILED', message: expect.stringContaining('vectors for') });
      expect(await kb.listDocuments()).toEqual([]);
      expect((await kb.stats()).chunks).toBe(0);
    } finally {
      await kb.close();
    }
  });
});
