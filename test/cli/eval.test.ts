import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';

function localkb(args: string[]) {
  return runCli(args);
}

const TOPICS = [
  'lighthouse lens optics',
  'granite masonry tower',
  'foghorn diaphone signal',
  'keeper logbook watch',
  'paraffin lamp wick',
  'clockwork rotation flash',
  'reef rock foundation',
  'automation remote monitoring',
];

let dir: string;
let beir: string;

/** A small BEIR-format dataset as shipped: JSONL corpus and queries, qrels with a header and CRLF lines. */
function writeDataset(): string {
  const folder = path.join(dir, 'tinybeir');
  mkdirSync(path.join(folder, 'qrels'), { recursive: true });
  const corpus: string[] = [];
  TOPICS.forEach((topic, t) => {
    for (let d = 0; d < 3; d++) {
      corpus.push(
        JSON.stringify({ _id: `d${t}-${d}`, title: `${topic} ${d}`, text: `A note on ${topic}, part ${d}.` }),
      );
    }
  });
  writeFileSync(path.join(folder, 'corpus.jsonl'), `${corpus.join('\n')}\n`);
  const queries = TOPICS.map((topic, t) =>
    JSON.stringify({ _id: `q${t}`, text: topic.split(' ').slice(0, 2).join(' ') }),
  );
  writeFileSync(path.join(folder, 'queries.jsonl'), `${queries.join('\n')}\n`);
  const qrels = (ids: number[]) =>
    ['query-id\tcorpus-id\tscore', ...ids.map((t) => `q${t}\td${t}-0\t1`)].join('\r\n') + '\r\n';
  writeFileSync(path.join(folder, 'qrels/test.tsv'), qrels([0, 1, 2, 3]));
  writeFileSync(path.join(folder, 'qrels/train.tsv'), qrels([4, 5, 6, 7]));
  return folder;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-eval-cli-'));
  beir = writeDataset();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('localkb eval', () => {
  it('builds a BM25-only store from a BEIR folder and reports the metrics under their BEIR names', async () => {
    const output = path.join(dir, 'bm25.json');
    const result = await localkb([
      'eval',
      '--beir',
      beir,
      '--db',
      path.join(dir, 'bm25.db'),
      '--embedder',
      'none',
      '--json',
      '--output',
      output,
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      split: 'test',
      queries: 4,
      embedder: 'none',
      searchType: 'bm25',
      documents: 24,
    });
    expect(Object.keys(report.metrics)).toEqual(
      expect.arrayContaining(['ndcg@10', 'recall@10', 'recall@100', 'mrr@10', 'map']),
    );
    // each query's two words appear only in its own topic's three documents, so the judged one is in the top 3
    expect(report.metrics['recall@10']).toBe(1);
    expect(report.metrics['mrr@10']).toBeGreaterThanOrEqual(1 / 3);
    expect(JSON.parse(readFileSync(output, 'utf8')).metrics).toEqual(report.metrics);
  });

  it("writes recall at each cutoff and every query's scores with its text into --output", async () => {
    const output = path.join(dir, 'bm25-queries.json');
    const result = await localkb([
      'eval',
      '--beir',
      beir,
      '--db',
      path.join(dir, 'bm25.db'),
      '--output',
      output,
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(output, 'utf8'));
    expect(Object.keys(report.recallAtK).map(Number)).toEqual([1, 3, 5, 10, 20, 50, 100]);
    expect(report.recallAtK['10']).toBe(report.metrics['recall@10']);
    expect(report.perQuery).toHaveLength(4);
    expect(report.perQuery).toContainEqual(
      expect.objectContaining({ id: 'q0', query: 'lighthouse lens', 'recall@10': 1 }),
    );
    const mean =
      report.perQuery.reduce((sum: number, q: Record<string, number>) => sum + q['ndcg@10']!, 0) / 4;
    expect(mean).toBeCloseTo(report.metrics['ndcg@10'], 12);
  });

  it('tunes hybrid weights on the train split and refuses to tune on the split it reports', async () => {
    const db = path.join(dir, 'tuned.db');
    const model = ['--embedder', 'minilm', '--model-path', TINY_EMBEDDER_PATH, '--offline'];
    const tuned = await localkb(['eval', '--beir', beir, '--db', db, ...model, '--tune', '--json']);
    expect(tuned.code).toBe(0);
    const report = JSON.parse(tuned.stdout);
    expect(report.tuning.queries).toBe(4);
    expect(['rrf', 'weighted']).toContain(report.tuning.method);
    expect(report.tuning.weights.semantic + report.tuning.weights.bm25).toBeCloseTo(1, 6);

    const cheating = await localkb([
      'eval',
      '--beir',
      beir,
      '--db',
      db,
      ...model,
      '--tune',
      '--tune-split',
      'test',
    ]);
    expect(cheating.code).toBe(2);
    expect(cheating.stderr).toContain('never tune on the queries you report');
  });

  it('names a malformed dataset file and line', async () => {
    const broken = path.join(dir, 'broken');
    mkdirSync(path.join(broken, 'qrels'), { recursive: true });
    writeFileSync(path.join(broken, 'corpus.jsonl'), '{"_id": "a", "text": "ok"}\n');
    writeFileSync(path.join(broken, 'queries.jsonl'), '{"_id": "q1", "text": "ok"}\nnot json\n');
    writeFileSync(path.join(broken, 'qrels/test.tsv'), 'query-id\tcorpus-id\tscore\nq1\ta\t1\n');
    const result = await localkb([
      'eval',
      '--beir',
      broken,
      '--db',
      path.join(dir, 'broken.db'),
      '--embedder',
      'none',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/queries\.jsonl.*line 2|line 2.*queries\.jsonl/);
    expect(result.stderr).toContain('[DATASET_INVALID]');
  });
});
