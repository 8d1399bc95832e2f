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

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
