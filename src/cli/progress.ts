/** A one-line progress display on stderr: a redrawn bar on a TTY, a line every few seconds otherwise. */
export class ProgressLine {
  private readonly started = Date.now();
  private lastPrint = 0;
  private lastLength = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = stream.isTTY ? 100 : 5000,
  ) {}

  update(state: { files: number; chunks: number; totalFiles?: number; current?: string }): void {
    if (!this.due()) return;
    const now = Date.now();
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = state.chunks / seconds;
    const bar = state.totalFiles ? `${renderBar(state.files / state.totalFiles)} ` : '';
    const of = state.totalFiles ? `/${state.totalFiles}` : '';
    const current = state.current ? `  ${truncateLeft(state.current, 40)}` : '';
    this.write(
      `${bar}files ${state.files}${of}  chunks ${state.chunks}  ${rate.toFixed(1)} chunks/s${current}`,
    );
  }

  private due(): boolean {
    const now = Date.now();
    if (now - this.lastPrint < this.intervalMs) return false;
    this.lastPrint = now;
    return true;
  }

  private write(line: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** A plain count, e.g. queries run: `[####....] queries 120/300  41.2/s`. */
  count(done: number, total: number, unit: string): void {
    if (!this.due()) return;
    const rate = done / Math.max((Date.now() - this.started) / 1000, 0.001);
    this.write(`${renderBar(done / Math.max(total, 1))} ${unit} ${done}/${total}  ${rate.toFixed(1)}/s`);
  }

  done(): void {
    if (this.stream.isTTY && this.lastLength > 0) this.stream.write(`\r${' '.repeat(this.lastLength)}\r`);
  }
}

function renderBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function truncateLeft(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}
