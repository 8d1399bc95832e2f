import { kbError } from '../../errors.js';
import { importOptionalPeer } from '../../optional-peer.js';
import { htmlToText } from './html.js';
import type { Loader } from './loader.js';

/**
 * Word documents (.docx) through mammoth (an optional peer, loaded on first use): Word's headings become Markdown headings (so the
 * chunker keeps sections), lists and tables are kept as text. The title is the first Heading 1.
 */
export const docxLoader: Loader = {
  format: 'markdown',
  extensions: ['.docx'],
  async load(bytes, file) {
    const mammoth = await importOptionalPeer(
      'mammoth',
      'Reading Word documents (.docx)',
      () => import('mammoth'),
    );
    let html: string;
    try {
      ({ value: html } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }));
    } catch (error) {
      throw kbError(
        'MALFORMED_FILE',
        `${file} cannot be read as a Word document (.docx): ${(error as Error).message}. Re-save it from Word; ` +
          'legacy .doc files must be converted to .docx first.',
        { input: file, cause: error },
      );
    }
    const { text, title } = htmlToText(html);
    return title === undefined ? { text } : { text, title };
  },
};
