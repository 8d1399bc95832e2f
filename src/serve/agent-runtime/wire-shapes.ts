/** localkb's RetrievalResult and Citation written as bedrock-agent-runtime JSON. */

import { documentLocation } from '../../kb/local-retriever.js';
import type { Citation } from '../../kb/types.js';
import { BEDROCK_METADATA_KEYS, type Metadata, type RetrievalResult } from '../../types.js';

export const SOURCE_URI_KEY = BEDROCK_METADATA_KEYS.sourceUri;
export const CHUNK_ID_KEY = BEDROCK_METADATA_KEYS.chunkId;
export const PAGE_NUMBER_KEY = BEDROCK_METADATA_KEYS.pageNumber;
export const DATA_SOURCE_ID_KEY = BEDROCK_METADATA_KEYS.dataSourceId;

export interface WireLocation {
  type: string;
  s3Location?: { uri: string };
  webLocation?: { url: string };
  customDocumentLocation?: { id: string };
}

/**
 * Bedrock's RetrievalResultLocation for a result: the location's own S3/WEB/CUSTOM member when it has one (local
 * results always do, see documentLocation), else by the URI's scheme.
 */
export function wireLocation(result: RetrievalResult): WireLocation {
  const given = result.location;
  const location =
    given.s3Location || given.webLocation || given.customDocumentLocation
      ? given
      : documentLocation(given.uri, result.documentId);
  if (location.s3Location) return { type: 'S3', s3Location: { uri: location.s3Location.uri } };
  if (location.webLocation) return { type: 'WEB', webLocation: { url: location.webLocation.url } };
  return { type: 'CUSTOM', customDocumentLocation: { id: location.customDocumentLocation!.id } };
}

/**
 * The result's metadata with Bedrock's own keys present (source URI, chunk id, page; local stores also write
 * the data source id), as a managed knowledge base returns them on every result and reference.
 */
export function wireMetadata(result: RetrievalResult): Metadata {
  const metadata: Metadata = { ...result.metadata };
  metadata[SOURCE_URI_KEY] ??= result.location.uri;
  metadata[CHUNK_ID_KEY] ??= result.chunkId;
  if (result.location.page !== undefined) metadata[PAGE_NUMBER_KEY] ??= result.location.page;
  return metadata;
}

/** KnowledgeBaseRetrievalResult. */
export function toWireRetrievalResult(result: RetrievalResult) {
  return {
    content: { type: 'TEXT', text: result.content.text },
    location: wireLocation(result),
    score: result.score,
    metadata: wireMetadata(result),
    documentId: result.documentId,
  };
}

/** RetrievedReference: a retrieval result without score, as citations carry it. */
export function toWireReference(result: RetrievalResult) {
  return {
    content: { type: 'TEXT', text: result.content.text },
    location: wireLocation(result),
    metadata: wireMetadata(result),
  };
}

/**
 * Citation: the supported part of the answer and its references. Bedrock's Span ends at the part's last
 * character (a 518-character part is {start: 0, end: 517}); localkb's span end is exclusive.
 */
export function toWireCitation(citation: Citation) {
  return {
    generatedResponsePart: {
      textResponsePart: {
        text: citation.text,
        span: { start: citation.span.start, end: Math.max(citation.span.start, citation.span.end - 1) },
      },
    },
    retrievedReferences: citation.references.map(toWireReference),
  };
}
