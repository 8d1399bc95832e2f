/**
 * Real endpoints on 127.0.0.1 that misbehave the way a broken network or a hung service does: one that never
 * completes the TCP handshake, one that accepts and never answers, and one that sends response headers and then
 * nothing more.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { encodeEvent } from '../../src/serve/wire/event-stream.js';

export interface StalledEndpoint {
  /** e.g. http://127.0.0.1:40123 */
  readonly endpoint: string;
  /** Connections accepted so far (silent and header servers). */
  readonly connections: number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function tracked(server: net.Server, endpoint: string, sockets: Set<net.Socket>): StalledEndpoint {
  let connections = 0;
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    endpoint,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts every connection and reads what is sent, but never writes a byte. */
export async function startSilentServer(): Promise<StalledEndpoint> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => socket.resume());
  const endpoint = await listen(server);
  return tracked(server, endpoint, sockets);
}

/** The text a stalling ConverseStream sends in its one event before it goes quiet. */
export const STALLED_STREAM_TEXT = 'The first words, ';

/**
 * Answers every HTTP/1.1 request with a 200 status line and headers, then stalls: a JSON body of
 * `content-length` 4096 of which one byte is sent, or (ConverseStream) an event stream that sends one
 * contentBlockDelta event and nothing more.
 */
export async function startHeadersThenStallServer(): Promise<StalledEndpoint> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    let head = '';
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      if (/converse-stream/.test(head)) {
        const event = encodeEvent('contentBlockDelta', {
          delta: { text: STALLED_STREAM_TEXT },
          contentBlockIndex: 0,
        });
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n' +
            'transfer-encoding: chunked\r\nx-amzn-requestid: stall\r\n\r\n' +
            `${event.length.toString(16)}\r\n`,
        );
        socket.write(event);
        socket.write('\r\n');
        return;
      }
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n' +
          'x-amzn-requestid: stall\r\n\r\n{',
      );
    };
    socket.on('data', onData);
  });
  const endpoint = await listen(server);
  return tracked(server, endpoint, sockets);
}

/**
 * A port whose accept queue is full, so a new connection's handshake never completes: a child process listens
 * with a backlog of 1 and blocks its event loop so nothing is ever accepted, and connections are opened until one
 * does not complete (Linux queues backlog + 1).
 */
export async function startUnreachableEndpoint(): Promise<StalledEndpoint> {
  const script = `
    const net = require('node:net');
    const server = net.createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(String(server.address().port) + '\\n', () => {
        // Block the event loop: the kernel keeps the queue, nobody accepts.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      });
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  // Fill the accept queue (the handshake completes in the kernel even though nobody accepts).
  const fillers: net.Socket[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    const filler = net.connect(port, '127.0.0.1');
    filler.on('error', () => {});
    fillers.push(filler);
    const connected = await Promise.race([
      once(filler, 'connect').then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200)),
    ]);
    if (!connected) break;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: 0,
    async close() {
      for (const filler of fillers) filler.destroy();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}
