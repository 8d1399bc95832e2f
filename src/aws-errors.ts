// A foundation module like errors.ts: every stage (ingest, embed, index, retrieve, generate, kb) may import it.
/**
 * AWS SDK errors in one place: reading a ServiceException's name and HTTP status, telling throttles and aborts
 * apart, counting throttled attempts per call, and mapping what the SDK throws to a LocalKbError that names the
 * operation, the input at fault and the fix. Callers keep their own wording; the logic lives here.
 */
import { type TimeoutFacts, timeoutFacts } from './aws-clients.js';
import { isLocalKbError, kbError, type LocalKbError } from './errors.js';

/** What an SDK ServiceException (or any thrown value) may carry. */
interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $response?: { statusCode?: number };
}

function asSdkError(error: unknown): SdkErrorLike {
  return typeof error === 'object' && error !== null ? (error as SdkErrorLike) : {};
}

/** The AWS error name (ThrottlingException, ValidationException…), or the JavaScript error's name. */
export function awsErrorName(error: unknown): string | undefined {
  return asSdkError(error).name;
}

/** The HTTP status of an SDK error: `$metadata.httpStatusCode`, else the raw response's status. */
export function awsErrorStatus(error: unknown): number | undefined {
  const e = asSdkError(error);
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

/** ThrottlingException (`throttlingException` inside event streams) or HTTP 429. */
export function isThrottle(error: unknown): boolean {
  const name = awsErrorName(error);
  return name === 'ThrottlingException' || name === 'throttlingException' || awsErrorStatus(error) === 429;
}

/** The caller's signal fired, or the SDK rejected with an AbortError. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || awsErrorName(error) === 'AbortError';
}

/** CloudWatch's split of failed calls: client (4xx), server (5xx) and throttles. */
export type AwsErrorClass = 'client' | 'server' | 'throttle';

/**
 * Classifies an SDK error, or the LocalKbError it was mapped to (THROTTLED, `details.status`). Without an HTTP
 * status the failure is the caller's own (ABORTED, INVALID_OPTION) or else counts as a server error.
 */
export function awsErrorClass(error: unknown): AwsErrorClass {
  if (isThrottle(error) || isLocalKbError(error, 'THROTTLED')) return 'throttle';
  const mappedStatus = isLocalKbError(error) ? error.details?.status : undefined;
  const status = awsErrorStatus(error) ?? (typeof mappedStatus === 'number' ? mappedStatus : undefined);
  if (status !== undefined) return status >= 500 ? 'server' : 'client';
  return isLocalKbError(error, 'ABORTED') || isLocalKbError(error, 'INVALID_OPTION') ? 'client' : 'server';
}

/** INVALID_OPTION for a client without a region; `target` names what needed one. */
export function missingRegionError(cause: unknown, target?: string): LocalKbError {
  return kbError(
    'INVALID_OPTION',
    `No AWS region is configured${target ? ` for ${target}` : ''}; set AWS_REGION or pass clientConfig.region.`,
    { input: 'region', cause },
  );
}

/** The client's region (from its config, AWS_REGION or the profile), or missingRegionError. */
export async function clientRegion(
  client: { config: { region(): Promise<string> } },
  target?: string,
): Promise<string> {
  try {
    return await client.config.region();
  } catch (error) {
    throw missingRegionError(error, target);
  }
}

/** What one SDK call saw on the wire. */
export interface CallTrace {
  /** Headers of the last HTTP response (Bedrock's token-count headers live here; the SDK drops them). */
  headers: Record<string, string>;
  /** Attempts answered with a throttle, including those the SDK retried. */
  throttledAttempts: number;
  /** Where the last attempt was sent, e.g. https://bedrock-runtime.us-east-1.amazonaws.com. */
  endpoint?: string;
}

interface TraceableCommand {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware stack is generic over every command.
  middlewareStack: { add(middleware: any, options: Record<string, unknown>): void };
}

/** Adds a per-attempt middleware to `command` that records response headers and throttled attempts. */
export function traceCall(command: TraceableCommand): CallTrace {
  const trace: CallTrace = { headers: {}, throttledAttempts: 0 };
  command.middlewareStack.add(
    (next: (args: unknown) => Promise<{ response?: { headers?: Record<string, string> } }>) =>
      async (args: unknown) => {
        const request = (args as { request?: { protocol?: string; hostname?: string; port?: number } })
          .request;
        if (request?.hostname) {
          trace.endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
        }
        try {
          const result = await next(args);
          trace.headers = result.response?.headers ?? {};
          return result;
        } catch (error) {
          if (isThrottle(error)) trace.throttledAttempts += 1;
          throw error;
        }
      },
    { step: 'deserialize', name: 'localkbCallTrace', priority: 'high' },
  );
  return trace;
}

/** How one caller's failures read; `message` arguments are the AWS message without its final full stop. */
export interface AwsErrorMapping {
  /** The API operation (Converse, Rerank, Retrieve…), recorded as `details.operation`. */
  operation: string;
  /** The input at fault, as `LocalKbError.input`: a model id, a reranker id, a knowledge base id. */
  input: string;
  signal?: AbortSignal | undefined;
  /** Details for programs besides the AWS ones (name, status, request id, attempts). */
  details?: Record<string, unknown>;
  /** The code of a failure that is neither an abort nor a throttle. */
  failure: 'BEDROCK_ERROR' | 'KNOWLEDGE_BASE_ERROR';
  /** How a failure names the call: "`call` failed (ValidationException 400): message; fix." */
  call: string;
  aborted: string;
  throttled: (message: string) => string;
  /** Fixes for the errors people hit first, keyed by AWS error name. */
  fixes?: Readonly<Record<string, string>>;
  /** For model calls: a body that cannot be parsed is MODEL_RESPONSE_MALFORMED with this message. */
  malformed?: (message: string) => string;
}

/**
 * Maps whatever an SDK call throws to a LocalKbError: a LocalKbError as it is, then ABORTED, THROTTLED (after
 * the SDK's retries), MODEL_RESPONSE_MALFORMED (when `malformed` is given), INVALID_OPTION for a missing region,
 * else `failure` with the AWS error name, status, request id and attempts in `details`.
 */
export function mapAwsError(error: unknown, mapping: AwsErrorMapping): LocalKbError {
  if (isLocalKbError(error)) return error;
  const { input } = mapping;
  if (isAbort(error, mapping.signal)) return kbError('ABORTED', mapping.aborted, { input, cause: error });
  const e = asSdkError(error);
  const status = awsErrorStatus(error);
  const details: Record<string, unknown> = { operation: mapping.operation, ...mapping.details };
  if (e.name) details.awsErrorName = e.name;
  if (status !== undefined) details.status = status;
  if (e.$metadata?.requestId) details.requestId = e.$metadata.requestId;
  if (e.$metadata?.attempts !== undefined) details.attempts = e.$metadata.attempts;
  const message = (e.message ?? String(error)).replace(/\.\s*$/, '');
  const timeout = timeoutFacts(error);
  if (timeout || e.name === 'TimeoutError') {
    const facts = timeout ? { ...timeout } : {};
    return kbError('TIMEOUT', timeoutMessage(mapping.call, timeout, message), {
      input,
      cause: error,
      details: { ...details, ...facts },
    });
  }
  if (isThrottle(error)) {
    return kbError('THROTTLED', mapping.throttled(message), { input, cause: error, details });
  }
  if (mapping.malformed && (e.name === 'SyntaxError' || /deserializ/i.test(message))) {
    return kbError('MODEL_RESPONSE_MALFORMED', mapping.malformed(message), { input, cause: error, details });
  }
  if (/region is missing/i.test(message)) return missingRegionError(error);
  const fix = e.name ? mapping.fixes?.[e.name] : undefined;
  const where = status === undefined ? (e.code ?? e.name ?? 'error') : `${e.name ?? 'error'} ${status}`;
  return kbError(mapping.failure, `${mapping.call} failed (${where}): ${message}${fix ? `; ${fix}` : ''}.`, {
    input,
    cause: error,
    details,
  });
}

/** "`call` timed out: what went silent, for how long, under which option; the fix." */
export function timeoutMessage(call: string, facts: TimeoutFacts | undefined, sdkMessage = ''): string {
  if (!facts) {
    return (
      `${call} timed out (${sdkMessage}); check the endpoint and the network, or raise the timeouts of the ` +
      "client's requestHandler."
    );
  }
  const what =
    facts.kind === 'connect'
      ? `no connection to ${facts.endpoint} within ${facts.ms} ms (timeouts.connectMs)`
      : `${facts.endpoint} sent nothing for ${facts.ms} ms (timeouts.idleMs)`;
  const option = facts.kind === 'connect' ? 'connectMs' : 'idleMs';
  const variable = facts.kind === 'connect' ? 'LOCALKB_CONNECT_TIMEOUT_MS' : 'LOCALKB_IDLE_TIMEOUT_MS';
  return (
    `${call} timed out: ${what}. Check the endpoint and the network, or raise it, e.g. ` +
    `{ timeouts: { ${option}: ${facts.ms * 4} } } (or ${variable}=${facts.ms * 4} for the CLI and serve).`
  );
}
