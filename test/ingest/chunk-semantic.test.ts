import { describe, expect, it } from 'vitest';
import { chunkSemantic, documentFromInput } from '../../src/ingest/index.js';
import { BagOfWordsEmbedder } from '../fixtures/ingest/bag-of-words-embedder.js';
import { expectChunkInvariants } from '../fixtures/ingest/chunk-invariants.js';
import { wordPieceCounter } from '../fixtures/ingest/token-counters.js';

const bees = [
  'Honey bees live in colonies inside a hive.',
  'Each hive has one queen bee and thousands of worker bees.',
  'Worker bees collect nectar and pollen for the hive.',
  'Bees turn nectar into honey and store the honey in wax combs.',
  'A strong colony of bees can make much more honey than the hive needs.',
  'Beekeepers harvest the spare honey from the combs of the hive.',
];
const volcanoes = [
  'A volcano erupts when magma rises through the crust.',
  'Magma that reaches the surface of the volcano is called lava.',
  'Lava flows from the volcano can bury whole valleys.',
  'Some volcano eruptions throw ash and rock high into the sky.',
  'Geologists watch the magma and gas of an active volcano closely.',
  'An eruption of lava and ash can change the shape of the volcano.',
];

describe('semantic chunking', () => {
  it('cuts where the topic changes', async () => {
    const doc = documentFromInput({ id: 'topics', text: [...bees, ...volcanoes].join(' ') });
    const chunks = await chunkSemantic(doc, new BagOfWordsEmbedder(), { maxTokens: 500, percentile: 90 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 500);
    expect(chunks.map((c) => c.text)).toEqual([bees.join(' '), volcanoes.join(' ')]);
  });

  it('embeds each sentence with bufferSize neighbours on each side, in one call', async () => {
    const embedder = new BagOfWordsEmbedder();
    const doc = documentFromInput({ id: 'topics', text: [...bees, ...volcanoes].join(' ') });
    await chunkSemantic(doc, embedder, { maxTokens: 500, bufferSize: 1 });
    expect(embedder.embedded).toHaveLength(12);
    expect(embedder.embedded[0]).toBe(`${bees[0]} ${bees[1]}`);
    expect(embedder.embedded[5]).toBe(`${bees[4]} ${bees[5]} ${volcanoes[0]}`);
    await chunkSemantic(doc, embedder, { maxTokens: 500, bufferSize: 0 });
    expect(embedder.embedded.slice(12)).toEqual([...bees, ...volcanoes]);
  });

  it('cuts at more places with a lower percentile', async () => {
    const doc = documentFromInput({ id: 'topics', text: [...bees, ...volcanoes].join(' ') });
    const embedder = new BagOfWordsEmbedder();
    const high = await chunkSemantic(doc, embedder, { maxTokens: 500, percentile: 95 });
    const low = await chunkSemantic(doc, embedder, { maxTokens: 500, percentile: 20 });
    expect(low.length).toBeGreaterThan(high.length + 3);
    expectChunkInvariants(doc, low, wordPieceCounter, 500);
  });

  it('splits a group longer than maxTokens with the recursive splitter', async () => {
    const doc = documentFromInput({ id: 'bees', text: [...bees, ...bees, ...bees].join(' ') });
    const chunks = await chunkSemantic(doc, new BagOfWordsEmbedder(), { maxTokens: 30, percentile: 100 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 30);
    expect(chunks.length).toBeGreaterThan(5);
  });

  it('always cuts at a heading, keeps the heading with its text and records the heading path', async () => {
    const text = `# Nature\n\n## Bees\n\n${bees.join(' ')}\n\n## Volcanoes\n\n${volcanoes.join(' ')}`;
    const doc = documentFromInput({ id: 'nature.md', text, format: 'markdown' });
    const chunks = await chunkSemantic(doc, new BagOfWordsEmbedder(), { maxTokens: 500, percentile: 100 });
    expectChunkInvariants(doc, chunks, wordPieceCounter, 500);
    expect(chunks.map((c) => c.headingPath)).toEqual([
      ['Nature', 'Bees'],
      ['Nature', 'Volcanoes'],
    ]);
    expect(chunks[0]!.text.startsWith('# Nature\n\n## Bees\n\nHoney bees')).toBe(true);
    expect(chunks[1]!.text.startsWith('## Volcanoes\n\nA volcano')).toBe(true);
  });

  it('returns one chunk for a single sentence without calling the embedder', async () => {
    const embedder = new BagOfWordsEmbedder();
    const doc = documentFromInput({ id: 'one', text: 'Just one sentence here.' });
    const chunks = await chunkSemantic(doc, embedder, { maxTokens: 50 });
    expect(chunks.map((c) => c.text)).toEqual(['Just one sentence here.']);
    expect(embedder.embedded).toEqual([]);
  });

  it('passes the abort signal to the embedder', async () => {
    const doc = documentFromInput({ id: 'topics', text: [...bees, ...volcanoes].join(' ') });
    const controller = new AbortController();
    controller.abort();
    await expect(
      chunkSemantic(doc, new BagOfWordsEmbedder(), { maxTokens: 500, signal: controller.signal }),
    ).rejects.toThrow();
  });

  it.each([
    [{ maxTokens: 100, percentile: 101 }, 'percentile'],
    [{ maxTokens: 100, bufferSize: -1 }, 'bufferSize'],
    [{ maxTokens: 0 }, 'maxTokens'],
    [{ maxTokens: 100, threshold: 0.5 }, 'threshold'],
  ])('rejects %j with INVALID_OPTION naming %s', async (options, name) => {
    const doc = documentFromInput({ id: 'x', text: 'One. Two. Three.' });
    await expect(chunkSemantic(doc, new BagOfWordsEmbedder(), options as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining(name),
    });
  });
});
