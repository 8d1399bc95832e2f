import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalKnowledgeBase } from '../../kb/local-knowledge-base.js';
import { parseCommandArgs, stringOption } from '../args.js';
import { formatAnswer, formatResults } from '../format.js';
import { announceEmbedderNotice, localOptionsFrom, MODEL_HELP, MODEL_OPTIONS } from '../open-kb.js';

const QUESTIONS = [
  'Who designed the Pharos of Alexandria?',
  'How did the Fresnel lens make lights visible further out to sea?',
  'What did lighthouse keepers do during a night watch?',
  'Which Eddystone lighthouse was built of interlocking granite blocks?',
];

/** The bundled corpus sits beside the package: examples/corpus, both from src/ (tsx) and from dist/ (built). */
function corpusDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '../../../examples/corpus');
  if (!existsSync(dir)) throw new Error(`The demo corpus is missing at ${dir}; reinstall localkb.`);
  return dir;
}

const HELP = `Usage: localkb demo [--embedder auto|minilm|use|none] [--model-path <dir>] [--db <file>] [--json]

Ingests the bundled corpus (the history of lighthouses: Markdown, HTML and PDF) offline, runs a few questions and
answers one with citations, no model needed.

Options:
${MODEL_HELP}
  --db <file>              keep the store there (default: a temporary one, removed after)
  --json                   print { embedderId, ingest, questions: [{ question, results }], answer } as JSON`;

export async function demoCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('demo', argv, {
    ...MODEL_OPTIONS,
    db: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const keep = stringOption(args, 'db');
  const dir = keep ? undefined : mkdtempSync(path.join(os.tmpdir(), 'localkb-demo-'));
  const dbPath = keep ?? path.join(dir as string, 'demo.db');
  const out = process.stdout;
  try {
    // Offline always: the demo must never reach for the network.
    const kb = await LocalKnowledgeBase.open(dbPath, { ...localOptionsFrom('demo', args), offline: true });
    announceEmbedderNotice('demo', kb);
    try {
      const summary = await kb.ingest([corpusDir()]);
      const questions = [];
      for (const question of QUESTIONS)
        questions.push({ question, results: await kb.retrieve(question, { k: 3 }) });
      const asked = QUESTIONS[0] as string;
      const answer = await kb.retrieveAndGenerate(asked, { k: 3, citationMarkers: true });
      if (args.values.json) {
        const embedderId = kb.embedder?.id ?? 'none';
        out.write(
          `${JSON.stringify({ db: dbPath, embedderId, ingest: summary, questions, answer }, null, 2)}\n`,
        );
        return 0;
      }
      out.write(`localkb demo — a small corpus on the history of lighthouses (Markdown, HTML and PDF)\n`);
      out.write(`embedder: ${kb.embedder?.id ?? 'none (BM25 only)'}`);
      out.write(kb.embedder ? ` (${kb.embedder.dimensions}-d, offline)\n` : '\n');
      out.write(
        `ingested ${summary.documentsAdded + summary.documentsUpdated} documents, ${summary.chunksEmbedded} chunks ` +
          `in ${(summary.durationMs / 1000).toFixed(1)} s into ${dbPath}\n`,
      );
      for (const skip of summary.skipped) out.write(`  skipped ${skip.path}: ${skip.reason}\n`);
      for (const { question, results } of questions) {
        out.write(`\nQ: ${question}\n`);
        out.write(formatResults(results, { width: 160 }));
      }
      out.write(`\nAnswer with citations (extractive generator, no model needed):\nQ: ${asked}\n`);
      out.write(formatAnswer(answer));
    } finally {
      await kb.close();
    }
    return 0;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
