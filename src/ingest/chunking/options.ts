import { kbError } from '../../errors.js';
import { checkOptions, declareOptions, type OptionShape } from '../../options.js';

export type ChunkingStrategy = 'recursive' | 'hierarchical' | 'none';

/**
 * How `chunkDocument` cuts a document. Sizes are in the embedder's own tokens. `maxTokens` (the embedder's
 * `maxInputTokens`) is the hard ceiling for every chunk that is embedded; a larger `chunkSize`/`childSize` is
 * capped at it. Parents of hierarchical chunking are not embedded, so `parentSize` may exceed it.
 */
export interface ChunkOptions {
  strategy?: ChunkingStrategy;
  /** Target chunk size for 'recursive'. Default 300 (Bedrock's fixed-size default), capped at maxTokens. */
  chunkSize?: number;
  /** Tokens repeated from the end of one chunk at the start of the next (recursive chunks, hierarchical children). */
  chunkOverlap?: number;
  maxTokens: number;
  /** Hierarchical: parent chunk size. Default 1500 (Bedrock's default), at least 5 × childSize. */
  parentSize?: number;
  /** Hierarchical: child chunk size. Default 300, capped at maxTokens. */
  childSize?: number;
}

export interface ResolvedChunkOptions {
  strategy: ChunkingStrategy;
  chunkSize: number;
  chunkOverlap: number;
  maxTokens: number;
  parentSize: number;
  childSize: number;
}

/** Bedrock Knowledge Base defaults: fixed-size 300 tokens with 20 % overlap; hierarchical 1500/300 with 60 overlap. */
export const DEFAULT_CHUNK_OPTIONS: Readonly<Required<Omit<ChunkOptions, 'maxTokens'>>> = Object.freeze({
  strategy: 'recursive',
  chunkSize: 300,
  chunkOverlap: 60,
  parentSize: 1500,
  childSize: 300,
});

/** Share of the chunk size used as overlap when only the size is given. */
export const DEFAULT_OVERLAP_RATIO = 0.2;

/** The chunk options' shape; the knowledge base's `chunking` option reuses it. */
export const CHUNK_OPTION_SHAPE: OptionShape<ChunkOptions> = {
  strategy: 'string',
  chunkSize: 'integer',
  chunkOverlap: 'integer',
  maxTokens: 'integer',
  parentSize: 'integer',
  childSize: 'integer',
};
const CHUNK_OPTIONS = declareOptions<ChunkOptions>('chunk options', CHUNK_OPTION_SHAPE, {
  overlap: 'chunkOverlap',
  size: 'chunkSize',
});
const STRATEGIES: readonly ChunkingStrategy[] = ['recursive', 'hierarchical', 'none'];

/** Checks every option eagerly and fills in defaults; throws INVALID_OPTION naming the option and the fix. */
export function resolveChunkOptions(options: ChunkOptions): ResolvedChunkOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('chunk options', 'must be an object with at least { maxTokens }');
  }
  checkOptions(CHUNK_OPTIONS, options);
  const strategy = options.strategy ?? DEFAULT_CHUNK_OPTIONS.strategy;
  if (!STRATEGIES.includes(strategy)) {
    throw invalid('strategy', `must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`);
  }
  const maxTokens = positiveInteger(options.maxTokens, 'maxTokens');
  const chunkSize = Math.min(
    positiveInteger(options.chunkSize ?? DEFAULT_CHUNK_OPTIONS.chunkSize, 'chunkSize'),
    maxTokens,
  );
  const childSize = Math.min(
    positiveInteger(options.childSize ?? DEFAULT_CHUNK_OPTIONS.childSize, 'childSize'),
    maxTokens,
  );
  const parentSize = positiveInteger(
    options.parentSize ?? Math.max(DEFAULT_CHUNK_OPTIONS.parentSize, 5 * childSize),
    'parentSize',
  );
  const embeddedSize = strategy === 'hierarchical' ? childSize : chunkSize;
  const chunkOverlap = options.chunkOverlap ?? Math.floor(embeddedSize * DEFAULT_OVERLAP_RATIO);
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0) {
    throw invalid(
      'chunkOverlap',
      `must be a whole number of tokens ≥ 0, got ${JSON.stringify(chunkOverlap)}`,
    );
  }
  if (strategy !== 'none' && chunkOverlap >= embeddedSize) {
    const sizeName = strategy === 'hierarchical' ? 'childSize' : 'chunkSize';
    throw invalid(
      'chunkOverlap',
      `(${chunkOverlap}) must be smaller than ${sizeName} (${embeddedSize}, after capping at maxTokens ${maxTokens}); ` +
        `lower the overlap (${Math.floor(embeddedSize * DEFAULT_OVERLAP_RATIO)} is the usual 20 %)`,
    );
  }
  if (strategy === 'hierarchical' && parentSize <= childSize) {
    throw invalid('parentSize', `(${parentSize}) must be larger than childSize (${childSize})`);
  }
  return { strategy, chunkSize, chunkOverlap, maxTokens, parentSize, childSize };
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalid(name, `must be a whole number of tokens ≥ 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function invalid(name: string, problem: string) {
  return kbError('INVALID_OPTION', `Chunk option ${name} ${problem}.`, { input: name });
}
