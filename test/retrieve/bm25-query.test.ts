import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildFtsQuery,
  ENGLISH_STOP_WORDS,
  MAX_QUERY_TERMS,
  queryTerms,
  quoteFtsString,
} from '../../src/retrieve/bm25-query.js';

const DOCS = [
  'The dog runs in the park every morning.',
  'A café in Paris serves crème brûlée.',
  'Bedrock pricing depends on the model and the region.',
  'NEAR the river there is a state-of-the-art mill.',
  '東京は日本の首都です',
  'Emoji 😀 are not words',
];

describe('buildFtsQuery', () => {
  it('quotes each remaining term and ORs them, dropping English stopwords', () => {
    expect(buildFtsQuery('What is the capital of France?')).toBe('"What" OR "capital" OR "France"');
  });

  it('uses Lucene EnglishAnalyzer stopwords, case-insensitively', () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(33);
    expect(buildFtsQuery('THE And or NOT into such')).toBeNull();
  });

  it('returns null when nothing searchable is left', () => {
    for (const text of ['', '   ', '?!*()"', '😀🎉', '-- ** ^^', 'the of and'])
      expect(buildFtsQuery(text)).toBeNull();
  });

  it('splits words where the unicode61 tokenizer does', () => {
    expect(queryTerms('state-of-the-art x_y 3.14 e-mail')).toEqual([
      'state',
      'art',
      'x',
      'y',
      '3',
      '14',
      'e',
      'mail',
    ]);
  });

  it('strips English possessives', () => {
    expect(queryTerms("Bedrock's pricing and the models’s limits")).toEqual([
      'Bedrock',
      'pricing',
      'models',
      'limits',
    ]);
  });

  it('keeps a decomposed accent with its letter', () => {
    expect(queryTerms('cafe\u0301 au lait')).toEqual(['cafe\u0301', 'au', 'lait']);
  });

  it('keeps repeated words, so they weigh more as in Lucene', () => {
    expect(buildFtsQuery('dog dog cat')).toBe('"dog" OR "dog" OR "cat"');
  });

  it(`keeps at most ${MAX_QUERY_TERMS} terms`, () => {
    const words = Array.from({ length: 2000 }, (_, i) => `w${i}`);
    const terms = queryTerms(words.join(' '));
    expect(terms).toHaveLength(MAX_QUERY_TERMS);
    expect(terms.at(-1)).toBe(`w${MAX_QUERY_TERMS - 1}`);
  });

  it('doubles quotes inside an FTS5 string', () => {
    expect(quoteFtsString('say "hi"')).toBe('"say ""hi"""');
  });
});

describe('buildFtsQuery against a real FTS5 table', () => {
  let db: Database.Database;
  let search: (text: string) => number[];
  beforeAll(() => {
    db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')`);
    const insert = db.prepare('INSERT INTO t (rowid, text) VALUES (?, ?)');
    DOCS.forEach((text, i) => {
      insert.run(i + 1, text);
    });
    const statement = db.prepare(
      'SELECT rowid AS id, bm25(t) AS score FROM t WHERE t MATCH ? ORDER BY score',
    );
    search = (text) => {
      const query = buildFtsQuery(text);
      return query === null ? [] : (statement.all(query) as { id: number }[]).map((r) => r.id);
    };
  });
  afterAll(() => db.close());

  it('still stems, folds case and removes diacritics inside quoted terms', () => {
    expect(search('running dogs')).toEqual([1]);
    expect(search('CAFE creme brulee')).toEqual([2]);
    expect(search('bedrock PRICES')).toEqual([3]);
  });

  it('reads FTS5 operators in the input as plain words', () => {
    expect(search('NEAR(river mill)')).toEqual([4]);
    expect(search('river AND NOT mill')).toEqual([4]);
    expect(search('text: dog')).toEqual([1]);
  });

  it('ranks documents matching more terms first', () => {
    expect(search('dog park bedrock')[0]).toBe(1);
  });

  it('matches CJK text as FTS5 tokenises it', () => {
    expect(search('東京は日本の首都です')).toEqual([5]);
  });

  it('never produces an FTS5 syntax error on hostile input', () => {
    const hostile = [
      '"unbalanced',
      'a AND b',
      'a OR',
      'NOT',
      'NEAR(a b, 3)',
      'foo*',
      '*',
      '-foo',
      '+bar',
      '^start',
      'title:foo',
      '{text}: dog',
      '(a OR b',
      'a)',
      "'single quotes'",
      '"" "" ""',
      'dog"; DROP TABLE t; --',
      '😀 emoji 🎉',
      '👨‍👩‍👧 family',
      'Ünïcödé façade',
      'कि हिन्दी',
      '\u0000nul\u0000',
      '\uD800lone surrogate',
      'zero\u200Bwidth\u200Djoiner',
      '\uE000private\uF8FF',
      '½ ① ⅷ',
      'ﬁnance',
      'a\tb\nc\rd',
      Array.from({ length: 3000 }, (_, i) => `t${i}`).join(' '),
    ];
    for (const text of hostile) expect(() => search(text), JSON.stringify(text)).not.toThrow();
  });

  it('never produces an FTS5 syntax error on 500 random strings', () => {
    // Printable ASCII with every FTS5 operator character, plus letters, marks and symbols from other planes.
    const alphabet = [
      ...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~',
      'é',
      '\u0301',
      'ß',
      'Ж',
      '中',
      '😀',
      '\u200D',
      '\uE000',
      '\u{10400}',
      '\u{1D400}',
      '\u{2B740}',
      '\uFFFD',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let nonNull = 0;
    for (let i = 0; i < 500; i++) {
      const text = Array.from(
        { length: 1 + Math.floor(next() * 40) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
      if (buildFtsQuery(text) !== null) nonNull += 1;
      expect(() => search(text), JSON.stringify(text)).not.toThrow();
    }
    expect(nonNull).toBeGreaterThan(400);
  });
});
