/**
 * npm run bench:pdf — the PDF stacks side by side on the 31 real PDFs of ../shared/data/pdf-sample-files: pdf-parse
 * (the extraction localkb used before, the baseline), pdfjs-dist's legacy build called directly, and unpdf's
 * dependency-free pdf.js build (what the loader uses now), the last two through the loader's page assembly.
 * Per file: the outcome (pages, or the pdf.js error), word-bigram similarity to the baseline, to pdftotext's
 * character count and first 80 characters (manifest) and, for GeoTopo, to its ground-truth text. Then totals:
 * time for all files and the installed size of each stack as measured in node_modules.
 *
 *   npx tsx bench/pdf-text.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { cleanPageText, type PdfJsModule, readPdfPages } from '../src/ingest/loaders/pdf.js';
import { bigramSimilarity } from '../test/helpers/text-similarity.js';
import { printTable, repoRoot, requireSharedData } from './shared-data.js';

const samples = requireSharedData('pdf-sample-files');
interface ManifestEntry {
  path: string;
  pages: number | null;
  pdftotext_chars: number;
  pdftotext_head: string;
}
const manifest: ManifestEntry[] = JSON.parse(readFileSync(path.join(samples, 'manifest.json'), 'utf8')).files;
const geoTopoTruth: string = JSON.parse(
  readFileSync(path.join(samples, 'geotopo_ground_truth.json'), 'utf8'),
).text;

type Outcome = { pageTexts: string[] } | { error: string };
type Extractor = (bytes: Uint8Array) => Promise<Outcome>;

/** The loader before this change, call for call: pdf-parse's getText, one string per page. */
async function pdfParse(bytes: Uint8Array): Promise<Outcome> {
  const { PDFParse, VerbosityLevel } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(bytes), verbosity: VerbosityLevel.ERRORS });
  try {
    const result = await parser.getText({ pageJoiner: '' });
    return { pageTexts: result.pages.map((page) => cleanPageText(page.text)) };
  } catch (error) {
    return { error: (error as Error).name };
  } finally {
    await parser.destroy();
  }
}

function throughLoader(load: () => Promise<unknown>): Extractor {
  return async (bytes) => {
    const pdfjs = (await load()) as PdfJsModule;
    try {
      return { pageTexts: (await readPdfPages(pdfjs, bytes)).pageTexts };
    } catch (error) {
      return { error: (error as Error).name };
    }
  };
}

const extractors: Record<string, Extractor> = {
  'pdf-parse': pdfParse,
  'pdfjs-dist legacy': throughLoader(() => import('pdfjs-dist/legacy/build/pdf.mjs')),
  unpdf: throughLoader(() => import('unpdf/pdfjs')),
};

/** Installed bytes of the packages a stack brings into an app (from this repository's node_modules). */
const STACKS: Record<string, string[]> = {
  'pdf-parse': ['pdf-parse', 'pdfjs-dist', '@napi-rs/canvas', '@napi-rs/canvas-linux-x64-gnu'],
  // pdfjs-dist lists @napi-rs/canvas as an optional dependency, which npm installs by default.
  'pdfjs-dist legacy': ['pdfjs-dist', '@napi-rs/canvas', '@napi-rs/canvas-linux-x64-gnu'],
  unpdf: ['unpdf'],
};
function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
  }
  return total;
}
function installedMB(packages: string[]): number {
  let bytes = 0;
  for (const name of packages) {
    try {
      bytes += folderBytes(path.join(repoRoot, 'node_modules', name));
    } catch {
      // Not installed on this platform (the canvas binary for another CPU).
    }
  }
  return bytes / 1e6;
}

const words = (text: string) => text.replace(/\s+/g, ' ').trim();
/** How much of pdftotext's first 80 characters the extraction's opening reproduces, as bigram similarity. */
const headSimilarity = (text: string, head: string) =>
  head.trim() === '' ? Number.NaN : bigramSimilarity(words(text).slice(0, head.length + 20), head);

const names = Object.keys(extractors);
const rows: Record<string, string | number>[] = [];
const totals = Object.fromEntries(names.map((n) => [n, { ms: 0 }]));
const perFile: unknown[] = [];
for (const name of names) await extractors[name]!(readFileSync(path.join(samples, manifest[0]!.path))); // warm-up
for (const entry of manifest) {
  const bytes = readFileSync(path.join(samples, entry.path));
  const outcomes: Record<string, Outcome> = {};
  for (const name of names) {
    const start = performance.now();
    outcomes[name] = await extractors[name]!(bytes);
    totals[name]!.ms += performance.now() - start;
  }
  const baseline = outcomes['pdf-parse']!;
  const baseText = 'pageTexts' in baseline ? baseline.pageTexts.join('\n\n') : '';
  const row: Record<string, string | number> = { file: entry.path.split('/').pop()!.slice(0, 28) };
  const record: Record<string, unknown> = { file: entry.path, pdftotextChars: entry.pdftotext_chars };
  for (const name of names) {
    const outcome = outcomes[name]!;
    if ('error' in outcome) {
      row[name] = outcome.error;
      record[name] = { error: outcome.error };
      continue;
    }
    const text = outcome.pageTexts.join('\n\n');
    const chars = outcome.pageTexts.reduce((sum, t) => sum + t.length, 0);
    const result = {
      pages: outcome.pageTexts.length,
      chars,
      vsBaseline: bigramSimilarity(text, baseText),
      vsPdftotextHead: headSimilarity(text, entry.pdftotext_head),
      ...(entry.path.startsWith('009') ? { vsGroundTruth: bigramSimilarity(text, geoTopoTruth) } : {}),
    };
    record[name] = result;
    row[name] =
      `${result.pages}p ${chars}c` +
      (name === 'pdf-parse' ? '' : ` ${result.vsBaseline.toFixed(3)}`) +
      (Number.isNaN(result.vsPdftotextHead) ? '' : ` h${result.vsPdftotextHead.toFixed(2)}`) +
      (result.vsGroundTruth === undefined ? '' : ` gt${result.vsGroundTruth.toFixed(3)}`);
  }
  row.pdftotext = `${entry.pages ?? '-'}p ${entry.pdftotext_chars}c`;
  rows.push(row);
  perFile.push(record);
}
const summary = names.map((name) => ({
  stack: name,
  'all files ms': Math.round(totals[name]!.ms),
  'installed MB': Number(installedMB(STACKS[name]!).toFixed(1)),
}));
console.log(JSON.stringify({ files: perFile, summary }, null, 1));
console.log(
  '\nper file: pages, characters, bigram similarity to pdf-parse, h = to pdftotext head, gt = to ground truth',
);
console.log(printTable(rows));
console.log(`\n${printTable(summary)}`);
