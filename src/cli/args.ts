import { parseArgs as nodeParseArgs } from 'node:util';
import { kbError, type LocalKbError } from '../errors.js';
import { closestName } from '../options.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Flags people bring from other tools, mapped to ours; used only when the command has the flag. */
const FLAG_HINTS: Record<string, string> = {
  'top-k': 'k',
  topk: 'k',
  'number-of-results': 'k',
  limit: 'k',
  n: 'k',
  database: 'db',
  store: 'db',
  'kb-id': 'knowledge-base-id',
  kb: 'knowledge-base-id',
  'model-id': 'model',
  'cache-directory': 'cache-dir',
  'model-dir': 'model-path',
  glob: 'include',
  ignore: 'exclude',
  silent: 'quiet',
  verbose: 'json',
};

/**
 * A mistake in the command line itself (unknown flag, missing or malformed value): the CLI exits 2 for these,
 * 1 for failures. The message names the flag and, when one is close, the flag that was meant.
 */
export function usageError(command: string, message: string, input?: string): LocalKbError {
  return kbError('INVALID_OPTION', `${message} Run "localkb help ${command}" for its options.`, {
    ...(input ? { input } : {}),
    details: { usage: true },
  });
}

/** Strict parsing: a misspelled flag is an error that names it and the closest flag, never silently ignored. */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): ParsedArgs {
  const spec: OptionSpec = { ...options, help: { type: 'boolean', short: 'h' } };
  checkFlagNames(command, argv, spec);
  try {
    const { values, positionals } = nodeParseArgs({
      args: argv,
      options: spec,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
    const wrapped = usageError(command, `${message}.`);
    throw Object.assign(wrapped, { cause: error });
  }
}

/** Unknown `--flags` and `-x` short flags before any `--`, with a suggestion from the command's own flags. */
function checkFlagNames(command: string, argv: string[], spec: OptionSpec): void {
  const names = Object.keys(spec);
  const shorts = new Map(Object.entries(spec).flatMap(([name, o]) => (o.short ? [[o.short, name]] : [])));
  let expectsValue = false;
  for (const arg of argv) {
    if (arg === '--') return;
    if (expectsValue) {
      expectsValue = false;
      continue;
    }
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=')[0] as string;
      const option = spec[name];
      if (!option) {
        const suggestion = closestName(name, names, FLAG_HINTS);
        throw usageError(
          command,
          `localkb ${command}: unknown flag --${name}${suggestion ? `; did you mean --${suggestion}?` : '.'}`,
          `--${name}`,
        );
      }
      expectsValue = option.type === 'string' && !arg.includes('=');
    } else if (/^-[A-Za-z]/.test(arg)) {
      const letter = arg[1] as string;
      const name = shorts.get(letter);
      if (!name) {
        const suggestion = closestName(letter, names, FLAG_HINTS);
        throw usageError(
          command,
          `localkb ${command}: unknown flag -${letter}${suggestion ? `; did you mean --${suggestion}?` : '.'}`,
          `-${letter}`,
        );
      }
      expectsValue = spec[name]?.type === 'string' && arg.length === 2;
    }
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(command: string, args: ParsedArgs, name: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') {
    throw usageError(command, `localkb ${command}: --${name} is required.`, `--${name}`);
  }
  return value;
}

export function integerOption(
  command: string,
  args: ParsedArgs,
  name: string,
  fallback: number,
  { min = 1, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw usageError(
      command,
      `localkb ${command}: --${name} must be an integer between ${min} and ${max}, got "${raw}".`,
      `--${name}`,
    );
  }
  return value;
}

export function stringList(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [value];
  return [];
}

/**
 * `--access-key-id` with `--secret-access-key`: both or neither, neither empty (an empty secret must never
 * quietly mean "no authentication").
 */
export function keyPairOption(
  command: string,
  args: ParsedArgs,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const accessKeyId = stringOption(args, 'access-key-id');
  const secretAccessKey = stringOption(args, 'secret-access-key');
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw usageError(
      command,
      `localkb ${command}: give --access-key-id and --secret-access-key together.`,
      accessKeyId === undefined ? '--access-key-id' : '--secret-access-key',
    );
  }
  for (const [flag, value] of [
    ['--access-key-id', accessKeyId],
    ['--secret-access-key', secretAccessKey],
  ] as const) {
    if (value.trim() === '') {
      throw usageError(
        command,
        `localkb ${command}: ${flag} is empty; requests would not be verified. Give a non-empty key pair, or leave both out to serve on 127.0.0.1 without authentication.`,
        flag,
      );
    }
  }
  return { accessKeyId, secretAccessKey };
}
