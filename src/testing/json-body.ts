import { AwsServiceError } from '../serve/wire/aws-errors.js';

/** Reading model request bodies the way Bedrock validates them, with its error wording. */

export type JsonObject = Record<string, unknown>;

/** Bedrock's wording for a body that fails the model's schema. */
export function malformedInput(detail: string): AwsServiceError {
  return new AwsServiceError(
    'ValidationException',
    `Malformed input request: ${detail}, please reformat your input and try again.`,
  );
}

/** Parses a request body as a JSON object or throws ValidationException. */
export function parseJsonObject(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw malformedInput(`request body is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw malformedInput(`expected type: JSONObject, found: ${jsonTypeName(parsed)}`);
  return parsed;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'JSONArray';
  if (value === null) return 'Null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'Integer' : 'Number';
  if (typeof value === 'object') return 'JSONObject';
  return typeof value === 'string' ? 'String' : 'Boolean';
}

function typeError(path: string, expected: string, value: unknown): AwsServiceError {
  return malformedInput(`#/${path}: expected type: ${expected}, found: ${jsonTypeName(value)}`);
}

function missing(key: string, path: string): AwsServiceError {
  return malformedInput(`${path === '' ? '#' : `#/${path}`}: required key [${key}] not found`);
}

function at(path: string, key: string): string {
  return path === '' ? key : `${path}/${key}`;
}

/**
 * Bedrock validates native bodies against each model's JSON schema, which permits no keys beyond the documented
 * ones: `Malformed input request: #: extraneous key [max_tokens] is not permitted, …`.
 */
export function refuseExtraneousKeys(body: JsonObject, allowed: readonly string[], path = ''): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw malformedInput(`${path === '' ? '#' : `#/${path}`}: extraneous key [${key}] is not permitted`);
    }
  }
}

export function requiredString(body: JsonObject, key: string, path = ''): string {
  const value = body[key];
  if (value === undefined) throw missing(key, path);
  if (typeof value !== 'string') throw typeError(at(path, key), 'String', value);
  return value;
}

export function requiredArray(body: JsonObject, key: string, path = ''): unknown[] {
  const value = body[key];
  if (value === undefined) throw missing(key, path);
  if (!Array.isArray(value)) throw typeError(at(path, key), 'JSONArray', value);
  return value;
}

export function requiredObject(body: JsonObject, key: string, path = ''): JsonObject {
  const value = body[key];
  if (value === undefined) throw missing(key, path);
  if (!isObject(value)) throw typeError(at(path, key), 'JSONObject', value);
  return value;
}

export function optionalObject(body: JsonObject, key: string, path = ''): JsonObject {
  const value = body[key];
  if (value === undefined) return {};
  if (!isObject(value)) throw typeError(at(path, key), 'JSONObject', value);
  return value;
}

export function optionalString(body: JsonObject, key: string, path = ''): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw typeError(at(path, key), 'String', value);
  return value;
}

/** A positive integer, or undefined when absent. */
export function optionalCount(body: JsonObject, key: string, path = ''): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(at(path, key), 'Integer', value);
  if (value < 1) throw malformedInput(`#/${at(path, key)}: ${value} is not greater or equal to 1`);
  return value;
}

export function requiredCount(body: JsonObject, key: string, path = ''): number {
  const value = optionalCount(body, key, path);
  if (value === undefined) throw missing(key, path);
  return value;
}

export function optionalStringArray(body: JsonObject, key: string, path = ''): string[] {
  const value = body[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw typeError(at(path, key), 'JSONArray', value);
  value.forEach((item, index) => {
    if (typeof item !== 'string') throw typeError(`${at(path, key)}/${index}`, 'String', item);
  });
  return value as string[];
}

/**
 * All text a model would read from a message-like value: plain strings, `text` fields and string
 * `content` fields at any depth (Anthropic, Nova, Converse, Jamba and Cohere shapes alike). Binary
 * `bytes` are skipped.
 */
export function collectText(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(collectText);
  if (!isObject(value)) return [];
  const texts: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'bytes') continue;
    if (typeof inner === 'string') {
      if (key === 'text' || key === 'content' || key === 'message') texts.push(inner);
    } else if (typeof inner === 'object' && inner !== null) {
      texts.push(...collectText(inner));
    }
  }
  return texts;
}
