import { kbError } from '../../errors.js';
import type { Chunk, SourceDocument, TokenCounter } from '../../types.js';
import { toChunk } from './chunk-builder.js';
import { chunkHierarchical } from './hierarchical.js';
import { type ChunkOptions, resolveChunkOptions } from './options.js';
import { chunkRecursive } from './recursive.js';
import { trimSpan } from './spans.js';

/**
 * Cuts a document into chunks measured with `counter` (the embedder's own tokenizer). For every chunk,
 * `doc.text.slice(chunk.start, chunk.end) === chunk.text`, and no embedded chunk has more than `maxTokens` tokens.
 */
export function chunkDocument(doc: SourceDocument, counter: TokenCounter, options: ChunkOptions): Chunk[] {
  const resolved = resolveChunkOptions(options);
  if (typeof counter?.count !== 'function') {
    throw kbError('INVALID_OPTION', 'chunkDocument needs a TokenCounter with a count(text) method.', {
      input: 'counter',
    });
  }
  switch (resolved.strategy) {
    case 'recursive':
      return chunkRecursive(doc, counter, resolved);
    case 'hierarchical':
      return chunkHierarchical(doc, counter, resolved);
    case 'none':
      return wholeDocument(doc, counter, resolved.maxTokens);
  }
}

/** Bedrock's NONE strategy: the document is one chunk, which must fit the embedder. */
function wholeDocument(doc: SourceDocument, counter: TokenCounter, maxTokens: number): Chunk[] {
  const span = trimSpan(doc.text, 0, doc.text.length);
  if (span.end === span.start) return [];
  const tokens = counter.count(doc.text.slice(span.start, span.end));
  if (tokens > maxTokens) {
    throw kbError(
      'DOCUMENT_TOO_LONG',
      `${doc.id} is ${tokens} tokens, more than the embedder reads (${maxTokens}), and chunking strategy is 'none'. ` +
        "Use strategy 'recursive' or 'hierarchical', or split the document.",
      { input: doc.id },
    );
  }
  return [toChunk(doc, { ...span, tokens }, 0, 'leaf', [])];
}
