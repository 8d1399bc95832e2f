import Database from 'better-sqlite3';
import { ENGLISH_STOP_WORDS } from '../retrieve/index.js';

/** A character range [start, end) of a text. */
export type TextRange = [start: number, end: number];

/** FTS5 unicode61's token characters (letters, numbers, marks folded by remove_diacritics, private use). */
const TOKEN = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/**
 * Where the query's words occur in each text, matched the way BM25 matches them: SQLite's own
 * `porter unicode61 remove_diacritics 2` tokenizer (the store's) stems both sides, so "lamps" marks "lamp" and
 * "Café" marks "cafe". Stopwords BM25 drops are not marked. One in-memory FTS5 table per call.
 */
export function queryHighlights(query: string, texts: readonly string[]): TextRange[][] {
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
      CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');`);
    const insert = db.prepare('INSERT INTO t (rowid, text) VALUES (?, ?)');
    db.transaction(() => {
      insert.run(0, query);
      for (const [i, text] of texts.entries()) insert.run(i + 1, text);
    })();
    const instances = db.prepare('SELECT term, doc, offset FROM v').all() as {
      term: string;
      doc: number;
      offset: number;
    }[];
    const queryTokens = tokenRanges(query);
    const terms = new Set(
      instances
        .filter((row) => row.doc === 0)
        .filter((row) => {
          const range = queryTokens[row.offset];
          return range !== undefined && !ENGLISH_STOP_WORDS.has(query.slice(...range).toLowerCase());
        })
        .map((row) => row.term),
    );
    const ranges: TextRange[][] = texts.map(() => []);
    const tokensOf = new Map<number, TextRange[]>();
    for (const row of instances) {
      if (row.doc === 0 || !terms.has(row.term)) continue;
      let tokens = tokensOf.get(row.doc);
      if (!tokens) {
        tokens = tokenRanges(texts[row.doc - 1]!);
        tokensOf.set(row.doc, tokens);
      }
      const range = tokens[row.offset];
      if (range) ranges[row.doc - 1]!.push(range);
    }
    return ranges.map((list) => list.sort((a, b) => a[0] - b[0]));
  } finally {
    db.close();
  }
}

function tokenRanges(text: string): TextRange[] {
  return [...text.matchAll(TOKEN)].map((match) => [match.index, match.index + match[0].length]);
}
