import type { IngestProgress } from '../kb/types.js';
import type { IndexRebuildProgress } from '../store/hnsw-index.js';

/** What one progress display shows: a fraction, a count with its total, a rate, elapsed time and an ETA. */
export interface ProgressState {
  /** What is being done: "ingest", "queries", "rebuilding the HNSW index". */
  label: string;
  done: number;
  total?: number;
  /** Shown when the total is not known yet, as "~N". */
  estimatedTotal?: number;
  unit: string;
  /** 0 to 1; from done/total when left out. */
  fraction?: number;
  perSecond?: number;
  elapsedMs: number;
  etaMs?: number;
  /** More counts and the current item, after the main figures. */
  detail?: string;
}

/**
 * A progress display on stderr: a bar redrawn in place on a TTY, a plain line every few seconds otherwise (logs,
 * CI), and a last line when it is done so a log always ends with the final figures.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private lastPrint = 0;
  private lastLength = 0;
  private pending: string | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = stream.isTTY ? 100 : 5000,
  ) {}

  /** An ingest's figures as `kb.ingest`'s onProgress reports them. */
  ingest(progress: IngestProgress, label = 'ingest'): void {
    const files = `files ${progress.files}${progress.totalFiles !== undefined ? `/${progress.totalFiles}` : ''}`;
    const current = progress.current ? `  ${truncateLeft(progress.current, 40)}` : '';
    this.show({
      label,
      done: progress.chunks,
      ...(progress.totalChunks !== undefined ? { total: progress.totalChunks } : {}),
      ...(progress.estimatedChunks !== undefined ? { estimatedTotal: progress.estimatedChunks } : {}),
      unit: 'chunks',
      fraction: progress.fraction,
      perSecond: progress.chunksPerSecond,
      elapsedMs: progress.elapsedMs,
      ...(progress.etaMs !== undefined ? { etaMs: progress.etaMs } : {}),
      detail: `${files}${current}`,
    });
  }

  /** A plain count, e.g. queries run; rate and ETA are worked out here. */
  count(done: number, total: number, unit: string, label = unit): void {
    const elapsedMs = Date.now() - this.started;
    const perSecond = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
    this.show({
      label,
      done,
      total,
      unit,
      perSecond,
      elapsedMs,
      ...(perSecond > 0 ? { etaMs: ((total - done) / perSecond) * 1000 } : {}),
    });
  }

  show(state: ProgressState): void {
    const line = this.stream.isTTY ? renderTty(state, this.stream.columns) : renderPlain(state);
    const finished = state.total !== undefined && state.done >= state.total;
    if (!finished && !this.due()) {
      this.pending = line;
      return;
    }
    this.lastPrint = Date.now();
    this.pending = undefined;
    this.write(line);
  }

  done(): void {
    if (this.pending !== undefined && !this.stream.isTTY) this.stream.write(`${this.pending}\n`);
    this.pending = undefined;
    if (this.stream.isTTY && this.lastLength > 0) this.stream.write(`\r${' '.repeat(this.lastLength)}\r`);
    this.lastLength = 0;
  }

  private due(): boolean {
    return Date.now() - this.lastPrint >= this.intervalMs;
  }

  private write(line: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

function fractionOf(state: ProgressState): number | undefined {
  if (state.fraction !== undefined) return state.fraction;
  const total = state.total ?? state.estimatedTotal;
  return total ? state.done / total : undefined;
}

function figures(state: ProgressState): string {
  const total =
    state.total !== undefined
      ? `/${state.total}`
      : state.estimatedTotal !== undefined
        ? `/~${state.estimatedTotal}`
        : '';
  const rate =
    state.perSecond !== undefined && state.perSecond > 0 ? `  ${state.perSecond.toFixed(1)}/s` : '';
  const eta = state.etaMs !== undefined ? `  ETA ${clock(state.etaMs)}` : '';
  return `${state.unit} ${state.done}${total}${rate}  elapsed ${clock(state.elapsedMs)}${eta}`;
}

function renderTty(state: ProgressState, columns: number | undefined): string {
  const fraction = fractionOf(state);
  const bar = fraction === undefined ? '' : `${renderBar(fraction)} ${percent(fraction)}  `;
  const line = `${state.label} ${bar}${figures(state)}${state.detail ? `  ${state.detail}` : ''}`;
  const width = (columns ?? 120) - 1;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

function renderPlain(state: ProgressState): string {
  const fraction = fractionOf(state);
  return `${state.label}: ${fraction === undefined ? '' : `${percent(fraction)}  `}${figures(state)}${state.detail ? `  ${state.detail}` : ''}`;
}

function percent(fraction: number): string {
  return `${Math.floor(Math.min(Math.max(fraction, 0), 1) * 100)}%`.padStart(4);
}

function renderBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** 0:07, 3:05, 1:02:09. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

function truncateLeft(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

/**
 * The `onIndexRebuild` of CLI commands: says once why the HNSW index is being rebuilt, then shows the rebuild as a
 * bar (TTY) or lines (logs) with rate and ETA; the rebuilt index is saved, so the next open loads it.
 */
export function indexRebuildReporter(
  stream: NodeJS.WriteStream = process.stderr,
): (p: IndexRebuildProgress) => void {
  let line: ProgressLine | undefined;
  return (progress) => {
    if (!line) {
      stream.write(`Rebuilding the HNSW index ${progress.indexPath} from SQLite: ${progress.detail}.\n`);
      line = new ProgressLine(stream);
    }
    line.show({
      label: 'rebuilding the index',
      done: progress.done,
      total: progress.total,
      unit: 'vectors',
      perSecond: progress.elapsedMs > 0 ? (progress.done / progress.elapsedMs) * 1000 : 0,
      elapsedMs: progress.elapsedMs,
      ...(progress.etaMs !== undefined ? { etaMs: progress.etaMs } : {}),
    });
    if (progress.done >= progress.total) line.done();
  };
}
