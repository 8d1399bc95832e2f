import type { IngestProgress } from './types.js';

/**
 * Counts an ingest as it goes and turns the counts into what people expect of a progress display: totals (files
 * from the listing, chunks once every file is chunked), a fraction, a rate, elapsed time and an ETA.
 * Before the chunk total is known it is estimated from the bytes chunked so far.
 */
export class IngestProgressTracker {
  private readonly started = Date.now();
  private firstChunkAt: number | undefined;
  private totalFiles: number | undefined;
  private totalBytes: number | undefined;
  private filesDone = 0;
  private bytesChunked = 0;
  private chunksPlanned = 0;
  private chunksDone = 0;
  private allChunked = false;
  private current: string | undefined;

  constructor(
    private readonly emit: ((progress: IngestProgress) => void) | undefined,
    private readonly onListed?: (files: number, bytes: number) => void,
  ) {}

  /** The walk (or the caller's list) is complete: these many files or documents, of these many bytes. */
  listed(files: number, bytes: number): void {
    this.totalFiles = files;
    this.totalBytes = bytes;
    this.onListed?.(files, bytes);
    this.report();
  }

  /** One file or document was taken in: loaded and chunked into `chunks` chunks to embed (0 when unchanged). */
  fileTaken(name: string, bytes: number, chunks: number): void {
    this.filesDone++;
    this.bytesChunked += bytes;
    this.chunksPlanned += chunks;
    this.current = name;
    this.report();
  }

  /** Every file is chunked: the chunk total is now exact. */
  chunkingDone(): void {
    this.allChunked = true;
    this.report();
  }

  /** `count` more chunks are embedded (or, without an embedder, stored). */
  chunksEmbedded(count: number): void {
    if (count > 0 && this.firstChunkAt === undefined) this.firstChunkAt = Date.now();
    this.chunksDone += count;
    this.report();
  }

  snapshot(): IngestProgress {
    const now = Date.now();
    const elapsedMs = now - this.started;
    const totalChunks = this.allChunked ? this.chunksPlanned : undefined;
    const estimatedChunks = totalChunks ?? this.estimateChunks();
    // The rate runs from the first embedded chunk, so a model load or a slow walk does not depress it.
    const rateSeconds = this.firstChunkAt === undefined ? 0 : (now - this.firstChunkAt) / 1000;
    const chunksPerSecond = rateSeconds > 0 ? this.chunksDone / rateSeconds : 0;
    let fraction: number;
    if (estimatedChunks !== undefined && estimatedChunks > 0) {
      fraction = Math.min(this.chunksDone / estimatedChunks, 1);
    } else if (this.totalFiles) {
      fraction = this.filesDone / this.totalFiles;
    } else {
      fraction = this.allChunked ? 1 : 0;
    }
    const remaining =
      estimatedChunks === undefined ? undefined : Math.max(estimatedChunks - this.chunksDone, 0);
    const etaMs =
      remaining === undefined
        ? undefined
        : remaining === 0
          ? 0
          : chunksPerSecond > 0
            ? (remaining / chunksPerSecond) * 1000
            : undefined;
    return {
      files: this.filesDone,
      ...(this.totalFiles !== undefined ? { totalFiles: this.totalFiles } : {}),
      chunks: this.chunksDone,
      ...(totalChunks !== undefined ? { totalChunks } : {}),
      ...(totalChunks === undefined && estimatedChunks !== undefined ? { estimatedChunks } : {}),
      chunksPerSecond,
      fraction,
      elapsedMs,
      ...(etaMs !== undefined ? { etaMs: Math.round(etaMs) } : {}),
      ...(this.current !== undefined ? { current: this.current } : {}),
    };
  }

  private estimateChunks(): number | undefined {
    if (this.totalBytes === undefined || this.bytesChunked === 0) return undefined;
    if (this.bytesChunked >= this.totalBytes) return this.chunksPlanned;
    return Math.max(
      this.chunksPlanned,
      Math.round((this.chunksPlanned / this.bytesChunked) * this.totalBytes),
    );
  }

  private report(): void {
    this.emit?.(this.snapshot());
  }
}
