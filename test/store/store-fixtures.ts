import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Chunk, Metadata, SourceDocument } from '../../src/types.js';

/** A fresh folder under the OS temp dir; remove it with `fs.rmSync(dir, { recursive: true })`. */
export function makeTempDir(prefix = 'localkb-index-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A document whose chunks are the given texts, joined by blank lines (offsets point into the joined text). */
export function makeDocument(
  id: string,
  texts: string[],
  metadata: Metadata = {},
): { document: SourceDocument; chunks: Chunk[] } {
  const text = texts.join('\n\n');
  let offset = 0;
  const chunks = texts.map((chunkText, index) => {
    const start = offset;
    offset += chunkText.length + 2;
    return {
      index,
      text: chunkText,
      start,
      end: start + chunkText.length,
      tokenCount: chunkText.split(' ').length,
    };
  });
  return {
    document: {
      id,
      uri: `file:///docs/${id}`,
      format: 'text',
      text,
      contentHash: createHash('sha256').update(text).digest('hex'),
      metadata: { title: `Title of ${id}`, ...metadata },
    },
    chunks,
  };
}

export { seededRandom } from '../../src/seeded-random.js';

export function randomUnitVector(dimensions: number, random: () => number): Float32Array {
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // Sum of uniforms: roughly Gaussian, so directions are spread evenly enough for tests.
    const value = random() + random() + random() - 1.5;
    vector[i] = value;
    norm += value * value;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! / norm;
  return vector;
}
