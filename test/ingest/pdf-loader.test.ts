import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadFile, PAGE_SEPARATOR } from '../../src/ingest/index.js';
import { writePdf } from '../fixtures/ingest/pdf-writer.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/corpus');
let dir: string;

async function pdfFile(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'localkb-pdf-loader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('the test PDF writer', () => {
  it('writes a cross-reference table whose offsets point at their objects', () => {
    const pdf = Buffer.from(
      writePdf({ title: 'X', pages: [{ text: 'one' }, { grayImage: { width: 2, height: 2 } }] }),
    );
    const source = pdf.toString('latin1');
    const xrefAt = Number(/startxref\n(\d+)/.exec(source)![1]);
    expect(source.slice(xrefAt, xrefAt + 4)).toBe('xref');
    const entries = [...source.slice(xrefAt).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
    expect(entries.length).toBe(Number(/\/Size (\d+)/.exec(source)![1]) - 1);
    entries.forEach((offset, i) => {
      expect(source.slice(offset, offset + `${i + 1} 0 obj`.length)).toBe(`${i + 1} 0 obj`);
    });
  });
});

describe('PDF files', () => {
  it('joins page texts with a blank line and records each page range', async () => {
    const pages = [
      '# Page one\n\nThe first page talks about lamps.',
      'The second page talks about lenses.\n\nIt has two paragraphs.',
      'The third page talks about keepers.',
    ];
    const file = await pdfFile(
      'three-pages.pdf',
      writePdf({ title: 'Three Pages', pages: pages.map((text) => ({ text })) }),
    );
    const doc = await loadFile(file);
    expect(doc.format).toBe('pdf');
    expect(doc.metadata['x-localkb-title']).toBe('Three Pages');
    expect(doc.pages?.map((p) => p.page)).toEqual([1, 2, 3]);
    const pageTexts = doc.pages!.map((p) => doc.text.slice(p.start, p.end));
    expect(pageTexts[0]).toBe('Page one\nThe first page talks about lamps.');
    expect(pageTexts[1]).toBe('The second page talks about lenses.\nIt has two paragraphs.');
    expect(pageTexts[2]).toBe('The third page talks about keepers.');
    expect(doc.text).toBe(pageTexts.join(PAGE_SEPARATOR));
  });

  it('keeps Latin-1 characters and typographic punctuation', async () => {
    const file = await pdfFile(
      'latin1.pdf',
      writePdf({ pages: [{ text: 'Café naïve – “quoted” (brackets) back\\slash' }] }),
    );
    const doc = await loadFile(file);
    expect(doc.text).toBe('Café naïve – “quoted” (brackets) back\\slash');
    expect(doc.metadata['x-localkb-title']).toBe('latin1.pdf');
  });

  it('records an empty range for a page without text between pages with text', async () => {
    const bytes = writePdf({
      pages: [{ text: 'Before.' }, { grayImage: { width: 4, height: 4 } }, { text: 'After.' }],
    });
    const doc = await loadFile(await pdfFile('gap.pdf', bytes));
    expect(doc.text).toBe('Before.\n\n\n\nAfter.');
    expect(doc.pages).toEqual([
      { page: 1, start: 0, end: 7 },
      { page: 2, start: 9, end: 9 },
      { page: 3, start: 11, end: 17 },
    ]);
  });

  it('rejects an image-only PDF as PDF_NO_TEXT and suggests OCR', async () => {
    const file = await pdfFile(
      'scan.pdf',
      writePdf({ pages: [{ grayImage: { width: 8, height: 8 } }, { grayImage: { width: 3, height: 3 } }] }),
    );
    await expect(loadFile(file)).rejects.toMatchObject({
      code: 'PDF_NO_TEXT',
      input: file,
      message: expect.stringContaining('OCR'),
    });
  });

  it('rejects a truncated PDF and a file that is not a PDF at all as PDF_CORRUPT', async () => {
    const whole = writePdf({ pages: [{ text: 'Complete text' }] });
    const truncated = await pdfFile('truncated.pdf', whole.subarray(0, 40));
    await expect(loadFile(truncated)).rejects.toMatchObject({ code: 'PDF_CORRUPT', input: truncated });
    const fake = await pdfFile('fake.pdf', Buffer.from('This is a text file with a .pdf name.\n'));
    await expect(loadFile(fake)).rejects.toMatchObject({ code: 'PDF_CORRUPT', input: fake });
  });

  it('prints nothing to the console while parsing good and broken PDFs', async () => {
    const spies = (['log', 'warn', 'error', 'info', 'debug'] as const).map((name) => vi.spyOn(console, name));
    const writes = vi.spyOn(process.stderr, 'write');
    await loadFile(await pdfFile('quiet.pdf', writePdf({ pages: [{ text: 'Quiet please.' }] })));
    await loadFile(await pdfFile('quiet-broken.pdf', Buffer.from('%PDF-1.4\ngarbage'))).catch(
      () => undefined,
    );
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    expect(writes).not.toHaveBeenCalled();
  });

  it('loads the demo corpus PDF made by scripts/make-demo-pdf.ts', async () => {
    const doc = await loadFile(path.join(corpus, 'lighthouse-timeline.pdf'), { root: corpus });
    expect(doc.id).toBe('lighthouse-timeline.pdf');
    expect(doc.metadata['x-localkb-title']).toBe('A Timeline of Lighthouses');
    expect(doc.pages).toHaveLength(3);
    const page = (n: number) => doc.text.slice(doc.pages![n - 1]!.start, doc.pages![n - 1]!.end);
    expect(page(1)).toContain('Pharos of Alexandria');
    expect(page(2)).toContain('Bell Rock');
    expect(page(3)).toContain('Gustaf Dalén');
  });
});
