import { kbError } from '../../errors.js';
import type { LoadContext, LoadedContent, Loader } from './loader.js';
import { type RawRecord, recordOptionsFor, recordsToContent } from './records.js';
import { decodeTextFile } from './text-decoding.js';

/**
 * JSON: an array of objects (or of strings) is a list of records; an object holding exactly one such array (e.g.
 * `{"data": [...]}`) gives that array; any other object is one record. Content fields become the text, the other
 * fields metadata with their JSON types.
 */
export const jsonLoader: Loader = {
  format: 'text',
  extensions: ['.json'],
  async load(bytes, file, context = {}) {
    const text = decodeTextFile(bytes, file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw kbError('MALFORMED_FILE', `${file} is not valid JSON: ${(error as Error).message}.`, {
        input: file,
        cause: error,
      });
    }
    return toContent(recordList(parsed), file, context);
  },
};

/** JSON Lines: one JSON object (or string) per line; blank lines are allowed. */
export const jsonlLoader: Loader = {
  format: 'text',
  extensions: ['.jsonl', '.ndjson'],
  async load(bytes, file, context = {}) {
    const records: unknown[] = [];
    decodeTextFile(bytes, file)
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        try {
          records.push(JSON.parse(line));
        } catch (error) {
          throw kbError(
            'MALFORMED_FILE',
            `${file} line ${i + 1} is not valid JSON: ${(error as Error).message}.`,
            {
              input: file,
              cause: error,
              details: { line: i + 1 },
            },
          );
        }
      });
    return toContent(records, file, context);
  },
};

function recordList(parsed: unknown): unknown[] {
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed === 'object' && parsed !== null) {
    const arrays = Object.values(parsed).filter(
      (value) => Array.isArray(value) && value.length > 0 && value.every(isRecordLike),
    );
    if (arrays.length === 1) return arrays[0] as unknown[];
  }
  return [parsed];
}

function isRecordLike(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

function toContent(items: unknown[], file: string, context: LoadContext): LoadedContent {
  const records: RawRecord[] = items.map((item) =>
    typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as RawRecord) : { text: item },
  );
  const fields = [...new Set(records.flatMap((record) => Object.keys(record)))];
  return recordsToContent(records, fields, recordOptionsFor(context.records, context.sidecar), file);
}
