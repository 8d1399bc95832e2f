/**
 * Reports of retrieval metrics: an aligned text table and JSON, with published reference scores side by side.
 * Reference scores come from shared/data/reference-scores (published_scores.json, mteb_scores.json), read by
 * `loadReferenceScores` into flat rows named with this package's metric names (ndcg@10, recall@100, …).
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';

/** One published number: a system's score on a dataset's test split. */
export interface ReferenceScore {
  name: string;
  /** Lower-case BEIR dataset name: 'scifact', 'nfcorpus', … */
  dataset: string;
  /** Metric in this package's naming: 'ndcg@10', 'recall@100', 'mrr@10', 'map@10', 'precision@10'. */
  metric: string;
  /** A fraction in [0, 1]. */
  value: number;
  /** Where the number comes from: a paper table, a regression page or a results file URL. */
  source: string;
}

/** One of our runs: a name and its mean metrics (e.g. `{ name: 'bm25', metrics: evaluation.mean }`). */
export interface MetricsRow {
  name: string;
  metrics: Readonly<Record<string, number>>;
  /** Number of evaluated queries, shown when given. */
  queries?: number;
}

export interface MetricsReportOptions {
  /** Metric columns, in order. Default: the ones of DEFAULT_REPORT_METRICS that any row or reference has. */
  metrics?: readonly string[];
  /** Published rows to show below ours; filtered by `dataset` when given. */
  references?: readonly ReferenceScore[];
  dataset?: string;
  /** Decimal places in the text table. Default 4. */
  digits?: number;
  title?: string;
}

export const DEFAULT_REPORT_METRICS: readonly string[] = [
  'ndcg@10',
  'recall@10',
  'recall@100',
  'mrr@10',
  'map@10',
  'map',
  'precision@10',
];

/**
 * Reads published_scores.json and mteb_scores.json from `dir` into flat rows. The MTEB leaderboard summary
 * inside published_scores.json repeats mteb_scores.json, so only the latter (with per-file sources) is used.
 */
export async function loadReferenceScores(dir: string): Promise<ReferenceScore[]> {
  const publishedPath = path.join(dir, 'published_scores.json');
  const mtebPath = path.join(dir, 'mteb_scores.json');
  const published = asObject(await readJson(publishedPath), publishedPath, '(root)');
  const mteb = asObject(await readJson(mtebPath), mtebPath, '(root)');
  return [...publishedRows(published, publishedPath), ...mtebRows(mteb, mtebPath)];
}

/** Rows for one dataset and, optionally, one metric. */
export function selectReferenceScores(
  rows: readonly ReferenceScore[],
  filter: { dataset?: string; metric?: string; name?: string },
): ReferenceScore[] {
  return rows.filter(
    (row) =>
      (filter.dataset === undefined || row.dataset === filter.dataset.toLowerCase()) &&
      (filter.metric === undefined || row.metric === filter.metric) &&
      (filter.name === undefined || row.name === filter.name),
  );
}

/** An aligned text table: our rows, then published rows with numbered source notes. Missing values show '—'. */
const METRICS_REPORT_OPTIONS = declareOptions<MetricsReportOptions>('formatMetrics', {
  metrics: 'string[]',
  references: 'array',
  dataset: 'string',
  digits: 'integer',
  title: 'string',
});

export function formatMetricsTable(rows: readonly MetricsRow[], options: MetricsReportOptions = {}): string {
  checkOptions(METRICS_REPORT_OPTIONS, options);
  const digits = options.digits ?? 4;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw kbError('INVALID_OPTION', `Option digits must be an integer from 0 to 10; got ${String(digits)}.`, {
      input: 'digits',
    });
  }
  const references = pivotReferences(filteredReferences(options));
  const metrics = reportMetrics(rows, references, options.metrics);
  const showQueries = rows.some((row) => row.queries !== undefined);
  const sources = [...new Set(references.map((row) => row.source))];

  const header = [
    'system',
    ...(showQueries ? ['queries'] : []),
    ...metrics,
    ...(sources.length > 0 ? ['source'] : []),
  ];
  const cell = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(digits));
  const body: string[][] = rows.map((row) => [
    row.name,
    ...(showQueries ? [row.queries === undefined ? '—' : String(row.queries)] : []),
    ...metrics.map((metric) => cell(row.metrics[metric])),
    ...(sources.length > 0 ? [''] : []),
  ]);
  const referenceBody: string[][] = references.map((row) => [
    row.name,
    ...(showQueries ? [''] : []),
    ...metrics.map((metric) => cell(row.metrics[metric])),
    `[${sources.indexOf(row.source) + 1}]`,
  ]);

  const widths = header.map((title, column) =>
    Math.max(title.length, ...[...body, ...referenceBody].map((line) => (line[column] ?? '').length)),
  );
  // Names and sources read left-aligned; numbers right-aligned so decimal points line up.
  const format = (line: string[]) =>
    line
      .map((value, column) => {
        const width = widths[column] ?? 0;
        const leftAligned = column === 0 || (sources.length > 0 && column === line.length - 1);
        return leftAligned ? value.padEnd(width) : value.padStart(width);
      })
      .join('  ')
      .trimEnd();

  const out: string[] = [];
  if (options.title !== undefined) out.push(options.title);
  out.push(format(header));
  out.push(...body.map(format));
  if (referenceBody.length > 0) {
    out.push(`published${options.dataset === undefined ? '' : ` (${options.dataset.toLowerCase()})`}:`);
    out.push(...referenceBody.map(format));
    out.push('');
    out.push(...sources.map((source, i) => `[${i + 1}] ${source}`));
  }
  return `${out.join('\n')}\n`;
}

/** The same report as JSON (2-space indented): full metrics of our rows plus the selected reference rows. */
export function formatMetricsJson(rows: readonly MetricsRow[], options: MetricsReportOptions = {}): string {
  checkOptions(METRICS_REPORT_OPTIONS, options);
  const references = filteredReferences(options);
  const metrics = reportMetrics(rows, pivotReferences(references), options.metrics);
  const report = {
    ...(options.title === undefined ? {} : { title: options.title }),
    ...(options.dataset === undefined ? {} : { dataset: options.dataset.toLowerCase() }),
    metrics,
    runs: rows.map((row) => ({
      name: row.name,
      ...(row.queries === undefined ? {} : { queries: row.queries }),
      metrics: { ...row.metrics },
    })),
    references: references.filter((row) => metrics.includes(row.metric)),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

interface PivotedReference {
  name: string;
  source: string;
  metrics: Record<string, number>;
}

function filteredReferences(options: MetricsReportOptions): ReferenceScore[] {
  const references = options.references ?? [];
  return options.dataset === undefined ? [...references] : selectReferenceScores(references, options);
}

/** One row per (dataset, name, source), in first-seen order. */
function pivotReferences(rows: readonly ReferenceScore[]): PivotedReference[] {
  const byKey = new Map<string, PivotedReference>();
  const datasets = new Set(rows.map((row) => row.dataset));
  for (const row of rows) {
    const key = `${row.dataset}\u0000${row.name}\u0000${row.source}`;
    let pivoted = byKey.get(key);
    if (pivoted === undefined) {
      pivoted = {
        name: datasets.size > 1 ? `${row.name} [${row.dataset}]` : row.name,
        source: row.source,
        metrics: {},
      };
      byKey.set(key, pivoted);
    }
    pivoted.metrics[row.metric] = row.value;
  }
  return [...byKey.values()];
}

function reportMetrics(
  rows: readonly MetricsRow[],
  references: readonly PivotedReference[],
  requested: readonly string[] | undefined,
): string[] {
  if (requested !== undefined) return [...requested];
  const present = new Set([...rows, ...references].flatMap((row) => Object.keys(row.metrics)));
  const defaults = DEFAULT_REPORT_METRICS.filter((metric) => present.has(metric));
  return defaults.length > 0 ? defaults : [...present];
}

function publishedRows(published: Record<string, unknown>, file: string): ReferenceScore[] {
  const rows: ReferenceScore[] = [];

  const beir = asObject(published.beir_paper_table2, file, 'beir_paper_table2');
  const beirSource = asString(beir.source, file, 'beir_paper_table2.source');
  const beirNdcg = asObject(beir.ndcg_at_10, file, 'beir_paper_table2.ndcg_at_10');
  const beirNames: Record<string, string> = {
    bm25: 'BM25 (BEIR paper, Elasticsearch)',
    bm25_ce: 'BM25 + MiniLM cross-encoder (BEIR paper)',
  };
  for (const [dataset, systems] of Object.entries(beirNdcg)) {
    const keyPath = `beir_paper_table2.ndcg_at_10.${dataset}`;
    for (const [system, value] of Object.entries(asObject(systems, file, keyPath))) {
      rows.push({
        name: beirNames[system] ?? `${system} (BEIR paper)`,
        dataset: dataset.toLowerCase(),
        metric: 'ndcg@10',
        value: asFraction(value, file, `${keyPath}.${system}`),
        source: beirSource,
      });
    }
  }

  const anserini = asObject(published.anserini_bm25_regressions, file, 'anserini_bm25_regressions');
  const anseriniSource = asString(anserini.source, file, 'anserini_bm25_regressions.source');
  for (const [dataset, variants] of Object.entries(anserini)) {
    if (dataset === 'source' || dataset === 'setup') continue;
    const keyPath = `anserini_bm25_regressions.${dataset}`;
    for (const [variant, metrics] of Object.entries(asObject(variants, file, keyPath))) {
      for (const [metricKey, value] of Object.entries(asObject(metrics, file, `${keyPath}.${variant}`))) {
        rows.push({
          name: `BM25 ${variant} (Anserini)`,
          dataset: dataset.toLowerCase(),
          metric: metricName(metricKey, file, `${keyPath}.${variant}.${metricKey}`),
          value: asFraction(value, file, `${keyPath}.${variant}.${metricKey}`),
          source: anseriniSource,
        });
      }
    }
  }

  const sanity = published.sanity_reproduction_on_these_files;
  if (sanity !== undefined) {
    const check = asObject(sanity, file, 'sanity_reproduction_on_these_files');
    const source = `shared/data/reference-scores/published_scores.json: ${asString(check.what, file, 'sanity_reproduction_on_these_files.what')}`;
    for (const [key, value] of Object.entries(check)) {
      if (key === 'what') continue;
      const keyPath = `sanity_reproduction_on_these_files.${key}`;
      if (key === 'without_stemming') {
        for (const [datasetMetric, score] of Object.entries(asObject(value, file, keyPath))) {
          const [dataset = '', ...metricParts] = datasetMetric.split('_');
          rows.push({
            name: 'BM25 check on these files, no stemming',
            dataset,
            metric: metricName(metricParts.join('_'), file, `${keyPath}.${datasetMetric}`),
            value: asFraction(score, file, `${keyPath}.${datasetMetric}`),
            source,
          });
        }
        continue;
      }
      for (const [metricKey, score] of Object.entries(asObject(value, file, keyPath))) {
        rows.push({
          name: 'BM25 check on these files',
          dataset: key.toLowerCase(),
          metric: metricName(metricKey, file, `${keyPath}.${metricKey}`),
          value: asFraction(score, file, `${keyPath}.${metricKey}`),
          source,
        });
      }
    }
  }
  return rows;
}

function mtebRows(mteb: Record<string, unknown>, file: string): ReferenceScore[] {
  if (!Array.isArray(mteb.rows)) {
    throw kbError('DATASET_INVALID', `${file}: "rows" must be an array of MTEB results.`, { input: file });
  }
  return mteb.rows.flatMap((entry, index) => {
    const keyPath = `rows[${index}]`;
    const row = asObject(entry, file, keyPath);
    const model = asString(row.model, file, `${keyPath}.model`);
    const dataset = asString(row.task, file, `${keyPath}.task`).toLowerCase();
    const source = asString(row.source, file, `${keyPath}.source`);
    const name = `${model.slice(model.lastIndexOf('/') + 1)} (MTEB)`;
    return Object.entries(asObject(row.metrics, file, `${keyPath}.metrics`)).map(([metricKey, value]) => ({
      name,
      dataset,
      metric: metricName(metricKey, file, `${keyPath}.metrics.${metricKey}`),
      value: asFraction(value, file, `${keyPath}.metrics.${metricKey}`),
      source,
    }));
  });
}

/** 'ndcg_at_10' → 'ndcg@10'; MTEB's map_at_k is pytrec_eval's map_cut_k, i.e. our map@k. */
function metricName(key: string, file: string, keyPath: string): string {
  const match = /^(ndcg|recall|mrr|map|precision)_at_(\d+)$/.exec(key);
  if (match === null) {
    throw kbError(
      'DATASET_INVALID',
      `${file}: ${keyPath} is not a known metric (expected e.g. ndcg_at_10).`,
      {
        input: file,
      },
    );
  }
  return `${match[1]}@${match[2]}`;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw kbError('DATASET_INVALID', `${file} cannot be read (${(error as Error).message}).`, {
      input: file,
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw kbError('DATASET_INVALID', `${file} is not valid JSON (${(error as Error).message}).`, {
      input: file,
      cause: error,
    });
  }
}

function asObject(value: unknown, file: string, keyPath: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw kbError('DATASET_INVALID', `${file}: ${keyPath} must be a JSON object.`, { input: file });
  }
  return value as Record<string, unknown>;
}

function asString(value: unknown, file: string, keyPath: string): string {
  if (typeof value !== 'string' || value === '') {
    throw kbError('DATASET_INVALID', `${file}: ${keyPath} must be a non-empty string.`, { input: file });
  }
  return value;
}

function asFraction(value: unknown, file: string, keyPath: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw kbError('DATASET_INVALID', `${file}: ${keyPath} must be a fraction between 0 and 1.`, {
      input: file,
    });
  }
  return value;
}
