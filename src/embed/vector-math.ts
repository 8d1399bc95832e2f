/**
 * Small vector operations on Float32Array, shared by the embedders, the index and retrieval.
 * Accumulation is in float64 (plain JS numbers) so long vectors do not lose precision.
 */

import { kbError } from '../errors.js';

function assertSameLength(a: Float32Array, b: Float32Array, operation: string): void {
  if (a.length !== b.length) {
    throw kbError(
      'DIMENSION_MISMATCH',
      `${operation} needs vectors of equal length, got ${a.length} and ${b.length}.`,
      {
        details: { left: a.length, right: b.length },
      },
    );
  }
}

/** Dot product of two vectors of the same length. */
export function dot(a: Float32Array, b: Float32Array): number {
  assertSameLength(a, b, 'dot');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Euclidean (L2) norm. */
export function norm(vector: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  return Math.sqrt(sum);
}

/**
 * Scales `vector` to unit length in place and returns it. A zero vector stays zero: it has no direction,
 * and dividing by zero would poison an index with NaN.
 */
export function normalize(vector: Float32Array): Float32Array {
  const length = norm(vector);
  if (length === 0 || !Number.isFinite(length)) return vector;
  for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! / length;
  return vector;
}

/** Cosine similarity in [-1, 1]; 0 when either vector is zero. */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  assertSameLength(a, b, 'cosineSimilarity');
  let product = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    product += x * y;
    normA += x * x;
    normB += y * y;
  }
  if (normA === 0 || normB === 0) return 0;
  return product / Math.sqrt(normA * normB);
}
