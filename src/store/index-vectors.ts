import { VectorMatrix } from './vector-matrix.js';

/** Where the vectors of a loaded index can be read again: the very file it was loaded from, kept open. */
export interface MatrixSource {
  /**
   * Copies the vectors of `labels` as they were at load into `matrix`; false when that copy no longer reads as it
   * was (the caller then rebuilds from the store).
   */
  fill(matrix: VectorMatrix, labels: ReadonlySet<number>): boolean;
  close(): void;
}

/**
 * The live labels of an HNSW index and their vectors. The labels are known at once; the vectors (a VectorMatrix,
 * what exact and filtered scans read) are copied in only when a scan first needs them, so opening an index costs
 * what hnswlib's own load costs. Until then, writes keep just the vectors they bring, to lay over the loaded copy.
 */
export class IndexVectors {
  private matrix: VectorMatrix | undefined;
  /** Vectors set since load while the matrix is not built yet; they win over the loaded copy. */
  private readonly pending = new Map<number, Float32Array>();

  /** The live labels as a set, made from `loadedLabels` on first need (a load reads them as a plain array). */
  private liveSet: Set<number> | undefined;

  private constructor(
    private readonly dimensions: number,
    private loadedLabels: Float64Array | undefined,
    private source: MatrixSource | undefined,
    matrix: VectorMatrix | undefined,
  ) {
    this.matrix = matrix;
    if (matrix) this.liveSet = new Set(matrix.ids());
  }

  private get live(): Set<number> {
    if (!this.liveSet) {
      this.liveSet = new Set(this.loadedLabels);
      this.loadedLabels = undefined;
    }
    return this.liveSet;
  }

  /** Vectors already in memory (a rebuild read them anyway). */
  static built(matrix: VectorMatrix): IndexVectors {
    return new IndexVectors(matrix.dimensions, undefined, undefined, matrix);
  }

  /** Labels known now, vectors read from `source` on first use. */
  static deferred(dimensions: number, liveLabels: Float64Array, source: MatrixSource): IndexVectors {
    return new IndexVectors(dimensions, liveLabels, source, undefined);
  }

  get size(): number {
    return this.liveSet?.size ?? this.loadedLabels!.length;
  }

  /** True once the vectors are in memory. */
  get loaded(): boolean {
    return this.matrix !== undefined;
  }

  has(id: number): boolean {
    return this.live.has(id);
  }

  ids(): number[] {
    return [...this.live];
  }

  set(id: number, vector: Float32Array): void {
    this.live.add(id);
    if (this.matrix) this.matrix.set(id, vector);
    else this.pending.set(id, vector);
  }

  delete(id: number): boolean {
    if (!this.live.delete(id)) return false;
    this.pending.delete(id);
    this.matrix?.delete(id);
    return true;
  }

  /** The vectors in memory, reading them now if this is the first need; undefined when they cannot be read. */
  vectors(): VectorMatrix | undefined {
    if (this.matrix) return this.matrix;
    const matrix = new VectorMatrix(this.dimensions);
    matrix.reserve(this.size);
    const fromLoad = new Set([...this.live].filter((id) => !this.pending.has(id)));
    const filled = this.source?.fill(matrix, fromLoad) === true;
    this.release();
    if (!filled) return undefined;
    for (const [id, vector] of this.pending) matrix.set(id, vector);
    this.pending.clear();
    this.matrix = matrix;
    return matrix;
  }

  /** Lets go of the source (an open file); the vectors can no longer be read from it. */
  release(): void {
    this.source?.close();
    this.source = undefined;
  }
}
