import type { Loader } from './loader.js';
import { decodeTextFile } from './text-decoding.js';

/**
 * Plain text (UTF-8, UTF-16 or Latin-1; see decodeTextFile), including formats read as text as they are:
 * reStructuredText, AsciiDoc, YAML, TOML, logs.
 */
export const textLoader: Loader = {
  format: 'text',
  extensions: ['.txt', '.text', '.rst', '.adoc', '.asciidoc', '.yaml', '.yml', '.toml', '.log'],
  async load(bytes, file) {
    return { text: decodeTextFile(bytes, file) };
  },
};
