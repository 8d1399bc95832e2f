/**
 * What the Bedrock generators share: building the runtime client, tracing each call (response headers and
 * throttled attempts), mapping SDK errors to LocalKbError, and honouring AbortSignal while streaming.
 */
import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { UsageListener } from '../observe/usage.js';

export interface BedrockClientOptions {
  /** A ready client; when given, `clientConfig` is ignored. */
  client?: BedrockRuntimeClient;
  /**
   * Extra client configuration (region, credentials, endpoint, retryStrategy, requestHandler…). Without it the
   * SDK's standard chain applies: AWS_REGION / profile, the credential chain, and
   * AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
   */
  clientConfig?: BedrockRuntimeClientConfig;
  /** Called once per model call with tokens, latency and error class. */
  onUsage?: UsageListener;
  logger?: Logger;
}

export function createBedrockRuntimeClient(options: BedrockClientOptions): BedrockRuntimeClient {
  return options.client ?? new BedrockRuntimeClient(options.clientConfig ?? {});
}

/** Secret strings from a static credentials object, so the logger can scrub them should they ever appear. */
export function configSecrets(config: BedrockRuntimeClientConfig | undefined): string[] {
  const credentials = config?.credentials;
  if (!credentials || typeof credentials === 'function') return [];
  return [credentials.secretAccessKey, credentials.sessionToken].filter(
    (value): value is string => typeof value === 'string',
  );
}

/** What one SDK call saw on the wire. */
export interface CallTrace {
  /** Headers of the last HTTP response (Bedrock's token-count headers live here; the SDK drops them). */
  headers: Record<string, string>;
  /** Attempts answered with a throttle, including those the SDK retried. */
  throttledAttempts: number;
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

function statusOf(error: SdkErrorLike): number | undefined {
  return error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
}

export function isThrottle(error: unknown): boolean {
  const e = asSdkError(error);
  return e.name === 'ThrottlingException' || e.name === 'throttlingException' || statusOf(e) === 429;
}

export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || asSdkError(error).name === 'AbortError';
}

export function abortedError(input: string, cause?: unknown): LocalKbError {
  return kbError('ABORTED', `The call to ${input} was aborted by the caller's AbortSignal.`, {
    input,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Hints for the errors people hit first, keyed by AWS error name. */
const FIXES: Record<string, string> = {
  AccessDeniedException:
    'check the IAM policy allows bedrock:InvokeModel and that model access is enabled in the Bedrock console',
  ResourceNotFoundException: 'check the model id and that the model is offered in this region',
  ValidationException: 'check the request options and the model id',
  UnrecognizedClientException: 'check the AWS credentials',
  ModelNotReadyException: 'retry after the model has loaded',
  ModelTimeoutException: 'retry with a shorter prompt or fewer output tokens',
  ServiceQuotaExceededException: 'request a quota increase or lower the token count',
};

export interface BedrockCallContext {
  modelId: string;
  operation: string;
  signal?: AbortSignal;
}

/** Maps anything the SDK throws to a LocalKbError naming the model and the fix. */
export function toLocalKbError(error: unknown, context: BedrockCallContext): LocalKbError {
  if (isLocalKbError(error)) return error;
  const { modelId, operation } = context;
  if (isAbort(error, context.signal)) return abortedError(modelId, error);
  const e = asSdkError(error);
  const status = statusOf(e);
  const details: Record<string, unknown> = { operation };
  if (e.name) details.awsErrorName = e.name;
  if (status !== undefined) details.status = status;
  if (e.$metadata?.requestId) details.requestId = e.$metadata.requestId;
  if (e.$metadata?.attempts !== undefined) details.attempts = e.$metadata.attempts;
  const message = (e.message ?? String(error)).replace(/\.\s*$/, '');
  if (isThrottle(error)) {
    return kbError(
      'THROTTLED',
      `Bedrock throttled ${operation} on ${modelId} after all retries (${message}); lower the request rate, ` +
        'raise maxAttempts, request a quota increase, or use a cross-region inference profile.',
      { input: modelId, cause: error, details },
    );
  }
  if (e.name === 'SyntaxError' || /deserializ/i.test(message)) {
    return kbError(
      'MODEL_RESPONSE_MALFORMED',
      `${modelId} answered ${operation} with a body that cannot be parsed: ${message}`,
      {
        input: modelId,
        cause: error,
        details,
      },
    );
  }
  if (/region is missing/i.test(message)) {
    return kbError(
      'INVALID_OPTION',
      'No AWS region is configured; set AWS_REGION or pass clientConfig.region.',
      {
        input: 'region',
        cause: error,
      },
    );
  }
  const fix = e.name ? FIXES[e.name] : undefined;
  const where = status === undefined ? (e.code ?? e.name ?? 'error') : `${e.name ?? 'error'} ${status}`;
  return kbError(
    'BEDROCK_ERROR',
    `Bedrock ${operation} on ${modelId} failed (${where}): ${message}${fix ? `; ${fix}` : ''}.`,
    { input: modelId, cause: error, details },
  );
}

/**
 * Iterates `source`, rejecting with ABORTED as soon as `signal` aborts, even while a chunk is pending
 * (the SDK's abortSignal does not always reach a response body that is already streaming).
 */
export async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal | undefined,
  input: string,
) {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    onAbort = () => reject(abortedError(input));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let exhausted = false;
  try {
    while (true) {
      if (signal?.aborted) throw abortedError(input);
      const step = await Promise.race([iterator.next(), aborted]);
      if (step.done) {
        exhausted = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Releases the HTTP stream when the caller stopped early or aborted; not awaited, a read may be pending.
    if (!exhausted) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** Reads a numeric response header such as x-amzn-bedrock-input-token-count. */
export function headerNumber(headers: Record<string, string>, name: string): number | undefined {
  const raw = headers[name] ?? headers[name.toLowerCase()];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The error of a response stream that failed. Before the first event nothing was shown (and the SDK may have
 * retried), so the plain mapping applies; after it the caller has partial output: STREAM_INTERRUPTED carries it
 * in `details.partialText`. An abort stays ABORTED and a chunk that cannot be read stays
 * MODEL_RESPONSE_MALFORMED, each with the partial text too.
 */
export function streamFailure(
  error: unknown,
  context: BedrockCallContext & { partialText: string; eventsSeen: number },
): LocalKbError {
  const { modelId, operation, partialText, eventsSeen } = context;
  const mapped = toLocalKbError(error, context);
  if (eventsSeen === 0) return mapped;
  if (mapped.code === 'ABORTED' || mapped.code === 'MODEL_RESPONSE_MALFORMED') {
    return kbError(mapped.code, mapped.message, {
      input: modelId,
      cause: error,
      details: { ...mapped.details, partialText },
    });
  }
  return kbError(
    'STREAM_INTERRUPTED',
    `The ${operation} response of ${modelId} broke after ${partialText.length} characters of text ` +
      `(${mapped.message}); retry the request. The text received so far is in details.partialText.`,
    { input: modelId, cause: error, details: { ...mapped.details, partialText, causeCode: mapped.code } },
  );
}

/** Checks a model id, inference profile id or ARN given by the caller. */
export function resolveModelId(modelId: unknown): string {
  if (typeof modelId !== 'string' || modelId.trim() === '') {
    throw kbError('INVALID_OPTION', 'modelId must be a Bedrock model id, inference profile id or ARN.', {
      input: 'modelId',
    });
  }
  return modelId;
}
