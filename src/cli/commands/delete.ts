import { parseCommandArgs, usageError } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';

export async function deleteCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('delete', argv, KB_OPTIONS);
  if (args.values.help) {
    process.stdout.write('Usage: localkb delete <document-id...> --db <file>\n');
    return 0;
  }
  if (args.positionals.length === 0) {
    throw usageError('delete', 'give the ids of the documents to delete.');
  }
  const kb = await openKnowledgeBase('delete', args);
  let missing = 0;
  try {
    for (const id of args.positionals) {
      if (await kb.delete(id)) process.stdout.write(`deleted ${id}\n`);
      else {
        missing++;
        process.stderr.write(
          `localkb delete: no document with id "${id}" (see localkb stats; ids are paths relative to the ingest root)\n`,
        );
      }
    }
    return missing > 0 ? 1 : 0;
  } finally {
    await kb.close();
  }
}
