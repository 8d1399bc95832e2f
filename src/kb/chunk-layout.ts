import { kbError } from '../errors.js';
import {
  addChunkContexts,
  CHUNK_OPTION_SHAPE,
  type ChunkingStrategy,
  type ChunkOptions,
  chunkDocument,
  chunkRecords,
  chunkSectioned,
  chunkSemantic,
  contextReserve,
  DEFAULT_OVERLAP_RATIO,
  type ResolvedChunkOptions,
  resolveChunkOptions,
} from '../ingest/index.js';
import { declareOptions } from '../options.js';
import type { Chunk, Embedder, SourceDocument, TokenCounter } from '../types.js';

/** Chunker settings of a knowledge base: the ingest chunkers, plus semantic chunking (which needs the embedder). */
export type KnowledgeBaseChunking = Omit<ChunkOptions, 'maxTokens' | 'strategy'> & {
  strategy?: ChunkingStrategy | 'semantic';
  /** Semantic chunking: cut where adjacent sentences' distance exceeds this percentile. Default 95. */
  percentile?: number;
  /**
   * 'recursive' (default): the size of a section, the unit BM25 ranks; passages of `chunkSize` inside it are what
   * the embedder reads and search returns. Default 1500 tokens (Bedrock's parent size). At or below `chunkSize`,
   * BM25 ranks the passages themselves.
   */
  sectionSize?: number;
};

const { maxTokens: _maxTokens, ...CHUNK_SHAPE_WITHOUT_MAX } = CHUNK_OPTION_SHAPE;
export const KNOWLEDGE_BASE_CHUNKING_OPTIONS = declareOptions<KnowledgeBaseChunking>(
  'chunking',
  { ...CHUNK_SHAPE_WITHOUT_MAX, percentile: 'number', sectionSize: 'integer' },
  { overlap: 'chunkOverlap', size: 'chunkSize' },
);

/** Bumped when the way stored chunks are made changes, so the next ingest re-chunks every document. */
export const LAYOUT_VERSION = 'sections-2';

const DEFAULT_SECTION_SIZE = 1500;

/** How a knowledge base cuts documents, resolved once per open. */
export interface ChunkLayout {
  chunking: KnowledgeBaseChunking;
  resolved: ResolvedChunkOptions;
  sectionSize: number;
}

export function resolveChunkLayout(
  chunking: KnowledgeBaseChunking,
  maxTokens: number,
  embedder: Embedder | undefined,
): ChunkLayout {
  if (chunking.strategy === 'semantic' && !embedder) {
    throw kbError(
      'INVALID_OPTION',
      'Semantic chunking compares sentence embeddings; it needs an embedder, not "none".',
      { input: 'chunking.strategy' },
    );
  }
  const { strategy, percentile: _percentile, sectionSize, ...rest } = chunking;
  const resolved = resolveChunkOptions({
    ...rest,
    ...(strategy && strategy !== 'semantic' ? { strategy } : {}),
    maxTokens,
  });
  if (sectionSize !== undefined && (!Number.isInteger(sectionSize) || sectionSize < 1)) {
    throw kbError(
      'INVALID_OPTION',
      `Chunk option sectionSize must be a whole number of tokens ≥ 1, got ${JSON.stringify(sectionSize)}.`,
      { input: 'sectionSize' },
    );
  }
  return { chunking, resolved, sectionSize: sectionSize ?? DEFAULT_SECTION_SIZE };
}

/**
 * A document's chunks as the store keeps them: cut by the layout's strategy with room left in every embedded chunk
 * for its context (title > headings), which is then set on each chunk.
 */
export async function chunkForStore(
  doc: SourceDocument,
  counter: TokenCounter,
  embedder: Embedder | undefined,
  layout: ChunkLayout,
): Promise<Chunk[]> {
  const { resolved, chunking } = layout;
  let reserve = contextReserve(doc, counter, resolved.maxTokens);
  // A whole-document chunk must fit as it is: its context gets only the room the document leaves.
  if (resolved.strategy === 'none' && chunking.strategy !== 'semantic') {
    reserve = Math.max(0, Math.min(reserve, resolved.maxTokens - counter.count(doc.text)));
  }
  const maxTokens = resolved.maxTokens - reserve;
  const sized = (size: number) => Math.min(size, maxTokens);
  const chunkSize = sized(resolved.chunkSize);
  const childSize = sized(resolved.childSize);
  const embedded = resolved.strategy === 'hierarchical' ? childSize : chunkSize;
  const options: ResolvedChunkOptions = {
    ...resolved,
    maxTokens,
    chunkSize,
    childSize,
    chunkOverlap:
      resolved.chunkOverlap < embedded ? resolved.chunkOverlap : Math.floor(embedded * DEFAULT_OVERLAP_RATIO),
  };
  let chunks: Chunk[];
  if (doc.records) {
    chunks = chunkRecords(doc, counter, options);
  } else if (chunking.strategy === 'semantic' && embedder) {
    chunks = await chunkSemantic(doc, embedder, {
      maxTokens: chunkSize,
      ...(chunking.percentile !== undefined ? { percentile: chunking.percentile } : {}),
    });
  } else if (resolved.strategy === 'recursive') {
    chunks = chunkSectioned(doc, counter, { ...options, sectionSize: layout.sectionSize });
  } else {
    chunks = chunkDocument(doc, counter, options);
  }
  return addChunkContexts(doc, chunks, counter, reserve);
}

/** The unit a search returns by default: Bedrock's hierarchical chunking returns parents, every other layout passages. */
export function defaultResultLevel(layout: ChunkLayout): 'passage' | 'section' {
  return layout.resolved.strategy === 'hierarchical' && layout.chunking.strategy !== 'semantic'
    ? 'section'
    : 'passage';
}
