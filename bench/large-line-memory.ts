/**
 * Memory of loading and chunking one huge single-line text file (the audit's 50 MB line took ~64× its size),
 * beside the same bytes as ordinary paragraphs and beside loading alone. Each row runs in a fresh process and
 * reports its peak RSS above the RSS it started from (getrusage's high-water mark), and the heap left at the end.
 * Prints JSON, then a table. Run: npm run bench:large-line  (BENCH_LINE_MB sets the size, default 50;
 * BENCH_LINE_BASELINE=<another checkout, e.g. a git worktree of main> adds the same rows run on its src/, side by
 * side in the same run; chunkDigest equal across the two means both cut the very same chunks).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SENTENCE = 'lighthouse keepers log the tides ';
const whitespaceCounter = { count: (text: string) => text.split(/\s+/).filter(Boolean).length };

interface Measurement {
  peakRssMb: number;
  heapUsedMb: number;
  ms: number;
  chunks: number;
  /** SHA-256 of the chunks' offsets, to see two runs cut the same chunks. */
  chunkDigest: string;
}

async function child(scenario: string, file: string, root: string): Promise<void> {
  const source = (module: string) => pathToFileURL(path.join(root, 'src', module)).href;
  const { loadFile } = (await import(
    source('ingest/load-file.ts')
  )) as typeof import('../src/ingest/load-file.js');
  const { chunkDocument } = (await import(
    source('ingest/chunking/chunk-document.ts')
  )) as typeof import('../src/ingest/chunking/chunk-document.js');
  const { LocalKnowledgeBase } = (await import(
    source('kb/local-knowledge-base.ts')
  )) as typeof import('../src/kb/local-knowledge-base.js');
  global.gc?.();
  const startRss = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  let offsets: number[] = [];
  if (scenario === 'ingest') {
    const db = path.join(path.dirname(file), `${path.basename(file)}.db`);
    const kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
    await kb.ingest([file]);
    offsets = [(await kb.stats()).chunks ?? 0];
    await kb.close();
    fs.rmSync(db, { force: true });
  } else {
    const doc = await loadFile(file);
    if (scenario === 'load+chunk') {
      const chunks = chunkDocument(doc, whitespaceCounter, { strategy: 'recursive', maxTokens: 256 });
      offsets = chunks.flatMap((chunk) => [chunk.start, chunk.end]);
    }
  }
  const ms = performance.now() - started;
  const peak = process.resourceUsage().maxRSS * 1024;
  const result: Measurement = {
    peakRssMb: (peak - startRss) / 1e6,
    heapUsedMb: process.memoryUsage().heapUsed / 1e6,
    ms,
    chunks: scenario === 'load+chunk' ? offsets.length / 2 : (offsets[0] ?? 0),
    chunkDigest: createHash('sha256').update(offsets.join(',')).digest('hex').slice(0, 12),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function main(): void {
  const mb = Number(process.env.BENCH_LINE_MB ?? 50);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-line-'));
  const repeats = Math.ceil((mb * 1e6) / SENTENCE.length);
  const files = {
    'one line': path.join(dir, 'one-line.txt'),
    paragraphs: path.join(dir, 'paragraphs.txt'),
  };
  fs.writeFileSync(files['one line'], SENTENCE.repeat(repeats));
  // The same bytes as paragraphs of ~40 sentences, the shape chunkers are usually fed.
  const paragraph = `${`${SENTENCE.trim()}. `.repeat(40).trim()}\n\n`;
  fs.writeFileSync(files.paragraphs, paragraph.repeat(Math.ceil((mb * 1e6) / paragraph.length)));
  const self = fileURLToPath(import.meta.url);
  const roots: [string, string][] = [['this checkout', path.resolve(path.dirname(self), '..')]];
  if (process.env.BENCH_LINE_BASELINE)
    roots.push(['baseline', path.resolve(process.env.BENCH_LINE_BASELINE)]);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [shape, file] of Object.entries(files)) {
      const bytes = fs.statSync(file).size;
      for (const scenario of ['load', 'load+chunk', 'ingest'])
        for (const [code, root] of roots) {
          const output = execFileSync(
            process.execPath,
            ['--expose-gc', '--import', 'tsx', self, '--child', scenario, file, root],
            { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'ignore'] },
          );
          const measured = JSON.parse(output.trim().split('\n').at(-1)!) as Measurement;
          rows.push({
            code,
            file: shape,
            fileMb: Math.round(bytes / 1e5) / 10,
            scenario,
            peakRssMb: Math.round(measured.peakRssMb),
            timesFileSize: Math.round((measured.peakRssMb * 1e6 * 10) / bytes) / 10,
            heapUsedMb: Math.round(measured.heapUsedMb),
            seconds: Math.round(measured.ms / 100) / 10,
            chunks: measured.chunks,
            chunkDigest: scenario === 'load' ? '' : measured.chunkDigest,
          });
        }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `${JSON.stringify({ bench: 'large-line-memory', target: '≤ 10× file size', rows }, null, 2)}\n\n`,
  );
  console.table(rows);
}

const at = process.argv.indexOf('--child');
if (at !== -1) await child(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!);
else main();
