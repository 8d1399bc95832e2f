import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import { loadFile } from '../../src/ingest/index.js';

let dir: string;
const write = async (name: string, content: string | Uint8Array) => {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
};

/** Runs `load` and returns the LocalKbError it throws. */
async function errorOf(load: Promise<unknown>) {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLocalKbError(error)) throw new Error(`expected a LocalKbError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'localkb-text-loaders-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('text files', () => {
  it('loads a .txt file with its hash, file URI, size, modification time and file-name title', async () => {
    const bytes = Buffer.from('Lighthouses guide ships.\nThey mark dangerous coasts.\n', 'utf8');
    const file = await write('notes/plain.txt', bytes);
    const doc = await loadFile(file, { root: dir });
    expect(doc.id).toBe('notes/plain.txt');
    expect(doc.format).toBe('text');
    expect(doc.text).toBe(bytes.toString('utf8'));
    expect(doc.uri).toBe(pathToFileURL(file).href);
    expect(doc.contentHash).toBe(createHash('sha256').update(bytes).digest('hex'));
    // localkb's own keys under x-localkb- (the URI is the document's, not metadata)
    expect(doc.metadata).toEqual({
      'x-localkb-title': 'plain.txt',
      'x-localkb-size-bytes': bytes.length,
      'x-localkb-modified-at': (await stat(file)).mtime.toISOString(),
    });
    expect(doc.pages).toBeUndefined();
  });

  it('uses the file name as the id when no root is given, and a caller-given id when there is one', async () => {
    const file = await write('deep/er/named.txt', 'text');
    expect((await loadFile(file)).id).toBe('named.txt');
    expect((await loadFile(file, { id: 'custom-id' })).id).toBe('custom-id');
  });

  it('strips a UTF-8 byte-order mark and normalises CRLF and lone CR line endings to LF', async () => {
    const file = await write(
      'windows.txt',
      Buffer.from('\uFEFFfirst line\r\nsecond line\rthird line\r\n', 'utf8'),
    );
    const doc = await loadFile(file);
    expect(doc.text).toBe('first line\nsecond line\nthird line\n');
  });

  it('hashes the bytes as stored, so a BOM or CRLF change is a content change', async () => {
    const a = await loadFile(await write('a.txt', 'same\r\n'));
    const b = await loadFile(await write('b.txt', 'same\n'));
    expect(a.text).toBe(b.text);
    expect(a.contentHash).not.toBe(b.contentHash);
  });

  it('adds caller metadata on top of the file metadata', async () => {
    const doc = await loadFile(await write('meta.txt', 'x'), {
      metadata: { collection: 'demo', title: 'Given' },
    });
    expect(doc.metadata.collection).toBe('demo');
    // the caller's own title stays theirs, beside localkb's
    expect(doc.metadata.title).toBe('Given');
    expect(doc.metadata['x-localkb-title']).toBe('meta.txt');
  });

  it('rejects caller metadata with a value that is not a string, number, boolean or string list', async () => {
    const file = await write('bad-meta.txt', 'x');
    const error = await errorOf(loadFile(file, { metadata: { nested: { a: 1 } as never } }));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.message).toContain('nested');
  });
});

describe('Markdown files', () => {
  it('keeps the Markdown as written and takes the first H1 as the title', async () => {
    const source = '# The *Eddystone* Light\n\nSome text.\n\n## Later\n\n# Second H1\n';
    const doc = await loadFile(await write('doc.md', source));
    expect(doc.format).toBe('markdown');
    expect(doc.text).toBe(source);
    expect(doc.metadata['x-localkb-title']).toBe('The Eddystone Light');
  });

  it('reads a setext heading as the title and ignores # lines inside code fences and front matter', async () => {
    const source = '---\ntitle: x\n---\n\n```sh\n# not a title\n```\n\nReal Title\n==========\n\nBody.\n';
    const doc = await loadFile(await write('setext.markdown', source));
    expect(doc.metadata['x-localkb-title']).toBe('Real Title');
  });

  it('falls back to the file name when there is no H1', async () => {
    const doc = await loadFile(await write('untitled.md', '## Only a subheading\n\ntext'));
    expect(doc.metadata['x-localkb-title']).toBe('untitled.md');
  });
});

describe('bad text inputs', () => {
  it('rejects a .txt file with NUL bytes as BINARY_FILE, naming the file', async () => {
    const file = await write(
      'image.txt',
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    );
    const error = await errorOf(loadFile(file));
    expect(error.code).toBe('BINARY_FILE');
    expect(error.input).toBe(file);
    expect(error.message).toContain(file);
  });

  it('rejects a .txt file that is mostly control characters as BINARY_FILE', async () => {
    const bytes = new Uint8Array(400).map((_, i) => (i % 3 === 0 ? 0x41 : (i % 30) + 1));
    const error = await errorOf(loadFile(await write('controls.txt', bytes)));
    expect(error.code).toBe('BINARY_FILE');
  });

  it('rejects bytes that are neither UTF-8, UTF-16 nor Latin-1 as INVALID_ENCODING with the first bad offset', async () => {
    const garbled = Buffer.from([0x63, 0x61, 0x66, 0x81, 0x8d, 0x20, 0x61, 0x75]);
    const error = await errorOf(loadFile(await write('garbled.txt', garbled)));
    expect(error.code).toBe('INVALID_ENCODING');
    expect(error.message).toContain('offset 3');
    expect(error.message).toMatch(/UTF-8/);
  });

  it('rejects an empty file and a whitespace-only file as EMPTY_DOCUMENT', async () => {
    expect((await errorOf(loadFile(await write('empty.txt', '')))).code).toBe('EMPTY_DOCUMENT');
    expect((await errorOf(loadFile(await write('blank.md', ' \n\t\r\n  ')))).code).toBe('EMPTY_DOCUMENT');
    expect((await errorOf(loadFile(await write('bom-only.txt', '\uFEFF')))).code).toBe('EMPTY_DOCUMENT');
  });

  it('rejects a missing path as FILE_NOT_FOUND, naming it', async () => {
    const missing = path.join(dir, 'nope', 'missing.txt');
    const error = await errorOf(loadFile(missing));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.input).toBe(missing);
  });

  it('rejects an unknown extension as UNSUPPORTED_FILE_TYPE and lists the supported ones', async () => {
    const error = await errorOf(loadFile(await write('sheet.xlsx', 'not really')));
    expect(error.code).toBe('UNSUPPORTED_FILE_TYPE');
    expect(error.message).toContain('.xlsx');
    expect(error.message).toContain('.md');
  });

  it('rejects a directory and a metadata sidecar given as if they were documents', async () => {
    expect((await errorOf(loadFile(dir))).code).toBe('UNSUPPORTED_FILE_TYPE');
    const sidecar = await write('doc.md.metadata.json', '{"metadataAttributes":{}}');
    const error = await errorOf(loadFile(sidecar));
    expect(error.code).toBe('UNSUPPORTED_FILE_TYPE');
    expect(error.message).toContain('sidecar');
  });
});
