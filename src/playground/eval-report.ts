/**
 * Reads the files `localkb eval --output` writes (one run: metrics, recall@k, per-query scores) and the
 * multi-run reports of formatMetricsJson, into one plain shape the evaluation view draws.
 */
import { kbError } from '../errors.js';

export interface EvalRun {
  name: string;
  dataset?: string;
  split?: string;
  searchType?: string;
  embedder?: string;
  rerank?: string;
  queries?: number;
  /** Mean metrics, each in [0, 1]: ndcg@10, recall@10, recall@100… */
  metrics: Record<string, number>;
  /** Mean recall at each cutoff, k ascending. */
  recallCurve: { k: number; recall: number }[];
  /** Per-query metrics, when the file has them (localkb eval --output does). */
  perQuery: { id: string; query?: string; metrics: Record<string, number> }[];
}

const MAX_PER_QUERY = 100_000;

/** The runs in one eval file, checked field by field; `file` names it in errors. */
export function evalRunsOf(report: unknown, file: string): EvalRun[] {
  const root = objectAt(report, file, '(root)');
  if (Array.isArray(root.runs)) {
    // formatMetricsJson: { metrics: [...], runs: [{ name, queries?, metrics }] }
    return root.runs.map((entry, i) => {
      const run = objectAt(entry, file, `runs[${i}]`);
      const metrics = metricsAt(run.metrics, file, `runs[${i}].metrics`);
      return {
        name: stringAt(run.name, file, `runs[${i}].name`),
        ...(typeof root.dataset === 'string' ? { dataset: root.dataset } : {}),
        ...(typeof run.queries === 'number' ? { queries: run.queries } : {}),
        metrics,
        recallCurve: curveFromMetrics(metrics),
        perQuery: [],
      };
    });
  }
  const metrics = metricsAt(root.metrics, file, 'metrics');
  const recallCurve =
    root.recallAtK === undefined
      ? curveFromMetrics(metrics)
      : Object.entries(objectAt(root.recallAtK, file, 'recallAtK'))
          .map(([k, value]) => {
            const cutoff = Number(k);
            if (!Number.isInteger(cutoff) || cutoff < 1)
              invalid(file, `recallAtK.${k}`, 'keyed by a cutoff k ≥ 1');
            return { k: cutoff, recall: fractionAt(value, file, `recallAtK.${k}`) };
          })
          .sort((a, b) => a.k - b.k);
  let perQuery: EvalRun['perQuery'] = [];
  if (root.perQuery !== undefined) {
    if (!Array.isArray(root.perQuery) || root.perQuery.length > MAX_PER_QUERY) {
      invalid(file, 'perQuery', `an array of at most ${MAX_PER_QUERY} queries`);
    }
    perQuery = root.perQuery.map((entry, i) => {
      const row = objectAt(entry, file, `perQuery[${i}]`);
      const { id, query, ...scores } = row;
      return {
        id: stringAt(typeof id === 'number' ? String(id) : id, file, `perQuery[${i}].id`),
        ...(typeof query === 'string' ? { query } : {}),
        metrics: metricsAt(scores, file, `perQuery[${i}]`),
      };
    });
  }
  const optional = (key: string) =>
    typeof root[key] === 'string' && root[key] !== '' ? root[key] : undefined;
  const name =
    optional('name') ??
    [
      optional('embedder'),
      optional('searchType'),
      optional('rerank') ? `rerank ${optional('rerank')}` : undefined,
    ]
      .filter(Boolean)
      .join(' ');
  return [
    {
      name: name || file,
      ...(optional('dataset') ? { dataset: optional('dataset')! } : {}),
      ...(optional('split') ? { split: optional('split')! } : {}),
      ...(optional('searchType') ? { searchType: optional('searchType')! } : {}),
      ...(optional('embedder') ? { embedder: optional('embedder')! } : {}),
      ...(optional('rerank') ? { rerank: optional('rerank')! } : {}),
      ...(typeof root.queries === 'number' ? { queries: root.queries } : {}),
      metrics,
      recallCurve,
      perQuery,
    },
  ];
}

function curveFromMetrics(metrics: Record<string, number>): EvalRun['recallCurve'] {
  return Object.entries(metrics)
    .flatMap(([name, recall]) => {
      const match = /^recall@(\d+)$/.exec(name);
      return match ? [{ k: Number(match[1]), recall }] : [];
    })
    .sort((a, b) => a.k - b.k);
}

function invalid(file: string, keyPath: string, expected: string): never {
  throw kbError(
    'INVALID_OPTION',
    `${file}: ${keyPath} must be ${expected}; load a file written by localkb eval --output.`,
    { input: `${file}:${keyPath}` },
  );
}

function objectAt(value: unknown, file: string, keyPath: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    invalid(file, keyPath, 'a JSON object');
  return value as Record<string, unknown>;
}

function stringAt(value: unknown, file: string, keyPath: string): string {
  if (typeof value !== 'string' || value === '') invalid(file, keyPath, 'a non-empty string');
  return value;
}

function fractionAt(value: unknown, file: string, keyPath: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    invalid(file, keyPath, 'a number from 0 to 1');
  return value;
}

/** Metric names look like ndcg@10, recall@100, map, mrr@10; every value is a fraction. */
function metricsAt(value: unknown, file: string, keyPath: string): Record<string, number> {
  const entries = Object.entries(objectAt(value, file, keyPath));
  if (entries.length === 0) invalid(file, keyPath, 'an object of metrics (ndcg@10, recall@10…)');
  const metrics: Record<string, number> = {};
  for (const [name, score] of entries) {
    if (!/^[a-z][a-z0-9_]*(@\d+)?$/i.test(name))
      invalid(file, `${keyPath}.${name}`, 'a metric name like ndcg@10');
    metrics[name] = fractionAt(score, file, `${keyPath}.${name}`);
  }
  return metrics;
}
