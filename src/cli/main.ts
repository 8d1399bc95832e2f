#!/usr/bin/env node
import { isLocalKbError } from '../errors.js';
import { askCommand } from './commands/ask.js';
import { deleteCommand } from './commands/delete.js';
import { demoCommand } from './commands/demo.js';
import { emulatorCommand } from './commands/emulator.js';
import { evalCommand } from './commands/eval.js';
import { ingestCommand } from './commands/ingest.js';
import { queryCommand } from './commands/query.js';
import { serveCommand } from './commands/serve.js';
import { statsCommand } from './commands/stats.js';

type Command = (argv: string[]) => Promise<number | undefined>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  ingest: { run: ingestCommand, summary: 'ingest files or folders into a local knowledge base' },
  query: { run: queryCommand, summary: 'retrieve the chunks that best match a query' },
  ask: { run: askCommand, summary: 'answer a question with citations (retrieve and generate)' },
  stats: { run: statsCommand, summary: 'show what a knowledge base holds' },
  delete: { run: deleteCommand, summary: 'delete documents by id' },
  eval: { run: evalCommand, summary: 'evaluate retrieval on a BEIR dataset' },
  serve: {
    run: serveCommand,
    summary: 'serve a knowledge base over the bedrock-agent-runtime wire protocol',
  },
  emulator: { run: emulatorCommand, summary: 'start the offline Amazon Bedrock emulator' },
  demo: { run: demoCommand, summary: 'ingest the bundled example corpus and run a few questions' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: localkb <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "localkb <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`localkb: unknown command "${name}"\n\n${usage()}\n`);
    return 1;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (error) {
    // One line, the reason: users read it, scripts read the exit code.
    const reason = error instanceof Error ? error.message : String(error);
    const code = isLocalKbError(error) ? ` [${error.code}]` : '';
    process.stderr.write(`localkb ${name}: ${reason.split('\n')[0]}${code}\n`);
    if (process.env.LOCALKB_DEBUG && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`localkb: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
