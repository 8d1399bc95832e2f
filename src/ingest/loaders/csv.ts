import { kbError } from '../../errors.js';
import type { Loader } from './loader.js';
import { type RawRecord, recordOptionsFor, recordsToContent } from './records.js';
import { decodeTextFile } from './text-decoding.js';

/**
 * CSV and TSV (RFC 4180: a header row, quoted fields with "" escapes and line breaks inside quotes). Every row is
 * a record: its content fields the text, the other columns metadata (strings, as Bedrock treats CSV columns).
 */
export const csvLoader: Loader = {
  format: 'text',
  extensions: ['.csv', '.tsv'],
  async load(bytes, file, context = {}) {
    const text = decodeTextFile(bytes, file);
    const delimiter = file.toLowerCase().endsWith('.tsv') ? '\t' : sniffDelimiter(text);
    const rows = parseCsv(text, delimiter, file);
    const header = (rows.shift() ?? []).map((name, i) => name.trim() || `column${i + 1}`);
    if (header.length === 0) {
      throw kbError('MALFORMED_FILE', `${file} has no header row; the first row must name the columns.`, {
        input: file,
      });
    }
    const records: RawRecord[] = [];
    rows.forEach((row, i) => {
      if (row.length === 1 && row[0] === '') return; // a blank line
      if (row.length > header.length) {
        throw kbError(
          'MALFORMED_FILE',
          `${file} row ${i + 2} has ${row.length} fields but the header names ${header.length}; quote fields that contain "${delimiter === '\t' ? '\\t' : delimiter}".`,
          { input: file, details: { row: i + 2 } },
        );
      }
      records.push(Object.fromEntries(header.map((name, j) => [name, row[j] ?? ''])));
    });
    return recordsToContent(records, header, recordOptionsFor(context.records, context.sidecar), file);
  },
};

/** Comma unless the header line has more semicolons or tabs than commas (spreadsheets in many locales). */
function sniffDelimiter(text: string): string {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  const count = (char: string) => firstLine.split(char).length - 1;
  const candidates = [',', ';', '\t'].sort((a, b) => count(b) - count(a));
  return count(candidates[0] as string) > 0 ? (candidates[0] as string) : ',';
}

/** RFC 4180 rows; line endings are already LF. An unclosed quote is an error naming the line it opened on. */
export function parseCsv(text: string, delimiter: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let quoteLine = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (char === '\n') line++;
        field += char;
      }
    } else if (char === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (char === delimiter) {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      line++;
    } else field += char;
  }
  if (quoted) {
    throw kbError('MALFORMED_FILE', `${file} has a quote opened on line ${quoteLine} that never closes.`, {
      input: file,
      details: { line: quoteLine },
    });
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
