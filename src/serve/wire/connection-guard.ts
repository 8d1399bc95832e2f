import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { kbError } from '../../errors.js';

/** How much a client may hold of the server: bytes per request, time per request head, idle time, connections. */
export interface WireServerLimits {
  /** Largest request body, in bytes; a larger one is answered 413 before (or as soon as) it exceeds this. */
  maxBodyBytes: number;
  /** Time a client has to send a request's head once it started it, and between the chunks of its body. */
  headersTimeoutMs: number;
  /** A connection with no request in flight (including one that never sends any) is closed after this long. */
  idleTimeoutMs: number;
  /** Connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
}

export const DEFAULT_WIRE_LIMITS: Readonly<WireServerLimits> = {
  maxBodyBytes: 20 * 1024 * 1024,
  headersTimeoutMs: 15_000,
  idleTimeoutMs: 60_000,
  maxConnections: 512,
};

/** The limits with defaults filled in; INVALID_OPTION naming a bad or unknown one. */
export function resolveWireLimits(
  limits: Partial<WireServerLimits> | undefined,
  input = 'limits',
): WireServerLimits {
  const resolved = { ...DEFAULT_WIRE_LIMITS };
  for (const [key, value] of Object.entries(limits ?? {})) {
    if (!(key in DEFAULT_WIRE_LIMITS)) {
      throw kbError(
        'INVALID_OPTION',
        `Unknown ${input} option "${key}"; expected one of ${Object.keys(DEFAULT_WIRE_LIMITS).join(', ')}.`,
        { input: `${input}.${key}` },
      );
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw kbError('INVALID_OPTION', `${input}.${key} must be a positive integer, got ${String(value)}.`, {
        input: `${input}.${key}`,
      });
    }
    resolved[key as keyof WireServerLimits] = value;
  }
  return resolved;
}

/**
 * Closes one connection that holds the server without using it: a head (or the HTTP/2 preface) that does not
 * arrive within `headersTimeoutMs` of its first byte, or no request in flight for `idleTimeoutMs`. Node's own
 * HTTP/1.1 timeouts never see connections handed over after protocol sniffing, so this watches the real socket.
 */
export class ConnectionGuard {
  readonly #socket: Socket;
  readonly #limits: WireServerLimits;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #protocol: 'unknown' | 'http1' | 'http2' = 'unknown';
  #session: Http2Session | undefined;
  /** HTTP/1.1 between requests: the first byte of the next head switches from the idle to the head timer. */
  readonly #onData = () => {
    if (this.#inFlight === 0) this.#arm(this.#limits.headersTimeoutMs);
    this.#socket.off('data', this.#onData);
  };

  constructor(socket: Socket, limits: WireServerLimits) {
    this.#socket = socket;
    this.#limits = limits;
    this.#arm(limits.headersTimeoutMs);
    socket.once('close', () => this.#clear());
  }

  /** The connection speaks HTTP/1.1; its first head is under way (the sniffer read its first bytes). */
  http1(): void {
    this.#protocol = 'http1';
  }

  /** The connection is an HTTP/2 session: only its open streams count as activity. */
  http2(session: Http2Session): void {
    this.#protocol = 'http2';
    this.#session = session;
    this.#arm(this.#limits.idleTimeoutMs);
  }

  /** A request's head arrived (HTTP/1.1) or a stream opened (HTTP/2). */
  requestStarted(): void {
    this.#inFlight++;
    this.#clear();
  }

  /** A response finished or its client went away. */
  requestEnded(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (this.#inFlight > 0) return;
    this.#arm(this.#limits.idleTimeoutMs);
    if (this.#protocol === 'http1') this.#socket.on('data', this.#onData);
  }

  #arm(ms: number): void {
    this.#clear();
    this.#timer = setTimeout(() => this.#expire(), ms);
    this.#timer.unref();
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket.off('data', this.#onData);
  }

  #expire(): void {
    if (this.#inFlight > 0) return;
    // An HTTP/2 client is told with GOAWAY first; the socket goes regardless, a stalled client may never read it.
    if (this.#session && !this.#session.destroyed) {
      this.#session.close();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
      return;
    }
    this.#socket.destroy();
  }
}
