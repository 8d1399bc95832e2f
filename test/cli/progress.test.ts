import { describe, expect, it } from 'vitest';
import { clock, indexRebuildReporter, ProgressLine } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, columns: 200, write: (chunk: string) => writes.push(chunk) > 0 };
  return { stream: stream as unknown as NodeJS.WriteStream, writes };
}

const progress = {
  files: 3,
  totalFiles: 10,
  chunks: 120,
  estimatedChunks: 400,
  chunksPerSecond: 30,
  fraction: 0.3,
  elapsedMs: 4000,
  etaMs: 9333,
  current: 'notes/tides.md',
};

describe('ProgressLine', () => {
  it('draws a bar with percentage, rate, elapsed time and ETA in place on a TTY', () => {
    const { stream, writes } = fakeStream(true);
    new ProgressLine(stream, 0).ingest(progress);
    expect(writes[0]).toMatch(
      /^\ringest \[#{7}\.{17}\]\s+30%\s+chunks 120\/~400\s+30\.0\/s\s+elapsed 0:04\s+ETA 0:09\s+files 3\/10\s+notes\/tides\.md/,
    );
  });

  it('prints plain lines without control characters when stderr is not a TTY, and the last figures when done', () => {
    const { stream, writes } = fakeStream(false);
    const line = new ProgressLine(stream, 60_000);
    line.ingest(progress);
    line.ingest({ ...progress, chunks: 130 });
    line.done();
    expect(writes).toHaveLength(2);
    expect(writes[0]).toBe(
      'ingest:  30%  chunks 120/~400  30.0/s  elapsed 0:04  ETA 0:09  files 3/10  notes/tides.md\n',
    );
    expect(writes[1]).toContain('chunks 130/~400');
    expect(writes.join('').includes('\r')).toBe(false);
  });

  it('formats durations as m:ss and h:mm:ss', () => {
    expect(clock(7_000)).toBe('0:07');
    expect(clock(185_000)).toBe('3:05');
    expect(clock(3_729_000)).toBe('1:02:09');
  });

  it('says once why the HNSW index is rebuilt, then counts the vectors to the end', () => {
    const { stream, writes } = fakeStream(false);
    const report = indexRebuildReporter(stream);
    const base = {
      reason: 'corrupt' as const,
      detail: 'kb.db.hnsw fails its CRC-32 check',
      indexPath: 'kb.db.hnsw',
    };
    report({ ...base, done: 0, total: 2000, elapsedMs: 0 });
    report({ ...base, done: 2000, total: 2000, elapsedMs: 4000, etaMs: 0 });
    expect(writes[0]).toBe(
      'Rebuilding the HNSW index kb.db.hnsw from SQLite: kb.db.hnsw fails its CRC-32 check.\n',
    );
    expect(writes.at(-1)).toContain(
      'rebuilding the index: 100%  vectors 2000/2000  500.0/s  elapsed 0:04  ETA 0:00',
    );
    expect(writes.filter((w) => w.startsWith('Rebuilding'))).toHaveLength(1);
  });
});
