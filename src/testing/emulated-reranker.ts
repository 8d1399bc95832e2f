import {
  orderRerankResults,
  type RerankDocument,
  type Reranker,
  type RerankOptions,
  type RerankResult,
} from '../retrieve/rerank.js';

/** The rerank models the emulator answers for (Rerank and Retrieve's rerankingConfiguration). */
export const EMULATED_RERANK_MODELS = ['amazon.rerank-v1:0', 'cohere.rerank-v3-5:0'] as const;

function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length > 1);
}

/**
 * The emulator's deterministic rerank "model": the share of the query's distinct terms a document contains,
 * nudged by how often they occur, squashed into (0, 1). Documents sharing more query words rank higher, so
 * tests can predict the order.
 */
export function termOverlapRelevance(query: string, document: string): number {
  const queryTerms = [...new Set(terms(query))];
  if (queryTerms.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const term of terms(document)) counts.set(term, (counts.get(term) ?? 0) + 1);
  let matched = 0;
  let occurrences = 0;
  for (const term of queryTerms) {
    const count = counts.get(term) ?? 0;
    if (count > 0) matched++;
    occurrences += count;
  }
  const coverage = matched / queryTerms.length;
  const frequency = occurrences / (occurrences + 2);
  return Number((0.8 * coverage + 0.2 * frequency).toFixed(6));
}

/** A deterministic term-overlap reranker: what the emulator's Rerank answers, usable offline in your own tests. */
export class TermOverlapReranker implements Reranker {
  constructor(readonly id: string) {}

  async rerank(
    query: string,
    documents: readonly RerankDocument[],
    options: RerankOptions = {},
  ): Promise<RerankResult[]> {
    const scored = documents.map((document, index) => ({
      id: document.id,
      index,
      score: termOverlapRelevance(query, document.text),
    }));
    return orderRerankResults(scored, options.topN);
  }
}
