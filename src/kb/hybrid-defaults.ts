import type { HybridOptions } from '../retrieve/index.js';

/** Used until per-embedder defaults are measured. */
export function defaultHybridFor(_embedderId: string | undefined): HybridOptions {
  return { method: 'rrf', rrfK: 60, weights: { semantic: 1, bm25: 1 } };
}
