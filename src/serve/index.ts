/** localkb serve: a knowledge base behind the bedrock-agent-runtime wire protocol. */
export { awsErrorOf } from './agent-runtime/aws-error-of.js';
export {
  type AgentRuntimeBackend,
  agentRuntimeRoutes,
  SESSION_ID_HEADER,
  type ServedKnowledgeBase,
} from './agent-runtime/operations.js';
export {
  CHUNK_ID_KEY,
  DATA_SOURCE_ID_KEY,
  PAGE_NUMBER_KEY,
  SOURCE_URI_KEY,
  toWireCitation,
  toWireReference,
  toWireRetrievalResult,
  type WireLocation,
  wireLocation,
} from './agent-runtime/wire-shapes.js';
export {
  type KnowledgeBaseServer,
  type KnowledgeBaseServerOptions,
  startKnowledgeBaseServer,
} from './knowledge-base-server.js';
