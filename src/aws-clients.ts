// A foundation module like aws-errors.ts: every stage that builds an AWS SDK client may import it.
/**
 * How localkb's AWS SDK clients talk to the network: one HTTP handler with a connection timeout and a
 * response-idle timeout, and one retry policy (the SDK's adaptive strategy with bounded attempts and full
 * jitter) for generators, embedders, rerankers and knowledge bases alike. A stalled endpoint ends in TIMEOUT,
 * never in a call that waits forever.
 */
import { AdaptiveRetryStrategy, DefaultRateLimiter } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { kbError } from './errors.js';
import { declareOptions, type OptionShape } from './options.js';

/** How long a remote call may wait on the network. */
export interface RemoteTimeouts {
  /** Longest wait for a TCP (and TLS) connection, in ms. Default 10 000. */
  connectMs?: number;
  /**
   * Longest silence while a request is in flight, in ms: waiting for the response, reading its body, and between
   * the events of a stream. Default 120 000. Raise it for long non-streaming generations (the model writes the
   * whole answer before the first byte), or stream instead.
   */
  idleMs?: number;
}

/** The retry policy: adaptive (the client slows down when throttled), bounded, with full jitter. */
export interface RetryPolicy {
  /** Attempts per call, the first included. Default 8. A timed-out attempt is retried once at most. */
  maxAttempts?: number;
  /**
   * First backoff ceiling after a throttle, in ms; doubles per retry, each delay drawn from [0, ceiling). Default
   * 500. It also sets how slowly the adaptive limiter may send while throttled (0.5 requests/s at 500 ms).
   */
  baseDelayMs?: number;
  /** Largest backoff ceiling, in ms. Default 20 000. */
  maxDelayMs?: number;
}

/** The network settings every localkb class that calls AWS accepts. */
export interface RemoteCallOptions {
  timeouts?: RemoteTimeouts;
  retry?: RetryPolicy;
}

export const REMOTE_CALL_SHAPE: OptionShape<RemoteCallOptions> = {
  timeouts: declareOptions<RemoteTimeouts>('timeouts', { connectMs: 'number', idleMs: 'number' }),
  retry: declareOptions<RetryPolicy>('retry', {
    maxAttempts: 'integer',
    baseDelayMs: 'number',
    maxDelayMs: 'number',
  }),
};

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_ATTEMPTS = 8;
const DEFAULT_BASE_DELAY_MS = 500;
const DEFAULT_MAX_DELAY_MS = 20_000;
/** Transient failures other than throttles (5xx, resets) start from a tenth of the throttle base. */
const TRANSIENT_BASE_SHARE = 0.1;
/** Attempts that may time out per call: a stalled endpoint costs two timeouts, not maxAttempts of them. */
const MAX_TIMED_OUT_ATTEMPTS = 2;

/** Settings after defaults and validation. */
export interface RemoteSettings {
  connectMs: number;
  idleMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

function milliseconds(value: number | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min || value > 2 ** 31 - 1) {
    throw kbError(
      'INVALID_OPTION',
      `${name} must be a number of milliseconds from ${min} to ${2 ** 31 - 1}, got ${String(value)}.`,
      { input: name },
    );
  }
  return value;
}

/**
 * Process-wide defaults for the timeouts, for programs (the CLI, `localkb serve`) whose calls take no options:
 * LOCALKB_CONNECT_TIMEOUT_MS and LOCALKB_IDLE_TIMEOUT_MS. Options given in code win over them.
 */
export const TIMEOUT_ENVIRONMENT = {
  connectMs: 'LOCALKB_CONNECT_TIMEOUT_MS',
  idleMs: 'LOCALKB_IDLE_TIMEOUT_MS',
} as const;

/** A timeout from the environment, or `fallback` when the variable is unset or empty. */
export function environmentTimeout(kind: keyof typeof TIMEOUT_ENVIRONMENT, fallback: number): number {
  const name = TIMEOUT_ENVIRONMENT[kind];
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 2 ** 31 - 1) {
    throw kbError(
      'INVALID_OPTION',
      `${name} must be a whole number of milliseconds from 1 to ${2 ** 31 - 1}, got "${raw}"; fix or unset it.`,
      { input: name },
    );
  }
  return value;
}

const DEFAULT_TIMEOUTS = { connectMs: DEFAULT_CONNECT_TIMEOUT_MS, idleMs: DEFAULT_IDLE_TIMEOUT_MS } as const;

/** A timeout as given in code (range-checked as `timeouts.<kind>`), else from the environment, else the default. */
export function timeoutSetting(kind: keyof typeof TIMEOUT_ENVIRONMENT, given: number | undefined): number {
  return given === undefined
    ? environmentTimeout(kind, DEFAULT_TIMEOUTS[kind])
    : milliseconds(given, `timeouts.${kind}`, DEFAULT_TIMEOUTS[kind], 1);
}

/** Applies the defaults and checks the ranges (option types are checked by the caller's declaration). */
export function remoteSettings(options: RemoteCallOptions = {}): RemoteSettings {
  const { timeouts = {}, retry = {} } = options;
  const maxAttempts = retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
    throw kbError(
      'INVALID_OPTION',
      `retry.maxAttempts must be an integer from 1 to 20, got ${maxAttempts}.`,
      {
        input: 'retry.maxAttempts',
      },
    );
  }
  const settings = {
    connectMs: timeoutSetting('connectMs', timeouts.connectMs),
    idleMs: timeoutSetting('idleMs', timeouts.idleMs),
    maxAttempts,
    baseDelayMs: milliseconds(retry.baseDelayMs, 'retry.baseDelayMs', DEFAULT_BASE_DELAY_MS, 0),
    maxDelayMs: milliseconds(retry.maxDelayMs, 'retry.maxDelayMs', DEFAULT_MAX_DELAY_MS, 0),
  };
  if (settings.maxDelayMs < settings.baseDelayMs) {
    throw kbError(
      'INVALID_OPTION',
      `retry.maxDelayMs (${settings.maxDelayMs}) must be at least retry.baseDelayMs (${settings.baseDelayMs}).`,
      { input: 'retry.maxDelayMs' },
    );
  }
  return settings;
}

/** What a timed-out request carries for the error mapping (set by TimedHttpHandler). */
export interface TimeoutFacts {
  kind: 'connect' | 'idle';
  ms: number;
  endpoint: string;
}

const TIMEOUT_FACTS = Symbol.for('localkb.timeout');

/** The timeout facts on an SDK error or any of its causes, if a localkb handler or stream timed it out. */
export function timeoutFacts(error: unknown): TimeoutFacts | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const facts = (e as { [TIMEOUT_FACTS]?: TimeoutFacts })[TIMEOUT_FACTS];
    if (facts) return facts;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Marks `error` as a timeout; the name TimeoutError keeps it retryable for the SDK. */
export function markTimeout<E extends object>(error: E, facts: TimeoutFacts): E {
  Object.defineProperty(error, TIMEOUT_FACTS, { value: facts, enumerable: false });
  return error;
}

/**
 * NodeHttpHandler (HTTP/1.1, keep-alive) whose timeouts come out marked with what timed out and where: the
 * connection within connectMs, or silence on the socket for idleMs (before the headers or inside the body).
 */
class TimedHttpHandler extends NodeHttpHandler {
  readonly #settings: RemoteSettings;

  constructor(settings: RemoteSettings) {
    super({
      connectionTimeout: settings.connectMs,
      socketTimeout: settings.idleMs,
      httpAgent: { keepAlive: true },
      httpsAgent: { keepAlive: true },
    });
    this.#settings = settings;
  }

  override async handle(
    request: Parameters<NodeHttpHandler['handle']>[0],
    options?: Parameters<NodeHttpHandler['handle']>[1],
  ): ReturnType<NodeHttpHandler['handle']> {
    const endpoint = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
    const mark = (error: unknown) => {
      if (typeof error !== 'object' || error === null || (error as Error).name !== 'TimeoutError') return;
      const connect = /establish a connection/.test((error as Error).message);
      markTimeout(error, {
        kind: connect ? 'connect' : 'idle',
        ms: connect ? this.#settings.connectMs : this.#settings.idleMs,
        endpoint,
      });
    };
    try {
      const result = await super.handle(request, options);
      // A body that stalls is destroyed with the handler's TimeoutError; mark it before the SDK reads it.
      const body = result.response.body as {
        once?: (event: 'error', listener: (e: unknown) => void) => void;
      };
      body?.once?.('error', mark);
      return result;
    } catch (error) {
      mark(error);
      throw error;
    }
  }
}

/** Full-jitter exponential backoff with our base and ceiling; the SDK tells throttles apart by the base it sets. */
class FullJitterBackoff {
  readonly #settings: RemoteSettings;
  #base: number;

  constructor(settings: RemoteSettings) {
    this.#settings = settings;
    this.#base = settings.baseDelayMs;
  }

  /** The SDK passes its throttling base for throttles and our transient base otherwise. */
  setDelayBase(delay: number): void {
    const transient = this.#settings.baseDelayMs * TRANSIENT_BASE_SHARE;
    this.#base = delay === transient ? transient : this.#settings.baseDelayMs;
  }

  computeNextBackoffDelay(retry: number): number {
    return Math.floor(Math.random() * Math.min(this.#settings.maxDelayMs, this.#base * 2 ** retry));
  }
}

/**
 * The slowest rate, in requests per second, the adaptive limiter drops to while throttled: the SDK's 0.5 at the
 * default 500 ms base delay, faster in proportion when `retry.baseDelayMs` is smaller (the base sets the policy's
 * time scale).
 */
function slowestSendRate(settings: RemoteSettings): number {
  return settings.baseDelayMs > 0 ? (0.5 * DEFAULT_BASE_DELAY_MS) / settings.baseDelayMs : 1e6;
}

/**
 * The one retry policy: the SDK's AdaptiveRetryStrategy (a client-side rate limiter that slows sending while
 * throttled, and the SDK's retry quota) with `maxAttempts`, full-jitter backoff, and at most
 * MAX_TIMED_OUT_ATTEMPTS timed-out attempts per call.
 */
type RetryToken = Parameters<AdaptiveRetryStrategy['refreshRetryTokenForRetry']>[0];
type RetryErrorInfo = Parameters<AdaptiveRetryStrategy['refreshRetryTokenForRetry']>[1];

export class LocalKbRetryStrategy extends AdaptiveRetryStrategy {
  readonly #timedOut = new WeakMap<object, number>();

  constructor(settings: RemoteSettings) {
    super(settings.maxAttempts, {
      baseDelay: settings.baseDelayMs * TRANSIENT_BASE_SHARE,
      backoff: new FullJitterBackoff(settings),
      rateLimiter: new DefaultRateLimiter({ minFillRate: slowestSendRate(settings) }),
    });
  }

  override async refreshRetryTokenForRetry(
    token: RetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<RetryToken> {
    if (errorInfo.error && timeoutFacts(errorInfo.error)) {
      const timedOut = (this.#timedOut.get(token) ?? 0) + 1;
      if (timedOut >= MAX_TIMED_OUT_ATTEMPTS) throw new Error('No retry token available');
      const next = (await super.refreshRetryTokenForRetry(token, errorInfo)) as RetryToken;
      this.#timedOut.set(next, timedOut);
      return next;
    }
    const next = (await super.refreshRetryTokenForRetry(token, errorInfo)) as RetryToken;
    const carried = this.#timedOut.get(token);
    if (carried) this.#timedOut.set(next, carried);
    return next;
  }
}

/** The client settings that choose the network behaviour; the user's own win over localkb's. */
interface NetworkConfig {
  requestHandler?: unknown;
  retryStrategy?: unknown;
  maxAttempts?: unknown;
  retryMode?: unknown;
}

/**
 * `config` with localkb's handler (timeouts) and retry policy, unless the caller set their own requestHandler,
 * or retryStrategy / maxAttempts / retryMode.
 */
export function withRemoteDefaults<C extends NetworkConfig>(
  config: C | undefined,
  settings: RemoteSettings,
): C {
  const given = config ?? ({} as C);
  const ownRetries =
    given.retryStrategy !== undefined || given.maxAttempts !== undefined || given.retryMode !== undefined;
  return {
    ...given,
    ...(given.requestHandler === undefined ? { requestHandler: new TimedHttpHandler(settings) } : {}),
    ...(ownRetries ? {} : { retryStrategy: new LocalKbRetryStrategy(settings) }),
  };
}
