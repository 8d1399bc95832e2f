import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { textLayoutOf, toChunk } from './chunk-builder.js';
import { mergePieces } from './merge-pieces.js';
import type { ResolvedChunkOptions } from './options.js';
import { documentSections, sectionPieces } from './sections.js';

/**
 * Recursive chunking: split at headings (Markdown and HTML), then paragraphs, lines, sentences and words as
 * needed, merge back to `chunkSize` tokens with `chunkOverlap`, and never exceed `maxTokens`.
 */
export function chunkRecursive(
  doc: SourceDocument,
  counter: TokenCounter,
  options: ResolvedChunkOptions,
): Chunk[] {
  const chunks: Chunk[] = [];
  const layout = textLayoutOf(doc);
  const limits = {
    size: options.chunkSize,
    overlap: options.chunkOverlap,
    ceiling: options.maxTokens,
    ...layout,
  };
  for (const section of documentSections(doc.text, doc.format)) {
    const pieces = sectionPieces(doc.text, section, options.chunkSize, counter, layout);
    for (const merged of mergePieces(doc.text, pieces, limits, counter)) {
      chunks.push(toChunk(doc, merged, chunks.length, 'leaf', section.headingPath));
    }
  }
  return chunks;
}
