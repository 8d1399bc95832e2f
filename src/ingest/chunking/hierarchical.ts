import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { textLayoutOf, toChunk } from './chunk-builder.js';
import { mergePieces } from './merge-pieces.js';
import type { ResolvedChunkOptions } from './options.js';
import { documentSections, sectionPieces } from './sections.js';
import type { Piece } from './spans.js';

/**
 * Bedrock-style hierarchical chunking: parents of up to `parentSize` tokens, each followed in the list by its
 * children of up to `childSize` tokens (with `chunkOverlap`, never over `maxTokens`). Children carry
 * `parentIndex`; they are embedded and searched, and the parent's text is what a search returns.
 */
export function chunkHierarchical(
  doc: SourceDocument,
  counter: TokenCounter,
  options: ResolvedChunkOptions,
): Chunk[] {
  const chunks: Chunk[] = [];
  const layout = textLayoutOf(doc);
  const parentLimits = { size: options.parentSize, overlap: 0, ceiling: options.parentSize, ...layout };
  const childLimits = {
    size: options.childSize,
    overlap: options.chunkOverlap,
    ceiling: options.maxTokens,
    ...layout,
  };
  for (const section of documentSections(doc.text, doc.format)) {
    // Pieces are cut once at the child size and reused for both levels; only those not yet under a parent
    // are held, so a huge section never needs all its pieces at once.
    const pending: Piece[] = [];
    let next = 0;
    const recorded = (function* () {
      for (const piece of sectionPieces(doc.text, section, options.childSize, counter, layout)) {
        pending.push(piece);
        yield piece;
      }
    })();
    for (const parent of mergePieces(doc.text, recorded, parentLimits, counter)) {
      const parentIndex = chunks.length;
      chunks.push(toChunk(doc, parent, parentIndex, 'parent', section.headingPath));
      const own: Piece[] = [];
      while (next < pending.length && pending[next]!.end <= parent.end) own.push(pending[next++]!);
      if (next > 1024) {
        pending.splice(0, next);
        next = 0;
      }
      for (const child of mergePieces(doc.text, own, childLimits, counter)) {
        const chunk = toChunk(doc, child, chunks.length, 'child', section.headingPath);
        chunk.parentIndex = parentIndex;
        chunks.push(chunk);
      }
    }
  }
  return chunks;
}
