import { describe, expect, it } from 'vitest';
import { cosineSimilarity, dot, norm, normalize } from '../../src/embed/vector-math.js';
import { isLocalKbError } from '../../src/errors.js';

describe('vector math', () => {
  it('computes the dot product', () => {
    expect(dot(Float32Array.of(1, 2, 3), Float32Array.of(4, -5, 6))).toBe(12);
  });

  it('normalises a vector to unit length in place', () => {
    const vector = Float32Array.of(3, 4);
    expect(normalize(vector)).toBe(vector);
    expect(Array.from(vector)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(norm(vector)).toBeCloseTo(1, 7);
  });

  it('leaves a zero vector zero instead of producing NaN', () => {
    expect(Array.from(normalize(new Float32Array(3)))).toEqual([0, 0, 0]);
  });

  it('gives cosine similarity 1 for parallel, -1 for opposite and 0 for orthogonal vectors', () => {
    expect(cosineSimilarity(Float32Array.of(1, 2), Float32Array.of(2, 4))).toBeCloseTo(1, 7);
    expect(cosineSimilarity(Float32Array.of(1, 2), Float32Array.of(-1, -2))).toBeCloseTo(-1, 7);
    expect(cosineSimilarity(Float32Array.of(1, 0), Float32Array.of(0, 3))).toBe(0);
    expect(cosineSimilarity(Float32Array.of(0, 0), Float32Array.of(0, 3))).toBe(0);
  });

  it('rejects vectors of different lengths with DIMENSION_MISMATCH', () => {
    for (const operation of [dot, cosineSimilarity]) {
      try {
        operation(Float32Array.of(1, 2), Float32Array.of(1, 2, 3));
        expect.unreachable();
      } catch (error) {
        expect(isLocalKbError(error, 'DIMENSION_MISMATCH')).toBe(true);
      }
    }
  });
});
