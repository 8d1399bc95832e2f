import { firstMarkdownH1 } from '../markdown-headings.js';
import type { Loader } from './loader.js';
import { decodeTextFile } from './text-decoding.js';

/** Markdown files: the text is kept as written (the chunker reads its headings); the first H1 is the title. */
export const markdownLoader: Loader = {
  format: 'markdown',
  extensions: ['.md', '.markdown'],
  async load(bytes, file) {
    const text = decodeTextFile(bytes, file);
    const title = firstMarkdownH1(text);
    return title === undefined ? { text } : { text, title };
  },
};
