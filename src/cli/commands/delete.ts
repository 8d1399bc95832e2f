import { parseCommandArgs, usageError } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';

const HELP = `Usage: localkb delete <document-id...> (--db <file> | --knowledge-base-id <id>) [--json]

Deletes documents with their chunks and vectors. Ids are what localkb list shows (paths relative to the ingest
root). Exits 1 when any id is not in the store; the others are still deleted.

Options:
  --db <file>               the local knowledge base (it must exist)
  --knowledge-base-id <id>  a managed Amazon Bedrock Knowledge Base instead (--data-source-id to choose its source)
  --json                    print { deleted: [...], notFound: [...] } as JSON`;

export async function deleteCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('delete', argv, { ...KB_OPTIONS, json: { type: 'boolean' } });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.positionals.length === 0) {
    throw usageError('delete', 'give the ids of the documents to delete (localkb list shows them).');
  }
  const kb = await openKnowledgeBase('delete', args);
  const deleted: string[] = [];
  const notFound: string[] = [];
  try {
    for (const id of args.positionals) {
      if (await kb.delete(id)) deleted.push(id);
      else notFound.push(id);
    }
  } finally {
    await kb.close();
  }
  if (args.values.json) {
    process.stdout.write(`${JSON.stringify({ deleted, notFound }, null, 2)}\n`);
  } else {
    for (const id of deleted) process.stdout.write(`deleted ${id}\n`);
  }
  const hint = args.values.db
    ? `localkb list --db ${args.values.db} shows the ids; they are paths relative to the ingest root`
    : 'aws bedrock-agent list-knowledge-base-documents shows the ids';
  for (const id of notFound) {
    process.stderr.write(`localkb delete: no document with id "${id}" [DOCUMENT_NOT_FOUND] (${hint})\n`);
  }
  return notFound.length > 0 ? 1 : 0;
}
