import { describe, expect, it } from 'vitest';
import { CitationMarkerFilter, type CitedPart, stripCitationMarkers } from '../../src/generate/index.js';
import { seededRandom } from '../store/store-fixtures.js';

/** Feeds `text` to a filter in the given pieces; returns the text shown and the parts, in event order. */
function streamed(pieces: string[], isCitable?: (n: number) => boolean) {
  const filter = new CitationMarkerFilter(isCitable);
  let shown = '';
  const parts: CitedPart[] = [];
  for (const events of [...pieces.map((piece) => filter.push(piece)), filter.end()]) {
    for (const event of events) {
      if (event.type === 'text') shown += event.text;
      else {
        // a part is reported only once all of its text has been shown
        expect(event.part.span.end).toBeLessThanOrEqual(shown.length);
        parts.push(event.part);
      }
    }
  }
  expect(shown).toBe(filter.text);
  return { text: shown, parts };
}

function randomPieces(text: string, random: () => number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; ) {
    const size = 1 + Math.floor(random() * 6);
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  return pieces;
}

const GENERATED = [
  'Honey bees dance to tell their hive where flowers are. [1] Salt comes from rivers [2][3]. Uncited tail.',
  'A fact [1, 2], [2] [3]; another [4]! And [1]then words.',
  '[2] Leading marker. Year 2024 [1] and list [a] stay. Numbers 1, 2, 3 [3]?',
  'Line one [1].\n\nLine two [ 2 ] , [3]\n',
  'Ends in a marker [5]',
  'Spaced punctuation [1] . Next [2] , and more [3]   ',
];

describe('CitationMarkerFilter', () => {
  it('removes markers and reports each part with the sources it cites, end exclusive', () => {
    const { text, parts } = stripCitationMarkers(GENERATED[0]!);
    expect(text).toBe(
      'Honey bees dance to tell their hive where flowers are. Salt comes from rivers. Uncited tail.',
    );
    expect(parts).toEqual([
      {
        span: { start: 0, end: 54 },
        text: 'Honey bees dance to tell their hive where flowers are.',
        sourceIds: [1],
      },
      { span: { start: 55, end: 78 }, text: 'Salt comes from rivers.', sourceIds: [2, 3] },
    ]);
    for (const part of parts) expect(text.slice(part.span.start, part.span.end)).toBe(part.text);
  });

  it('keeps words apart and leaves brackets that are not markers', () => {
    expect(stripCitationMarkers(GENERATED[1]!).text).toBe('A fact; another! And then words.');
    expect(stripCitationMarkers(GENERATED[2]!).text).toBe(
      'Leading marker. Year 2024 and list [a] stay. Numbers 1, 2, 3?',
    );
  });

  it('takes the space before punctuation with the marker', () => {
    expect(stripCitationMarkers(GENERATED[5]!).text).toBe('Spaced punctuation. Next, and more   ');
  });

  it('drops sources that are not citable but still removes their markers', () => {
    const { text, parts } = stripCitationMarkers('One [1]. Two [9]. Three [9, 2].', (n) => n <= 3);
    expect(text).toBe('One. Two. Three.');
    expect(parts.map((p) => [p.text, p.sourceIds])).toEqual([
      ['One.', [1]],
      ['Three.', [2]],
    ]);
  });

  it('gives the same text and parts however the text is split, markers cut across pieces included', () => {
    const random = seededRandom(7);
    for (const generated of GENERATED) {
      const whole = stripCitationMarkers(generated);
      for (let trial = 0; trial < 40; trial++) {
        expect(streamed(randomPieces(generated, random))).toEqual(whole);
      }
      // one character at a time: every marker is split
      expect(streamed([...generated])).toEqual(whole);
    }
  });

  it('holds back only what may still be a marker', () => {
    const filter = new CitationMarkerFilter();
    expect(filter.push('Bees dance [')).toEqual([{ type: 'text', text: 'Bees dance' }]);
    expect(filter.push('1')).toEqual([]);
    expect(filter.push('] and')).toEqual([
      { type: 'part', part: { span: { start: 0, end: 10 }, text: 'Bees dance', sourceIds: [1] } },
      { type: 'text', text: ' and' },
    ]);
    expect(filter.push(' [x] more')).toEqual([{ type: 'text', text: ' [x] more' }]);
  });
});
