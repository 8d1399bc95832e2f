import { parseArgs as nodeParseArgs } from 'node:util';
import { kbError } from '../errors.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Strict parsing: a misspelled flag is an error that names it, not a silently ignored option. */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): ParsedArgs {
  try {
    const { values, positionals } = nodeParseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw kbError('INVALID_OPTION', `localkb ${command}: ${message}. Run "localkb ${command} --help".`, {
      cause: error,
    });
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(command: string, args: ParsedArgs, name: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') {
    throw kbError('INVALID_OPTION', `localkb ${command}: --${name} is required.`, { input: `--${name}` });
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
  if (!Number.isInteger(value) || value < min || value > max) {
    throw kbError(
      'INVALID_OPTION',
      `localkb ${command}: --${name} must be an integer between ${min} and ${max}, got "${raw}".`,
      { input: `--${name}` },
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
