import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  type BeirDocument,
  beirDocumentToInput,
  countJudgments,
  loadBeirDataset,
  readBeirCorpus,
  readBeirQrels,
} from '../../src/eval/beir.js';
import { evaluateRun } from '../../src/eval/metrics.js';

const SCIFACT_DIR = path.resolve(import.meta.dirname, '../../../shared/data/scifact');
const hasScifact = existsSync(path.join(SCIFACT_DIR, 'corpus.jsonl'));
if (!hasScifact)
  console.warn(`[eval/beir] SciFact tests skipped: ${SCIFACT_DIR} not found (shared data absent).`);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'localkb-beir-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function makeDataset(
  name: string,
  files: { corpus?: string; queries?: string; qrels?: Record<string, string> },
): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'qrels'), { recursive: true });
  if (files.corpus !== undefined) await writeFile(path.join(dir, 'corpus.jsonl'), files.corpus);
  if (files.queries !== undefined) await writeFile(path.join(dir, 'queries.jsonl'), files.queries);
  for (const [split, text] of Object.entries(files.qrels ?? {})) {
    await writeFile(path.join(dir, 'qrels', `${split}.tsv`), text);
  }
  return dir;
}

async function collect(corpus: AsyncIterable<BeirDocument>): Promise<BeirDocument[]> {
  const docs: BeirDocument[] = [];
  for await (const doc of corpus) docs.push(doc);
  return docs;
}

async function expectDatasetError(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isLocalKbError(error, 'DATASET_INVALID')).toBe(true);
    for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
    return;
  }
  throw new Error('expected DATASET_INVALID');
}

const corpus = [
  '{"_id": "d1", "title": "Aspirin", "text": "Aspirin thins blood.", "metadata": {}}',
  '{"_id": "d2", "title": "", "text": "Statins lower cholesterol."}',
  '{"_id": "d3", "text": "No title here.", "metadata": {"year": 2001}}',
].join('\n');
const queries = [
  '{"_id": "1", "text": "Does aspirin thin blood?", "metadata": {}}',
  '{"_id": "2", "text": "Do statins lower cholesterol?"}',
  '{"_id": "3", "text": "A query only in train."}',
].join('\n');

describe('loadBeirDataset', () => {
  it('skips the header of a CRLF qrels file and reads graded integer scores', async () => {
    const dir = await makeDataset('crlf', {
      corpus,
      queries,
      qrels: { test: 'query-id\tcorpus-id\tscore\r\n1\td1\t2\r\n1\td2\t0\r\n2\td2\t1\r\n' },
    });
    const dataset = await loadBeirDataset(dir, { split: 'test' });
    expect(dataset.qrels).toEqual(
      new Map([
        [
          '1',
          new Map([
            ['d1', 2],
            ['d2', 0],
          ]),
        ],
        ['2', new Map([['d2', 1]])],
      ]),
    );
    expect(dataset.stats).toEqual({ qrelsLines: 3, duplicateQrels: 0 });
  });

  it('keeps only the queries judged in the chosen split', async () => {
    const dir = await makeDataset('splits', {
      corpus,
      queries,
      qrels: {
        test: 'query-id\tcorpus-id\tscore\n2\td2\t1\n',
        train: 'query-id\tcorpus-id\tscore\n3\td1\t1\n',
      },
    });
    expect([...(await loadBeirDataset(dir)).queries]).toEqual([['2', 'Do statins lower cholesterol?']]);
    expect([...(await loadBeirDataset(dir, { split: 'train' })).queries]).toEqual([
      ['3', 'A query only in train.'],
    ]);
  });

  it('streams the corpus with defaults for a missing title and metadata, and can iterate it twice', async () => {
    const dir = await makeDataset('corpus', {
      corpus: `\uFEFF${corpus}\n\n`,
      queries,
      qrels: { test: '1\td1\t1\n' },
    });
    const dataset = await loadBeirDataset(dir);
    const docs = await collect(dataset.corpus);
    expect(docs).toEqual([
      { id: 'd1', title: 'Aspirin', text: 'Aspirin thins blood.', metadata: {} },
      { id: 'd2', title: '', text: 'Statins lower cholesterol.', metadata: {} },
      { id: 'd3', title: '', text: 'No title here.', metadata: { year: 2001 } },
    ]);
    expect((await collect(dataset.corpus)).length).toBe(3);
    // A headerless qrels file keeps its first line as a judgment.
    expect(countJudgments(dataset.qrels)).toBe(1);
  });

  it('turns a BEIR document into an ingest input with title and text joined as BEIR embeds them', () => {
    expect(beirDocumentToInput({ id: 'd1', title: 'Aspirin', text: 'Thins blood.', metadata: {} })).toEqual({
      id: 'd1',
      text: 'Aspirin Thins blood.',
      metadata: { title: 'Aspirin' },
    });
    expect(beirDocumentToInput({ id: 'd2', title: '', text: 'Only text.', metadata: {} }).text).toBe(
      'Only text.',
    );
  });

  it('names the missing file and the available splits', async () => {
    const dir = await makeDataset('missing', { corpus, queries, qrels: { train: '1\td1\t1\n' } });
    await expectDatasetError(loadBeirDataset(dir, { split: 'dev' }), 'dev.tsv', 'available splits: train');
    const noQueries = await makeDataset('no-queries', { corpus, qrels: { test: '1\td1\t1\n' } });
    await expectDatasetError(loadBeirDataset(noQueries), 'queries.jsonl');
    const noCorpus = await makeDataset('no-corpus', { queries, qrels: { test: '1\td1\t1\n' } });
    await expectDatasetError(loadBeirDataset(noCorpus), 'corpus.jsonl');
  });

  it('names the file and line of a malformed qrels line', async () => {
    const file = path.join(root, 'bad-qrels.tsv');
    await writeFile(file, 'query-id\tcorpus-id\tscore\r\n1\td1\t1\r\n1\td2\r\n');
    await expectDatasetError(readBeirQrels(file), `${file} line 3`, 'expected 3 tab-separated columns');
    await writeFile(file, 'query-id\tcorpus-id\tscore\n1\td1\thigh\n');
    await expectDatasetError(readBeirQrels(file), `${file} line 2`, 'integer grade');
    await writeFile(file, 'query-id\tcorpus-id\tscore\n1\td1\t1.5\n');
    await expectDatasetError(readBeirQrels(file), `${file} line 2`);
  });

  it('names the file and line of a malformed corpus line when the stream reaches it', async () => {
    const file = path.join(root, 'bad-corpus.jsonl');
    await writeFile(file, '{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n');
    await expectDatasetError(collect(readBeirCorpus(file)), `${file} line 2`, 'not valid JSON');
    await writeFile(file, '{"_id": "a", "text": "ok"}\n{"_id": "b"}\n');
    await expectDatasetError(collect(readBeirCorpus(file)), `${file} line 2`, '"text"');
    await writeFile(file, '{"text": "no id"}\n');
    await expectDatasetError(collect(readBeirCorpus(file)), `${file} line 1`, '"_id"');
  });

  it('rejects qrels that judge a query absent from queries.jsonl', async () => {
    const dir = await makeDataset('orphan', { corpus, queries, qrels: { test: '99\td1\t1\n' } });
    await expectDatasetError(loadBeirDataset(dir), 'judges query 99');
  });

  it('lets the last grade win for a repeated judgment and counts it, as BEIR’s dict does', async () => {
    const file = path.join(root, 'dupe.tsv');
    await writeFile(file, 'query-id\tcorpus-id\tscore\n1\td1\t1\n1\td1\t2\n');
    const { qrels, duplicates } = await readBeirQrels(file);
    expect(qrels.get('1')?.get('d1')).toBe(2);
    expect(duplicates).toBe(1);
  });
});

describe.skipIf(!hasScifact)('loadBeirDataset on the shared SciFact copy', () => {
  it('loads 5,183 documents, 300 test queries and 339 test judgments', async () => {
    const dataset = await loadBeirDataset(SCIFACT_DIR, { split: 'test' });
    expect(dataset.queries.size).toBe(300);
    expect(dataset.qrels.size).toBe(300);
    expect(countJudgments(dataset.qrels)).toBe(339);
    expect(dataset.stats.duplicateQrels).toBe(0);
    const docs = await collect(dataset.corpus);
    expect(docs.length).toBe(5183);
    expect(new Set(docs.map((doc) => doc.id)).size).toBe(5183);
    expect(docs.every((doc) => doc.text.length > 0)).toBe(true);
    // No test query id is also a corpus id, so BEIR's identical-id rule never fires on SciFact test.
    const docIds = new Set(docs.map((doc) => doc.id));
    expect([...dataset.queries.keys()].filter((queryId) => docIds.has(queryId))).toEqual([]);
  });

  it('loads the train split: 809 queries and 919 judgments', async () => {
    const dataset = await loadBeirDataset(SCIFACT_DIR, { split: 'train' });
    expect(dataset.queries.size).toBe(809);
    expect(countJudgments(dataset.qrels)).toBe(919);
  });

  it('scores a perfect run (every judged doc at the top) at 1 for nDCG@10, recall@100 and MRR@10', async () => {
    const dataset = await loadBeirDataset(SCIFACT_DIR, { split: 'test' });
    const run = new Map(
      [...dataset.qrels].map(([queryId, judgments]) => [
        queryId,
        [...judgments.keys()].map((docId, i) => ({ docId, score: 100 - i })),
      ]),
    );
    const result = evaluateRun(run, dataset.qrels, { k: [10, 100] });
    expect(result.evaluatedQueries).toBe(300);
    expect(result.mean['ndcg@10']).toBe(1);
    expect(result.mean['recall@100']).toBe(1);
    expect(result.mean['mrr@10']).toBe(1);
    expect(result.queriesMissingFromRun).toEqual([]);
  });
});
