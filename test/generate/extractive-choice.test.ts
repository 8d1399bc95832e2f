import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROMPT_TEMPLATE,
  ExtractiveGenerator,
  formatSources,
  parseCitationMarkers,
  renderPromptTemplate,
} from '../../src/generate/index.js';
import { citationsOf } from '../../src/kb/rag-answerer.js';
import type { RetrievalResult } from '../../src/types.js';

function result(id: string, text: string): RetrievalResult {
  return {
    content: { type: 'TEXT', text },
    location: { type: 'LOCAL', uri: `file:///corpus/${id}` },
    score: 0.5,
    metadata: {},
    documentId: id,
    chunkId: id,
  };
}

const PHAROS = result(
  'ancient.md',
  '## The Pharos of Alexandria\n\nThe Pharos of Alexandria stood on the small island of Pharos at the entrance to ' +
    'the harbour of Alexandria in Egypt. It was completed around 280 BC, in the reign of Ptolemy II, and ancient ' +
    'writers credit its design to Sostratus of Cnidus. Estimates of its height are usually a little over 100 metres.',
);
const TIMELINE = result(
  'timeline.pdf',
  'c. 280 BC – The Pharos of Alexandria is completed in the reign of Ptolemy II. 1759 – John Smeaton lights his ' +
    'Eddystone tower.',
);
const CANDLES = result(
  'lamps.md',
  '## Fires and candles\n\nEnclosed lanterns with candles were cleaner but dim: Smeaton’s Eddystone tower of 1759 ' +
    'used a chandelier of twenty-four candles.',
);

async function answer(question: string, results: RetrievalResult[]) {
  const prompt = renderPromptTemplate(DEFAULT_PROMPT_TEMPLATE, {
    query: question,
    searchResults: formatSources(results),
  });
  const generation = await new ExtractiveGenerator().generate([{ role: 'user', content: prompt }]);
  const markers = parseCitationMarkers(generation.text);
  return {
    text: generation.text,
    sentences: markers.map((m) => generation.text.slice(m.span.start, m.span.end)),
  };
}

describe('ExtractiveGenerator sentence choice', () => {
  it('puts first the sentence that names who did what the question asks, matching "designed" to "design"', async () => {
    const { sentences } = await answer('Who designed the Pharos of Alexandria?', [TIMELINE, PHAROS]);
    expect(sentences[0]).toContain('Sostratus of Cnidus');
  });

  it('answers "when" with a date and "how many" with a count, not a year', async () => {
    expect((await answer('When was the Pharos of Alexandria completed?', [PHAROS])).sentences[0]).toContain(
      '280 BC',
    );
    const candles = await answer("How many candles lit Smeaton's Eddystone tower?", [TIMELINE, CANDLES]);
    expect(candles.sentences[0]).toContain('twenty-four');
  });

  it('quotes the sentence a pronoun points back to with the one that answers', async () => {
    const { sentences } = await answer('When was the Pharos completed?', [PHAROS]);
    expect(sentences[0]).toMatch(/^The Pharos of Alexandria stood .* It was completed around 280 BC/);
  });

  it('quotes a sentence once when overlapping passages repeat it', async () => {
    const first = result(
      'a.md',
      'Keepers trimmed the wicks so they would not smoke. They cleaned the lens daily.',
    );
    const overlap = result('a.md#2', 'Keepers trimmed the wicks so they would not smoke, said the log.');
    const { sentences } = await answer('Why did keepers trim the wicks?', [first, overlap]);
    const wicks = sentences.filter((s) => s.includes('trimmed the wicks'));
    expect(wicks).toHaveLength(1);
  });
});

describe('citation numbers', () => {
  it('become citations beside plain text; markers naming no retrieved source cite nothing', () => {
    const results = [result('one', 'one'), result('two', 'two'), result('three', 'three')];
    const { text, citations } = citationsOf('Alpha is first. [3] Beta is second. [1][3] Gamma. [7]', results);
    expect(text).toBe('Alpha is first. Beta is second. Gamma.');
    expect(citations.map((c) => c.references.map((r) => r.documentId))).toEqual([
      ['three'],
      ['one', 'three'],
    ]);
    expect(citations.map((c) => text.slice(c.span.start, c.span.end))).toEqual([
      'Alpha is first.',
      'Beta is second.',
    ]);
  });
});
