import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalKnowledgeBase } from '../../kb/local-knowledge-base.js';
import { parseCommandArgs, stringOption } from '../args.js';
import { formatAnswer, formatResults } from '../format.js';
import { embedderChoice } from '../open-kb.js';

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

export async function demoCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('demo', argv, { embedder: { type: 'string' }, db: { type: 'string' } });
  if (args.values.help) {
    process.stdout.write('Usage: localkb demo [--embedder auto|minilm|use|none] [--db <file>]\n');
    return 0;
  }
  const keep = stringOption(args, 'db');
  const dir = keep ? undefined : mkdtempSync(path.join(os.tmpdir(), 'localkb-demo-'));
  const dbPath = keep ?? path.join(dir as string, 'demo.db');
  const out = process.stdout;
  try {
    const embedder = embedderChoice('demo', args);
    const kb = await LocalKnowledgeBase.open(dbPath, { embedder: embedder ?? 'auto', offline: true });
    try {
      out.write(`localkb demo — a small corpus on the history of lighthouses (Markdown, HTML and PDF)\n`);
      out.write(`embedder: ${kb.embedder?.id ?? 'none (BM25 only)'}`);
      out.write(kb.embedder ? ` (${kb.embedder.dimensions}-d, offline)\n` : '\n');
      const summary = await kb.ingest([corpusDir()]);
      out.write(
        `ingested ${summary.documentsAdded + summary.documentsUpdated} documents, ${summary.chunksEmbedded} chunks ` +
          `in ${(summary.durationMs / 1000).toFixed(1)} s into ${dbPath}\n`,
      );
      for (const skip of summary.skipped) out.write(`  skipped ${skip.path}: ${skip.reason}\n`);
      for (const question of QUESTIONS) {
        out.write(`\nQ: ${question}\n`);
        out.write(formatResults(await kb.retrieve(question, { k: 3 }), { width: 160 }));
      }
      const question = QUESTIONS[0] as string;
      out.write(`\nAnswer with citations (extractive generator, no model needed):\nQ: ${question}\n`);
      out.write(formatAnswer(await kb.retrieveAndGenerate(question, { k: 3 })));
    } finally {
      await kb.close();
    }
    return 0;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
