import { kbError } from '../errors.js';
import type { RetrieveOverrides } from '../kb/local-retriever.js';
import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import type { OptionShape } from '../options.js';

/** What both frameworks' retrievers take: the knowledge base and the options of every retrieve call. */
export interface KnowledgeBaseRetrieverOptions {
  /** A LocalKnowledgeBase or BedrockKnowledgeBase (anything implementing localkb's KnowledgeBase). */
  knowledgeBase: KnowledgeBase;
  /** Results per query. Default 5. */
  k?: number;
  filter?: RetrieveOptions['filter'];
  searchType?: RetrieveOptions['searchType'];
  /** Further options of every retrieve call, e.g. a LocalKnowledgeBase's reranker, mmr, hybrid or level. */
  retrieveOptions?: Omit<RetrieveOptions, 'signal'> & RetrieveOverrides;
}

export const KNOWLEDGE_BASE_RETRIEVER_SHAPE: OptionShape<KnowledgeBaseRetrieverOptions> = {
  knowledgeBase: 'object',
  k: 'integer',
  filter: 'object',
  searchType: 'string',
  retrieveOptions: 'object',
};

/** The retrieve options `who` passes on every call, after checking it was given a knowledge base. */
export function retrieveOptionsOf(
  who: string,
  options: KnowledgeBaseRetrieverOptions,
): RetrieveOptions & RetrieveOverrides {
  if (typeof options?.knowledgeBase?.retrieve !== 'function') {
    throw kbError(
      'INVALID_OPTION',
      `${who} needs knowledgeBase: a LocalKnowledgeBase or BedrockKnowledgeBase.`,
      { input: 'knowledgeBase' },
    );
  }
  const { k, filter, searchType, retrieveOptions } = options;
  return {
    ...retrieveOptions,
    ...(k !== undefined ? { k } : {}),
    ...(filter !== undefined ? { filter } : {}),
    ...(searchType !== undefined ? { searchType } : {}),
  };
}
