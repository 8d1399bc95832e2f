import { ChunkIdSet, MetadataIndex } from '../retrieve/metadata-index.js';
import { type CacheMark, catchUpFrom } from '../store/change-feed.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { RetrievalFilter } from '../types.js';

/**
 * The metadata filter index of one store, kept in step with it: built from SQLite on the first filtered query,
 * then caught up from the store's change log before each one (own writes and other processes' alike).
 */
export class StoreFilterIndex {
  private index: MetadataIndex | undefined;
  private mark: CacheMark = { generation: -1, token: '' };

  constructor(private readonly store: SqliteStore) {}

  /** Chunks indexed when last brought up to date (0 before the first filtered query). */
  get size(): number {
    return this.index?.size ?? 0;
  }

  /** Chunk ids (any role) whose metadata the filter accepts. The filter is trusted: validate it first. */
  matching(filter: RetrievalFilter): ChunkIdSet {
    return this.current().matching(filter);
  }

  private current(): MetadataIndex {
    this.store.readSnapshot(() => {
      const step = this.index ? catchUpFrom(this.store, this.mark) : undefined;
      if (step?.kind === 'current') return;
      if (!this.index || !step || step.kind === 'rebuild') {
        const built = new MetadataIndex();
        for (const batch of this.store.iterateChunkMetadata())
          for (const [id, metadata] of batch) built.add(id, metadata);
        this.index = built;
        this.mark = this.store.generationState();
        return;
      }
      const index = this.index;
      if (step.kind === 'compare') {
        const ids = this.store.chunkIds();
        const present = ChunkIdSet.of(ids);
        const missing = ids.filter((id) => !index.has(id));
        for (const id of [...index.ids()].filter((id) => !present.has(id))) index.remove(id);
        for (const [id, metadata] of this.store.chunkMetadataAmong(missing)) index.add(id, metadata);
      } else {
        const now = this.store.chunkMetadataAmong(step.chunkIds);
        for (const id of step.chunkIds) {
          const metadata = now.get(id);
          if (metadata === undefined) index.remove(id);
          else if (!index.has(id)) index.add(id, metadata);
        }
      }
      this.mark = step.to;
    });
    return this.index!;
  }
}
