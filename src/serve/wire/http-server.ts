import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import { kbError } from '../../errors.js';
import { AwsServiceError, sendAwsError } from './aws-errors.js';
import { ConnectionGuard, resolveWireLimits, type WireServerLimits } from './connection-guard.js';
import type { BodyVerifier } from './request-auth.js';

/** The client connection preface that opens every HTTP/2 prior-knowledge (h2c) connection. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What a request's head tells, the same shape for HTTP/1.1 and h2c. */
export interface WireRequestHead {
  readonly method: string;
  /** Path exactly as sent, still percent-encoded, without the query string. */
  readonly rawPath: string;
  /** Raw query string without `?` ('' when absent). */
  readonly rawQuery: string;
  /** Lower-cased header names; HTTP/2 pseudo-headers (`:path`…) are left out. */
  readonly headers: Record<string, string>;
  /** HTTP/2 pseudo-headers (`:authority`, `:path`…); empty for HTTP/1.1. SDKs sign `:authority` over h2. */
  readonly pseudoHeaders: Record<string, string>;
  /** The `:authority` of an h2 request or the `host` header of an HTTP/1.1 one. */
  readonly authority: string;
  readonly http2: boolean;
}

/** One request, read whole. */
export interface WireRequest extends WireRequestHead {
  readonly body: Buffer;
}

/** A response stream opened with {@link WireResponse.openStream}. */
export interface WireStream {
  /** Resolves once the bytes are handed to the transport (waits for `drain` under back-pressure). */
  write(chunk: Uint8Array): Promise<void>;
  end(): void;
  /** True once the client went away or the stream ended. */
  readonly closed: boolean;
}

export interface WireResponse {
  /** Sent as `x-amzn-requestid` on every response. */
  readonly requestId: string;
  /** Status written so far (0 before the head is sent). */
  readonly status: number;
  /** True once the response ended or the client went away. */
  readonly closed: boolean;
  send(status: number, headers: Record<string, string>, body?: string | Uint8Array): void;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  openStream(status: number, headers: Record<string, string>): WireStream;
  /** Called once with the status when the response head is written. */
  onHead(listener: (status: number) => void): void;
  /** Called once when the client disconnects or the response finishes. */
  onClose(listener: () => void): void;
}

export type WireHandler = (request: WireRequest, response: WireResponse) => Promise<void> | void;

export interface WireServerOptions {
  host?: string;
  port?: number;
  handler: WireHandler;
  /**
   * Runs on each request's head before its body is read: throw an AwsServiceError to refuse the request unread
   * (an unauthenticated client cannot make the server buffer its body). The returned function checks the body
   * once it is read, e.g. the signature that covers it.
   */
  authenticate?: (head: WireRequestHead) => BodyVerifier | undefined;
  /** Body size, header and idle timeouts, connection cap; see DEFAULT_WIRE_LIMITS. */
  limits?: Partial<WireServerLimits>;
}

export interface WireServer {
  readonly host: string;
  readonly port: number;
  /** e.g. `http://127.0.0.1:43123` */
  readonly url: string;
  /** Stops listening and destroys every open connection and HTTP/2 session. */
  close(): Promise<void>;
}

/**
 * Serves HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on one port: each new connection is sniffed for
 * the HTTP/2 preface and handed to the matching server. AWS SDK v3 clients for Bedrock runtime default to
 * HTTP/2, while `NodeHttpHandler` and curl speak HTTP/1.1.
 */
export async function startWireServer(options: WireServerOptions): Promise<WireServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw kbError('INVALID_OPTION', `port must be an integer from 0 to 65535, got ${String(port)}`, {
      input: 'port',
    });
  }

  const limits = resolveWireLimits(options.limits);
  const http1Guards = new WeakMap<object, ConnectionGuard>();
  const serve = (
    request: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => {
    // HTTP/2 streams are counted by their session; an HTTP/1.1 request by its connection.
    const guard = request.httpVersionMajor === 2 ? undefined : http1Guards.get(request.socket);
    guard?.requestStarted();
    response.once('close', () => guard?.requestEnded());
    void dispatch(options, limits, request, response);
  };
  const http1Server = http.createServer({ keepAliveTimeout: limits.idleTimeoutMs }, serve);
  const http2Server = http2.createServer(serve);
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  let newSession: Http2Session | undefined;
  http2Server.on('session', (session) => {
    newSession = session;
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Responses are written in several pieces (head, body); without this each waits ~40 ms for the client's ACK.
    socket.setNoDelay(true);
    const guard = new ConnectionGuard(socket, limits);
    // Either server takes the socket itself, so its parser reads the native handle with no JS stream between:
    // the sniffed bytes go back into the socket's readable buffer first. Node's http server drains that buffer
    // into its parser once the socket flows again; an Http2Session feeds it to nghttp2 on its first tick
    // (nodejs/node#35475), before any later read arrives.
    sniffProtocol(socket, (isHttp2, head) => {
      socket.unshift(head);
      if (!isHttp2) {
        guard.http1();
        http1Guards.set(socket, guard);
        http1Server.emit('connection', socket);
        socket.resume();
        return;
      }
      newSession = undefined;
      http2Server.emit('connection', socket); // creates the session synchronously
      const session = newSession as Http2Session | undefined;
      if (!session) return;
      guard.http2(session);
      session.on('stream', (stream) => {
        guard.requestStarted();
        stream.once('close', () => guard.requestEnded());
      });
    });
  });
  listener.maxConnections = limits.maxConnections;

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const address = listener.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        http1Server.close();
        http2Server.close();
      });
      return closing;
    },
  };
}

/** Reads until the bytes either diverge from the HTTP/2 preface or match all 24 of them. */
function sniffProtocol(socket: Socket, decided: (isHttp2: boolean, head: Buffer) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, HTTP2_PREFACE.length);
    const isPrefix = head.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isPrefix && head.length < HTTP2_PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    decided(isPrefix, head);
  };
  socket.on('data', onData);
}

async function dispatch(
  options: WireServerOptions,
  limits: WireServerLimits,
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
): Promise<void> {
  const wireResponse = new NodeWireResponse(response);
  const head = requestHead(request);
  let body: Buffer;
  try {
    const verifyBody = options.authenticate?.(head);
    const declaredLength = Number(head.headers['content-length'] ?? 0);
    if (declaredLength > limits.maxBodyBytes) throw tooLarge(limits);
    body = await readBody(request, limits);
    await verifyBody?.(body);
  } catch (error) {
    if (error === CLIENT_GONE) return;
    // The body may be unread: answer, then end the connection (HTTP/1.1) or the stream (h2) instead of reading it.
    wireResponse.refuse(
      error instanceof AwsServiceError
        ? error
        : new AwsServiceError('InternalServerException', `Internal server error: ${String(error)}`, 500),
    );
    return;
  }
  const wireRequest: WireRequest = { ...head, body };
  try {
    await options.handler(wireRequest, wireResponse);
  } catch (error) {
    if (wireResponse.status !== 0) {
      wireResponse.abort();
      return;
    }
    if (error instanceof AwsServiceError)
      sendAwsError(wireResponse, error.errorType, error.message, error.status);
    else
      sendAwsError(wireResponse, 'InternalServerException', `Internal server error: ${String(error)}`, 500);
  }
}

function requestHead(request: IncomingMessage | Http2ServerRequest): WireRequestHead {
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  const headers: Record<string, string> = {};
  const pseudoHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(', ') : String(value);
    if (name.startsWith(':')) pseudoHeaders[name] = joined;
    else headers[name.toLowerCase()] = joined;
  }
  const isHttp2 = request.httpVersionMajor === 2;
  const authority = isHttp2
    ? String((request as Http2ServerRequest).authority ?? headers.host ?? '')
    : (headers.host ?? '');
  return {
    method: request.method ?? 'GET',
    rawPath: queryAt === -1 ? url : url.slice(0, queryAt),
    rawQuery: queryAt === -1 ? '' : url.slice(queryAt + 1),
    headers,
    pseudoHeaders,
    authority,
    http2: isHttp2,
  };
}

/** Thrown by readBody when the client went away mid-request: nothing is left to answer. */
const CLIENT_GONE = Symbol('client gone');

/**
 * The body, up to `maxBodyBytes` (then 413), each chunk within `headersTimeoutMs` of the last (then 408). Over
 * the limit it stops reading without destroying the request, so the 413 can still be written on its socket.
 */
function readBody(request: IncomingMessage | Http2ServerRequest, limits: WireServerLimits): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onGone);
      request.off('close', onGone);
      outcome();
    };
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(() =>
          reject(
            new AwsServiceError(
              'RequestTimeoutException',
              `The request body stalled for more than ${limits.headersTimeoutMs} ms.`,
              408,
            ),
          ),
        );
      }, limits.headersTimeoutMs);
      timer.unref();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        request.pause();
        finish(() => reject(tooLarge(limits)));
        return;
      }
      chunks.push(chunk);
      watch();
    };
    const onEnd = () => finish(() => resolve(Buffer.concat(chunks)));
    const onGone = () => finish(() => reject(CLIENT_GONE));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onGone);
    request.on('close', onGone);
    watch();
  });
}

function tooLarge(limits: WireServerLimits): AwsServiceError {
  return new AwsServiceError(
    'RequestEntityTooLargeException',
    `The request body is larger than this server accepts (${limits.maxBodyBytes} bytes).`,
    413,
  );
}

class NodeWireResponse implements WireResponse {
  readonly requestId = randomUUID();
  #status = 0;
  #closed = false;
  readonly #headListeners: Array<(status: number) => void> = [];
  readonly #closeListeners: Array<() => void> = [];
  readonly #response: ServerResponse | Http2ServerResponse;

  constructor(response: ServerResponse | Http2ServerResponse) {
    this.#response = response;
    response.on('close', () => this.#markClosed());
    response.on('finish', () => this.#markClosed());
  }

  get status(): number {
    return this.#status;
  }
  get closed(): boolean {
    return this.#closed;
  }

  onHead(listener: (status: number) => void): void {
    this.#headListeners.push(listener);
  }
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  send(status: number, headers: Record<string, string>, body?: string | Uint8Array): void {
    if (this.#closed || this.#status !== 0) return;
    const bytes = typeof body === 'string' ? Buffer.from(body) : (body ?? new Uint8Array());
    this.#writeHead(status, { ...headers, 'content-length': String(bytes.byteLength) });
    this.#response.end(bytes);
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(body));
  }

  openStream(status: number, headers: Record<string, string>): WireStream {
    this.#writeHead(status, headers);
    const response = this.#response;
    const self = this;
    return {
      get closed() {
        return self.#closed;
      },
      write(chunk) {
        if (self.#closed) return Promise.resolve();
        // the two response classes overload write() differently; both accept a Uint8Array
        const flushed = (response as ServerResponse).write(chunk);
        if (flushed) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const done = () => {
            response.off('drain', done);
            response.off('close', done);
            resolve();
          };
          response.on('drain', done);
          response.on('close', done);
        });
      },
      end() {
        if (!self.#closed) response.end();
      },
    };
  }

  /**
   * Answers with an AWS error before (or instead of) reading the rest of the body, then stops the client sending
   * it: `connection: close` over HTTP/1.1, RST_STREAM(NO_ERROR) over h2 (RFC 9113 §8.1).
   */
  refuse(error: AwsServiceError): void {
    const response = this.#response;
    const http1 = !('stream' in response);
    if (http1) {
      (response as ServerResponse).shouldKeepAlive = false;
      // Node ends a last response with destroySoon(), which closes the socket at once; body bytes still unread
      // there make the kernel answer with a reset that can discard the error before the client reads it.
      // Half-close instead (lingering close): the rest of the body is read and dropped until the timer below.
      const socket = (response as ServerResponse).socket;
      if (socket) socket.destroySoon = () => socket.end();
    }
    response.once('finish', () => {
      if ('stream' in response) response.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      // a client still sending is cut off once the answer had time to leave
      else setTimeout(() => response.socket?.destroy(), 1000).unref();
    });
    sendAwsError(this, error.errorType, error.message, error.status, http1 ? { connection: 'close' } : {});
  }

  /** Drops the connection of a response whose head was already sent (a mid-stream crash). */
  abort(): void {
    const response = this.#response;
    if ('stream' in response) response.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else response.socket?.destroy();
  }

  #writeHead(status: number, headers: Record<string, string>): void {
    this.#status = status;
    (this.#response as ServerResponse).writeHead(status, {
      ...headers,
      'x-amzn-requestid': this.requestId,
      date: new Date().toUTCString(),
    });
    for (const listener of this.#headListeners.splice(0)) listener(status);
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#closeListeners.splice(0)) listener();
  }
}
