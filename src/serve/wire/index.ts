/** Reusable pieces for wire-faithful AWS JSON services: one port for HTTP/1.1 and h2c, routing, SigV4, errors, event streams. */
export { AWS_ERROR_STATUS, AwsServiceError, sendAwsError, statusForAwsError } from './aws-errors.js';
export {
  decodeEventStreamMessages,
  EVENT_STREAM_CONTENT_TYPE,
  type EventStreamMessage,
  encodeError,
  encodeEvent,
  encodeEventStreamMessage,
  encodeException,
  toCamelCase,
} from './event-stream.js';
export {
  startWireServer,
  type WireHandler,
  type WireRequest,
  type WireResponse,
  type WireServer,
  type WireServerOptions,
  type WireStream,
} from './http-server.js';
export {
  type CallSubject,
  type StreamFailure,
  sendEventStreamFrames,
  sendJson,
  truncatedJson,
  type WireOperation,
  type WireOperationCall,
  type WireRoute,
} from './operation.js';
export {
  type AwsCredentialPair,
  parseQuery,
  type RequestAuthOptions,
  verifyRequestAuth,
} from './request-auth.js';
export { type RouteMatch, WireRouter } from './router.js';
