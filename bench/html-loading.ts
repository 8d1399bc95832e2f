/**
 * HTML loading on hostile pages: time and memory of htmlToText against node-html-parser (the tree-building parser
 * localkb used before) on unclosed elements, deep nesting and one huge line. Prints JSON, then a table.
 * Run: npm run bench:html  (BENCH_HTML_MAX_MB caps the largest page, default 6)
 */
import { parse } from 'node-html-parser';
import { htmlToText } from '../src/ingest/loaders/html.js';

const maxMb = Number(process.env.BENCH_HTML_MAX_MB ?? 6);
/** The baseline grows quadratically; stop it past this many ms so the bench stays bounded. */
const BASELINE_BUDGET_MS = 20_000;

interface Row {
  page: string;
  mb: number;
  renderer: string;
  ms: number | null;
  msPerMb: number | null;
  heapMbDelta: number;
  note?: string;
}

function measure(run: () => unknown): { ms: number; heapMbDelta: number } | { error: string } {
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  try {
    const kept = run();
    const ms = performance.now() - start;
    const heapMbDelta = (process.memoryUsage().heapUsed - before) / 1e6;
    void kept;
    return { ms, heapMbDelta };
  } catch (error) {
    return { error: (error as Error).message.slice(0, 60) };
  }
}

const pages: { page: string; build: (mb: number) => string; sizes: number[] }[] = [
  {
    page: 'unclosed elements',
    build: (mb) => '<div><span><b><p>word <i>x</i> '.repeat(Math.ceil((mb * 1e6) / 32)),
    sizes: [0.05, 0.1, 0.2, 1, 2, 6].filter((mb) => mb <= maxMb),
  },
  {
    page: 'nesting (depth = size/11)',
    build: (mb) => {
      const depth = Math.ceil((mb * 1e6) / 24);
      return `${'<div><span>'.repeat(depth)}deep${'</span></div>'.repeat(depth)}`;
    },
    sizes: [0.05, 0.24, 1].filter((mb) => mb <= maxMb),
  },
  {
    page: 'one 50 MB line of text in <p>',
    build: (mb) => `<p>${'lighthouse keepers log the tides '.repeat(Math.ceil((mb * 1e6) / 33))}</p>`,
    sizes: [Math.min(50, maxMb * 10)],
  },
];

const rows: Row[] = [];
for (const { page, build, sizes } of pages) {
  let baselineOver = false;
  for (const mb of sizes) {
    const html = build(mb);
    const ours = measure(() => htmlToText(html));
    rows.push(row(page, mb, 'localkb htmlToText', ours));
    if (baselineOver) {
      rows.push({
        page,
        mb,
        renderer: 'node-html-parser parse',
        ms: null,
        msPerMb: null,
        heapMbDelta: 0,
        note: 'skipped: over budget at a smaller size',
      });
      continue;
    }
    const base = measure(() => parse(html, { comment: false }));
    const baseRow = row(page, mb, 'node-html-parser parse', base);
    rows.push(baseRow);
    if ((baseRow.ms ?? Number.POSITIVE_INFINITY) > BASELINE_BUDGET_MS / 4) baselineOver = true;
  }
}

function row(page: string, mb: number, renderer: string, m: ReturnType<typeof measure>): Row {
  if ('error' in m) return { page, mb, renderer, ms: null, msPerMb: null, heapMbDelta: 0, note: m.error };
  return {
    page,
    mb,
    renderer,
    ms: Math.round(m.ms),
    msPerMb: Math.round(m.ms / mb),
    heapMbDelta: Math.round(m.heapMbDelta),
  };
}

console.log(JSON.stringify({ maxMb, rows }, null, 2));
console.table(rows);
