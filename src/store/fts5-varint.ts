/**
 * FTS5 keeps its totals (rows indexed, tokens per column) in the "averages" record, row 1 of `<table>_data`, as
 * SQLite varints: big-endian groups of 7 bits with the high bit set on all but the last, and a ninth byte of 8 bits.
 */
export function readFts5Varint(bytes: Uint8Array, offset: number): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return value;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return value;
  }
  return value * 256 + (bytes[offset + 8] ?? 0);
}
