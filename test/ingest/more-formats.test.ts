import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { type LoadOutcome, loadFile, loadPaths } from '../../src/ingest/index.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { makeDocx } from '../helpers/docx.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'localkb-formats-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

async function outcomes(paths: string[], options = {}): Promise<LoadOutcome[]> {
  const out: LoadOutcome[] = [];
  for await (const outcome of loadPaths(paths, options)) out.push(outcome);
  return out;
}

async function errorOf(promise: Promise<unknown>): Promise<LocalKbError> {
  try {
    await promise;
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a rejection');
}

describe('text in other encodings and text-like formats', () => {
  it('reads UTF-16 with a byte-order mark, little- and big-endian', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße aus Köln\r\n', 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    expect((await loadFile(await write('le.txt', le))).text).toBe('Grüße aus Köln\n');
    expect((await loadFile(await write('be.txt', Buffer.concat([Buffer.from([0xfe, 0xff]), be])))).text).toBe(
      'Grüße aus Köln\n',
    );
  });

  it('reads UTF-16 without a byte-order mark by its NUL pattern', async () => {
    expect((await loadFile(await write('nobom.txt', Buffer.from('plain ascii words', 'utf16le')))).text).toBe(
      'plain ascii words',
    );
  });

  it('reads Latin-1 text that is not valid UTF-8', async () => {
    const doc = await loadFile(
      await write('latin1.txt', Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e', 'latin1')),
    );
    expect(doc.text).toBe('café crème brûlée');
  });

  it('reads reStructuredText, AsciiDoc and YAML as text', async () => {
    for (const [name, content] of [
      ['guide.rst', 'Title\n=====\n\nSome *emphasis*.'],
      ['guide.adoc', '= Title\n\nA paragraph.'],
      ['config.yaml', 'name: localkb\nretries: 3\n'],
      ['config.yml', 'a: 1\n'],
    ] as const) {
      const doc = await loadFile(await write(name, content));
      expect(doc.text).toBe(content);
      expect(doc.format).toBe('text');
    }
  });
});

describe('Word documents', () => {
  it('reads a .docx with its headings as Markdown headings and its first heading as the title', async () => {
    const file = await write(
      'report.docx',
      makeDocx([
        { heading: 1, text: 'Lighthouse report' },
        { text: 'The Eddystone light was rebuilt in granite.' },
        { heading: 2, text: 'Fog signals' },
        { text: 'A diaphone sounds two tones.' },
      ]),
    );
    const doc = await loadFile(file);
    expect(doc.metadata['x-localkb-title']).toBe('Lighthouse report');
    expect(doc.text).toContain('# Lighthouse report');
    expect(doc.text).toContain('## Fog signals');
    expect(doc.text).toContain('The Eddystone light was rebuilt in granite.');
  });

  it('refuses a file that is not a Word document as MALFORMED_FILE', async () => {
    const error = await errorOf(loadFile(await write('fake.docx', 'not a zip')));
    expect(error.code).toBe('MALFORMED_FILE');
    expect(error.message).toContain('fake.docx');
  });
});

describe('records: CSV, JSON and JSONL', () => {
  const csv =
    'id,title,text,year\n7,Bees,"Bees dance, and tell the hive ""where""",2021\n8,Ants,"Ants follow\nscent trails",2019\n';

  it('makes each CSV row a document: the text column as text, the other columns as metadata', async () => {
    const file = await write('rows/animals.csv', csv);
    const docs = (await outcomes([file])).flatMap((o) => (o.ok ? [o.document] : []));
    expect(docs.map((d) => d.id)).toEqual(['animals.csv#7', 'animals.csv#8']);
    expect(docs[0]?.text).toBe('Bees dance, and tell the hive "where"');
    expect(docs[1]?.text).toBe('Ants follow\nscent trails');
    expect(docs[0]?.metadata).toMatchObject({ id: '7', title: 'Bees', year: '2021' });
    expect(docs[0]?.uri).toMatch(/animals\.csv#7$/);
  });

  it('takes content and metadata fields from the options or from a Bedrock sidecar', async () => {
    const file = await write('rows/sidecar.csv', csv);
    const byOption = (
      await outcomes([file], { records: { contentFields: ['title'], metadataFields: ['year'] } })
    ).flatMap((o) => (o.ok ? [o.document] : []));
    expect(byOption[0]?.text).toBe('Bees');
    expect(Object.keys(byOption[0]?.metadata ?? {})).toContain('year');
    expect(byOption[0]?.metadata.id).toBeUndefined();
    await write(
      'rows/sidecar.csv.metadata.json',
      JSON.stringify({
        metadataAttributes: { source: 'survey' },
        documentStructureConfiguration: {
          type: 'RECORD_BASED_STRUCTURE_METADATA',
          recordBasedStructureMetadata: {
            contentFields: [{ fieldName: 'title' }],
            metadataFieldsSpecification: { fieldsToExclude: [{ fieldName: 'text' }] },
          },
        },
      }),
    );
    const bySidecar = (await outcomes([file])).flatMap((o) => (o.ok ? [o.document] : []));
    expect(bySidecar[1]?.text).toBe('Ants');
    expect(bySidecar[1]?.metadata).toMatchObject({ source: 'survey', year: '2019', id: '8' });
    expect(bySidecar[1]?.metadata.text).toBeUndefined();
  });

  it('refuses a CSV row with more fields than the header, naming the row', async () => {
    const error = (await outcomes([await write('bad.csv', 'a,b\n1,2\n1,2,3\n')]))[0];
    expect(error?.ok).toBe(false);
    if (error && !error.ok) {
      expect(error.error.code).toBe('MALFORMED_FILE');
      expect(error.error.message).toContain('row 3');
    }
  });

  it('reads a JSON array, an object holding one array, and JSON Lines', async () => {
    const array = await write(
      'j/list.json',
      JSON.stringify([
        { id: 'a', content: 'first', tags: ['x'] },
        { id: 'b', content: 'second' },
      ]),
    );
    const wrapped = await write('j/wrapped.json', JSON.stringify({ version: 2, data: [{ body: 'inner' }] }));
    const lines = await write('j/lines.jsonl', '{"text":"one","n":1}\n\n{"text":"two","n":2}\n');
    const docs = (await outcomes([array, wrapped, lines])).flatMap((o) => (o.ok ? [o.document] : []));
    expect(docs.map((d) => [d.id, d.text])).toEqual([
      ['list.json#a', 'first'],
      ['list.json#b', 'second'],
      ['wrapped.json#1', 'inner'],
      ['lines.jsonl#1', 'one'],
      ['lines.jsonl#2', 'two'],
    ]);
    expect(docs[0]?.metadata.tags).toEqual(['x']);
    expect(docs[3]?.metadata.n).toBe(1);
  });

  it('refuses a JSONL file with a bad line, naming the line', async () => {
    const [outcome] = await outcomes([await write('bad.jsonl', '{"text":"ok"}\n{oops}\n')]);
    expect(outcome?.ok === false && outcome.error.code).toBe('MALFORMED_FILE');
    expect(outcome?.ok === false && outcome.error.message).toContain('line 2');
  });

  it('keeps a record file as one document with one chunk per record when recordAs is chunk', async () => {
    const folder = path.join(dir, 'chunked');
    await write('chunked/animals.csv', csv);
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'records.db'), { embedder: 'none' });
    try {
      const summary = await kb.ingest([folder], { records: { recordAs: 'chunk' } });
      expect(summary.documentsAdded).toBe(1);
      const hits = await kb.retrieve('scent trails', {
        k: 5,
        filter: { equals: { key: 'year', value: '2019' } },
      });
      expect(hits.map((h) => h.content.text)).toEqual(['Ants follow\nscent trails']);
      expect(hits[0]?.documentId).toBe('animals.csv');
    } finally {
      await kb.close();
    }
  });
});

describe('every file under the ingest paths is accounted for', () => {
  it('lists unsupported, hidden and empty files in the summary with a code and a reason', async () => {
    const folder = path.join(dir, 'mixed');
    await write('mixed/notes.md', '# Notes\n\nBees dance.');
    await write('mixed/picture.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await write('mixed/Makefile', 'all:\n');
    await write('mixed/.env', 'SECRET=1');
    await write('mixed/empty.txt', '');
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'mixed.db'), { embedder: 'none' });
    try {
      const summary = await kb.ingest([folder]);
      expect(summary.filesSeen).toBe(5);
      expect(summary.documentsAdded).toBe(1);
      const skipped = Object.fromEntries(summary.skipped.map((s) => [path.basename(s.path), s.code]));
      expect(skipped).toEqual({
        '.env': 'FILE_HIDDEN',
        Makefile: 'UNSUPPORTED_FILE_TYPE',
        'empty.txt': 'EMPTY_DOCUMENT',
        'picture.png': 'UNSUPPORTED_FILE_TYPE',
      });
      expect(summary.skipped.find((s) => s.path.endsWith('picture.png'))?.reason).toContain('.png');
    } finally {
      await kb.close();
    }
  });

  it('reads extensions it does not know through loaders passed to ingest', async () => {
    const folder = path.join(dir, 'org');
    await write('org/plan.org', '* Plan\nPlant clover for the bees.');
    await write('org/data.csv', 'text\nfrom csv\n');
    const kb = await LocalKnowledgeBase.open(path.join(dir, 'org.db'), { embedder: 'none' });
    try {
      const summary = await kb.ingest([folder], {
        loaders: { org: (bytes) => new TextDecoder().decode(bytes).replace(/^\* /gm, '# ') },
      });
      expect(summary.skipped).toEqual([]);
      expect(summary.documentsAdded).toBe(2);
      const [hit] = await kb.retrieve('clover', { k: 1 });
      expect(hit?.content.text).toContain('# Plan');
    } finally {
      await kb.close();
    }
  });
});
