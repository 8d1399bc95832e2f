import { kbError } from '../errors.js';
import {
  createSegmentMemory,
  type DotKernel,
  dotKernel,
  ROW_ALIGNMENT,
  type SegmentMemory,
} from './dot-kernel.js';
import type { ScoredId } from './sqlite-store.js';
import { TopK } from './top-k.js';

/** Rows per segment: one WebAssembly memory each, so no single memory nears the 4 GiB limit of wasm32. */
const SEGMENT_ROWS = 1 << 16;
const PAGE = 65536;

interface Segment {
  readonly memory: SegmentMemory;
  /** The memory as floats (remade whenever the memory grows). */
  floats: Float32Array;
  /** Chunk id of each row. */
  readonly ids: Uint32Array;
  rows: number;
  /** Rows the memory has room for now (it grows up to SEGMENT_ROWS). */
  capacity: number;
}

/**
 * The L2-normalised vectors of a store, contiguous in memory (one WebAssembly memory per 65,536 rows), for exact
 * scans at memory speed: a full scan streams the rows once through a SIMD dot-product kernel, a filtered scan
 * visits only the candidate rows. Rows are kept dense: a removal moves the last row into the hole.
 *
 * Each segment's memory is laid out as [query | scores | row numbers | rows…]; the first three are scratch space
 * for one scan, sized for a whole segment.
 */
export class VectorMatrix {
  /** Floats per row: the dimension rounded up to the kernel's alignment (the padding stays zero). */
  readonly stride: number;
  private readonly kernel: DotKernel = dotKernel();
  private readonly segments: Segment[] = [];
  private readonly rowOf = new Map<number, number>();
  private readonly queryBytes: number;
  private readonly scratchBytes: number;

  constructor(readonly dimensions: number) {
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw kbError('INVALID_OPTION', `A vector matrix needs a positive dimension, got ${dimensions}.`, {
        input: 'dimensions',
      });
    }
    this.stride = Math.ceil(dimensions / ROW_ALIGNMENT) * ROW_ALIGNMENT;
    this.queryBytes = this.stride * 4;
    this.scratchBytes = this.queryBytes + SEGMENT_ROWS * 8;
  }

  /** True when scans run on WebAssembly SIMD. */
  get simd(): boolean {
    return this.kernel.simd;
  }

  get size(): number {
    return this.rowOf.size;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** Every id held, in row order. */
  ids(): number[] {
    const ids: number[] = [];
    for (const segment of this.segments) for (let r = 0; r < segment.rows; r++) ids.push(segment.ids[r]!);
    return ids;
  }

  /** Bytes of memory the rows take (allocated, not just used). */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.memory.memory.buffer.byteLength, 0);
  }

  /** Adds `vector` (normalised on the way in) under `id`, replacing the vector it had. */
  set(id: number, vector: ArrayLike<number>): void {
    if (vector.length !== this.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `A ${vector.length}-d vector cannot go into a ${this.dimensions}-d vector matrix.`,
        { input: String(id), details: { expected: this.dimensions, actual: vector.length } },
      );
    }
    let row = this.rowOf.get(id);
    if (row === undefined) {
      row = this.appendRow(id);
      this.rowOf.set(id, row);
    }
    this.writeRow(row, vector);
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: number): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    this.rowOf.delete(id);
    const lastSegment = this.segments[this.segments.length - 1]!;
    const lastRow = (this.segments.length - 1) * SEGMENT_ROWS + lastSegment.rows - 1;
    if (row !== lastRow) {
      // Keep rows dense: the last row moves into the hole.
      const movedId = lastSegment.ids[lastSegment.rows - 1]!;
      this.rowView(row).set(this.rowView(lastRow));
      this.segmentOf(row).ids[row % SEGMENT_ROWS] = movedId;
      this.rowOf.set(movedId, row);
    }
    this.rowView(lastRow).fill(0);
    lastSegment.rows--;
    if (lastSegment.rows === 0 && this.segments.length > 1) this.segments.pop();
    return true;
  }

  /** A copy of the stored (normalised) vector of `id`. */
  get(id: number): Float32Array | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : this.rowView(row).slice(0, this.dimensions);
  }

  /**
   * Like `set` for a vector that is already L2-normalised (as hnswlib stores them): a plain copy of
   * `source[start … start + dimensions)`, with no view made per row (a load copies a million of them).
   */
  setNormalised(id: number, source: Float32Array, start = 0): void {
    let row = this.rowOf.get(id);
    if (row === undefined) {
      row = this.appendRow(id);
      this.rowOf.set(id, row);
    }
    const segment = this.segmentOf(row);
    segment.floats.set(
      source.subarray(start, start + this.dimensions),
      this.scratchBytes / 4 + (row % SEGMENT_ROWS) * this.stride,
    );
  }

  /** Makes room for `count` more rows at once, so a load does not grow (and copy) each memory step by step. */
  reserve(count: number): void {
    let wanted = this.size + count;
    for (const [index, segment] of this.segments.entries()) {
      const first = index * SEGMENT_ROWS;
      const inSegment = Math.min(SEGMENT_ROWS, Math.max(0, wanted - first));
      if (inSegment > segment.capacity) this.grow(segment, inSegment);
    }
    wanted -= this.segments.length * SEGMENT_ROWS;
    while (wanted > 0) {
      const segment = this.newSegment(Math.min(SEGMENT_ROWS, wanted));
      this.segments.push(segment);
      wanted -= SEGMENT_ROWS;
    }
  }

  /**
   * The k rows most similar to `query` (cosine similarity, best first; ties by ascending id). With `candidates`,
   * only those ids are scored (ids not held are ignored); with `accept`, only ids it accepts are returned (it is
   * asked only about rows that would make the top k).
   */
  search(
    query: ArrayLike<number>,
    k: number,
    candidates?: Iterable<number>,
    accept?: (id: number) => boolean,
  ): ScoredId[] {
    if (query.length !== this.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `The query has ${query.length} dimensions but the vectors have ${this.dimensions}; embed it with the store's embedder.`,
        { input: 'vector', details: { expected: this.dimensions, actual: query.length } },
      );
    }
    const top = new TopK(k);
    const normalised = normalisedCopy(query, this.stride);
    if (candidates === undefined) {
      for (const segment of this.segments) this.scanSegment(segment, normalised, top, accept);
    } else {
      const bySegment = new Map<number, number[]>();
      for (const id of candidates) {
        const row = this.rowOf.get(id);
        if (row === undefined) continue;
        const index = Math.floor(row / SEGMENT_ROWS);
        const rows = bySegment.get(index);
        if (rows) rows.push(row % SEGMENT_ROWS);
        else bySegment.set(index, [row % SEGMENT_ROWS]);
      }
      for (const [index, rows] of bySegment)
        this.scanRows(this.segments[index]!, normalised, rows, top, accept);
    }
    return top.sorted();
  }

  private scanSegment(
    segment: Segment,
    query: Float32Array,
    top: TopK,
    accept?: (id: number) => boolean,
  ): void {
    if (segment.rows === 0) return;
    const buffer = this.loadQuery(segment, query);
    const out = this.queryBytes;
    this.kernel.dots(segment.memory, 0, this.scratchBytes, segment.rows, this.stride, out);
    const scores = new Float32Array(buffer, out, segment.rows);
    collect(scores, segment.ids, top, accept);
  }

  private scanRows(
    segment: Segment,
    query: Float32Array,
    rows: number[],
    top: TopK,
    accept?: (id: number) => boolean,
  ): void {
    const buffer = this.loadQuery(segment, query);
    const out = this.queryBytes;
    const idx = out + SEGMENT_ROWS * 4;
    new Int32Array(buffer, idx, rows.length).set(rows);
    this.kernel.dotsAt(segment.memory, 0, this.scratchBytes, idx, rows.length, this.stride, out);
    const scores = new Float32Array(buffer, out, rows.length);
    let threshold = top.threshold;
    for (let i = 0; i < rows.length; i++) {
      const score = scores[i]!;
      if (score < threshold) continue;
      const id = segment.ids[rows[i]!]!;
      if (accept && !accept(id)) continue;
      top.push(id, score);
      threshold = top.threshold;
    }
  }

  private loadQuery(segment: Segment, query: Float32Array): ArrayBuffer {
    const buffer = segment.memory.memory.buffer;
    new Float32Array(buffer, 0, this.stride).set(query);
    return buffer;
  }

  private appendRow(id: number): number {
    let segment = this.segments[this.segments.length - 1];
    if (!segment || segment.rows === SEGMENT_ROWS) {
      segment = this.newSegment();
      this.segments.push(segment);
    }
    if (segment.rows === segment.capacity) this.grow(segment);
    segment.ids[segment.rows] = id;
    return (this.segments.length - 1) * SEGMENT_ROWS + segment.rows++;
  }

  private newSegment(initialRows = 1024): Segment {
    const pages = Math.ceil((this.scratchBytes + Math.max(initialRows, 1024) * this.stride * 4) / PAGE);
    const maximumPages = Math.ceil((this.scratchBytes + SEGMENT_ROWS * this.stride * 4) / PAGE);
    const memory = createSegmentMemory(pages, maximumPages);
    return {
      memory,
      floats: new Float32Array(memory.memory.buffer),
      ids: new Uint32Array(SEGMENT_ROWS),
      rows: 0,
      capacity: this.rowsFitting(pages),
    };
  }

  private grow(segment: Segment, atLeast = 0): void {
    const wanted = Math.min(SEGMENT_ROWS, Math.max(segment.capacity * 2, 1024, atLeast));
    const pages = Math.ceil((this.scratchBytes + wanted * this.stride * 4) / PAGE);
    segment.memory.memory.grow(pages - segment.memory.memory.buffer.byteLength / PAGE);
    // Growing detaches the old buffer.
    segment.floats = new Float32Array(segment.memory.memory.buffer);
    segment.capacity = Math.min(SEGMENT_ROWS, this.rowsFitting(pages));
  }

  private rowsFitting(pages: number): number {
    return Math.min(SEGMENT_ROWS, Math.floor((pages * PAGE - this.scratchBytes) / (this.stride * 4)));
  }

  private segmentOf(row: number): Segment {
    return this.segments[Math.floor(row / SEGMENT_ROWS)]!;
  }

  private rowView(row: number): Float32Array {
    const segment = this.segmentOf(row);
    const offset = this.scratchBytes + (row % SEGMENT_ROWS) * this.stride * 4;
    return new Float32Array(segment.memory.memory.buffer, offset, this.stride);
  }

  private writeRow(row: number, vector: ArrayLike<number>): void {
    const view = this.rowView(row);
    let norm = 0;
    for (let i = 0; i < this.dimensions; i++) norm += vector[i]! * vector[i]!;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < this.dimensions; i++) view[i] = vector[i]! * scale;
  }
}

function normalisedCopy(vector: ArrayLike<number>, stride: number): Float32Array {
  const copy = new Float32Array(stride);
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < vector.length; i++) copy[i] = vector[i]! * scale;
  return copy;
}

/** Pushes every score that can still make the top k; the threshold check keeps the heap work to a few rows. */
function collect(scores: Float32Array, ids: Uint32Array, top: TopK, accept?: (id: number) => boolean): void {
  let threshold = top.threshold;
  for (let r = 0; r < scores.length; r++) {
    const score = scores[r]!;
    if (score < threshold) continue;
    if (accept && !accept(ids[r]!)) continue;
    top.push(ids[r]!, score);
    threshold = top.threshold;
  }
}
