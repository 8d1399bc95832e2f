import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { kbError } from '../../errors.js';
import { AwsServiceError } from './aws-errors.js';
import type { WireRequest, WireRequestHead } from './http-server.js';

export interface AwsCredentialPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RequestAuthOptions {
  /** Signing service name, e.g. `bedrock`. */
  service: string;
  /** The region the credential scope must name, e.g. `us-east-1`. */
  region: string;
  /** Known key pairs; when empty and no bearer token is set, every request is accepted. */
  credentials: readonly AwsCredentialPair[];
  /** When set, `Authorization: Bearer <token>` is accepted too (Bedrock API keys). */
  bearerToken?: string;
}

/** What is left to verify once the body is read: the signature covers it. */
export type BodyVerifier = (body: Buffer) => Promise<void>;

/** AWS refuses a request whose date is more than 15 minutes from its own clock, either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const SIGV4_PREFIX = 'AWS4-HMAC-SHA256 ';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * The key pairs a server verifies, checked: both halves non-empty (an empty secret must never mean "no
 * authentication"), and some key pair, or `allowUnauthenticated`, when it listens beyond loopback.
 */
export function checkListenerExposure(options: {
  host: string;
  credentials: AwsCredentialPair | readonly AwsCredentialPair[] | undefined;
  allowUnauthenticated: boolean;
  /** How a user passes keys, for the message. */
  how: string;
}): AwsCredentialPair[] {
  const given = options.credentials;
  const credentials =
    given === undefined
      ? []
      : Array.isArray(given)
        ? [...(given as readonly AwsCredentialPair[])]
        : [given as AwsCredentialPair];
  for (const pair of credentials) {
    if (
      typeof pair?.accessKeyId !== 'string' ||
      typeof pair.secretAccessKey !== 'string' ||
      !pair.accessKeyId.trim() ||
      !pair.secretAccessKey.trim()
    ) {
      throw kbError(
        'INVALID_OPTION',
        'credentials need a non-empty accessKeyId and secretAccessKey; an empty key would leave requests unverified.',
        { input: 'credentials' },
      );
    }
  }
  if (!LOOPBACK.test(options.host) && credentials.length === 0 && !options.allowUnauthenticated) {
    throw kbError(
      'INVALID_OPTION',
      `Listening on ${options.host} (beyond this machine) needs credentials so requests are SigV4-verified; pass ` +
        `credentials (${options.how}), or set allowUnauthenticated.`,
      { input: 'host' },
    );
  }
  return credentials;
}

/** The region signatures must name: the given one, else AWS_REGION, else us-east-1. */
export function signingRegion(region: string | undefined): string {
  const chosen = region ?? (process.env.AWS_REGION || 'us-east-1');
  if (typeof chosen !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(chosen)) {
    throw kbError(
      'INVALID_OPTION',
      `region must be an AWS region such as us-east-1, got ${JSON.stringify(chosen)}.`,
      {
        input: 'region',
      },
    );
  }
  return chosen;
}

/**
 * Checks everything about a request's authentication that its head tells, before its body is read: the scheme,
 * the access key (UnrecognizedClientException), the credential scope's region and service, that `host` (or
 * `:authority`) is signed, and the date (within 15 minutes of this clock). Refusals are AWS's errors and
 * messages (403). Returns the signature check, which needs the body; undefined when nothing is left to check.
 */
export function authenticateHead(
  head: WireRequestHead,
  options: RequestAuthOptions,
): BodyVerifier | undefined {
  if (options.credentials.length === 0 && options.bearerToken === undefined) return undefined;
  const authorization = head.headers.authorization;
  if (authorization === undefined || authorization.trim() === '') {
    throw new AwsServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  }
  if (authorization.startsWith('Bearer ')) {
    const token = authorization.slice('Bearer '.length).trim();
    if (options.bearerToken !== undefined && safeEqual(token, options.bearerToken)) return undefined;
    throw new AwsServiceError(
      'AccessDeniedException',
      'The bearer token included in the request is invalid.',
      403,
    );
  }
  if (!authorization.startsWith(SIGV4_PREFIX)) {
    throw incomplete(
      `Authorization header must start with 'AWS4-HMAC-SHA256' (SigV4), got '${authorization.split(' ')[0]}'.`,
    );
  }
  const fields = authorizationFields(authorization.slice(SIGV4_PREFIX.length));
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !fields.has(name));
  if (missing.length > 0) {
    throw incomplete(missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' '));
  }
  const scope = fields.get('Credential')!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1]!)) {
    throw incomplete(
      `Credential '${fields.get('Credential')}' must have the form <access key>/<YYYYMMDD>/<region>/<service>/aws4_request.`,
    );
  }
  const [accessKeyId, shortDate, region, service] = scope as [string, string, string, string];
  const signature = fields.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature))
    throw incomplete('Signature must be 64 lower-case hexadecimal digits.');
  const signedHeaders = fields.get('SignedHeaders')!.split(';');
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const pair = options.credentials.find((candidate) => candidate.accessKeyId === accessKeyId);
  if (!pair) {
    throw new AwsServiceError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      403,
    );
  }
  if (service !== options.service) {
    throw invalidSignature(`Credential should be scoped to correct service: '${options.service}'. `);
  }
  if (region !== options.region) {
    throw invalidSignature(`Credential should be scoped to a valid region, not '${region}'. `);
  }

  const amzDate = head.headers['x-amz-date'];
  if (amzDate === undefined) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) throw incomplete(`X-Amz-Date '${amzDate}' is not of the form YYYYMMDDTHHMMSSZ.`);
  if (!amzDate.startsWith(shortDate)) {
    throw invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  checkClockSkew(signingDate, amzDate);

  const values: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = name.startsWith(':')
      ? head.pseudoHeaders[name]
      : name === 'host'
        ? (head.headers.host ?? head.authority)
        : head.headers[name];
    if (value === undefined) throw invalidSignature(`Signed header '${name}' is missing from the request.`);
    values[name] = value;
  }
  return async (body) => {
    const declaredPayloadHash = values['x-amz-content-sha256'];
    if (declaredPayloadHash !== undefined && declaredPayloadHash !== 'UNSIGNED-PAYLOAD') {
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== declaredPayloadHash) {
        throw invalidSignature(
          'The provided x-amz-content-sha256 header does not match what was computed from the request body.',
        );
      }
    }
    const signer = signerFor(pair, region, service, declaredPayloadHash !== undefined);
    const signed = await signer.sign(
      new HttpRequest({
        method: head.method,
        protocol: 'http:',
        hostname: head.authority,
        path: head.rawPath,
        query: parseQuery(head.rawQuery),
        headers: values,
        body,
      }),
      { signingDate, signableHeaders: new Set(signedHeaders) },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
    if (!safeEqual(expected, signature)) {
      throw invalidSignature(
        'The request signature we calculated does not match the signature you provided. ' +
          'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
  };
}

/**
 * One signer per key pair, scope and checksum mode, kept for the server's life: SignatureV4 caches the derived
 * signing key per day, so a request costs one HMAC for its signature instead of five; SHA-256 comes from
 * node:crypto (the SDK's own Node hash), not a JavaScript implementation.
 */
const signers = new Map<string, SignatureV4>();
const MAX_SIGNERS = 64;

function signerFor(
  pair: AwsCredentialPair,
  region: string,
  service: string,
  applyChecksum: boolean,
): SignatureV4 {
  const key = JSON.stringify([pair.accessKeyId, pair.secretAccessKey, region, service, applyChecksum]);
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size >= MAX_SIGNERS) signers.clear();
    signer = new SignatureV4({
      credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey },
      region,
      service,
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum,
    });
    signers.set(key, signer);
  }
  return signer;
}

/** Both checks at once, for a request already read whole. */
export async function verifyRequestAuth(request: WireRequest, options: RequestAuthOptions): Promise<void> {
  await authenticateHead(request, options)?.(request.body);
}

/** AWS's wording: "Signature expired: <date> is now earlier than <now − 15 min> (<now> - 15 min.)". */
function checkClockSkew(signingDate: Date, amzDate: string): void {
  const now = Date.now();
  if (signingDate.getTime() < now - MAX_CLOCK_SKEW_MS) {
    throw invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - MAX_CLOCK_SKEW_MS)} ` +
        `(${formatAmzDate(now)} - 15 min.)`,
    );
  }
  if (signingDate.getTime() > now + MAX_CLOCK_SKEW_MS) {
    throw invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + MAX_CLOCK_SKEW_MS)} ` +
        `(${formatAmzDate(now)} + 15 min.)`,
    );
  }
}

/** `Credential=…, SignedHeaders=…, Signature=…`, in any order, with or without spaces after the commas. */
function authorizationFields(rest: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  return fields;
}

function invalidSignature(message: string): AwsServiceError {
  return new AwsServiceError('InvalidSignatureException', message, 403);
}

function incomplete(message: string): AwsServiceError {
  return new AwsServiceError('IncompleteSignatureException', message, 403);
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
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
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
