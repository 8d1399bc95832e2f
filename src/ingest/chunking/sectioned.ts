import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { chunkHierarchical } from './hierarchical.js';
import type { ResolvedChunkOptions } from './options.js';
import { chunkRecursive } from './recursive.js';

/**
 * The knowledge base's layout: sections of up to `sectionSize` tokens, cut at headings, which BM25 ranks, each
 * holding passages of up to `chunkSize` tokens (never over `maxTokens`), which the embedder reads and search
 * returns. It is the hierarchical chunker with the section as parent and the passage as child; a section that is a
 * single passage is stored once, as a leaf, and a `sectionSize` no larger than `chunkSize` gives passages only.
 */
export function chunkSectioned(
  doc: SourceDocument,
  counter: TokenCounter,
  options: ResolvedChunkOptions & { sectionSize: number },
): Chunk[] {
  if (options.sectionSize <= options.chunkSize) return chunkRecursive(doc, counter, options);
  const nested = chunkHierarchical(doc, counter, {
    ...options,
    parentSize: options.sectionSize,
    childSize: options.chunkSize,
  });
  const childCount = new Map<number, number>();
  for (const chunk of nested) {
    if (chunk.parentIndex !== undefined)
      childCount.set(chunk.parentIndex, (childCount.get(chunk.parentIndex) ?? 0) + 1);
  }
  const chunks: Chunk[] = [];
  const newIndex = new Map<number, number>();
  for (const chunk of nested) {
    if (chunk.role === 'parent' && childCount.get(chunk.index) === 1) continue;
    const parent = chunk.parentIndex;
    if (parent !== undefined && childCount.get(parent) === 1) {
      // The section's only passage: one leaf instead of a parent and a child with the same text.
      const { parentIndex: _parent, ...leaf } = chunk;
      chunks.push({ ...leaf, index: chunks.length, role: 'leaf' });
      continue;
    }
    newIndex.set(chunk.index, chunks.length);
    const copy: Chunk = { ...chunk, index: chunks.length };
    if (parent !== undefined) copy.parentIndex = newIndex.get(parent)!;
    chunks.push(copy);
  }
  return chunks;
}
