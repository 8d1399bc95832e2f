import type { Attributes } from '../observe/tracing.js';
import { usageAttributes } from '../observe/tracing.js';
import type { DocumentInput, RetrievalResult } from '../types.js';
import type { Answer, IngestSummary, RetrieveOptions } from './types.js';

/**
 * Span attributes of the knowledge base's operations. Queries, questions and document text are never recorded
 * (they may be private); counts, settings, scores, tokens and cost are.
 */
export function ingestAttributes(knowledgeBase: string, input: string[] | DocumentInput[]): Attributes {
  const paths = input.filter((item): item is string => typeof item === 'string');
  return {
    'localkb.knowledge_base': knowledgeBase,
    'localkb.ingest.inputs': input.length,
    ...(paths.length > 0 ? { 'localkb.ingest.paths': paths } : {}),
  };
}

export function ingestSummaryAttributes(summary: IngestSummary): Attributes {
  return {
    'localkb.ingest.files_seen': summary.filesSeen,
    'localkb.ingest.documents_added': summary.documentsAdded,
    'localkb.ingest.documents_updated': summary.documentsUpdated,
    'localkb.ingest.documents_unchanged': summary.documentsUnchanged,
    'localkb.ingest.documents_deleted': summary.documentsDeleted,
    'localkb.ingest.chunks_embedded': summary.chunksEmbedded,
    'localkb.ingest.skipped': summary.skipped.length,
  };
}

export function retrieveAttributes(knowledgeBase: string, options: RetrieveOptions): Attributes {
  return {
    'localkb.knowledge_base': knowledgeBase,
    'localkb.retrieve.k': options.k ?? 5,
    ...(options.searchType
      ? { 'localkb.retrieve.search_type': String(options.searchType).toLowerCase() }
      : {}),
    'localkb.retrieve.filtered': options.filter !== undefined,
  };
}

export function resultAttributes(results: readonly RetrievalResult[]): Attributes {
  return {
    'localkb.retrieve.results': results.length,
    ...(results[0] ? { 'localkb.retrieve.top_score': results[0].score } : {}),
  };
}

export function answerAttributes(answer: Answer): Attributes {
  return {
    'localkb.answer.citations': answer.citations.length,
    'localkb.answer.sources': answer.retrievalResults.length,
    ...usageAttributes(answer.usage, answer.cost),
  };
}
