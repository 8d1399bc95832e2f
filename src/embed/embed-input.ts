import { kbError } from '../errors.js';

/** Every text handed to a local embedder must be a string; the first that is not names itself in the error. */
export function assertEmbeddableTexts(texts: readonly unknown[]): void {
  texts.forEach((text, i) => {
    if (typeof text !== 'string') {
      throw kbError('INVALID_OPTION', `texts[${i}] must be a string, got ${typeof text}.`, {
        input: `texts[${i}]`,
      });
    }
  });
}
