import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  formatMetricsJson,
  formatMetricsTable,
  loadReferenceScores,
  type ReferenceScore,
  selectReferenceScores,
} from '../../src/eval/report.js';

const REFERENCE_DIR = path.resolve(import.meta.dirname, '../../../shared/data/reference-scores');
const hasReferences = existsSync(path.join(REFERENCE_DIR, 'published_scores.json'));
if (!hasReferences) {
  console.warn(
    `[eval/report] reference-score tests skipped: ${REFERENCE_DIR} not found (shared data absent).`,
  );
}

describe.skipIf(!hasReferences)('loadReferenceScores on the shared reference files', () => {
  it('has the published SciFact nDCG@10 numbers the project compares against', async () => {
    const rows = selectReferenceScores(await loadReferenceScores(REFERENCE_DIR), {
      dataset: 'scifact',
      metric: 'ndcg@10',
    });
    const byName = new Map(rows.map((row) => [row.name, row.value]));
    expect(byName.get('BM25 (BEIR paper, Elasticsearch)')).toBe(0.665);
    expect(byName.get('BM25 flat (Anserini)')).toBe(0.6789);
    expect(byName.get('BM25 multifield (Anserini)')).toBe(0.6647);
    expect(byName.get('BM25 + MiniLM cross-encoder (BEIR paper)')).toBe(0.688);
    expect(byName.get('all-MiniLM-L6-v2 (MTEB)')).toBe(0.64508);
    expect(byName.get('bge-small-en-v1.5 (MTEB)')).toBe(0.71273);
    for (const row of rows) expect(row.source.length).toBeGreaterThan(10);
  });

  it('renames MTEB metric keys to ours and keeps recall@100 and mrr@10', async () => {
    const rows = selectReferenceScores(await loadReferenceScores(REFERENCE_DIR), {
      dataset: 'scifact',
      name: 'all-MiniLM-L6-v2 (MTEB)',
    });
    const metrics = new Map(rows.map((row) => [row.metric, row.value]));
    expect(metrics.get('recall@100')).toBe(0.925);
    expect(metrics.get('mrr@10')).toBe(0.60472);
    expect(metrics.get('map@10')).toBe(0.59593);
    expect(metrics.get('precision@10')).toBe(0.08833);
  });

  it('agrees with the MTEB leaderboard summary that published_scores.json repeats', async () => {
    const published = JSON.parse(await readFile(path.join(REFERENCE_DIR, 'published_scores.json'), 'utf8'));
    const rows = await loadReferenceScores(REFERENCE_DIR);
    const leaderboard = published.mteb_leaderboard.ndcg_at_10 as Record<string, Record<string, number>>;
    for (const [dataset, models] of Object.entries(leaderboard)) {
      for (const [model, value] of Object.entries(models)) {
        const shortName = model === 'bm25s (mteb baseline)' ? 'baseline-bm25s' : model;
        const [row] = selectReferenceScores(rows, {
          dataset,
          metric: 'ndcg@10',
          name: `${shortName} (MTEB)`,
        });
        expect(row?.value, `${dataset} ${model}`).toBe(value);
      }
    }
  });
});

describe('loadReferenceScores on malformed files', () => {
  it('names the file and key that is wrong', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'localkb-refs-'));
    try {
      await writeFile(
        path.join(dir, 'published_scores.json'),
        JSON.stringify({
          beir_paper_table2: { source: 'paper', ndcg_at_10: { scifact: { bm25: 66.5 } } },
          anserini_bm25_regressions: { source: 'anserini' },
        }),
      );
      await writeFile(path.join(dir, 'mteb_scores.json'), JSON.stringify({ rows: [] }));
      let thrown: unknown;
      try {
        await loadReferenceScores(dir);
      } catch (error) {
        thrown = error;
      }
      expect(isLocalKbError(thrown, 'DATASET_INVALID')).toBe(true);
      expect((thrown as Error).message).toContain('beir_paper_table2.ndcg_at_10.scifact.bm25');
      expect((thrown as Error).message).toContain('published_scores.json');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('formatMetricsTable', () => {
  const references: ReferenceScore[] = [
    { name: 'BM25 (paper)', dataset: 'scifact', metric: 'ndcg@10', value: 0.665, source: 'Paper, Table 2' },
    {
      name: 'MiniLM (MTEB)',
      dataset: 'scifact',
      metric: 'ndcg@10',
      value: 0.64508,
      source: 'results/x.json',
    },
    {
      name: 'MiniLM (MTEB)',
      dataset: 'scifact',
      metric: 'recall@100',
      value: 0.925,
      source: 'results/x.json',
    },
    {
      name: 'MiniLM (MTEB)',
      dataset: 'nfcorpus',
      metric: 'ndcg@10',
      value: 0.31594,
      source: 'results/y.json',
    },
  ];
  const rows = [
    {
      name: 'localkb bm25',
      queries: 300,
      metrics: { 'ndcg@10': 0.67123456, 'recall@100': 0.924, 'mrr@10': 0.64 },
    },
  ];

  it('aligns our rows and the chosen dataset’s published rows, with dashes for missing values', () => {
    const table = formatMetricsTable(rows, {
      references,
      dataset: 'SciFact',
      metrics: ['ndcg@10', 'recall@100'],
      title: 'SciFact test',
    });
    expect(table).toBe(
      [
        'SciFact test',
        'system         queries  ndcg@10  recall@100  source',
        'localkb bm25       300   0.6712      0.9240',
        'published (scifact):',
        'BM25 (paper)             0.6650           —  [1]',
        'MiniLM (MTEB)            0.6451      0.9250  [2]',
        '',
        '[1] Paper, Table 2',
        '[2] results/x.json',
        '',
      ].join('\n'),
    );
  });

  it('picks the default metric columns that the rows have', () => {
    const header = formatMetricsTable(rows).split('\n')[0];
    expect(header?.split(/\s+/)).toEqual(['system', 'queries', 'ndcg@10', 'recall@100', 'mrr@10']);
  });

  it('writes the same report as JSON with full precision', () => {
    const json = JSON.parse(formatMetricsJson(rows, { references, dataset: 'scifact' }));
    expect(json.dataset).toBe('scifact');
    expect(json.metrics).toEqual(['ndcg@10', 'recall@100', 'mrr@10']);
    expect(json.runs[0]).toEqual({ name: 'localkb bm25', queries: 300, metrics: rows[0]?.metrics });
    expect(json.references).toHaveLength(3);
  });
});
