import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChunkOptions, chunkDocument, documentFromInput, loadPaths } from '../../src/ingest/index.js';
import type { Chunk, SourceDocument } from '../../src/types.js';
import { expectChunkInvariants } from '../fixtures/ingest/chunk-invariants.js';
import { writePdf } from '../fixtures/ingest/pdf-writer.js';
import {
  lineBreakCountingCounter,
  measuringCounter,
  wordPieceCounter,
} from '../fixtures/ingest/token-counters.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/corpus');
let corpusDocs: SourceDocument[] = [];

beforeAll(async () => {
  for await (const outcome of loadPaths([corpus])) {
    if (!outcome.ok) throw outcome.error;
    corpusDocs.push(outcome.document);
  }
  corpusDocs = corpusDocs.sort((a, b) => a.id.localeCompare(b.id));
});

/** Sentences of the demo corpus, to build long documents from real prose. */
function corpusSentences(): string[] {
  const text = ['ancient-lights.md', 'eddystone.md', 'lamps-and-lenses.md']
    .map((name) => readFileSync(path.join(corpus, name), 'utf8'))
    .join('\n');
  return text
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .join(' ')
    .split(/(?<=\.) /)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A deterministic long text: paragraphs of 1–8 corpus sentences. */
function longProse(paragraphs: number, seed = 7): string {
  const sentences = corpusSentences();
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state;
  };
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const n = 1 + (next() % 8);
    out.push(Array.from({ length: n }, () => sentences[next() % sentences.length]).join(' '));
  }
  return out.join('\n\n');
}

const textDoc = (text: string, format: 'text' | 'markdown' = 'text') =>
  documentFromInput({ id: 'doc', text, format });
const tokens = (text: string) => wordPieceCounter.count(text);

describe('recursive chunking', () => {
  it('keeps every invariant on every demo corpus document at several sizes', () => {
    expect(corpusDocs.map((d) => d.id)).toHaveLength(6);
    const settings: ChunkOptions[] = [
      { maxTokens: 512 },
      { maxTokens: 120, chunkSize: 100, chunkOverlap: 20 },
      { maxTokens: 40, chunkSize: 40, chunkOverlap: 10 },
      { maxTokens: 12, chunkSize: 10, chunkOverlap: 0 },
    ];
    for (const doc of corpusDocs) {
      for (const options of settings) {
        expectChunkInvariants(
          doc,
          chunkDocument(doc, wordPieceCounter, options),
          wordPieceCounter,
          options.maxTokens,
        );
      }
    }
  });

  it('fills chunks up to the chunk size with an additive tokenizer, and no further', () => {
    const doc = textDoc(longProse(60));
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 512, chunkSize: 120, chunkOverlap: 0 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 512);
    for (const chunk of chunks) expect(chunk.tokenCount).toBeLessThanOrEqual(120);
    const average = chunks.reduce((sum, c) => sum + c.tokenCount, 0) / chunks.length;
    expect(average).toBeGreaterThan(80);
  });

  it('prefers paragraph boundaries when paragraphs fit', () => {
    const paragraphs = longProse(30).split('\n\n');
    const doc = textDoc(paragraphs.join('\n\n'));
    const starts = new Set<number>();
    let offset = 0;
    for (const p of paragraphs) {
      starts.add(offset);
      offset += p.length + 2;
    }
    const longest = Math.max(...paragraphs.map(tokens));
    const chunks = chunkDocument(doc, wordPieceCounter, {
      maxTokens: 1000,
      chunkSize: longest + 40,
      chunkOverlap: 0,
    });
    for (const chunk of chunks) {
      expect(starts.has(chunk.start)).toBe(true);
      expect(starts.has(chunk.end + 2) || chunk.end === doc.text.length).toBe(true);
    }
  });

  it('repeats up to chunkOverlap tokens of the previous chunk at the start of the next', () => {
    const doc = textDoc(longProse(40));
    const overlap = 25;
    const chunks = chunkDocument(doc, wordPieceCounter, {
      maxTokens: 200,
      chunkSize: 100,
      chunkOverlap: overlap,
    });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 200);
    let overlapping = 0;
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]!;
      const chunk = chunks[i]!;
      expect(chunk.start).toBeGreaterThan(previous.start);
      expect(chunk.end).toBeGreaterThan(previous.end);
      if (chunk.start < previous.end) {
        overlapping++;
        expect(tokens(doc.text.slice(chunk.start, previous.end))).toBeLessThanOrEqual(overlap);
      }
    }
    // Overlap is skipped only when the next piece leaves no room for it.
    expect(overlapping).toBeGreaterThan((chunks.length - 1) * 0.8);
  });

  it('leaves no overlap when chunkOverlap is 0', () => {
    const doc = textDoc(longProse(20));
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 100, chunkSize: 60, chunkOverlap: 0 });
    for (let i = 1; i < chunks.length; i++)
      expect(chunks[i]!.start).toBeGreaterThanOrEqual(chunks[i - 1]!.end);
  });

  it('cuts a word longer than the limit into pieces, and a script without spaces too', () => {
    const monster = 'ACGT'.repeat(2500);
    const cjk = '灯塔是一种建在海岸或岛屿上的塔形建筑物，夜间发出光亮，为船只导航。'.repeat(40);
    const doc = textDoc(`Start of the text.\n\n${monster}\n\n${cjk}\n\nEnd of the text.`);
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 50, chunkSize: 50, chunkOverlap: 5 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 50);
    // 10,000 letters are 1,667 tokens for this counter: at least 34 pieces of at most 50.
    expect(chunks.filter((c) => /^[ACGT]+$/.test(c.text)).length).toBeGreaterThanOrEqual(34);
    expect(chunks.at(-1)!.text).toContain('End of the text.');
  });

  it('never exceeds maxTokens when the tokenizer counts more for a joined text than for its parts', () => {
    // One token per line break: running sums of trimmed lines under-count every merged chunk.
    const lines = longProse(40).replace(/\. /g, '.\n');
    const doc = textDoc(lines);
    const chunks = chunkDocument(doc, lineBreakCountingCounter, {
      maxTokens: 60,
      chunkSize: 60,
      chunkOverlap: 10,
    });
    expectChunkInvariants(doc, chunks, lineBreakCountingCounter, 60);
    expect(chunks.some((c) => c.text.includes('\n'))).toBe(true);
  });

  it('counts text a bounded number of times, so long documents cost linear time', () => {
    const text = longProse(3000);
    expect(text.length).toBeGreaterThan(300_000);
    const counter = measuringCounter(wordPieceCounter);
    const chunks = chunkDocument(textDoc(text), counter, {
      maxTokens: 256,
      chunkSize: 200,
      chunkOverlap: 40,
    });
    expect(chunks.length).toBeGreaterThan(400);
    // Pieces once, merged chunks once, overlap search a little: a few times the text, never proportional to n².
    expect(counter.charsCounted / text.length).toBeLessThan(4);
    expect(counter.calls).toBeLessThan(chunks.length * 25);
  });

  it('caps chunkSize at maxTokens', () => {
    const doc = textDoc(longProse(20));
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 50, chunkSize: 300, chunkOverlap: 10 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 50);
  });
});

describe('Markdown-aware chunking', () => {
  const markdown = [
    'Intro before any heading.',
    '# Lighthouses',
    'Overview paragraph.',
    '## Ancient',
    '### Pharos',
    longProse(6, 1),
    '### Rome',
    'Roman towers.',
    '## Modern',
    '```sh\n# not a heading\n```',
    'Automation text.',
  ].join('\n\n');

  it('splits at headings and records the heading path, outermost first', () => {
    const doc = textDoc(markdown, 'markdown');
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 80, chunkSize: 60, chunkOverlap: 10 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 80);
    const pathOf = (needle: string) => chunks.find((c) => c.text.includes(needle))?.headingPath;
    expect(pathOf('Intro before')).toBeUndefined();
    expect(pathOf('Overview paragraph')).toEqual(['Lighthouses']);
    expect(pathOf('Roman towers')).toEqual(['Lighthouses', 'Ancient', 'Rome']);
    expect(pathOf('Automation text')).toEqual(['Lighthouses', 'Modern']);
    expect(pathOf('not a heading')).toEqual(['Lighthouses', 'Modern']);
    const pharos = chunks.filter((c) => c.headingPath?.at(-1) === 'Pharos');
    expect(pharos.length).toBeGreaterThan(1);
    expect(pharos.every((c) => c.headingPath?.join('/') === 'Lighthouses/Ancient/Pharos')).toBe(true);
  });

  it('never lets a chunk cross a heading or consist of heading lines alone', () => {
    const doc = textDoc(markdown, 'markdown');
    for (const options of [
      { maxTokens: 80, chunkSize: 60, chunkOverlap: 10 },
      { maxTokens: 30, chunkSize: 30, chunkOverlap: 5 },
    ]) {
      const chunks = chunkDocument(doc, wordPieceCounter, options);
      for (const chunk of chunks) {
        const headingLines = chunk.text.split('\n').filter((line) => /^#{1,6} /.test(line));
        expect(
          headingLines.every((line) => chunk.text.startsWith(line) || chunk.text.includes(`\n${line}`)),
        ).toBe(true);
        const body = chunk.text.split('\n').filter((line) => line.trim() && !/^#{1,6} /.test(line));
        expect(body.length, JSON.stringify(chunk.text)).toBeGreaterThan(0);
        // A heading line inside a chunk is only ever at its start (the section's own headings).
        const firstBody = chunk.text.indexOf(body[0]!);
        expect(chunk.text.slice(firstBody)).not.toMatch(/\n#{1,6} (?!not a heading)/);
      }
    }
  });

  it('gives HTML documents heading paths from their rendered headings', () => {
    const doc = corpusDocs.find((d) => d.id === 'lighthouse-keepers.html')!;
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 100 });
    const darling = chunks.find((c) => c.text.includes('Forfarshire'));
    expect(darling?.headingPath).toEqual(['Life of a Lighthouse Keeper', 'Famous keepers', 'Grace Darling']);
  });

  it('does not read # lines in plain text as headings', () => {
    const doc = textDoc('# not a heading in a .txt\n\nbody text');
    const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 100 });
    expect(chunks.map((c) => c.headingPath)).toEqual([undefined]);
  });
});

describe('PDF chunking', () => {
  it('gives each chunk the page it starts on and breaks at sentence ends rather than layout lines', async () => {
    // Only characters the writer's WinAnsi Helvetica can draw.
    const pageText = (n: number) => longProse(3, n).replace(/[^\n\x20-\x7e\u00a0-\u00ff–]/g, '');
    const bytes = writePdf({ pages: [1, 2, 3].map((n) => ({ text: pageText(n) })) });
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(path.join(tmpdir(), 'localkb-pdf-chunks-'));
    try {
      await writeFile(path.join(dir, 'pages.pdf'), bytes);
      const outcomes: SourceDocument[] = [];
      for await (const o of loadPaths([dir])) if (o.ok) outcomes.push(o.document);
      const doc = outcomes[0]!;
      expect(doc.pages).toHaveLength(3);
      const chunks = chunkDocument(doc, wordPieceCounter, { maxTokens: 80, chunkSize: 80, chunkOverlap: 0 });
      expectChunkInvariants(doc, chunks, wordPieceCounter, 80);
      const pageOf = (chunk: Chunk) =>
        doc.pages!.find((p) => p.start <= chunk.start && chunk.start <= p.end)?.page;
      for (const chunk of chunks) expect(chunk.page).toBe(pageOf(chunk));
      expect(new Set(chunks.map((c) => c.page))).toEqual(new Set([1, 2, 3]));
      // Every sentence is shorter than the chunk size, so every chunk ends a sentence.
      for (const chunk of chunks) expect(chunk.text, JSON.stringify(chunk.text)).toMatch(/[.!?]$/);
      expect(chunks.some((c) => c.text.includes('\n'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('strategy none and option checks', () => {
  it("returns the whole document as one chunk with strategy 'none'", () => {
    const doc = textDoc('  Whole document.\n\nSecond paragraph.  ');
    const chunks = chunkDocument(doc, wordPieceCounter, { strategy: 'none', maxTokens: 50 });
    expect(chunks).toEqual([
      {
        index: 0,
        text: 'Whole document.\n\nSecond paragraph.',
        start: 2,
        end: 36,
        tokenCount: tokens('Whole document. Second paragraph.'),
        role: 'leaf',
      },
    ]);
  });

  it("rejects a document longer than maxTokens with strategy 'none' as DOCUMENT_TOO_LONG", () => {
    const doc = textDoc(longProse(10));
    expect(() => chunkDocument(doc, wordPieceCounter, { strategy: 'none', maxTokens: 50 })).toThrow(
      expect.objectContaining({ code: 'DOCUMENT_TOO_LONG', input: 'doc' }),
    );
  });

  it.each([
    [{ maxTokens: 100, chunkSize: 50, chunkOverlap: 50 }, 'chunkOverlap'],
    [{ maxTokens: 20, chunkSize: 50, chunkOverlap: 25 }, 'maxTokens 20'],
    [{ maxTokens: 100, chunkSize: 0 }, 'chunkSize'],
    [{ maxTokens: 100, chunkSize: 10.5 }, 'chunkSize'],
    [{ maxTokens: 100, chunkOverlap: -1 }, 'chunkOverlap'],
    [{ maxTokens: Number.NaN }, 'maxTokens'],
    [{} as ChunkOptions, 'maxTokens'],
    [{ maxTokens: 100, strategy: 'fixed' } as unknown as ChunkOptions, 'strategy'],
    [{ maxTokens: 100, chunk_size: 10 } as unknown as ChunkOptions, 'chunk_size'],
    [
      { maxTokens: 100, strategy: 'hierarchical', parentSize: 50, childSize: 50 } as ChunkOptions,
      'parentSize',
    ],
  ])('rejects %j with INVALID_OPTION naming %s', (options, name) => {
    const doc = textDoc('text');
    expect(() => chunkDocument(doc, wordPieceCounter, options)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining(name) }),
    );
  });
});

describe('a huge single line', () => {
  // 3 MB of prose with no paragraph or line break and no sentence end: one part of the text, millions of words.
  const line = 'lighthouse keepers log the tides and trim the wicks '.repeat(60_000);
  const recorded = (longest: { chars: number }) => ({
    count(text: string) {
      longest.chars = Math.max(longest.chars, text.length);
      return wordPieceCounter.count(text);
    },
  });

  it.each(['recursive', 'hierarchical'] as const)(
    'is chunked window by window (%s): no count of more than a window, every invariant kept',
    (strategy) => {
      const longest = { chars: 0 };
      const counter = recorded(longest);
      const doc = textDoc(line);
      const options: ChunkOptions =
        strategy === 'recursive'
          ? { maxTokens: 200, chunkSize: 120, chunkOverlap: 20 }
          : { strategy, maxTokens: 200, parentSize: 600, childSize: 120, chunkOverlap: 20 };
      const chunks = chunkDocument(doc, counter, options);
      // The whole line was never handed to the counter (or split into all its words at once).
      expect(longest.chars).toBeLessThanOrEqual(1 << 20);
      // Parents are searched, not embedded: they may reach parentSize; what is embedded stays within maxTokens.
      expectChunkInvariants(doc, chunks, wordPieceCounter, strategy === 'recursive' ? 200 : 600);
      const leaves = chunks.filter((chunk) => chunk.role !== 'parent');
      for (const leaf of leaves) expect(leaf.tokenCount).toBeLessThanOrEqual(200);
      expect(leaves[0]!.start).toBe(0);
      expect(leaves.at(-1)!.end).toBe(line.trimEnd().length);
      // Consecutive embedded chunks overlap or meet: no word falls between them.
      for (let i = 1; i < leaves.length; i++) {
        const gap = line.slice(leaves[i - 1]!.end, Math.max(leaves[i]!.start, leaves[i - 1]!.end));
        expect(gap.trim()).toBe('');
      }
    },
  );
});
