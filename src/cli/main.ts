#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLocalKbError } from '../errors.js';
import { closestName } from '../options.js';
import { COMMANDS } from './commands.js';
import { describeError } from './format.js';

// The AWS SDK warns on every run under Node 20 about its own future support policy; for a CLI user that is noise
// on stderr, where scripts read our errors. Anyone who wants it can set the variable to "false".
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Exit codes, as `localkb --help` documents them. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Errors that mean the command line itself is wrong (a flag, an argument or a value), not that work failed. */
const USAGE_CODES = new Set(['INVALID_OPTION', 'INVALID_FILTER', 'INVALID_QUERY']);

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length), 'help'.length);
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: localkb <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'help'.padEnd(width)}  show a command's options: localkb help <command>`,
    '',
    'Options: --help (-h) on any command, --json on any command for machine-readable output, --version.',
    '',
    'Exit codes: 0 ok, 1 failure (the work could not be done), 2 usage (a flag, argument or value is wrong).',
    'Set LOCALKB_DEBUG=1 to print stack traces.',
  ].join('\n');
}

/** The version of the installed package: the nearest package.json named localkb above this file. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'localkb' && pkg.version) return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(`${usage()}\n`);
    return EXIT.ok;
  }
  if (name === undefined) {
    process.stderr.write(`${usage()}\n`);
    return EXIT.usage;
  }
  if (name === 'help') return main([...rest, '--help']);
  const command = COMMANDS[name];
  if (!command) {
    const suggestion = closestName(name, [...Object.keys(COMMANDS), 'help']);
    const hint = suggestion ? `; did you mean "${suggestion}"?` : '.';
    process.stderr.write(`localkb: unknown command "${name}"${hint}\n\n${usage()}\n`);
    return EXIT.usage;
  }
  try {
    return (await command.run(rest)) ?? EXIT.ok;
  } catch (error) {
    process.stderr.write(`${describeError(name, error)}\n`);
    if (process.env.LOCALKB_DEBUG && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return isLocalKbError(error) && USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failure;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`localkb: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.failure;
  },
);
