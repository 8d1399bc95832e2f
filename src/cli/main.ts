#!/usr/bin/env node
import { isLocalKbError } from '../errors.js';

// The AWS SDK warns on every run under Node 20 about its own future support policy; for a CLI user that is noise
// on stderr, where scripts read our one-line errors. Anyone who wants it can set the variable to "false".
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Command = (argv: string[]) => Promise<number | undefined>;

// Commands load on demand: `localkb stats` should not pay for the AWS SDK or ONNX runtime.
const lazy =
  <K extends string>(load: () => Promise<Record<K, Command>>, name: K): Command =>
  async (argv) =>
    (await load())[name](argv);

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  ingest: {
    run: lazy(() => import('./commands/ingest.js'), 'ingestCommand'),
    summary: 'ingest files or folders into a local knowledge base',
  },
  query: {
    run: lazy(() => import('./commands/query.js'), 'queryCommand'),
    summary: 'retrieve the chunks that best match a query',
  },
  ask: {
    run: lazy(() => import('./commands/ask.js'), 'askCommand'),
    summary: 'answer a question with citations (retrieve and generate)',
  },
  stats: {
    run: lazy(() => import('./commands/stats.js'), 'statsCommand'),
    summary: 'show what a knowledge base holds',
  },
  delete: {
    run: lazy(() => import('./commands/delete.js'), 'deleteCommand'),
    summary: 'delete documents by id',
  },
  eval: {
    run: lazy(() => import('./commands/eval.js'), 'evalCommand'),
    summary: 'evaluate retrieval on a BEIR dataset',
  },
  serve: {
    run: lazy(() => import('./commands/serve.js'), 'serveCommand'),
    summary: 'serve a knowledge base over the bedrock-agent-runtime wire protocol',
  },
  emulator: {
    run: lazy(() => import('./commands/emulator.js'), 'emulatorCommand'),
    summary: 'start the offline Amazon Bedrock emulator',
  },
  models: {
    run: lazy(() => import('./commands/models.js'), 'modelsCommand'),
    summary: 'list Bedrock foundation models and inference profiles',
  },
  finetune: {
    run: lazy(() => import('./commands/finetune.js'), 'finetuneCommand'),
    summary: 'validate fine-tuning data; create, watch, list and stop Bedrock customization jobs',
  },
  provisioned: {
    run: lazy(() => import('./commands/provisioned.js'), 'provisionedCommand'),
    summary: 'create, watch, list, update and delete Bedrock provisioned throughput',
  },
  demo: {
    run: lazy(() => import('./commands/demo.js'), 'demoCommand'),
    summary: 'ingest the bundled example corpus and run a few questions',
  },
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
