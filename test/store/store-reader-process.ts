/**
 * A reader in its own process for the cross-process test: opens the store read-only with an HNSW index and
 * queries in a loop until the parent says stop, then reports what it saw. Run with `node --import tsx`.
 */
import { HnswIndex } from '../../src/store/hnsw-index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const [dbPath, indexPath, dimensionsArg] = process.argv.slice(2) as [string, string, string];
const dimensions = Number(dimensionsArg);
const store = SqliteStore.open(dbPath, { readonly: true });
const index = await HnswIndex.open(store, indexPath);

const seen: { chunks: number; indexed: number; bm25: number; hnsw: number }[] = [];
const errors: string[] = [];
let stopping = false;
const query = new Float32Array(dimensions).fill(1 / Math.sqrt(dimensions));

function queryOnce(): void {
  try {
    index.refreshIfStale();
    // One read transaction: both reads see the same committed state even while the parent writes.
    const { chunks, bm25 } = store.readSnapshot(() => ({
      chunks: store.countChunks(),
      bm25: store.bm25Search('marker', 1000).length,
    }));
    const hnsw = index.search(query, 5).length;
    seen.push({ chunks, indexed: index.size, bm25, hnsw });
  } catch (error) {
    errors.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
  }
}

function loop(): void {
  if (stopping) return;
  queryOnce();
  if (seen.length === 1) process.send?.({ type: 'ready' });
  setImmediate(loop);
}

process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  stopping = true;
  queryOnce();
  process.send?.({ type: 'report', seen, errors }, () => {
    index.close();
    store.close();
    process.exit(0);
  });
});

loop();
