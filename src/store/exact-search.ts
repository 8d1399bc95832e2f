import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import type { ScoredId, SqliteStore } from './sqlite-store.js';
import { TopK } from './top-k.js';

export interface ExactSearchOptions {
  /** Score only these chunks (a filtered search); otherwise every stored vector is scanned. */
  candidateIds?: readonly number[];
}

const EXACT_SEARCH_OPTIONS = declareOptions<ExactSearchOptions>('exactSearch', { candidateIds: 'array' });

/**
 * Brute-force cosine similarity over the vectors in SQLite: exact, so it is the recall baseline, and the right
 * tool for small filtered candidate sets. Scores are cosine similarities, best first.
 */
export function exactSearch(
  store: SqliteStore,
  vector: Float32Array,
  k: number,
  options: ExactSearchOptions = {},
): ScoredId[] {
  checkOptions(EXACT_SEARCH_OPTIONS, options);
  const dimensions = store.dimensions;
  if (dimensions === 0) {
    throw kbError('INVALID_OPTION', `The store ${store.path} has no vectors (BM25-only); use BM25 search.`, {
      input: store.path,
    });
  }
  if (!(vector instanceof Float32Array) || vector.length !== dimensions) {
    throw kbError(
      'DIMENSION_MISMATCH',
      `The query vector has ${vector?.length} dimensions but the store ${store.path} holds ${dimensions}-d vectors; embed the query with the store's embedder.`,
      { input: 'vector', details: { expected: dimensions, actual: vector?.length } },
    );
  }
  if (!Number.isInteger(k) || k < 1) {
    throw kbError('INVALID_OPTION', `k must be a positive integer, got ${k}.`, { input: 'k' });
  }
  const queryNorm = Math.sqrt(dot(vector, vector, dimensions));
  const top = new TopK(k);
  const score = (id: number, candidate: Float32Array) => {
    // One pass for the dot product and the candidate's norm: the scan is bound by memory, not arithmetic.
    let product = 0;
    let squares = 0;
    for (let i = 0; i < dimensions; i++) {
      const value = candidate[i]!;
      product += vector[i]! * value;
      squares += value * value;
    }
    const denominator = queryNorm * Math.sqrt(squares);
    top.push(id, denominator === 0 ? 0 : product / denominator);
  };

  const { candidateIds } = options;
  if (candidateIds) {
    const batchSize = 4096;
    for (let offset = 0; offset < candidateIds.length; offset += batchSize) {
      const vectors = store.getVectors(candidateIds.slice(offset, offset + batchSize));
      for (const [id, candidate] of vectors) score(id, candidate);
    }
  } else {
    store.readSnapshot(() => {
      for (const batch of store.iterateVectors(8192)) {
        for (let i = 0; i < batch.ids.length; i++) score(batch.ids[i]!, batch.vectors[i]!);
      }
    });
  }
  return top.sorted();
}

function dot(a: Float32Array, b: Float32Array, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += a[i]! * b[i]!;
  return sum;
}
