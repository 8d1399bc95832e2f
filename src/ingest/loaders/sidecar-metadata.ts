import { readFile } from 'node:fs/promises';
import { kbError } from '../../errors.js';
import type { Metadata, MetadataValue } from '../../types.js';

/** Bedrock Knowledge Base convention: `report.pdf` takes its metadata from `report.pdf.metadata.json`. */
export const SIDECAR_SUFFIX = '.metadata.json';

export function isSidecarFile(path: string): boolean {
  return path.toLowerCase().endsWith(SIDECAR_SUFFIX);
}

/** Reads `<file>.metadata.json` next to `file`; undefined when there is none. */
export async function readSidecarMetadata(file: string): Promise<Metadata | undefined> {
  const sidecar = file + SIDECAR_SUFFIX;
  let json: string;
  try {
    json = await readFile(sidecar, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw kbError(
      'FILE_UNREADABLE',
      `Cannot read the metadata sidecar ${sidecar}: ${(error as Error).message}`,
      {
        input: sidecar,
        cause: error,
      },
    );
  }
  return parseSidecarMetadata(json, sidecar);
}

/** The sidecar of `file` as parsed JSON, for what loaders read from it (a record file's structure). */
export async function readSidecarJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse(
      (await readFile(file + SIDECAR_SUFFIX, 'utf8')).replace(/^\uFEFF/, ''),
    );
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined; // readSidecarMetadata reports a sidecar that cannot be read or parsed
  }
}

/**
 * Parses a Bedrock metadata sidecar: `{"metadataAttributes": {"key": value}}` where a value is a string, number,
 * boolean or string list, or Bedrock's typed form `{"value": {"type": "STRING", "stringValue": "..."},
 * "includeForEmbedding": true}`. (`includeForEmbedding` is accepted and not used: localkb embeds chunk text only.)
 */
export function parseSidecarMetadata(json: string, sidecar: string): Metadata {
  const fail = (problem: string): never => {
    throw kbError(
      'INVALID_METADATA',
      `${sidecar} is not a valid metadata sidecar: ${problem}. Expected {"metadataAttributes": {"key": value}} with ` +
        'string, number, boolean or string-list values (or Bedrock\'s {"value": {"type": ..., ...}} form).',
      { input: sidecar },
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.replace(/^\uFEFF/, ''));
  } catch (error) {
    return fail(`invalid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed)) return fail('the top level is not a JSON object');
  // A record file's sidecar may describe only its structure (Bedrock's documentStructureConfiguration).
  if (parsed.metadataAttributes === undefined && isPlainObject(parsed.documentStructureConfiguration))
    return {};
  const attributes = parsed.metadataAttributes;
  if (!isPlainObject(attributes)) return fail('"metadataAttributes" is missing or not an object');
  const metadata: Metadata = {};
  for (const [key, raw] of Object.entries(attributes)) {
    const value = isPlainObject(raw) ? typedAttributeValue(raw) : raw;
    if (!isMetadataValue(value))
      return fail(`attribute "${key}" has an unsupported value ${JSON.stringify(raw)}`);
    metadata[key] = value;
  }
  return metadata;
}

/** Checks caller-given metadata with the same rules as sidecar attributes. */
export function assertMetadata(metadata: unknown, input: string): asserts metadata is Metadata {
  if (!isPlainObject(metadata)) {
    throw kbError('INVALID_METADATA', `Metadata for ${input} must be a plain object of key/value pairs.`, {
      input,
    });
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (!isMetadataValue(value)) {
      throw kbError(
        'INVALID_METADATA',
        `Metadata "${key}" for ${input} is ${JSON.stringify(value)}; use a string, finite number, boolean or list of strings.`,
        { input },
      );
    }
  }
}

export function isMetadataValue(value: unknown): value is MetadataValue {
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The value of Bedrock's typed form, or undefined when the type is unknown or does not match the value. */
function typedAttributeValue(raw: Record<string, unknown>): unknown {
  const typed = raw.value;
  if (!isPlainObject(typed)) return undefined;
  const type = String(typed.type);
  const field = Object.hasOwn(TYPED_FIELDS, type) ? TYPED_FIELDS[type] : undefined;
  if (field === undefined) return undefined;
  const value = typed[field.key];
  return field.matches(value) ? value : undefined;
}

const TYPED_FIELDS: Record<string, { key: string; matches: (value: unknown) => boolean }> = {
  STRING: { key: 'stringValue', matches: (v) => typeof v === 'string' },
  NUMBER: { key: 'numberValue', matches: (v) => typeof v === 'number' },
  BOOLEAN: { key: 'booleanValue', matches: (v) => typeof v === 'boolean' },
  STRING_LIST: { key: 'stringListValue', matches: Array.isArray },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
