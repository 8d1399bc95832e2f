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
