/**
 * Record files (CSV, JSON, JSONL): each record is a document or a chunk, its content fields the text and its
 * other fields metadata. The options follow Bedrock Knowledge Bases' record-based structure
 * (documentStructureConfiguration.recordBasedStructureMetadata in `<file>.metadata.json`: contentFields,
 * fieldsToInclude, fieldsToExclude), which a sidecar may also give per file.
 */
import { createHash } from 'node:crypto';
import { kbError } from '../../errors.js';
import { declareOptions } from '../../options.js';
import {
  LOCALKB_METADATA_KEYS,
  type Metadata,
  type MetadataValue,
  type RecordSpan,
  type SourceDocument,
} from '../../types.js';
import type { LoadedContent } from './loader.js';

export interface RecordOptions {
  /**
   * 'document' (default, as Bedrock does): every record is its own document (id `<file>#<record id>`), so a
   * changed row re-embeds only that row. 'chunk': the file is one document and every record one chunk of it.
   */
  recordAs?: 'document' | 'chunk';
  /**
   * Fields whose values are the record's text (Bedrock's contentFields). Default: the first field named text,
   * content, body, description, abstract, summary, message or question; with none, every field as `name: value`.
   */
  contentFields?: string[];
  /** Only these fields become metadata (Bedrock's fieldsToInclude). Default: every field but the content fields. */
  metadataFields?: string[];
  /** These fields never become metadata (Bedrock's fieldsToExclude). */
  excludeFields?: string[];
  /** The field whose value names each record. Default: id, _id, uuid or key when present, else the record's number. */
  idField?: string;
}

export const RECORD_OPTIONS = declareOptions<RecordOptions>(
  'records',
  {
    recordAs: 'string',
    contentFields: 'string[]',
    metadataFields: 'string[]',
    excludeFields: 'string[]',
    idField: 'string',
  },
  {
    textField: 'contentFields',
    textFields: 'contentFields',
    contentField: 'contentFields',
    fieldsToInclude: 'metadataFields',
    fieldsToExclude: 'excludeFields',
  },
);

const CONTENT_FIELD_NAMES = [
  'text',
  'content',
  'body',
  'description',
  'abstract',
  'summary',
  'message',
  'question',
];
const ID_FIELD_NAMES = ['id', '_id', 'uuid', 'key'];
const TITLE_FIELD_NAMES = ['title', 'name', 'subject', 'headline'];

/** One record as parsed, before it becomes text: field name → value (strings for CSV, JSON values for JSON). */
export type RawRecord = Record<string, unknown>;

/**
 * Record options for one file: a Bedrock sidecar's recordBasedStructureMetadata wins over the ingest options,
 * as it is the file's own description.
 */
export function recordOptionsFor(
  options: RecordOptions | undefined,
  sidecar: Record<string, unknown> | undefined,
) {
  const structure = (sidecar?.documentStructureConfiguration as Record<string, unknown> | undefined)
    ?.recordBasedStructureMetadata as Record<string, unknown> | undefined;
  if (!structure) return options ?? {};
  const names = (list: unknown) =>
    Array.isArray(list)
      ? list.flatMap((item) => (typeof item?.fieldName === 'string' ? [item.fieldName as string] : []))
      : undefined;
  const spec = structure.metadataFieldsSpecification as Record<string, unknown> | undefined;
  const content = names(structure.contentFields);
  const include = names(spec?.fieldsToInclude);
  const exclude = names(spec?.fieldsToExclude);
  return {
    ...options,
    ...(content?.length ? { contentFields: content } : {}),
    ...(include?.length ? { metadataFields: include } : {}),
    ...(exclude?.length ? { excludeFields: exclude } : {}),
  };
}

/**
 * Turns parsed records into the loader's content: records' texts joined by blank lines, each record's span and
 * metadata. Records with no text are left out (the caller counts them).
 */
export function recordsToContent(
  records: readonly RawRecord[],
  fields: readonly string[],
  options: RecordOptions,
  file: string,
): LoadedContent {
  const contentFields = options.contentFields ?? defaultContentFields(fields);
  for (const field of [...(options.contentFields ?? []), ...(options.metadataFields ?? [])]) {
    if (!fields.includes(field)) {
      throw kbError(
        'INVALID_OPTION',
        `${file} has no field "${field}" (records option); its fields are ${fields.join(', ') || '(none)'}.`,
        { input: field },
      );
    }
  }
  const idField = options.idField ?? ID_FIELD_NAMES.find((name) => fields.includes(name));
  if (options.idField !== undefined && !fields.includes(options.idField)) {
    throw kbError(
      'INVALID_OPTION',
      `${file} has no id field "${options.idField}"; its fields are ${fields.join(', ')}.`,
      {
        input: 'idField',
      },
    );
  }
  const excluded = new Set([
    ...(options.excludeFields ?? []),
    ...(contentFields.length ? contentFields : []),
  ]);
  const metadataFields = options.metadataFields ?? fields.filter((field) => !excluded.has(field));
  const parts: string[] = [];
  const spans: RecordSpan[] = [];
  const seenIds = new Set<string>();
  let offset = 0;
  records.forEach((record, i) => {
    const text = recordText(
      record,
      contentFields.length ? contentFields : fields,
      contentFields.length === 0,
    );
    if (text.trim() === '') return;
    let id = idField !== undefined && record[idField] !== undefined ? String(record[idField]) : String(i + 1);
    if (seenIds.has(id)) id = `${id}~${i + 1}`; // a duplicate id must not overwrite another record
    seenIds.add(id);
    const metadata: Metadata = {};
    for (const field of metadataFields) {
      const value = metadataValue(record[field]);
      if (value !== undefined) metadata[field] = value;
    }
    const title = TITLE_FIELD_NAMES.find((name) => typeof record[name] === 'string' && record[name] !== '');
    if (title) metadata[LOCALKB_METADATA_KEYS.title] = record[title] as string;
    if (parts.length > 0) offset += 2;
    spans.push({ id, start: offset, end: offset + text.length, metadata });
    parts.push(text);
    offset += text.length;
  });
  return { text: parts.join('\n\n'), records: spans };
}

function defaultContentFields(fields: readonly string[]): string[] {
  const found = CONTENT_FIELD_NAMES.flatMap((name) => fields.filter((field) => field.toLowerCase() === name));
  return found.length > 0 ? [found[0] as string] : [];
}

function recordText(record: RawRecord, fields: readonly string[], labelled: boolean): string {
  const lines: string[] = [];
  for (const field of fields) {
    const value = record[field];
    if (value === undefined || value === null || value === '') continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    lines.push(labelled ? `${field}: ${text}` : text);
  }
  return lines.join('\n').replace(/\r\n?/g, '\n').trim();
}

/** Metadata keeps strings, finite numbers, booleans and string lists; anything else is kept as its JSON. */
function metadataValue(value: unknown): MetadataValue | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return JSON.stringify(value);
}

/**
 * A record file split into one document per record: id and URI `<file>#<record id>`, the record's text, the
 * file's metadata with the record's over it, and a hash of the record alone (a changed row re-embeds only itself).
 */
export function recordDocuments(file: SourceDocument): SourceDocument[] {
  return (file.records ?? []).map((record) => {
    const text = file.text.slice(record.start, record.end);
    const metadata: Metadata = { ...file.metadata, ...record.metadata };
    const hash = createHash('sha256').update(text).update('\0').update(JSON.stringify(record.metadata));
    return {
      id: `${file.id}#${record.id}`,
      uri: `${file.uri}#${encodeURIComponent(record.id)}`,
      format: file.format,
      text,
      contentHash: hash.digest('hex'),
      metadata,
    };
  });
}
