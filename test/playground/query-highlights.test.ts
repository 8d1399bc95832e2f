import { describe, expect, it } from 'vitest';
import { queryHighlights } from '../../src/playground/query-highlights.js';

function marked(query: string, text: string): string[] {
  return queryHighlights(query, [text])[0]!.map(([start, end]) => text.slice(start, end));
}

describe('queryHighlights', () => {
  it('marks inflected forms of the query words, as the Porter stemmer of BM25 matches them', () => {
    expect(marked('lighthouses burning', 'The lighthouse burned; lighthouses burn on.')).toEqual([
      'lighthouse',
      'burned',
      'lighthouses',
      'burn',
    ]);
  });

  it('leaves out the stopwords BM25 drops', () => {
    expect(marked('the keeper of the light', 'The keeper of the light.')).toEqual(['keeper', 'light']);
  });

  it('matches across case and diacritics', () => {
    expect(marked('cafe', 'A CAFÉ and a café.')).toEqual(['CAFÉ', 'café']);
  });

  it('returns one list per text, empty where nothing matches', () => {
    expect(queryHighlights('lamp', ['no match here', 'one lamp'])).toEqual([[], [[4, 8]]]);
  });
});
