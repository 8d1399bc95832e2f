/**
 * Loads datasets in the BEIR layout: corpus.jsonl, queries.jsonl and qrels/<split>.tsv.
 * Mirrors BEIR's GenericDataLoader.load(split): qrels keep every line (grade-0 lines included), and the
 * queries are only those that appear in the split's qrels. The corpus is streamed line by line, so large
 * BEIR sets never sit in memory as one string.
 */

import { createReadStream } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { isLocalKbError, kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { DocumentInput } from '../types.js';
import type { Qrels } from './metrics.js';

export interface BeirDocument {
  id: string;
  title: string;
  text: string;
  /** The line's `metadata` object as shipped (arbitrary JSON); {} when absent. */
  metadata: Record<string, unknown>;
}

export interface BeirQuery {
  id: string;
  text: string;
  metadata: Record<string, unknown>;
}

export interface LoadBeirOptions {
  /** Which qrels file to load: qrels/<split>.tsv. Default 'test'. */
  split?: string;
}

const LOAD_BEIR_OPTIONS = declareOptions<LoadBeirOptions>('loadBeirDataset', { split: 'string' });

export interface BeirDataset {
  dir: string;
  split: string;
  /** Streams corpus.jsonl; each `for await` opens the file anew, so it can be iterated more than once. */
  corpus: AsyncIterable<BeirDocument>;
  /** Query id → text, only for queries that have qrels in this split (in qrels order). */
  queries: Map<string, string>;
  /** Query id → (document id → grade), every line of the split's qrels. */
  qrels: Map<string, Map<string, number>>;
  stats: {
    qrelsLines: number;
    /** (query, document) pairs that appeared more than once; the last grade wins, as in BEIR. */
    duplicateQrels: number;
  };
}

const QRELS_HEADER = ['query-id', 'corpus-id', 'score'];

/**
 * Loads a BEIR dataset folder. Missing files and malformed lines throw DATASET_INVALID naming the file and
 * line. Corpus lines are checked while streaming, so a bad corpus line throws from the `for await` loop.
 */
export async function loadBeirDataset(dir: string, options: LoadBeirOptions = {}): Promise<BeirDataset> {
  checkOptions(LOAD_BEIR_OPTIONS, options);
  const split = options.split ?? 'test';
  if (typeof split !== 'string' || !/^[\w.-]+$/.test(split)) {
    throw kbError(
      'INVALID_OPTION',
      `Option split must be a qrels file name without .tsv, e.g. 'test'; got ${JSON.stringify(split)}.`,
      { input: 'split' },
    );
  }
  const corpusPath = path.join(dir, 'corpus.jsonl');
  const queriesPath = path.join(dir, 'queries.jsonl');
  const qrelsPath = path.join(dir, 'qrels', `${split}.tsv`);
  await requireFile(corpusPath, 'the BEIR corpus (one JSON document per line)');
  await requireFile(queriesPath, 'the BEIR queries (one JSON query per line)');
  await requireQrelsFile(qrelsPath, path.join(dir, 'qrels'), split);

  const { qrels, lines, duplicates } = await readBeirQrels(qrelsPath);
  const allQueries = new Map<string, string>();
  for await (const query of readBeirQueries(queriesPath)) allQueries.set(query.id, query.text);

  const queries = new Map<string, string>();
  for (const queryId of qrels.keys()) {
    const text = allQueries.get(queryId);
    if (text === undefined) {
      throw kbError(
        'DATASET_INVALID',
        `${qrelsPath} judges query ${queryId}, which is not in ${queriesPath}; the qrels and queries files are from different datasets or versions.`,
        { input: qrelsPath },
      );
    }
    queries.set(queryId, text);
  }

  return {
    dir,
    split,
    corpus: { [Symbol.asyncIterator]: () => readBeirCorpus(corpusPath)[Symbol.asyncIterator]() },
    queries,
    qrels,
    stats: { qrelsLines: lines, duplicateQrels: duplicates },
  };
}

/** Streams corpus.jsonl as BeirDocuments. `_id` and `text` are required; `title` and `metadata` optional. */
export async function* readBeirCorpus(file: string): AsyncGenerator<BeirDocument> {
  for await (const { line, lineNumber } of readLines(file)) {
    const record = parseJsonObjectLine(file, line, lineNumber);
    yield {
      id: requireId(file, lineNumber, record._id),
      title: optionalString(file, lineNumber, record, 'title'),
      text: requireString(file, lineNumber, record, 'text'),
      metadata: optionalObject(file, lineNumber, record.metadata),
    };
  }
}

/** Streams queries.jsonl. */
export async function* readBeirQueries(file: string): AsyncGenerator<BeirQuery> {
  for await (const { line, lineNumber } of readLines(file)) {
    const record = parseJsonObjectLine(file, line, lineNumber);
    yield {
      id: requireId(file, lineNumber, record._id),
      text: requireString(file, lineNumber, record, 'text'),
      metadata: optionalObject(file, lineNumber, record.metadata),
    };
  }
}

/**
 * Reads a BEIR qrels TSV: `query-id<TAB>corpus-id<TAB>score`, LF or CRLF, integer grades. The first line is
 * skipped when it is a header (BEIR always skips line 1; a headerless file keeps its first judgment here).
 */
export async function readBeirQrels(
  file: string,
): Promise<{ qrels: Map<string, Map<string, number>>; lines: number; duplicates: number }> {
  const qrels = new Map<string, Map<string, number>>();
  let lines = 0;
  let duplicates = 0;
  for await (const { line, lineNumber } of readLines(file)) {
    const fields = line.split('\t');
    if (lineNumber === 1 && isQrelsHeader(fields)) continue;
    if (fields.length !== 3) {
      throw kbError(
        'DATASET_INVALID',
        `${file} line ${lineNumber}: expected 3 tab-separated columns (query-id, corpus-id, score), found ${fields.length}: ${JSON.stringify(line.slice(0, 120))}.`,
        { input: `${file}:${lineNumber}` },
      );
    }
    const [queryId = '', docId = '', score = ''] = fields.map((field) => field.trim());
    if (queryId === '' || docId === '') {
      throw kbError('DATASET_INVALID', `${file} line ${lineNumber}: empty query-id or corpus-id.`, {
        input: `${file}:${lineNumber}`,
      });
    }
    if (!/^[-+]?\d+$/.test(score)) {
      throw kbError(
        'DATASET_INVALID',
        `${file} line ${lineNumber}: score must be an integer grade, got ${JSON.stringify(score)}.`,
        { input: `${file}:${lineNumber}` },
      );
    }
    let judgments = qrels.get(queryId);
    if (judgments === undefined) {
      judgments = new Map();
      qrels.set(queryId, judgments);
    }
    if (judgments.has(docId)) duplicates++;
    judgments.set(docId, Number.parseInt(score, 10));
    lines++;
  }
  return { qrels, lines, duplicates };
}

/** The text BEIR's dense models embed for a document: title, a space, text, trimmed. */
export function beirDocumentText(doc: BeirDocument): string {
  return `${doc.title} ${doc.text}`.trim();
}

/** A BEIR document as a localkb ingest input: id kept, text = title + ' ' + text, title as metadata. */
export function beirDocumentToInput(doc: BeirDocument): DocumentInput {
  return {
    id: doc.id,
    text: beirDocumentText(doc),
    metadata: doc.title === '' ? {} : { title: doc.title },
  };
}

/** Total number of judged (query, document) pairs, for quick checks against published dataset stats. */
export function countJudgments(qrels: Qrels): number {
  let total = 0;
  for (const judgments of qrels.values()) total += judgments.size;
  return total;
}

function isQrelsHeader(fields: string[]): boolean {
  const trimmed = fields.map((field) => field.trim());
  if (trimmed.join('\t') === QRELS_HEADER.join('\t')) return true;
  // Some copies rename the columns; any first line whose score column is not a number is a header.
  return trimmed.length === 3 && !/^[-+]?\d+(\.\d+)?$/.test(trimmed[2] ?? '');
}

/** Lines of a UTF-8 text file with 1-based numbers; LF or CRLF; a BOM and blank lines are skipped. */
async function* readLines(file: string): AsyncGenerator<{ line: string; lineNumber: number }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  try {
    for await (const raw of reader) {
      lineNumber++;
      const line = lineNumber === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (line.trim() === '') continue;
      yield { line, lineNumber };
    }
  } catch (error) {
    if (isLocalKbError(error)) throw error;
    throw kbError('DATASET_INVALID', `Cannot read ${file}: ${(error as Error).message}`, {
      input: file,
      cause: error,
    });
  } finally {
    reader.close();
    stream.destroy();
  }
}

function parseJsonObjectLine(file: string, line: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw kbError(
      'DATASET_INVALID',
      `${file} line ${lineNumber}: not valid JSON (${(error as Error).message}); each line must be one JSON object.`,
      { input: `${file}:${lineNumber}`, cause: error },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw kbError('DATASET_INVALID', `${file} line ${lineNumber}: expected a JSON object.`, {
      input: `${file}:${lineNumber}`,
    });
  }
  return value as Record<string, unknown>;
}

function requireId(file: string, lineNumber: number, value: unknown): string {
  // BEIR ids are strings; a few copies write numeric ids, which Python would also accept as keys.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value === '') {
    throw kbError('DATASET_INVALID', `${file} line ${lineNumber}: "_id" must be a non-empty string.`, {
      input: `${file}:${lineNumber}`,
    });
  }
  return value;
}

function requireString(
  file: string,
  lineNumber: number,
  record: Record<string, unknown>,
  key: string,
): string {
  const value = record[key];
  if (typeof value !== 'string') {
    throw kbError('DATASET_INVALID', `${file} line ${lineNumber}: "${key}" must be a string.`, {
      input: `${file}:${lineNumber}`,
    });
  }
  return value;
}

function optionalString(
  file: string,
  lineNumber: number,
  record: Record<string, unknown>,
  key: string,
): string {
  const value = record[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    throw kbError('DATASET_INVALID', `${file} line ${lineNumber}: "${key}" must be a string when present.`, {
      input: `${file}:${lineNumber}`,
    });
  }
  return value;
}

function optionalObject(file: string, lineNumber: number, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw kbError(
      'DATASET_INVALID',
      `${file} line ${lineNumber}: "metadata" must be a JSON object when present.`,
      {
        input: `${file}:${lineNumber}`,
      },
    );
  }
  return value as Record<string, unknown>;
}

async function requireFile(file: string, what: string): Promise<void> {
  try {
    await access(file);
  } catch {
    throw kbError('DATASET_INVALID', `${file} is missing; a BEIR dataset folder needs ${what}.`, {
      input: file,
    });
  }
}

async function requireQrelsFile(file: string, qrelsDir: string, split: string): Promise<void> {
  try {
    await access(file);
  } catch {
    let available: string[] = [];
    try {
      available = (await readdir(qrelsDir))
        .filter((name) => name.endsWith('.tsv'))
        .map((name) => name.slice(0, -4));
    } catch {
      // No qrels folder at all: the message below says so.
    }
    const hint =
      available.length > 0
        ? `available splits: ${available.sort().join(', ')}`
        : `${qrelsDir} has no .tsv files`;
    throw kbError('DATASET_INVALID', `${file} is missing: no qrels for split '${split}' (${hint}).`, {
      input: file,
    });
  }
}
