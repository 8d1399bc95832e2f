import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  compareByCodePoint,
  compileFilterToSql,
  MAX_FILTER_DEPTH,
  matchesFilter,
  validateFilter,
} from '../../src/retrieve/filter.js';
import { MetadataIndex } from '../../src/retrieve/metadata-index.js';
import { seededRandom } from '../../src/seeded-random.js';
import type { RetrievalFilter } from '../../src/types.js';

type Row = { id: number; metadata: Record<string, unknown> | null };

/** A list for in/notIn: Bedrock takes any JSON there, but MetadataValue (src/types.ts) types lists as string[]. */
const list = (...values: (string | number)[]) => values as string[];

const ROWS: Row[] = [
  {
    id: 1,
    metadata: {
      animal: 'cat',
      year: 1989,
      rating: 4.5,
      published: true,
      tags: ['pets', 'cats'],
      title: 'Cats of Rome',
      date: '2021-03-04',
    },
  },
  {
    id: 2,
    metadata: {
      animal: 'dog',
      year: 2001,
      published: false,
      tags: ['pets', 'dogs'],
      title: 'Dog days',
      date: '2019-12-31',
    },
  },
  { id: 3, metadata: { animal: 'camel', year: '1989', tags: [], title: 'A camel' } },
  { id: 4, metadata: {} },
  { id: 5, metadata: { animal: 'Cat', year: 1989.0, tags: ['wildcat'], 'odd "key"\\': 'x' } },
  { id: 6, metadata: null },
];

/**
 * Evaluates a filter three ways — compiled SQL in SQLite, matchesFilter in JS, and the in-memory MetadataIndex —
 * and insists they agree.
 */
function evaluate(db: Database.Database, filter: RetrievalFilter, rows: Row[] = ROWS): number[] {
  const { sql, params } = compileFilterToSql(filter);
  const viaSql = (
    db.prepare(`SELECT id FROM chunks AS c WHERE ${sql} ORDER BY id`).all(...params) as { id: number }[]
  ).map((r) => r.id);
  const viaJs = rows.filter((row) => matchesFilter(filter, row.metadata ?? {})).map((row) => row.id);
  expect(viaJs, `JS and SQL disagree on ${JSON.stringify(filter)}`).toEqual(viaSql);
  const viaIndex = [...indexOf(rows).matching(filter)];
  expect(viaIndex, `the metadata index and SQL disagree on ${JSON.stringify(filter)}`).toEqual(viaSql);
  return viaSql;
}

const indexes = new WeakMap<Row[], MetadataIndex>();
/** One index per row set, built with a removal and a re-add on the way, as a store's churn would leave it. */
function indexOf(rows: Row[]): MetadataIndex {
  let index = indexes.get(rows);
  if (!index) {
    index = new MetadataIndex();
    for (const row of rows) index.add(row.id, { stale: 'value', ...(row.metadata ?? {}) });
    for (const row of rows) index.remove(row.id);
    for (const row of rows) index.add(row.id, row.metadata ?? {});
    indexes.set(rows, index);
  }
  return index;
}

function load(db: Database.Database, rows: Row[]): void {
  db.exec('DELETE FROM chunks');
  const insert = db.prepare('INSERT INTO chunks (id, metadata) VALUES (?, ?)');
  db.transaction(() => {
    for (const row of rows) insert.run(row.id, row.metadata === null ? null : JSON.stringify(row.metadata));
  })();
}

function filterError(filter: unknown): { message: string; input?: string } {
  try {
    validateFilter(filter);
  } catch (error) {
    expect(isLocalKbError(error, 'INVALID_FILTER')).toBe(true);
    return error as { message: string; input?: string };
  }
  throw new Error(`validateFilter accepted ${JSON.stringify(filter)}`);
}

describe('filter semantics (SQL and JS agree)', () => {
  let db: Database.Database;
  beforeAll(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE chunks (id INTEGER PRIMARY KEY, metadata TEXT)');
    load(db, ROWS);
  });
  afterAll(() => db.close());

  it('equals matches the same value of the same type only', () => {
    expect(evaluate(db, { equals: { key: 'animal', value: 'cat' } })).toEqual([1]);
    expect(evaluate(db, { equals: { key: 'year', value: 1989 } })).toEqual([1, 5]);
    expect(evaluate(db, { equals: { key: 'year', value: '1989' } })).toEqual([3]);
    expect(evaluate(db, { equals: { key: 'published', value: true } })).toEqual([1]);
    expect(evaluate(db, { equals: { key: 'published', value: false } })).toEqual([2]);
  });

  it('equals never matches a list attribute', () => {
    expect(evaluate(db, { equals: { key: 'tags', value: 'pets' } })).toEqual([]);
  });

  it('notEquals also matches documents without the key, as Bedrock documents', () => {
    expect(evaluate(db, { notEquals: { key: 'animal', value: 'cat' } })).toEqual([2, 3, 4, 5, 6]);
    expect(evaluate(db, { notEquals: { key: 'published', value: true } })).toEqual([2, 3, 4, 5, 6]);
  });

  it('numeric comparisons compare numbers with numbers', () => {
    expect(evaluate(db, { greaterThan: { key: 'year', value: 1989 } })).toEqual([2]);
    expect(evaluate(db, { greaterThanOrEquals: { key: 'year', value: 1989 } })).toEqual([1, 2, 5]);
    expect(evaluate(db, { lessThan: { key: 'rating', value: 5 } })).toEqual([1]);
    expect(evaluate(db, { lessThanOrEquals: { key: 'year', value: 1989 } })).toEqual([1, 5]);
  });

  it('string comparisons compare strings, so ISO dates order chronologically', () => {
    expect(evaluate(db, { greaterThan: { key: 'date', value: '2020-01-01' } })).toEqual([1]);
    expect(evaluate(db, { lessThanOrEquals: { key: 'date', value: '2019-12-31' } })).toEqual([2]);
    expect(evaluate(db, { lessThan: { key: 'year', value: '2000' } })).toEqual([3]);
  });

  it('in and notIn test membership; notIn requires the key to be present', () => {
    expect(evaluate(db, { in: { key: 'animal', value: ['cat', 'dog'] } })).toEqual([1, 2]);
    expect(evaluate(db, { in: { key: 'year', value: list(2001, '1989') } })).toEqual([2, 3]);
    expect(evaluate(db, { notIn: { key: 'animal', value: ['cat', 'dog'] } })).toEqual([3, 5]);
  });

  it('startsWith matches string prefixes, case-sensitively', () => {
    expect(evaluate(db, { startsWith: { key: 'animal', value: 'ca' } })).toEqual([1, 3]);
    expect(evaluate(db, { startsWith: { key: 'title', value: 'Cats' } })).toEqual([1]);
  });

  it('listContains matches list members exactly and ignores plain strings', () => {
    expect(evaluate(db, { listContains: { key: 'tags', value: 'pets' } })).toEqual([1, 2]);
    expect(evaluate(db, { listContains: { key: 'tags', value: 'cat' } })).toEqual([]);
    expect(evaluate(db, { listContains: { key: 'animal', value: 'cat' } })).toEqual([]);
  });

  it('stringContains matches substrings of strings and of list members', () => {
    expect(evaluate(db, { stringContains: { key: 'title', value: 'am' } })).toEqual([3]);
    expect(evaluate(db, { stringContains: { key: 'tags', value: 'cat' } })).toEqual([1, 5]);
    expect(evaluate(db, { stringContains: { key: 'animal', value: 'at' } })).toEqual([1, 5]);
  });

  it('andAll and orAll nest', () => {
    const filter: RetrievalFilter = {
      orAll: [
        {
          andAll: [
            { equals: { key: 'year', value: 1989 } },
            { listContains: { key: 'tags', value: 'wildcat' } },
          ],
        },
        {
          andAll: [
            { startsWith: { key: 'title', value: 'Dog' } },
            { equals: { key: 'published', value: false } },
          ],
        },
      ],
    };
    expect(evaluate(db, filter)).toEqual([2, 5]);
    expect(
      evaluate(db, {
        andAll: [{ notEquals: { key: 'animal', value: 'dog' } }, { notIn: { key: 'year', value: list(0) } }],
      }),
    ).toEqual([1, 3, 5]);
  });

  it('keys with quotes, backslashes and dots are looked up literally', () => {
    expect(evaluate(db, { equals: { key: 'odd "key"\\', value: 'x' } })).toEqual([5]);
    expect(evaluate(db, { equals: { key: 'odd "key"', value: 'x' } })).toEqual([]);
  });

  it('binds hostile keys and values as parameters, so they cannot inject SQL', () => {
    const key = `animal"'); DROP TABLE chunks; --`;
    const value = `' OR 1=1; DROP TABLE chunks; --`;
    const rows: Row[] = [...ROWS, { id: 7, metadata: { [key]: value } }];
    load(db, rows);
    try {
      for (const filter of [
        { equals: { key, value } },
        { in: { key, value: [value] } },
        { stringContains: { key, value } },
        { startsWith: { key, value } },
      ] as RetrievalFilter[]) {
        const { sql } = compileFilterToSql(filter);
        expect(sql).not.toContain('DROP');
        expect(evaluate(db, filter, rows)).toEqual([7]);
      }
      expect(evaluate(db, { equals: { key: 'animal', value } }, rows)).toEqual([]);
      expect(db.prepare('SELECT count(*) AS n FROM chunks').get()).toEqual({ n: 7 });
    } finally {
      load(db, ROWS);
    }
  });

  it('matches strings holding NUL characters past the NUL, as JS does (SQLite length() stops at a NUL)', () => {
    const rows: Row[] = [
      ...ROWS,
      { id: 7, metadata: { note: 'nul\u0000byte and more' } },
      { id: 8, metadata: { note: 'nul\u0000other' } },
      { id: 9, metadata: { note: 'nul' } },
    ];
    load(db, rows);
    try {
      expect(evaluate(db, { startsWith: { key: 'note', value: 'nul\u0000byte' } }, rows)).toEqual([7]);
      expect(evaluate(db, { startsWith: { key: 'note', value: 'nul\u0000' } }, rows)).toEqual([7, 8]);
      expect(evaluate(db, { startsWith: { key: 'note', value: '' } }, rows)).toEqual([7, 8, 9]);
      expect(evaluate(db, { stringContains: { key: 'note', value: '\u0000o' } }, rows)).toEqual([8]);
      expect(evaluate(db, { equals: { key: 'note', value: 'nul\u0000other' } }, rows)).toEqual([8]);
      expect(evaluate(db, { lessThan: { key: 'note', value: 'nul\u0000c' } }, rows)).toEqual([7, 9]);
    } finally {
      load(db, ROWS);
    }
  });

  it('compiles against the column it is given', () => {
    const { sql, params } = compileFilterToSql({ equals: { key: 'animal', value: 'dog' } }, 'meta.json');
    expect(sql).toContain('json_type(meta.json, ?)');
    expect(params).toEqual(['$."animal"', '$."animal"', 'dog']);
  });
});

describe('validateFilter', () => {
  it('accepts every operator and returns a copy', () => {
    const filter = {
      andAll: [
        { equals: { key: 'a', value: 'x' } },
        { notEquals: { key: 'a', value: true } },
        { greaterThan: { key: 'n', value: 1 } },
        { greaterThanOrEquals: { key: 'd', value: '2020' } },
        { lessThan: { key: 'n', value: 2.5 } },
        { lessThanOrEquals: { key: 'n', value: -1 } },
        { in: { key: 'a', value: list('x', 1) } },
        { notIn: { key: 'a', value: list(2) } },
        { startsWith: { key: 'a', value: 'p' } },
        { listContains: { key: 'tags', value: 'x' } },
        { orAll: [{ stringContains: { key: 'a', value: 'q' } }, { equals: { key: 'b', value: 0 } }] },
      ],
    };
    const validated = validateFilter(filter);
    expect(validated).toEqual(filter);
    expect(validated).not.toBe(filter);
  });

  it('names the offending part with its JSON path', () => {
    const error = filterError({
      andAll: [{ equals: { key: 'a', value: 1 } }, { in: { key: 'b', value: 'cat' } }],
    });
    expect(error.message).toMatch(
      /^filter\.andAll\[1\]\.in\.value: expected a non-empty array of strings or numbers, got "cat"/,
    );
    expect(error.input).toBe('filter.andAll[1].in.value');
  });

  it('refuses half of a surrogate pair in a key or value, which SQL and JS would compare differently', () => {
    const half = '𝔘'.slice(0, 1);
    expect(filterError({ stringContains: { key: 'title', value: `ab${half}` } }).input).toBe(
      'filter.stringContains.value',
    );
    expect(filterError({ in: { key: 'tag', value: ['ok', half] } }).input).toBe('filter.in.value');
    expect(filterError({ equals: { key: `k${half}`, value: 1 } }).message).toMatch(/surrogate pair/);
    expect(validateFilter({ stringContains: { key: 'title', value: '𝔘 whole' } })).toBeTruthy();
  });

  it('rejects unknown operators and lists the valid ones', () => {
    const { message } = filterError({ equal: { key: 'a', value: 1 } });
    expect(message).toMatch(/^filter: unknown operator "equal"; expected one of equals, notEquals/);
  });

  it('rejects objects with zero or several operators', () => {
    expect(filterError({}).message).toMatch(/^filter: expected exactly one operator, got an empty object/);
    expect(filterError({ equals: { key: 'a', value: 1 }, in: { key: 'b', value: [1] } }).message).toMatch(
      /^filter: expected exactly one operator, got 2 \(equals, in\)/,
    );
  });

  it('rejects a missing, empty, non-string or too long key', () => {
    expect(filterError({ equals: { value: 1 } }).message).toMatch(/^filter\.equals\.key: missing key/);
    expect(filterError({ equals: { key: '', value: 1 } }).message).toMatch(
      /^filter\.equals\.key: expected a non-empty/,
    );
    expect(filterError({ equals: { key: 7, value: 1 } }).message).toMatch(
      /^filter\.equals\.key: expected a string, got 7/,
    );
    expect(filterError({ equals: { key: 'k'.repeat(101), value: 1 } }).message).toMatch(
      /at most 100 characters/,
    );
  });

  it('rejects missing values and values of the wrong type for the operator', () => {
    expect(filterError({ equals: { key: 'a' } }).message).toMatch(/^filter\.equals\.value: missing value/);
    expect(filterError({ equals: { key: 'a', value: ['x'] } }).message).toMatch(
      /^filter\.equals\.value: expected a string, number or boolean, got \["x"\]/,
    );
    expect(filterError({ equals: { key: 'a', value: null } }).message).toMatch(/got null/);
    expect(filterError({ greaterThan: { key: 'a', value: true } }).message).toMatch(
      /^filter\.greaterThan\.value: expected a number or string, got true/,
    );
    expect(filterError({ lessThan: { key: 'a', value: Number.NaN } }).message).toMatch(/got NaN/);
    expect(filterError({ startsWith: { key: 'a', value: 3 } }).message).toMatch(
      /^filter\.startsWith\.value: expected a string/,
    );
    expect(filterError({ notIn: { key: 'a', value: [] } }).message).toMatch(/non-empty array/);
    expect(filterError({ in: { key: 'a', value: [true] } }).message).toMatch(/array of strings or numbers/);
    expect(filterError({ listContains: { key: 'a', value: { x: 1 } } }).message).toMatch(
      /expected a string or number/,
    );
  });

  it('rejects unexpected fields in an attribute', () => {
    expect(filterError({ equals: { key: 'a', value: 1, vale: 2 } }).message).toMatch(
      /^filter\.equals\.vale: unexpected field/,
    );
  });

  it('requires at least two members in andAll and orAll, as Bedrock does', () => {
    expect(filterError({ andAll: [{ equals: { key: 'a', value: 1 } }] }).message).toMatch(
      /^filter\.andAll: expected at least 2 filters \(Bedrock's minimum\), got 1/,
    );
    expect(filterError({ orAll: {} }).message).toMatch(/^filter\.orAll: expected an array of filters/);
    expect(filterError({ orAll: [{ equals: { key: 'a', value: 1 } }, 'x'] }).message).toMatch(
      /^filter\.orAll\[1\]: expected a filter object, got "x"/,
    );
  });

  it('rejects filters nested deeper than the limit and accepts the limit itself', () => {
    const leaf: RetrievalFilter = { equals: { key: 'a', value: 1 } };
    const nest = (levels: number): RetrievalFilter =>
      levels === 1 ? leaf : ({ andAll: [nest(levels - 1), leaf] } as RetrievalFilter);
    expect(() => validateFilter(nest(MAX_FILTER_DEPTH))).not.toThrow();
    const { message } = filterError(nest(MAX_FILTER_DEPTH + 1));
    expect(message).toContain(`at most ${MAX_FILTER_DEPTH} levels`);
    expect(message).toMatch(/^filter(\.andAll\[0\]){9}\.andAll:/);
  });

  it('rejects non-objects at the top', () => {
    expect(filterError(null).message).toMatch(/^filter: expected a filter object, got null/);
    expect(filterError([{ equals: { key: 'a', value: 1 } }]).message).toMatch(
      /^filter: expected a filter object/,
    );
  });

  it('compileFilterToSql validates too', () => {
    expect(() => compileFilterToSql({ in: { key: 'a', value: 'x' } } as unknown as RetrievalFilter)).toThrow(
      /filter\.in\.value/,
    );
  });
});

describe('compareByCodePoint', () => {
  it('orders astral characters after U+E000–U+FFFF, as UTF-8 byte order does', () => {
    const astral = '\u{1F600}';
    const privateUse = '\uE000';
    expect(astral < privateUse).toBe(true); // UTF-16 code unit order
    expect(compareByCodePoint(astral, privateUse)).toBeGreaterThan(0);
    expect(Buffer.compare(Buffer.from(astral), Buffer.from(privateUse))).toBeGreaterThan(0);
    expect(compareByCodePoint('ab', 'abc')).toBeLessThan(0);
    expect(compareByCodePoint('b', 'abc')).toBeGreaterThan(0);
    expect(compareByCodePoint('same', 'same')).toBe(0);
  });
});

describe('SQL and JS evaluators on random filters', () => {
  const next = seededRandom(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const KEYS = ['a', 'b', 'tags', 'n', 'x.y', 'q"uote', 'back\\slash', 'constructor', 'ключ', '😀'];
  const STRINGS = [
    '',
    'a',
    'ab',
    'abc',
    'b',
    'B',
    'ä',
    'a\u0308',
    '\uE000',
    '\u{1F600}',
    'x y',
    '1',
    "it's",
    '%_',
  ];
  const NUMBERS = [-1, 0, 1, 1.5, 2, 10, 1e6, -0.25];
  const randomString = () => pick(STRINGS) + (next() < 0.3 ? pick(STRINGS) : '');
  const randomValue = (): unknown => {
    const roll = next();
    if (roll < 0.4) return randomString();
    if (roll < 0.65) return pick(NUMBERS);
    if (roll < 0.75) return next() < 0.5;
    return Array.from({ length: Math.floor(next() * 4) }, randomString);
  };
  const randomComparable = () => (next() < 0.5 ? randomString() : pick(NUMBERS));
  const randomLeaf = (): RetrievalFilter => {
    const key = pick(KEYS);
    switch (
      pick(['equals', 'notEquals', 'gt', 'gte', 'lt', 'lte', 'in', 'notIn', 'startsWith', 'list', 'contains'])
    ) {
      case 'equals':
        return { equals: { key, value: pick([randomString(), pick(NUMBERS), next() < 0.5]) } };
      case 'notEquals':
        return { notEquals: { key, value: pick([randomString(), pick(NUMBERS), next() < 0.5]) } };
      case 'gt':
        return { greaterThan: { key, value: randomComparable() } };
      case 'gte':
        return { greaterThanOrEquals: { key, value: randomComparable() } };
      case 'lt':
        return { lessThan: { key, value: randomComparable() } };
      case 'lte':
        return { lessThanOrEquals: { key, value: randomComparable() } };
      case 'in':
        return {
          in: { key, value: list(...Array.from({ length: 1 + Math.floor(next() * 3) }, randomComparable)) },
        };
      case 'notIn':
        return {
          notIn: {
            key,
            value: list(...Array.from({ length: 1 + Math.floor(next() * 3) }, randomComparable)),
          },
        };
      case 'startsWith':
        return { startsWith: { key, value: randomString() } };
      case 'list':
        return { listContains: { key, value: randomComparable() } };
      default:
        return { stringContains: { key, value: randomString() } };
    }
  };
  const randomFilter = (depth: number): RetrievalFilter => {
    if (depth >= 3 || next() < 0.55) return randomLeaf();
    const members = Array.from({ length: 2 + Math.floor(next() * 2) }, () => randomFilter(depth + 1));
    return next() < 0.5 ? { andAll: members } : { orAll: members };
  };

  it('agree on 400 random filters over 80 random metadata rows', () => {
    const rows: Row[] = Array.from({ length: 80 }, (_, i) => {
      const metadata: Record<string, unknown> = {};
      for (const key of KEYS) if (next() < 0.5) metadata[key] = randomValue();
      return { id: i + 1, metadata: JSON.parse(JSON.stringify(metadata)) };
    });
    const db = new Database(':memory:');
    db.exec('CREATE TABLE chunks (id INTEGER PRIMARY KEY, metadata TEXT)');
    load(db, rows);
    let selective = 0;
    for (let i = 0; i < 400; i++) {
      const matched = evaluate(db, validateFilter(randomFilter(1)), rows).length;
      if (matched > 0 && matched < rows.length) selective += 1;
    }
    db.close();
    // Most filters select some rows but not all, so agreement is not vacuous.
    expect(selective).toBeGreaterThan(150);
  });
});
