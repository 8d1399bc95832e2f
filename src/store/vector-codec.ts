/** Vectors are stored as little-endian float32 blobs: 4 bytes per dimension, nothing else. */

export function encodeVector(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A Float32Array of its own, safe to keep and to mutate. */
export function decodeVector(blob: Uint8Array): Float32Array {
  const vector = new Float32Array(blob.byteLength / 4);
  new Uint8Array(vector.buffer).set(blob);
  return vector;
}

/** A view over the blob without copying when alignment allows: only for reading it at once (scans). */
export function viewVector(blob: Uint8Array): Float32Array {
  // A Float32Array view needs a 4-byte-aligned offset; Buffers can sit at any offset in a shared allocation.
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return decodeVector(blob);
}

/**
 * Vectors are kept in blocks, a document's chunks' vectors back to back in chunk id order, so SQLite stores them in
 * whole pages (a 1.5 KB row of its own took 2 KB). A block is keyed by its first chunk id; `offsets` are the chunk
 * ids less that one, as little-endian uint32.
 */
export interface EncodedVectorBlock {
  first: number;
  offsets: Buffer;
  vectors: Buffer;
}

/** Most vectors in one block: a lookup of one vector reads its whole block. */
export const VECTOR_BLOCK_SIZE = 32;

/** Blocks of at most VECTOR_BLOCK_SIZE for these ids (ascending) and their vectors. */
export function encodeVectorBlocks(
  ids: readonly number[],
  vectors: readonly Float32Array[],
): EncodedVectorBlock[] {
  const blocks: EncodedVectorBlock[] = [];
  for (let from = 0; from < ids.length; from += VECTOR_BLOCK_SIZE) {
    const to = Math.min(ids.length, from + VECTOR_BLOCK_SIZE);
    const first = ids[from]!;
    const offsets = Buffer.alloc((to - from) * 4);
    for (let i = from; i < to; i++) offsets.writeUInt32LE(ids[i]! - first, (i - from) * 4);
    blocks.push({
      first,
      offsets,
      vectors: Buffer.concat(vectors.slice(from, to).map((vector) => encodeVector(vector))),
    });
  }
  return blocks;
}

/** The chunk ids of a block, ascending. */
export function blockIds(first: number, offsets: Uint8Array): number[] {
  const ids: number[] = new Array(offsets.byteLength / 4);
  const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.byteLength);
  for (let i = 0; i < ids.length; i++) ids[i] = first + view.getUint32(i * 4, true);
  return ids;
}

/** Vector `i` of a block's vectors blob, `dimensions` long: a view when alignment allows (see `viewVector`). */
export function blockVector(vectors: Uint8Array, i: number, dimensions: number, copy = false): Float32Array {
  const bytes = vectors.subarray(i * dimensions * 4, (i + 1) * dimensions * 4);
  return copy ? decodeVector(bytes) : viewVector(bytes);
}
