import { parseCommandArgs } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';

export async function statsCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('stats', argv, { ...KB_OPTIONS, json: { type: 'boolean' } });
  if (args.values.help) {
    process.stdout.write('Usage: localkb stats --db <file> [--json]\n');
    return 0;
  }
  const kb = await openKnowledgeBase('stats', args);
  try {
    const stats = await kb.stats();
    if (args.values.json) {
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    } else {
      const width = Math.max(...Object.keys(stats).map((key) => key.length));
      for (const [key, value] of Object.entries(stats)) {
        process.stdout.write(
          `${key.padEnd(width)}  ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`,
        );
      }
    }
    return 0;
  } finally {
    await kb.close();
  }
}
