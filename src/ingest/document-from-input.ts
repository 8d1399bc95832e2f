import { createHash } from 'node:crypto';
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  type DocumentFormat,
  type DocumentInput,
  LOCALKB_METADATA_KEYS,
  type SourceDocument,
} from '../types.js';
import { htmlToText } from './loaders/html.js';
import { assertMetadata } from './loaders/sidecar-metadata.js';
import { normaliseLineEndings } from './loaders/text-decoding.js';
import { firstMarkdownH1 } from './markdown-headings.js';

const IN_MEMORY_FORMATS: readonly DocumentFormat[] = ['text', 'markdown', 'html'];

/** A document input's keys: anything else (a `title` beside `text`, LangChain's `pageContent`) is refused. */
const DOCUMENT_INPUT = declareOptions<DocumentInput>(
  'document input',
  { id: 'string', text: 'string', uri: 'string', format: 'string', metadata: 'object' },
  {
    title: 'metadata',
    author: 'metadata',
    tags: 'metadata',
    pageContent: 'text',
    content: 'text',
    source: 'uri',
  },
);

/**
 * Turns a caller-given document into a SourceDocument. `format: 'html'` input is rendered to text like an HTML
 * file; line endings are normalised to LF. contentHash is the sha256 of the text as given.
 */
export function documentFromInput(input: DocumentInput): SourceDocument {
  if (typeof input?.id !== 'string' || input.id.trim() === '') {
    throw kbError('INVALID_OPTION', 'A document input needs a non-empty string `id`.', {
      input: String(input?.id),
    });
  }
  const { id } = input;
  if (typeof input.text !== 'string') {
    throw kbError('INVALID_OPTION', `Document ${id}: \`text\` must be a string.`, { input: id });
  }
  checkOptions(DOCUMENT_INPUT, input);
  const format = input.format ?? 'text';
  if (!IN_MEMORY_FORMATS.includes(format)) {
    throw kbError(
      'INVALID_OPTION',
      `Document ${id}: format "${format}" cannot be given as text; use one of ${IN_MEMORY_FORMATS.join(', ')}, ` +
        'or load the file with loadFile().',
      { input: id },
    );
  }
  if (input.metadata !== undefined) assertMetadata(input.metadata, id);

  let text = normaliseLineEndings(input.text);
  let title: string | undefined;
  if (format === 'html') ({ text, title } = htmlToText(text));
  else if (format === 'markdown') title = firstMarkdownH1(text);
  if (text.trim() === '') {
    throw kbError(
      'EMPTY_DOCUMENT',
      `Document ${id} has no text to index; give it some text or leave it out.`,
      {
        input: id,
      },
    );
  }
  const uri = input.uri ?? id;
  return {
    id,
    uri,
    format,
    text,
    contentHash: createHash('sha256').update(input.text, 'utf8').digest('hex'),
    metadata: {
      [LOCALKB_METADATA_KEYS.title]: title ?? id,
      [LOCALKB_METADATA_KEYS.sizeBytes]: Buffer.byteLength(input.text, 'utf8'),
      ...input.metadata,
    },
  };
}
