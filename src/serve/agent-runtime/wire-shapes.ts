/** localkb's RetrievalResult and Citation written as bedrock-agent-runtime JSON. */
import type { Citation } from '../../kb/types.js';
import type { Metadata, RetrievalResult } from '../../types.js';

export const SOURCE_URI_KEY = 'x-amz-bedrock-kb-source-uri';
export const CHUNK_ID_KEY = 'x-amz-bedrock-kb-chunk-id';
export const PAGE_NUMBER_KEY = 'x-amz-bedrock-kb-document-page-number';
export const DATA_SOURCE_ID_KEY = 'x-amz-bedrock-kb-data-source-id';

export interface WireLocation {
  type: string;
  s3Location?: { uri: string };
  webLocation?: { url: string };
  customDocumentLocation?: { id: string };
}

/**
 * Bedrock's RetrievalResultLocation for a result: kept as it is when the result already carries one (a served
 * managed knowledge base), else by the URI's scheme — s3:// is S3, http(s):// is WEB, anything else (local
 * files, caller-given documents) is a CUSTOM document named by its document id.
 */
export function wireLocation(result: RetrievalResult): WireLocation {
  const location = result.location;
  if (location.s3Location) return { type: 'S3', s3Location: { uri: location.s3Location.uri } };
  if (location.webLocation)
    return {
      type: location.type === 'LOCAL' ? 'WEB' : location.type,
      webLocation: { url: location.webLocation.url },
    };
  if (location.customDocumentLocation)
    return { type: 'CUSTOM', customDocumentLocation: { id: location.customDocumentLocation.id } };
  const uri = location.uri;
  if (/^s3:\/\//i.test(uri)) return { type: 'S3', s3Location: { uri } };
  if (/^https?:\/\//i.test(uri)) return { type: 'WEB', webLocation: { url: uri } };
  return { type: 'CUSTOM', customDocumentLocation: { id: result.documentId } };
}

/** The result's metadata with Bedrock's own keys present (source URI, chunk id, page). */
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
