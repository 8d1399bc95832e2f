import type { SqliteStore } from './sqlite-store.js';

/** Where an in-memory copy of a store stands: the generation it reflects and that generation's token. */
export interface CacheMark {
  generation: number;
  token: string;
}

/** What a cache must do to match the store now. */
export type CatchUp =
  | { kind: 'current' }
  /** Apply these chunk ids: each is now present (add it) or gone (remove it). */
  | { kind: 'changes'; chunkIds: number[]; to: CacheMark }
  /** The log no longer reaches back: compare the full id sets (the history is still the cache's own). */
  | { kind: 'compare'; to: CacheMark }
  /** Another history of the store (a restored backup, a copy written on its own): start again from SQLite. */
  | { kind: 'rebuild'; to: CacheMark };

/**
 * How a cache at `mark` catches up with the store. Call it inside `store.readSnapshot` and read what it names in
 * the same snapshot, so the mark it returns is exact. Chunk ids are never reused within one history and a chunk
 * never changes in place, so presence is all a cache needs to know about each id.
 */
export function catchUpFrom(store: SqliteStore, mark: CacheMark): CatchUp {
  const current = store.generationState();
  if (current.generation === mark.generation && current.token === mark.token) return { kind: 'current' };
  if (current.generation < mark.generation || store.generationToken(mark.generation) !== mark.token) {
    return { kind: 'rebuild', to: current };
  }
  const chunkIds = store.chunkChangesSince(mark.generation);
  return chunkIds ? { kind: 'changes', chunkIds, to: current } : { kind: 'compare', to: current };
}
