/**
 * `serve` as a server facing the network: bodies refused before they are buffered, heads and idle connections
 * timed out on HTTP/1.1 and h2c, and a connection cap. Real sockets on 127.0.0.1, every wait bounded. (The Nagle stall on
 * kept-alive connections is a latency: bench/compare.ts measures it, `--serve`.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type KnowledgeBaseServer, startKnowledgeBaseServer } from '../../src/serve/index.js';

const KEYS = { accessKeyId: 'AKIDLIMITS', secretAccessKey: 'limits-secret' };
const LIMITS = { maxBodyBytes: 64 * 1024, headersTimeoutMs: 400, idleTimeoutMs: 600, maxConnections: 4 };

let dir: string;
let kb: LocalKnowledgeBase;
let open: KnowledgeBaseServer;
let guarded: KnowledgeBaseServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-limits-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), { embedder: 'none' });
  await kb.ingest([{ id: 'owls', text: 'Owls hunt at night.' }]);
  open = await startKnowledgeBaseServer({ knowledgeBase: kb, limits: LIMITS });
  guarded = await startKnowledgeBaseServer({
    knowledgeBase: kb,
    credentials: KEYS,
    limits: { maxBodyBytes: 64 * 1024 },
  });
});

afterAll(async () => {
  await open.close();
  await guarded.close();
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RawExchange {
  /** What the server sent back. */
  received: string;
  /** Bytes of the body this client managed to write before the server stopped it. */
  bodyBytesWritten: number;
  closedAfterMs: number;
}

/**
 * Opens a raw connection, writes `head`, then up to `bodyBytes` of body in 64 KiB pieces (as fast as the
 * connection takes them), and waits (at most `timeoutMs`) for the server to close.
 */
function rawExchange(
  server: KnowledgeBaseServer,
  head: string,
  bodyBytes = 0,
  timeoutMs = 10_000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(server.port, '127.0.0.1');
    let received = '';
    let written = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server kept the connection open for ${timeoutMs} ms; received: ${received.slice(0, 200)}`,
        ),
      );
    }, timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {}); // a reset after the answer is the point of some tests
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, bodyBytesWritten: written, closedAfterMs: Date.now() - started });
    });
    socket.write(head);
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (written < bodyBytes && !socket.destroyed) {
        written += piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

const retrievePath = (server: KnowledgeBaseServer) => `/knowledgebases/${server.knowledgeBaseId}/retrieve`;

describe('request bodies', () => {
  it('refuses an unsigned 100 MB POST before reading its body', async () => {
    const head =
      `POST ${retrievePath(guarded)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${100 * 1024 * 1024}\r\n\r\n`;
    const exchange = await rawExchange(guarded, head, 100 * 1024 * 1024);
    expect(exchange.received).toMatch(/^HTTP\/1\.1 403 /);
    expect(exchange.received).toMatch(/x-amzn-errortype: MissingAuthenticationTokenException/i);
    // the connection was cut long before the client could send the 100 MB
    expect(exchange.bodyBytesWritten).toBeLessThan(20 * 1024 * 1024);
  });

  it('answers 413 to a Content-Length over the limit without reading the body', async () => {
    const head =
      `POST ${retrievePath(open)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${50 * 1024 * 1024}\r\n\r\n`;
    const exchange = await rawExchange(open, head, 50 * 1024 * 1024);
    expect(exchange.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(exchange.received).toMatch(/x-amzn-errortype: RequestEntityTooLargeException/i);
    expect(exchange.bodyBytesWritten).toBeLessThan(20 * 1024 * 1024);
  });

  it('answers 413 to a chunked body once it passes the limit', async () => {
    const head =
      `POST ${retrievePath(open)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      'Transfer-Encoding: chunked\r\n\r\n';
    const socket = net.connect(open.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(head);
    const chunk = Buffer.alloc(16 * 1024, 'b');
    let sent = 0;
    while (!socket.destroyed && !received && sent < 40 * 1024 * 1024) {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
      sent += chunk.length;
      await sleep(1);
    }
    await Promise.race([closed, sleep(5000)]);
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(sent).toBeLessThan(10 * 1024 * 1024);
  });

  it('over h2c, answers 413 to a body over the limit and resets the stream', async () => {
    const session = http2.connect(open.endpoint);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': retrievePath(open),
        'content-type': 'application/json',
      });
      let answered = false;
      const status = new Promise<number>((resolve) =>
        stream.on('response', (headers) => {
          answered = true;
          resolve(Number(headers[':status']));
        }),
      );
      stream.on('error', () => {});
      const piece = Buffer.alloc(16 * 1024, 'c');
      for (let i = 0; i < 64 && !stream.destroyed && !answered; i++) {
        if (!stream.write(piece))
          await Promise.race([new Promise((r) => stream.once('drain', r)), sleep(200)]);
      }
      expect(await Promise.race([status, sleep(5000).then(() => 0)])).toBe(413);
    } finally {
      session.destroy();
    }
  });
});

describe('slow and idle connections', () => {
  it('closes an HTTP/1.1 connection whose head trickles in', async () => {
    const socket = net.connect(open.port, '127.0.0.1');
    socket.on('error', () => {});
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    socket.write(`GET ${retrievePath(open)} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    const trickle = setInterval(() => socket.write('X-Slow: y\r\n'), 100);
    const closedAfter = await Promise.race([closed, sleep(5000).then(() => -1)]);
    clearInterval(trickle);
    socket.destroy();
    expect(closedAfter).toBeGreaterThan(0);
  });

  it('closes a connection that sends half the HTTP/2 preface and stops', async () => {
    const exchange = await rawExchange(open, 'PRI * HTTP/2.0\r\n', 0, 5000);
    expect(exchange.received).toBe('');
  });

  it('closes a connection that never sends a byte', async () => {
    const exchange = await rawExchange(open, '', 0, 5000);
    expect(exchange.received).toBe('');
  });

  it('closes a kept-alive HTTP/1.1 connection once it has been idle', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const socketClosed = new Promise<void>((resolve, reject) => {
        const request = http.request(`${open.endpoint}/nowhere`, { agent, method: 'GET' }, (response) => {
          response.resume();
          response.on('end', () => {
            request.socket?.once('close', () => resolve());
          });
        });
        request.on('error', reject);
        request.end();
      });
      await expect(
        Promise.race([socketClosed.then(() => 'closed'), sleep(5000).then(() => 'open')]),
      ).resolves.toBe('closed');
    } finally {
      agent.destroy();
    }
  });

  it('closes an idle h2c session with GOAWAY', async () => {
    const session = http2.connect(open.endpoint);
    try {
      const answered = new Promise<number>((resolve) => {
        const stream = session.request({ ':method': 'GET', ':path': '/nowhere' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.resume();
      });
      expect(await answered).toBe(404);
      const goaway = new Promise<string>((resolve) => {
        session.once('goaway', () => resolve('goaway'));
        session.once('close', () => resolve('closed'));
      });
      expect(await Promise.race([goaway, sleep(5000).then(() => 'open')])).not.toBe('open');
    } finally {
      session.destroy();
    }
  });
});

describe('connections', () => {
  it('accepts at most maxConnections at once and serves again when one closes', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < LIMITS.maxConnections; i++) {
        const socket = net.connect(open.port, '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        held.push(socket);
      }
      await sleep(50);
      const extra = await rawExchange(open, `GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 0, 5000);
      expect(extra.received).toBe('');
      held.pop()!.destroy();
      await sleep(50);
      const served = await rawExchange(
        open,
        'GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
        0,
        5000,
      );
      expect(served.received).toMatch(/^HTTP\/1\.1 404 /);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
