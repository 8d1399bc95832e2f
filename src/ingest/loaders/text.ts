import type { Loader } from './loader.js';
import { decodeTextFile } from './text-decoding.js';

/** Plain UTF-8 text files. */
export const textLoader: Loader = {
  format: 'text',
  extensions: ['.txt'],
  async load(bytes, file) {
    return { text: decodeTextFile(bytes, file) };
  },
};
