import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  decodeEventStreamMessages,
  encodeEvent,
  encodeEventStreamMessage,
  encodeException,
  sendAwsError,
  startWireServer,
  type WireHandler,
  WireRouter,
  type WireServer,
} from '../../src/serve/wire/index.js';

const servers: WireServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: WireHandler): Promise<WireServer> {
  const server = await startWireServer({ handler });
  servers.push(server);
  return server;
}

const echoHandler: WireHandler = (request, response) =>
  response.json(200, {
    http2: request.http2,
    path: request.rawPath,
    query: request.rawQuery,
    body: request.body.toString(),
  });

function h2Request(
  url: string,
  path: string,
  body: string,
): Promise<{ headers: http2.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path });
    let text = '';
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (received) => {
      headers = received;
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.on('end', () => {
      session.close();
      resolve({ headers, text });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

/** Writes the given parts with pauses between them and resolves with the first bytes the server sends back. */
function writeInParts(port: number, parts: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data);
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const part of parts) {
        socket.write(part);
        await sleep(20);
      }
    });
  });
}

describe('wire server', () => {
  it('serves HTTP/1.1 and h2c on the same port', async () => {
    const server = await serve(echoHandler);
    const viaHttp1 = await fetch(`${server.url}/model/a%3Ab/invoke?x=1`, { method: 'POST', body: 'one' });
    expect(await viaHttp1.json()).toEqual({
      http2: false,
      path: '/model/a%3Ab/invoke',
      query: 'x=1',
      body: 'one',
    });
    expect(viaHttp1.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const viaHttp2 = await h2Request(server.url, '/model/a%2Fb/converse', 'two');
    expect(JSON.parse(viaHttp2.text)).toEqual({
      http2: true,
      path: '/model/a%2Fb/converse',
      query: '',
      body: 'two',
    });
    expect(viaHttp2.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('recognises the HTTP/2 preface even when it arrives in pieces', async () => {
    const server = await serve(echoHandler);
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const reply = await writeInParts(server.port, [
      preface.subarray(0, 1),
      preface.subarray(1, 10),
      preface.subarray(10),
      emptySettings,
    ]);
    expect(reply.readUInt8(3)).toBe(4); // the server's first frame is SETTINGS
  });

  it('recognises HTTP/1.1 when the first byte alone matches the HTTP/2 preface', async () => {
    const server = await serve(echoHandler);
    const reply = await writeInParts(server.port, [
      Buffer.from('P'),
      Buffer.from('OST /split HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n'),
    ]);
    expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
  });

  it('answers every HTTP/1.1 request whose bytes came with the sniffed head, then later ones on the same socket', async () => {
    const server = await serve(echoHandler);
    const request = (path: string, body: string) =>
      `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const replies = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length === 3) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.on('connect', async () => {
        // Two pipelined requests and the start of a third in the first packet, the rest of the third later.
        const third = request('/three', 'body-three');
        socket.write(request('/one', 'a') + request('/two', 'bb') + third.slice(0, 30));
        await sleep(20);
        socket.write(third.slice(30));
      });
    });
    const bodies = [...replies.matchAll(/\{[^}]*\}/g)].map(
      (m) => JSON.parse(m[0]) as { path: string; body: string },
    );
    expect(bodies.map((b) => [b.path, b.body])).toEqual([
      ['/one', 'a'],
      ['/two', 'bb'],
      ['/three', 'body-three'],
    ]);
  });

  it('answers AWS errors with the error type header, a JSON message and the status', async () => {
    const server = await serve((request, response) => {
      if (request.rawPath === '/thrown')
        throw new AwsServiceError('ResourceNotFoundException', 'no such thing');
      if (request.rawPath === '/crash') throw new Error('boom');
      sendAwsError(response, 'ThrottlingException', 'slow down');
    });
    const throttled = await fetch(`${server.url}/sent`, { method: 'POST' });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('x-amzn-errortype')).toMatch(/^ThrottlingException:/);
    expect(await throttled.json()).toEqual({ message: 'slow down' });
    const thrown = await fetch(`${server.url}/thrown`, { method: 'POST' });
    expect(thrown.status).toBe(404);
    expect(await thrown.json()).toEqual({ message: 'no such thing' });
    const crashed = await fetch(`${server.url}/crash`, { method: 'POST' });
    expect(crashed.status).toBe(500);
    expect(crashed.headers.get('x-amzn-errortype')).toMatch(/^InternalServerException:/);
  });

  it('streams writes in order over both protocols', async () => {
    const server = await serve(async (_request, response) => {
      const stream = response.openStream(200, { 'content-type': 'text/plain' });
      for (const word of ['a', 'b', 'c']) {
        await stream.write(Buffer.from(word));
        await sleep(5);
      }
      stream.end();
    });
    expect(await (await fetch(server.url, { method: 'POST' })).text()).toBe('abc');
    expect((await h2Request(server.url, '/', '')).text).toBe('abc');
  });

  it('close() ends open HTTP/2 sessions and keep-alive sockets', async () => {
    const server = await startWireServer({ handler: echoHandler });
    const session = http2.connect(server.url);
    await new Promise((resolve) => session.once('connect', resolve));
    const sessionClosed = new Promise((resolve) => session.once('close', resolve));
    session.on('error', () => {});
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${server.url}/`, { agent }, (response) => response.resume().on('end', resolve))
        .on('error', reject);
    });
    await server.close();
    await sessionClosed;
    expect(session.destroyed || session.closed).toBe(true);
    agent.destroy();
  });
});

describe('router', () => {
  const router = new WireRouter<string>()
    .add('POST', '/model/{modelId}/invoke', 'InvokeModel', 'invoke')
    .add('PUT', '/knowledgebases/', 'CreateKnowledgeBase', 'create')
    .add('GET', '/files/{key+}/meta', 'FileMeta', 'meta');

  it('decodes a percent-encoded ARN label that contains %2F as one segment', () => {
    const match = router.match(
      'POST',
      '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fa.b-v1%3A0/invoke',
    );
    expect(match).toMatchObject({
      operation: 'InvokeModel',
      params: { modelId: 'arn:aws:bedrock:us-east-1::foundation-model/a.b-v1:0' },
    });
  });

  it('matches methods and trailing slashes exactly', () => {
    expect(router.match('PUT', '/knowledgebases/')?.operation).toBe('CreateKnowledgeBase');
    expect(router.match('PUT', '/knowledgebases')).toBeUndefined();
    expect(router.match('GET', '/model/x/invoke')).toBeUndefined();
    expect(router.hasPath('/model/x/invoke')).toBe(true);
    expect(router.match('POST', '/model/x/y/invoke')).toBeUndefined();
  });

  it('lets a greedy label span slashes', () => {
    expect(router.match('GET', '/files/a/b%20c/meta')?.params).toEqual({ key: 'a/b c' });
  });

  it('throws on a broken escape so the caller can answer 400', () => {
    expect(() => router.match('POST', '/model/%E0%A4%A/invoke')).toThrow(URIError);
  });
});

describe('event-stream encoding', () => {
  const codec = new EventStreamCodec(
    (input) => Buffer.from(input).toString('utf8'),
    (input) => new Uint8Array(Buffer.from(input, 'utf8')),
  );

  it('encodes events the SDK codec decodes, CRCs included', () => {
    const decoded = codec.decode(encodeEvent('contentBlockDelta', { delta: { text: 'héllo' } }));
    expect(decoded.headers).toEqual({
      ':event-type': { type: 'string', value: 'contentBlockDelta' },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    });
    expect(JSON.parse(Buffer.from(decoded.body).toString('utf8'))).toEqual({ delta: { text: 'héllo' } });
  });

  it('matches the SDK codec byte for byte', () => {
    const headers = { ':message-type': 'event', ':event-type': 'chunk' };
    const body = Buffer.from('{"bytes":"e30="}');
    const ours = encodeEventStreamMessage(headers, body);
    const theirs = codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'event' },
        ':event-type': { type: 'string', value: 'chunk' },
      },
      body,
    });
    expect(Buffer.from(theirs)).toEqual(ours);
  });

  it('names modelled exceptions in camelCase', () => {
    const [message] = decodeEventStreamMessages(
      encodeException('ModelStreamErrorException', { message: 'x' }),
    );
    expect(message!.headers).toMatchObject({
      ':message-type': 'exception',
      ':exception-type': 'modelStreamErrorException',
    });
  });

  it('rejects a corrupted or truncated frame', () => {
    const frame = encodeEvent('chunk', { bytes: 'AAAA' });
    const corrupted = Buffer.from(frame);
    corrupted[corrupted.length - 6]! ^= 0xff;
    expect(() => decodeEventStreamMessages(corrupted)).toThrow(/message CRC/);
    expect(() => codec.decode(corrupted)).toThrow();
    expect(() => decodeEventStreamMessages(frame.subarray(0, frame.length - 3))).toThrow(/truncated/);
  });
});
