/**
 * Checks of the playground's JSON request bodies and query strings: every field is named in the error, unknown
 * fields are refused (a typo must not run with defaults), and each value is checked for type and range.
 */
import { kbError } from '../errors.js';

export type Fields = Record<string, unknown>;

/** `value` as an object with only `allowed` keys; `where` names it in errors ("body", "body.variants[0]"). */
export function fieldsOf(value: unknown, allowed: readonly string[], where = 'body'): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw kbError('INVALID_OPTION', `${where} must be a JSON object.`, { input: where });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw kbError(
        'INVALID_OPTION',
        `${where}.${key} is not a known field; expected ${allowed.join(', ')}.`,
        { input: `${where}.${key}` },
      );
    }
  }
  return value as Fields;
}

function invalid(where: string, key: string, expected: string, value: unknown): never {
  const shown = JSON.stringify(value);
  throw kbError(
    'INVALID_OPTION',
    `${where}.${key} must be ${expected}, got ${shown === undefined ? String(value) : shown.slice(0, 80)}.`,
    { input: `${where}.${key}` },
  );
}

export function optionalString(
  fields: Fields,
  key: string,
  {
    where = 'body',
    max = 10_000,
    nonEmpty = true,
  }: { where?: string; max?: number; nonEmpty?: boolean } = {},
): string | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > max || (nonEmpty && value.trim() === '')) {
    invalid(where, key, `${nonEmpty ? 'a non-empty' : 'a'} string of at most ${max} characters`, value);
  }
  return value;
}

export function requiredString(
  fields: Fields,
  key: string,
  options: { where?: string; max?: number } = {},
): string {
  const value = optionalString(fields, key, options);
  if (value === undefined) invalid(options.where ?? 'body', key, 'a non-empty string', value);
  return value;
}

export function optionalInteger(
  fields: Fields,
  key: string,
  { where = 'body', min, max }: { where?: string; min: number; max: number },
): number | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(where, key, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function optionalBoolean(fields: Fields, key: string, where = 'body'): boolean | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') invalid(where, key, 'true or false', value);
  return value;
}

export function optionalChoice<T extends string>(
  fields: Fields,
  key: string,
  choices: readonly T[],
  where = 'body',
): T | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    invalid(where, key, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

export function requiredArray(
  fields: Fields,
  key: string,
  { where = 'body', min, max }: { where?: string; min: number; max: number },
): unknown[] {
  const value = fields[key];
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    invalid(where, key, `an array of ${min} to ${max} items`, value);
  }
  return value;
}

/** A positive integer id from a query string or path segment. */
export function idParameter(raw: string | null | undefined, name: string): number {
  const value = Number(raw);
  if (raw === null || raw === undefined || !/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(value)) {
    throw kbError('INVALID_OPTION', `${name} must be a positive integer id, got ${JSON.stringify(raw)}.`, {
      input: name,
    });
  }
  return value;
}
