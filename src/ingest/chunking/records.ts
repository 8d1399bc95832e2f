import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { chunkDocument } from './chunk-document.js';
import type { ResolvedChunkOptions } from './options.js';

/**
 * A record file kept as one document: every record is one chunk with the record's metadata, and a record longer
 * than the embedder reads is cut recursively within itself (its pieces share its metadata). Chunks never cross
 * records.
 */
export function chunkRecords(
  doc: SourceDocument,
  counter: TokenCounter,
  options: ResolvedChunkOptions,
): Chunk[] {
  const chunks: Chunk[] = [];
  for (const record of doc.records ?? []) {
    const text = doc.text.slice(record.start, record.end);
    const tokens = counter.count(text);
    const pieces =
      tokens <= options.maxTokens
        ? [{ start: 0, end: text.length, text, tokenCount: tokens }]
        : chunkDocument({ ...doc, text, records: undefined } as SourceDocument, counter, {
            ...options,
            strategy: 'recursive',
          });
    for (const piece of pieces) {
      chunks.push({
        index: chunks.length,
        text: piece.text,
        start: record.start + piece.start,
        end: record.start + piece.end,
        tokenCount: piece.tokenCount,
        role: 'leaf',
        metadata: record.metadata,
      });
    }
  }
  return chunks;
}
