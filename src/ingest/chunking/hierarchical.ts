import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { textLayoutOf, toChunk } from './chunk-builder.js';
import { mergePieces } from './merge-pieces.js';
import type { ResolvedChunkOptions } from './options.js';
import { documentSections, sectionPieces } from './sections.js';

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
    // Pieces are cut once at the child size and reused for both levels.
    const pieces = sectionPieces(doc.text, section, options.childSize, counter, layout);
    let next = 0;
    for (const parent of mergePieces(doc.text, pieces, parentLimits, counter)) {
      const parentIndex = chunks.length;
      chunks.push(toChunk(doc, parent, parentIndex, 'parent', section.headingPath));
      const own: typeof pieces = [];
      while (next < pieces.length && pieces[next]!.end <= parent.end) own.push(pieces[next++]!);
      for (const child of mergePieces(doc.text, own, childLimits, counter)) {
        const chunk = toChunk(doc, child, chunks.length, 'child', section.headingPath);
        chunk.parentIndex = parentIndex;
        chunks.push(chunk);
      }
    }
  }
  return chunks;
}
