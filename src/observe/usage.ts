/**
 * Usage events: one per model call (after the SDK's own retries), for cost tracking and metrics.
 * Generators and embedders take an `onUsage` listener; `BedrockMetrics.listener` is one.
 */

/** CloudWatch's split of failed invocations: client (4xx), server (5xx) and throttles. */
export type UsageErrorClass = 'client' | 'server' | 'throttle';

export interface UsageEvent {
  /** The model id, inference profile or ARN the call went to. */
  modelId: string;
  /** The API operation: Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream, ChatCompletions… */
  operation: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  /** Set when the call failed. */
  errorClass?: UsageErrorClass;
  /** The AWS error name (ThrottlingException, ValidationException…) or HTTP error of a failed call. */
  errorName?: string;
  /** HTTP attempts answered with a throttle (429 / ThrottlingException), including ones the SDK retried. */
  throttledAttempts?: number;
  /** Milliseconds since the epoch when the call ended. */
  timestamp: number;
  /** Set when a response cache answered: no model was called, nothing was billed (tokens are 0). */
  cacheHit?: boolean;
}

export type UsageListener = (event: UsageEvent) => void;

interface ErrorLike {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
  details?: { status?: unknown; awsErrorName?: unknown };
  code?: unknown;
}

const THROTTLE_NAMES = new Set(['ThrottlingException', 'TooManyRequestsException', 'ThrottledException']);

/** The HTTP status of an SDK error or of a LocalKbError carrying `details.status`. */
export function errorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ErrorLike;
  const status = e.$metadata?.httpStatusCode ?? e.details?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Classifies a failed call the way CloudWatch counts it: throttle, client error or server error. */
export function classifyError(error: unknown): UsageErrorClass {
  if (typeof error !== 'object' || error === null) return 'server';
  const e = error as ErrorLike;
  const name = typeof e.details?.awsErrorName === 'string' ? e.details.awsErrorName : e.name;
  if (e.code === 'THROTTLED' || (typeof name === 'string' && THROTTLE_NAMES.has(name))) return 'throttle';
  const status = errorStatus(error);
  if (status === 429) return 'throttle';
  if (status !== undefined && status >= 500) return 'server';
  if (status !== undefined && status >= 400) return 'client';
  if (e.$fault === 'client') return 'client';
  if (e.code === 'ABORTED' || e.code === 'INVALID_OPTION' || e.code === 'UNKNOWN_MODEL') return 'client';
  return 'server';
}

/** Calls the listener, never letting a listener's bug break the model call that reported usage. */
export function emitUsage(listener: UsageListener | undefined, event: UsageEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A failing listener must not turn a successful model call into a failure.
  }
}
