import { describe, expect, it } from 'vitest';
import {
  createSegmentMemory,
  dotKernel,
  scalarDotKernel,
  simdDotKernel,
} from '../../src/store/dot-kernel.js';
import { VectorMatrix } from '../../src/store/vector-matrix.js';
import { randomUnitVector, seededRandom } from './store-fixtures.js';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function normalised(vector: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(vector, vector));
  return vector.map((value) => value / norm);
}

describe('the dot-product kernel', () => {
  it('runs on WebAssembly SIMD in Node and agrees with plain JavaScript', () => {
    expect(dotKernel().simd).toBe(true);
    const random = seededRandom(1);
    const stride = 48;
    const rows = 300;
    const memory = createSegmentMemory(4);
    const floats = new Float32Array(memory.memory.buffer);
    for (let i = 0; i < stride * (rows + 1); i++) floats[i] = random() - 0.5;
    const [query, base, out, idx] = [
      0,
      stride * 4,
      stride * 4 * (rows + 1),
      stride * 4 * (rows + 1) + rows * 4,
    ];
    simdDotKernel.dots(memory, query, base, rows, stride, out);
    const simd = new Float32Array(memory.memory.buffer, out, rows).slice();
    scalarDotKernel.dots(memory, query, base, rows, stride, out);
    const scalar = new Float32Array(memory.memory.buffer, out, rows).slice();
    for (let r = 0; r < rows; r++) expect(simd[r]).toBeCloseTo(scalar[r]!, 5);

    new Int32Array(memory.memory.buffer, idx, 3).set([7, 0, 299]);
    simdDotKernel.dotsAt(memory, query, base, idx, 3, stride, out);
    expect([...new Float32Array(memory.memory.buffer, out, 3)].map((v) => v.toFixed(4))).toEqual(
      [7, 0, 299].map((r) => scalar[r]!.toFixed(4)),
    );
  });
});

describe('VectorMatrix', () => {
  it('ranks every vector by cosine similarity, across segments, with a dimension the kernel pads', () => {
    const random = seededRandom(2);
    const dimensions = 21;
    const matrix = new VectorMatrix(dimensions);
    const vectors = new Map<number, Float32Array>();
    for (let id = 1; id <= 70_000; id++) {
      const vector = randomUnitVector(dimensions, random).map((v) => v * 3);
      vectors.set(id, vector);
      matrix.set(id, vector);
    }
    expect(matrix.size).toBe(70_000);
    expect(matrix.stride).toBe(32);
    const query = randomUnitVector(dimensions, random);
    const expected = [...vectors]
      .map(([id, vector]) => ({ id, score: dot(query, normalised(vector)) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    const found = matrix.search(query, 10);
    expect(found.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    found.forEach((r, i) => {
      expect(r.score).toBeCloseTo(expected[i]!.score, 5);
    });
  });

  it('keeps rows dense through removals, and a moved row still answers for its id', () => {
    const random = seededRandom(3);
    const matrix = new VectorMatrix(8);
    const vectors = Array.from({ length: 10 }, () => randomUnitVector(8, random));
    vectors.forEach((vector, id) => {
      matrix.set(id, vector);
    });
    expect(matrix.delete(2)).toBe(true);
    expect(matrix.delete(2)).toBe(false);
    expect(matrix.size).toBe(9);
    expect(matrix.has(2)).toBe(false);
    // Row 2 now holds what was the last row, id 9.
    expect(matrix.search(vectors[9]!, 1)[0]).toEqual({ id: 9, score: expect.closeTo(1, 5) });
    expect(matrix.search(vectors[2]!, 10).map((r) => r.id)).not.toContain(2);
    expect([...matrix.get(9)!].map((v) => v.toFixed(5))).toEqual([...vectors[9]!].map((v) => v.toFixed(5)));
  });

  it('scores only the candidates given, and only ids accepted', () => {
    const random = seededRandom(4);
    const matrix = new VectorMatrix(16);
    const vectors = Array.from({ length: 50 }, () => randomUnitVector(16, random));
    vectors.forEach((vector, id) => {
      matrix.set(id, vector);
    });
    const candidates = [3, 17, 40, 999];
    const found = matrix.search(vectors[17]!, 10, candidates);
    expect(found.map((r) => r.id).sort((a, b) => a - b)).toEqual([3, 17, 40]);
    expect(found[0]!.id).toBe(17);
    const even = matrix.search(vectors[17]!, 5, undefined, (id) => id % 2 === 0);
    expect(even).toHaveLength(5);
    expect(even.every((r) => r.id % 2 === 0)).toBe(true);
  });

  it('loads normalised rows from a shared buffer into room reserved ahead, across segments', () => {
    const random = seededRandom(5);
    const dimensions = 7;
    const matrix = new VectorMatrix(dimensions);
    matrix.set(1, new Float32Array([1, 0, 0, 0, 0, 0, 0]));
    const count = 70_000;
    matrix.reserve(count);
    // Rows laid out with a gap between them, as hnswlib's level-0 elements are.
    const gap = 3;
    const source = new Float32Array(count * (dimensions + gap));
    for (let i = 0; i < count; i++)
      source.set(randomUnitVector(dimensions, random), i * (dimensions + gap) + gap);
    for (let i = 0; i < count; i++) matrix.setNormalised(i + 2, source, i * (dimensions + gap) + gap);
    expect(matrix.size).toBe(count + 1);
    for (const id of [2, 65_536, 65_537, count + 1]) {
      const start = (id - 2) * (dimensions + gap) + gap;
      expect(matrix.get(id)).toEqual(source.slice(start, start + dimensions));
      expect(matrix.search(source.subarray(start, start + dimensions), 1)[0]?.id).toBe(id);
    }
    expect(matrix.search(new Float32Array([1, 0, 0, 0, 0, 0, 0]), 1)[0]).toEqual({
      id: 1,
      score: expect.closeTo(1, 5),
    });
  });

  it('replaces the vector of an id it already holds', () => {
    const matrix = new VectorMatrix(3);
    matrix.set(1, new Float32Array([1, 0, 0]));
    matrix.set(1, new Float32Array([0, 2, 0]));
    expect(matrix.size).toBe(1);
    expect([...matrix.get(1)!]).toEqual([0, 1, 0]);
    expect(() => matrix.set(2, new Float32Array(4))).toThrow(/4-d vector/);
  });
});
