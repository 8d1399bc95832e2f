/**
 * Rerankers re-score retrieved passages against the query with a model that reads both together (a cross-encoder),
 * which orders results better than the bi-encoder similarity that found them. Implementations:
 * CrossEncoderReranker (local, transformers.js) and BedrockReranker (Amazon Bedrock's Rerank API).
 */

import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';

export interface RerankDocument {
  id: string;
  text: string;
}

export interface RerankOptions {
  /** Return only the best `topN` documents. Default: all of them. */
  topN?: number;
  signal?: AbortSignal;
}

export const RERANK_OPTIONS = declareOptions<RerankOptions>(
  'rerank',
  { topN: 'integer', signal: 'signal' },
  { k: 'topN', topK: 'topN', numberOfResults: 'topN' },
);

export interface RerankResult {
  id: string;
  /** Relevance to the query, higher is better. Only comparable between results of the same reranker. */
  score: number;
  /** Position of the document in the input array. */
  index: number;
}

export interface Reranker {
  /** Stable id, e.g. `cross-encoder:Xenova/ms-marco-MiniLM-L-6-v2:q8` or `bedrock:amazon.rerank-v1:0`. */
  readonly id: string;
  /** Scores every document against the query; best first, ties in input order. */
  rerank(
    query: string,
    documents: readonly RerankDocument[],
    options?: RerankOptions,
  ): Promise<RerankResult[]>;
  /** Frees native resources or connections. */
  close?(): Promise<void>;
}

/** Checks the arguments every reranker takes; throws INVALID_QUERY / INVALID_OPTION naming the bad input. */
export function validateRerankInput(
  rerankerId: string,
  query: unknown,
  documents: unknown,
  options: RerankOptions | undefined,
): void {
  if (typeof query !== 'string' || query.trim() === '') {
    throw kbError(
      'INVALID_QUERY',
      `${rerankerId}: the query must be a non-empty string, got ${JSON.stringify(query)}.`,
      {
        input: 'query',
      },
    );
  }
  if (!Array.isArray(documents)) {
    throw kbError('INVALID_OPTION', `${rerankerId}: documents must be an array of { id, text }.`, {
      input: 'documents',
    });
  }
  documents.forEach((document: unknown, i) => {
    const d = document as Partial<RerankDocument> | null;
    if (typeof d !== 'object' || d === null || typeof d.id !== 'string' || typeof d.text !== 'string') {
      throw kbError(
        'INVALID_OPTION',
        `${rerankerId}: documents[${i}] must be { id: string, text: string }.`,
        {
          input: `documents[${i}]`,
        },
      );
    }
  });
  checkOptions({ ...RERANK_OPTIONS, name: rerankerId }, options);
  const topN = options?.topN;
  if (topN !== undefined && (!Number.isInteger(topN) || topN < 1)) {
    throw kbError(
      'INVALID_OPTION',
      `${rerankerId}: topN must be a positive integer, got ${JSON.stringify(topN)}.`,
      {
        input: 'topN',
      },
    );
  }
}

/** Best first; equal scores keep input order. Cut to `topN` when given. */
export function orderRerankResults(results: RerankResult[], topN: number | undefined): RerankResult[] {
  const ordered = [...results].sort((a, b) => b.score - a.score || a.index - b.index);
  return topN === undefined ? ordered : ordered.slice(0, topN);
}

export function throwIfRerankAborted(rerankerId: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw kbError('ABORTED', `Reranking with ${rerankerId} was aborted by the caller.`, {
      input: rerankerId,
      cause: signal.reason,
    });
  }
}
