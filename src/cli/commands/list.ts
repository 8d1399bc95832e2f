import { SqliteStore } from '../../store/sqlite-store.js';
import { integerOption, parseCommandArgs, requiredString, stringOption, usageError } from '../args.js';

const HELP = `Usage: localkb list --db <file> [--limit <n>] [--offset <n>] [--json]

Lists the stored documents in the order they were first ingested: each one's id (what localkb delete takes),
source, title and chunk count. Large stores are listed a page at a time. The store is only read (no model is
loaded), so listing works even where the store's embedding model is missing.

Options:
  --db <file>      the local knowledge base (it must exist)
  --limit <n>      documents per page (default 100)
  --offset <n>     documents to skip first (default 0), for the next page
  --json           print { total, offset, documents: [...] } as JSON`;

const DEFAULT_PAGE = 100;

export async function listCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('list', argv, {
    db: { type: 'string' },
    'knowledge-base-id': { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.positionals.length > 0) {
    throw usageError('list', `unexpected argument "${args.positionals[0]}" (it takes none).`);
  }
  if (stringOption(args, 'knowledge-base-id') !== undefined) {
    throw usageError(
      'list',
      'localkb list reads a local store (--db); for a managed knowledge base run ' +
        '"aws bedrock-agent list-knowledge-base-documents --knowledge-base-id <id> --data-source-id <id>".',
      '--knowledge-base-id',
    );
  }
  const db = requiredString('list', args, 'db');
  const limit = integerOption('list', args, 'limit', DEFAULT_PAGE);
  const offset = integerOption('list', args, 'offset', 0, { min: 0 });
  // Read-only: a missing store is STORE_NOT_FOUND and nothing is created.
  const store = SqliteStore.open(db, { readonly: true });
  try {
    const total = store.countDocuments();
    const documents = store.listDocumentPage(offset, limit).map((document) => ({
      id: document.id,
      source: document.uri,
      ...(document.title ? { title: document.title } : {}),
      format: document.format,
      chunks: document.chunks,
      ingestedAt: document.ingestedAt,
    }));
    if (args.values.json) {
      process.stdout.write(`${JSON.stringify({ total, offset, documents }, null, 2)}\n`);
      return 0;
    }
    if (documents.length === 0) {
      process.stdout.write(total === 0 ? 'No documents.\n' : `No documents after the first ${total}.\n`);
      return 0;
    }
    const idWidth = Math.min(60, Math.max(2, ...documents.map((d) => d.id.length)));
    const chunkWidth = Math.max(6, ...documents.map((d) => String(d.chunks).length));
    process.stdout.write(`${'id'.padEnd(idWidth)}  ${'chunks'.padStart(chunkWidth)}  title / source\n`);
    for (const d of documents) {
      const what = d.title ? `${d.title} (${d.source})` : d.source;
      process.stdout.write(`${d.id.padEnd(idWidth)}  ${String(d.chunks).padStart(chunkWidth)}  ${what}\n`);
    }
    const shown = offset + documents.length;
    process.stdout.write(
      shown < total
        ? `documents ${offset + 1}–${shown} of ${total}; next page: --offset ${shown}\n`
        : `${total} document${total === 1 ? '' : 's'}\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}
