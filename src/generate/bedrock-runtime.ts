/**
 * What the Bedrock generators share: building the runtime client, tracing each call (response headers and
 * throttled attempts), mapping SDK errors to LocalKbError in the generators' words (the logic is in
 * src/aws-errors.ts), and honouring AbortSignal while streaming.
 */

import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import {
  REMOTE_CALL_SHAPE,
  type RemoteCallOptions,
  type RemoteSettings,
  remoteSettings,
  withRemoteDefaults,
} from '../aws-clients.js';
import { type CallTrace, mapAwsError, timeoutMessage } from '../aws-errors.js';
import { kbError, type LocalKbError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { UsageListener } from '../observe/usage.js';
import type { OptionShape } from '../options.js';

export interface BedrockClientOptions extends RemoteCallOptions {
  /**
   * A ready client; when given, `clientConfig` is ignored, and so are `retry` and `timeouts` but for
   * `timeouts.idleMs` between stream events: the client keeps its own handler and retry strategy.
   */
  client?: BedrockRuntimeClient;
  /**
   * Extra client configuration (region, credentials, endpoint…). Without it the SDK's standard chain applies:
   * AWS_REGION / profile, the credential chain, and AWS_ENDPOINT_URL_BEDROCK_RUNTIME. Its own requestHandler,
   * retryStrategy or maxAttempts replace localkb's timeouts or retry policy.
   */
  clientConfig?: BedrockRuntimeClientConfig;
  /** Called once per model call with tokens, latency and error class. */
  onUsage?: UsageListener;
  logger?: Logger;
}

/** The client settings every Bedrock generator takes; spread it into a generator's declaration. */
export const BEDROCK_CLIENT_SHAPE: OptionShape<BedrockClientOptions> = {
  ...REMOTE_CALL_SHAPE,
  client: 'object',
  clientConfig: 'object',
  onUsage: 'function',
  logger: 'object',
};

/** A runtime client with localkb's timeouts and retry policy, and the settings it was built with. */
export interface BedrockRuntime {
  client: BedrockRuntimeClient;
  settings: RemoteSettings;
}

export function createBedrockRuntime(options: BedrockClientOptions): BedrockRuntime {
  const settings = remoteSettings(options);
  const client =
    options.client ?? new BedrockRuntimeClient(withRemoteDefaults(options.clientConfig, settings));
  return { client, settings };
}

/** Secret strings from a static credentials object, so the logger can scrub them should they ever appear. */
export function configSecrets(config: BedrockRuntimeClientConfig | undefined): string[] {
  const credentials = config?.credentials;
  if (!credentials || typeof credentials === 'function') return [];
  return [credentials.secretAccessKey, credentials.sessionToken].filter(
    (value): value is string => typeof value === 'string',
  );
}

export { type CallTrace, traceCall } from '../aws-errors.js';

/** TIMEOUT for a stream that went `idleMs` without an event. */
export function streamIdleError(context: BedrockCallContext, idleMs: number, trace: CallTrace): LocalKbError {
  const { modelId, operation } = context;
  const facts = { kind: 'idle' as const, ms: idleMs, endpoint: trace.endpoint ?? 'the Bedrock endpoint' };
  return kbError('TIMEOUT', timeoutMessage(`Bedrock ${operation} on ${modelId}`, facts), {
    input: modelId,
    details: { operation, ...facts },
  });
}

export function abortedError(input: string, cause?: unknown): LocalKbError {
  return kbError('ABORTED', abortedMessage(input), { input, ...(cause === undefined ? {} : { cause }) });
}

function abortedMessage(input: string): string {
  return `The call to ${input} was aborted by the caller's AbortSignal.`;
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
  const { modelId, operation } = context;
  return mapAwsError(error, {
    operation,
    input: modelId,
    signal: context.signal,
    failure: 'BEDROCK_ERROR',
    call: `Bedrock ${operation} on ${modelId}`,
    aborted: abortedMessage(modelId),
    throttled: (message) =>
      `Bedrock throttled ${operation} on ${modelId} after all retries (${message}); lower the request rate, ` +
      'raise maxAttempts, request a quota increase, or use a cross-region inference profile.',
    fixes: FIXES,
    malformed: (message) => `${modelId} answered ${operation} with a body that cannot be parsed: ${message}`,
  });
}

/**
 * The abort signal and idle settings of one streaming call: the request ends when the caller aborts or when no
 * event arrived for `idleMs` (then the stream fails with TIMEOUT).
 */
export function quietStream(
  context: BedrockCallContext,
  idleMs: number,
  trace: CallTrace,
): { abortSignal: AbortSignal; idle: StreamIdle } {
  const controller = new AbortController();
  const abortSignal = context.signal
    ? AbortSignal.any([context.signal, controller.signal])
    : controller.signal;
  return {
    abortSignal,
    idle: {
      ms: idleMs,
      error: () => streamIdleError(context, idleMs, trace),
      onIdle: () => controller.abort(),
    },
  };
}

/** What a stream does when it goes quiet: after `ms` without an event, `onIdle` (which cancels the request) and `error`. */
export interface StreamIdle {
  ms: number;
  error: () => LocalKbError;
  onIdle: () => void;
}

/**
 * Iterates `source`, rejecting with ABORTED as soon as `signal` aborts, even while a chunk is pending
 * (the SDK's abortSignal does not always reach a response body that is already streaming), and with
 * `idle.error()` when no event arrives for `idle.ms`.
 */
export async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal | undefined,
  input: string,
  idle?: StreamIdle,
) {
  const iterator = source[Symbol.asyncIterator]();
  const nextEvent = (): Promise<IteratorResult<T>> => {
    if (!idle) return iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        idle.onIdle();
        reject(idle.error());
      }, idle.ms);
    });
    return Promise.race([iterator.next(), quiet]).finally(() => clearTimeout(timer));
  };
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
      const step = await Promise.race([nextEvent(), aborted]);
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
 * in `details.partialText`. An abort stays ABORTED, a stream gone quiet TIMEOUT, and a chunk that cannot be
 * read MODEL_RESPONSE_MALFORMED, each with the partial text too.
 */
export function streamFailure(
  error: unknown,
  context: BedrockCallContext & { partialText: string; eventsSeen: number },
): LocalKbError {
  const { modelId, operation, partialText, eventsSeen } = context;
  const mapped = toLocalKbError(error, context);
  if (eventsSeen === 0) return mapped;
  if (mapped.code === 'ABORTED' || mapped.code === 'TIMEOUT' || mapped.code === 'MODEL_RESPONSE_MALFORMED') {
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
