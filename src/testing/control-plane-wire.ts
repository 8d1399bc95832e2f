/**
 * What the emulated bedrock control plane's operations share: query-string reading with the service's validation
 * wording, maxResults / nextToken paging, and JSON operations over WireOperation.
 */
import { parseJsonBody } from '../serve/agent-runtime/request-body.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import type { WireRequest } from '../serve/wire/http-server.js';
import { sendJson, type WireOperation, type WireOperationCall } from '../serve/wire/operation.js';

export type JsonBody = Record<string, unknown>;

export function constraintError(value: unknown, at: string, constraint: string): AwsServiceError {
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${at}' failed to satisfy constraint: ${constraint}`,
  );
}

export function queryOf(request: WireRequest): URLSearchParams {
  return new URLSearchParams(request.rawQuery);
}

export function enumQuery(
  query: URLSearchParams,
  name: string,
  values: readonly string[],
): string | undefined {
  const value = query.get(name) ?? undefined;
  if (value !== undefined && !values.includes(value)) {
    throw constraintError(value, name, `Member must satisfy enum value set: [${values.join(', ')}]`);
  }
  return value;
}

/** maxResults / nextToken over a list; the token is the next offset, opaque to clients. */
export function pageOf<T>(
  items: T[],
  query: URLSearchParams,
  limit = 1000,
): { items: T[]; nextToken?: string } {
  const raw = query.get('maxResults');
  const maxResults = raw === null ? limit : Number(raw);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) {
    throw constraintError(raw, 'maxResults', `Member must have value less than or equal to ${limit}`);
  }
  const token = query.get('nextToken');
  let offset = 0;
  if (token !== null) {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) {
      throw new AwsServiceError('ValidationException', 'The provided nextToken is invalid.');
    }
  }
  const slice = items.slice(offset, offset + maxResults);
  const next = offset + slice.length;
  return {
    items: slice,
    ...(next < items.length ? { nextToken: Buffer.from(String(next)).toString('base64url') } : {}),
  };
}

/** A JSON operation: the body read (GET and DELETE have none), the handler's result sent with `status`. */
export function jsonOperation(
  status: number,
  handler: (call: WireOperationCall, body: JsonBody) => unknown,
  modelIdOf?: (params: Record<string, string>, request: WireRequest) => string | undefined,
): WireOperation {
  return {
    streaming: false,
    subject(request, params) {
      const ids = Object.values(params);
      const modelId = modelIdOf?.(params, request);
      return { ids, ...(modelId === undefined ? {} : { modelId }) };
    },
    async run(call) {
      const body =
        call.request.method === 'GET' || call.request.method === 'DELETE'
          ? {}
          : parseJsonBody(call.request.body);
      sendJson(call, status, handler(call, body));
    },
  };
}

export function requiredMember(body: JsonBody, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function optionalMember(body: JsonBody, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsServiceError('SerializationException', `${key} must be a string.`);
  }
  return value;
}
