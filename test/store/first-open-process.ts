/**
 * First opens in their own process, for the first-open tests. `race <dir> <n>`: after the parent's "go", opens
 * stores 0..n-1 in <dir> as knowledge bases and ingests a document into each, then reports the errors it met.
 * `loop <dir>`: creates new stores one after another until it is killed. Run with `node --import tsx`.
 */
import path from 'node:path';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const [mode, dir, countArg] = process.argv.slice(2) as [string, string, string];

async function race(count: number): Promise<void> {
  const errors: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const kb = await LocalKnowledgeBase.open(path.join(dir, `store-${i}.db`), { embedder: 'none' });
      await kb.ingest([{ id: `from-${process.pid}`, text: `written by process ${process.pid}` }]);
      await kb.close();
    } catch (error) {
      errors.push(`store-${i}: ${(error as { code?: string }).code} ${(error as Error).message}`);
    }
  }
  process.send?.({ type: 'report', errors }, () => process.exit(0));
}

function loop(): void {
  for (let i = 0; ; i++) {
    SqliteStore.open(path.join(dir, `store-${i}.db`), { embedder: { id: 'none', dimensions: 0 } }).close();
    if (i === 3) process.send?.({ type: 'looping' });
  }
}

if (mode === 'loop') {
  process.send?.({ type: 'ready' });
  setImmediate(loop);
} else {
  process.send?.({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'go') void race(Number(countArg));
  });
}
