import { parseCommandArgs } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';

const HELP = `Usage: localkb stats (--db <file> | --knowledge-base-id <id>) [--json]

Shows what a knowledge base holds: documents, chunks, vectors, its embedder and size (a managed knowledge base:
its documents, data sources and last ingestion jobs; Bedrock does not report chunk counts, so none is shown).
localkb list shows the documents themselves.

Options:
  --db <file>               the local knowledge base (it must exist)
  --knowledge-base-id <id>  a managed Amazon Bedrock Knowledge Base instead
  --json                    print the figures as JSON`;

export async function statsCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('stats', argv, { ...KB_OPTIONS, json: { type: 'boolean' } });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const kb = await openKnowledgeBase('stats', args);
  try {
    const stats = await kb.stats();
    if (args.values.json) {
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
      return 0;
    }
    // Only what the knowledge base knows: an unknown figure is left out, never printed as NaN or undefined.
    const known = Object.entries(stats).filter(
      ([, value]) => value !== undefined && !(typeof value === 'number' && !Number.isFinite(value)),
    );
    const width = Math.max(...known.map(([key]) => key.length));
    for (const [key, value] of known) {
      process.stdout.write(
        `${key.padEnd(width)}  ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`,
      );
    }
    return 0;
  } finally {
    await kb.close();
  }
}
