import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsServiceError } from './aws-errors.js';
import type { WireRequest } from './http-server.js';

export interface AwsCredentialPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RequestAuthOptions {
  /** Signing service name, e.g. `bedrock`. */
  service: string;
  /** Region the credential scope must name; when absent, any region the client signed for is accepted. */
  region?: string;
  /** Known key pairs; when empty and no bearer token is set, every request is accepted. */
  credentials: readonly AwsCredentialPair[];
  /** When set, `Authorization: Bearer <token>` is accepted too (Bedrock API keys). */
  bearerToken?: string;
}

const SIGV4_AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Verifies the request's SigV4 signature (or bearer token) and throws AccessDeniedException (403) when it
 * is missing, names an unknown key, or does not match. The signature is recomputed with
 * @smithy/signature-v4 over the raw, still-encoded path, exactly the bytes the client signed.
 */
export async function verifyRequestAuth(request: WireRequest, options: RequestAuthOptions): Promise<void> {
  if (options.credentials.length === 0 && options.bearerToken === undefined) return;
  const authorization = request.headers.authorization ?? '';

  if (authorization.startsWith('Bearer ')) {
    const token = authorization.slice('Bearer '.length).trim();
    if (options.bearerToken !== undefined && safeEqual(token, options.bearerToken)) return;
    throw accessDenied('The bearer token included in the request is invalid.');
  }

  const parsed = SIGV4_AUTHORIZATION.exec(authorization);
  if (!parsed) throw accessDenied('Missing or malformed SigV4 Authorization header.');
  const [, accessKeyId, shortDate, region, service, signedHeaderList, signature] =
    parsed as unknown as string[];
  const pair = options.credentials.find((candidate) => candidate.accessKeyId === accessKeyId);
  if (!pair) throw accessDenied('The security token included in the request is invalid.');
  if (service !== options.service) {
    throw accessDenied(`Credential should be scoped to correct service: '${options.service}'.`);
  }
  if (options.region !== undefined && region !== options.region) {
    throw accessDenied(
      `Credential should be scoped to a valid region, not '${region}'. Use '${options.region}'.`,
    );
  }

  const amzDate = request.headers['x-amz-date'] ?? '';
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate || !amzDate.startsWith(shortDate!)) {
    throw accessDenied('The x-amz-date header is missing or does not match the credential scope.');
  }

  const signedHeaders = signedHeaderList!.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = name.startsWith(':')
      ? request.pseudoHeaders[name]
      : name === 'host'
        ? (request.headers.host ?? request.authority)
        : request.headers[name];
    if (value === undefined) throw accessDenied(`Signed header '${name}' is missing from the request.`);
    headers[name] = value;
  }
  const declaredPayloadHash = headers['x-amz-content-sha256'];
  if (declaredPayloadHash !== undefined && declaredPayloadHash !== 'UNSIGNED-PAYLOAD') {
    const actual = createHash('sha256').update(request.body).digest('hex');
    if (actual !== declaredPayloadHash)
      throw accessDenied('The request body does not match x-amz-content-sha256.');
  }

  const signer = new SignatureV4({
    credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey },
    region: region!,
    service: service!,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: declaredPayloadHash !== undefined,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: request.authority,
      path: request.rawPath,
      query: parseQuery(request.rawQuery),
      headers,
      body: request.body,
    }),
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  if (!safeEqual(expected, signature!)) {
    throw accessDenied(
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method.',
    );
  }
}

function accessDenied(message: string): AwsServiceError {
  return new AwsServiceError('AccessDeniedException', message, 403);
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `20240102T030405Z` → Date, or undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
}

/** Decoded query parameters; repeated keys become arrays, as HttpRequest expects. */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === '') return query;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1));
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}
