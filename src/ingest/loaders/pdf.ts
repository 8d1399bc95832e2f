import { kbError } from '../../errors.js';
import type { PageSpan } from '../../types.js';
import type { Loader } from './loader.js';
import { normaliseLineEndings } from './text-decoding.js';

/** Text between pages in `SourceDocument.text`; a paragraph break, so chunks prefer to end at a page's end. */
export const PAGE_SEPARATOR = '\n\n';

/** pdf.js passes through NULs and other control characters from broken font maps; they are not text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/**
 * PDFs through pdf-parse (pdf.js): the text of each page, joined by a blank line, with one `PageSpan` per page.
 * Password-protected → PDF_ENCRYPTED, unparseable → PDF_CORRUPT, no text on any page → PDF_NO_TEXT.
 */
export const pdfLoader: Loader = {
  format: 'pdf',
  extensions: ['.pdf'],
  async load(bytes, file) {
    // Loaded on first use: pdf.js is large and only PDF ingestion needs it.
    const { PDFParse, VerbosityLevel } = await import('pdf-parse');
    // pdf.js may transfer (detach) the buffer it is given, so it gets a copy.
    const parser = new PDFParse({ data: new Uint8Array(bytes), verbosity: VerbosityLevel.ERRORS });
    let pageTexts: string[];
    let rawTitle: unknown;
    try {
      const info = await parser.getInfo();
      rawTitle = info.info?.Title;
      const result = await parser.getText({ pageJoiner: '' });
      pageTexts = result.pages.map((page) => cleanPageText(page.text));
    } catch (cause) {
      throw pdfError(cause, file);
    } finally {
      await parser.destroy();
    }

    const pages: PageSpan[] = [];
    let text = '';
    pageTexts.forEach((pageText, i) => {
      if (i > 0) text += PAGE_SEPARATOR;
      pages.push({ page: i + 1, start: text.length, end: text.length + pageText.length });
      text += pageText;
    });
    if (text.trim() === '') {
      throw kbError(
        'PDF_NO_TEXT',
        `${file} has no extractable text on any of its ${pageTexts.length} page(s); it is probably scanned or ` +
          'image-only. Run OCR on it first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result.',
        { input: file },
      );
    }
    const title = typeof rawTitle === 'string' ? cleanPageText(rawTitle).replace(/\s+/g, ' ') : '';
    return title ? { text, pages, title } : { text, pages };
  },
};

function cleanPageText(text: string): string {
  return normaliseLineEndings(text).replace(CONTROL_CHARACTERS, '').trim();
}

function pdfError(cause: unknown, file: string) {
  const name = cause instanceof Error ? cause.name : '';
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (name === 'PasswordException') {
    return kbError(
      'PDF_ENCRYPTED',
      `${file} is password protected (${detail}). Remove the password (e.g. \`qpdf --decrypt --password=... in.pdf out.pdf\`) and ingest the decrypted copy.`,
      { input: file, cause },
    );
  }
  return kbError(
    'PDF_CORRUPT',
    `${file} cannot be parsed as a PDF (${name || 'error'}: ${detail}). Check that the file is complete; ` +
      'repairing it (e.g. `qpdf in.pdf out.pdf` or re-exporting it) usually helps.',
    { input: file, cause },
  );
}
