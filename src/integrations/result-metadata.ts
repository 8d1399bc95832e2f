import type { Metadata, RetrievalResult } from '../types.js';

/**
 * What a framework document carries of a localkb result: the chunk's own metadata (which includes Bedrock's
 * `x-amz-bedrock-kb-source-uri` and `x-amz-bedrock-kb-chunk-id`), then the score, the ids and where the chunk is,
 * under plain names a framework's prompt formatters and citation code look for (`source`, `page`).
 */
export interface ResultMetadata extends Metadata {
  score: number;
  documentId: string;
  chunkId: string;
  /** The source's URI (file://… for local files, s3://… or a web URL for managed knowledge bases). */
  source: string;
  locationType: string;
}

export function resultMetadata(result: RetrievalResult): ResultMetadata {
  const { location } = result;
  return {
    ...result.metadata,
    score: result.score,
    ...(result.rawScore !== undefined ? { rawScore: result.rawScore } : {}),
    documentId: result.documentId,
    chunkId: result.chunkId,
    source: location.uri,
    locationType: location.type,
    ...(location.page !== undefined ? { page: location.page } : {}),
    ...(location.start !== undefined ? { start: location.start } : {}),
    ...(location.end !== undefined ? { end: location.end } : {}),
    ...(result.section ? { sectionChunkId: result.section.chunkId } : {}),
  };
}
