import { existsSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, type ErrorCode, kbError } from '../../errors.js';
import type { IngestSummary } from '../../kb/types.js';
import { parseCommandArgs, stringList, usageError } from '../args.js';
import { KB_OPTIONS, MODEL_HELP, openKnowledgeBase } from '../open-kb.js';
import { ProgressLine } from '../progress.js';

const HELP = `Usage: localkb ingest <paths...> --db <file> [options]

Loads files (folders are walked), chunks and embeds them, and stores them in <file>: text (.txt, .rst, .adoc,
.yaml, .log; UTF-8, UTF-16 or Latin-1), Markdown, HTML, PDF, Word (.docx), and CSV, JSON and JSONL records (each
record its own document). Unchanged files are skipped; changed files replace their chunks. Every file under the
paths is accounted for: the summary lists what was skipped, grouped by reason.

Options:
  --db <file>            the SQLite knowledge base (created when missing)
${MODEL_HELP}
  --include <glob>       only files matching the glob (repeatable)
  --exclude <glob>       skip files matching the glob (repeatable)
  --prune                delete stored documents under the given folders whose files are gone
  --quiet                no progress line
  --json                 print the summary (every skipped file with its code and reason) as JSON`;

export async function ingestCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('ingest', argv, {
    ...KB_OPTIONS,
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    prune: { type: 'boolean' },
    quiet: { type: 'boolean' },
    json: { type: 'boolean' },
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
  // A typo in a path is a failed command, found before any store is opened or created.
  const missing = args.positionals.filter((input) => !existsSync(input));
  if (missing.length > 0) {
    throw kbError(
      'FILE_NOT_FOUND',
      `${missing.map((input) => `${input} does not exist (resolved to ${path.resolve(input)})`).join('; ')}. ` +
        'Check the path; nothing was ingested.',
      { input: missing[0] as string },
    );
  }
  const kb = await openKnowledgeBase('ingest', args);
  const progress = args.values.quiet || args.values.json ? undefined : new ProgressLine();
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
    if (args.values.json) {
      process.stdout.write(`${JSON.stringify({ knowledgeBase: kb.describe(), ...summary }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(formatIngestSummary(kb.describe(), summary));
    return 0;
  } finally {
    progress?.done();
    await kb.close();
  }
}

/** Skipped files shown per reason before "… and N more". */
const SHOWN_PER_REASON = 10;

/** The summary a person reads: counts, then every skipped file grouped by its code, the commonest first. */
export function formatIngestSummary(target: string, summary: IngestSummary): string {
  const seconds = summary.durationMs / 1000;
  const lines = [
    `Ingested into ${target}`,
    `  files ${summary.filesSeen}: ${summary.documentsAdded} added, ${summary.documentsUpdated} updated, ` +
      `${summary.documentsUnchanged} unchanged, ${summary.documentsDeleted} deleted, ${summary.skipped.length} skipped`,
    `  chunks embedded ${summary.chunksEmbedded} in ${seconds.toFixed(1)} s ` +
      `(${(summary.chunksEmbedded / Math.max(seconds, 0.001)).toFixed(1)} chunks/s)`,
  ];
  for (const note of summary.notes ?? []) lines.push(`  note: ${note}`);
  const groups = new Map<string, IngestSummary['skipped']>();
  for (const skip of summary.skipped) groups.set(skip.code, [...(groups.get(skip.code) ?? []), skip]);
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [code, skips] of ordered) {
    const what = ERROR_CODES[code as ErrorCode] ?? code;
    lines.push(`  skipped ${skips.length} [${code}]: ${what}`);
    for (const skip of skips.slice(0, SHOWN_PER_REASON)) {
      const where = path.relative(process.cwd(), skip.path) || skip.path;
      const reason = skip.reason.replace(/\s+/g, ' ');
      lines.push(`    ${where}: ${reason.length > 200 ? `${reason.slice(0, 199)}…` : reason}`);
    }
    if (skips.length > SHOWN_PER_REASON) {
      lines.push(`    … and ${skips.length - SHOWN_PER_REASON} more (--json lists every file)`);
    }
  }
  return `${lines.join('\n')}\n`;
}
