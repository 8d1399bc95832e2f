import { kbError } from '../../errors.js';
import type { PageSpan } from '../../types.js';
import type { Loader } from './loader.js';
import { type PdfTextItem, pageTextFromItems } from './pdf-page-text.js';
import { normaliseLineEndings } from './text-decoding.js';

/** Text between pages in `SourceDocument.text`; a paragraph break, so chunks prefer to end at a page's end. */
export const PAGE_SEPARATOR = '\n\n';

/** pdf.js passes through NULs and other control characters from broken font maps; they are not text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** The part of a pdf.js build (pdfjs-dist or unpdf's serverless copy) that text extraction uses. */
export interface PdfJsModule {
  getDocument(params: {
    data: Uint8Array;
    verbosity: number;
    isEvalSupported: boolean;
    stopAtErrors: boolean;
  }): {
    promise: Promise<PdfJsDocument>;
  };
}
interface PdfJsDocument {
  numPages: number;
  getMetadata(): Promise<{ info: unknown }>;
  getPage(pageNumber: number): Promise<{
    getTextContent(): Promise<{ items: Array<PdfTextItem | object> }>;
    cleanup(): unknown;
  }>;
  destroy(): Promise<void>;
}

/** pdf.js's VerbosityLevel.ERRORS: warnings about fonts and broken objects are not the user's concern. */
const VERBOSITY_ERRORS = 0;

/**
 * The cleaned text of every page and the document title, read with `pdfjs`. Errors are pdf.js's own
 * (PasswordException, InvalidPDFException…); the loader maps them to LocalKbErrors.
 */
export async function readPdfPages(
  pdfjs: PdfJsModule,
  bytes: Uint8Array,
): Promise<{ pageTexts: string[]; title: string }> {
  // pdf.js transfers (detaches) the buffer it is given, so it gets a copy.
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes),
    verbosity: VERBOSITY_ERRORS,
    isEvalSupported: false,
    stopAtErrors: false,
  });
  const pdf = await task.promise;
  try {
    const { info } = await pdf.getMetadata();
    const rawTitle = (info as { Title?: unknown } | undefined)?.Title;
    const pageTexts: string[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      pageTexts.push(cleanPageText(pageTextFromItems((await page.getTextContent()).items)));
      page.cleanup();
    }
    const title = typeof rawTitle === 'string' ? cleanPageText(rawTitle).replace(/\s+/g, ' ') : '';
    return { pageTexts, title };
  } finally {
    await pdf.destroy();
  }
}

/**
 * PDFs through pdf.js (unpdf's dependency-free build, no canvas): the text of each page, joined by a blank line,
 * with one `PageSpan` per page. Password-protected → PDF_ENCRYPTED, unparseable → PDF_CORRUPT, no text on any
 * page → PDF_NO_TEXT.
 */
export const pdfLoader: Loader = {
  format: 'pdf',
  extensions: ['.pdf'],
  async load(bytes, file) {
    // Loaded on first use: pdf.js is 1.5 MB of code that only PDF ingestion needs.
    const pdfjs = (await import('unpdf/pdfjs')) as unknown as PdfJsModule;
    let read: { pageTexts: string[]; title: string };
    try {
      read = await readPdfPages(pdfjs, bytes);
    } catch (cause) {
      throw pdfError(cause, file);
    }
    const { pageTexts, title } = read;
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
    return title ? { text, pages, title } : { text, pages };
  },
};

/** What every page text goes through: Unix line ends, no control characters, no surrounding whitespace. */
export function cleanPageText(text: string): string {
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
