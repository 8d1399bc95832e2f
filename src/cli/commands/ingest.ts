import path from 'node:path';
import { parseCommandArgs, stringList, usageError } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';
import { ProgressLine } from '../progress.js';

const HELP = `Usage: localkb ingest <paths...> --db <file> [options]

Loads .txt, .md, .html and .pdf files (folders are walked), chunks and embeds them, and stores them in <file>.
Unchanged files are skipped; changed files replace their chunks.

Options:
  --db <file>            the SQLite knowledge base (created when missing)
  --embedder <name>      auto (default), minilm, use, or none (BM25 only)
  --model-path <dir>     a local transformers.js model folder for minilm (or LOCALKB_MODEL_PATH)
  --offline              never touch the network when loading models
  --include <glob>       only files matching the glob (repeatable)
  --exclude <glob>       skip files matching the glob (repeatable)
  --prune                delete stored documents under the given folders whose files are gone
  --quiet                no progress line`;

export async function ingestCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('ingest', argv, {
    ...KB_OPTIONS,
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    prune: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.positionals.length === 0) {
    throw usageError(
      'ingest',
      'give at least one file or folder to ingest, e.g. localkb ingest ./docs --db kb.db.',
    );
  }
  const kb = await openKnowledgeBase('ingest', args);
  const progress = args.values.quiet ? undefined : new ProgressLine();
  try {
    const include = stringList(args, 'include');
    const exclude = stringList(args, 'exclude');
    const summary = await kb.ingest(args.positionals, {
      ...(include.length ? { include } : {}),
      ...(exclude.length ? { exclude } : {}),
      prune: Boolean(args.values.prune),
      ...(progress ? { onProgress: (p) => progress.ingest(p) } : {}),
    });
    progress?.done();
    const seconds = summary.durationMs / 1000;
    const out = process.stdout;
    out.write(`Ingested into ${kb.describe()}\n`);
    out.write(
      `  files ${summary.filesSeen}: ${summary.documentsAdded} added, ${summary.documentsUpdated} updated, ` +
        `${summary.documentsUnchanged} unchanged, ${summary.documentsDeleted} deleted, ${summary.skipped.length} skipped\n`,
    );
    out.write(
      `  chunks embedded ${summary.chunksEmbedded} in ${seconds.toFixed(1)} s ` +
        `(${(summary.chunksEmbedded / Math.max(seconds, 0.001)).toFixed(1)} chunks/s)\n`,
    );
    for (const skip of summary.skipped) {
      out.write(
        `  skipped ${path.relative(process.cwd(), skip.path) || skip.path}: ${skip.reason} [${skip.code}]\n`,
      );
    }
    return 0;
  } finally {
    progress?.done();
    await kb.close();
  }
}
