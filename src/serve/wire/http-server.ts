import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import { kbError } from '../../errors.js';
import { AwsServiceError, sendAwsError } from './aws-errors.js';
import { ReplayingSocket } from './replaying-socket.js';

/** The client connection preface that opens every HTTP/2 prior-knowledge (h2c) connection. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One request, read whole, the same shape for HTTP/1.1 and h2c. */
export interface WireRequest {
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
  readonly body: Buffer;
  readonly http2: boolean;
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

  const serve = (
    request: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => void dispatch(options.handler, request, response);
  const http1Server = http.createServer(serve);
  const http2Server = http2.createServer(serve);
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  http2Server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    sniffProtocol(socket, (isHttp2, head) => {
      const wrapped = new ReplayingSocket(socket, head);
      wrapped.on('error', () => wrapped.destroy());
      (isHttp2 ? http2Server : http1Server).emit('connection', wrapped);
    });
  });

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
  handler: WireHandler,
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
): Promise<void> {
  const wireResponse = new NodeWireResponse(response);
  let body: Buffer;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
  } catch {
    return; // the client went away mid-request
  }
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
  const wireRequest: WireRequest = {
    method: request.method ?? 'GET',
    rawPath: queryAt === -1 ? url : url.slice(0, queryAt),
    rawQuery: queryAt === -1 ? '' : url.slice(queryAt + 1),
    headers,
    pseudoHeaders,
    authority,
    body,
    http2: isHttp2,
  };
  try {
    await handler(wireRequest, wireResponse);
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
