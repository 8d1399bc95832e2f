import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { type GenerationEvent, OpenAICompatibleGenerator } from '../../src/generate/index.js';
import type { UsageEvent } from '../../src/observe/index.js';
import { startHeadersThenStallServer, startSilentServer } from '../helpers/stalled-servers.js';
import { collect, rejectionOf } from './emulator-client.js';

// biome-ignore lint/suspicious/noExplicitAny: request bodies as the fake server received them
type Json = any;

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Json;
}

/** What the fake server does next: answer normally, fail with a status, or cut the stream midway. */
type Mode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'cut-stream' }
  | { kind: 'garbage' };

let server: Server;
let baseUrl: string;
let received: Received[] = [];
let mode: Mode = { kind: 'ok' };

/** A small OpenAI-compatible chat completions server: echoes the last user message, word by word in streams. */
function handle(request: IncomingMessage, response: ServerResponse): void {
  let raw = '';
  request.on('data', (chunk) => {
    raw += chunk;
  });
  request.on('end', () => {
    const body = JSON.parse(raw);
    received.push({ path: request.url ?? '', headers: request.headers, body });
    if (request.url !== '/v1/chat/completions') {
      response.writeHead(404).end('not found');
      return;
    }
    if (mode.kind === 'status') {
      response.writeHead(mode.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `status ${mode.status}` } }));
      return;
    }
    if (mode.kind === 'garbage') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [');
      return;
    }
    const last = [...body.messages].reverse().find((m: Json) => m.role === 'user');
    const answer = `You said: ${last.content}`;
    const usage = { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 };
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
          usage,
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const words = answer.split(/(?<= )/);
    const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    if (mode.kind === 'cut-stream') {
      // Two deltas reach the client, then the connection drops without [DONE].
      for (const word of words.slice(0, 2)) send({ choices: [{ index: 0, delta: { content: word } }] });
      setTimeout(() => response.socket?.destroy(), 50);
      return;
    }
    for (const word of words)
      send({ choices: [{ index: 0, delta: { content: word }, finish_reason: null }] });
    send({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] });
    if (body.stream_options?.include_usage) send({ choices: [], usage });
    response.end('data: [DONE]\n\n');
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received = [];
  mode = { kind: 'ok' };
});

function generator(options: { apiKey?: string; usage?: UsageEvent[] } = {}) {
  return new OpenAICompatibleGenerator({
    baseUrl,
    model: 'llama3.2',
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    onUsage: (event) => options.usage?.push(event),
  });
}

describe('OpenAICompatibleGenerator', () => {
  it('posts a chat completion with the system prompt first and reads the answer and usage', async () => {
    const usage: UsageEvent[] = [];
    const result = await generator({ usage }).generate([{ role: 'user', content: 'hello' }], {
      system: 'Be brief.',
      maxTokens: 20,
      temperature: 0,
      stopSequences: ['\n'],
    });
    expect(result).toMatchObject({
      text: 'You said: hello',
      stopReason: 'end_turn',
      usage: { inputTokens: 12, outputTokens: 4, totalTokens: 16 },
      modelId: 'llama3.2',
    });
    expect(received[0]!.path).toBe('/v1/chat/completions');
    expect(received[0]!.body).toEqual({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ],
      max_tokens: 20,
      temperature: 0,
      stop: ['\n'],
      stream: false,
    });
    expect(received[0]!.headers.authorization).toBeUndefined();
    expect(usage[0]).toMatchObject({ operation: 'ChatCompletions', inputTokens: 12, outputTokens: 4 });
  });

  it('sends the API key as a Bearer token when one is given', async () => {
    await generator({ apiKey: 'sk-local-123' }).generate([{ role: 'user', content: 'x' }]);
    expect(received[0]!.headers.authorization).toBe('Bearer sk-local-123');
  });

  it('streams server-sent deltas that add up to the final text, with usage and finish reason', async () => {
    const events: GenerationEvent[] = await collect(
      generator().stream([{ role: 'user', content: 'stream this please' }]),
    );
    const texts = events.flatMap((event) => (event.type === 'text' ? [event.text] : []));
    expect(texts.length).toBeGreaterThan(2);
    expect(texts.join('')).toBe('You said: stream this please');
    const done = events.at(-1);
    if (done?.type !== 'done') throw new Error('no done event');
    expect(done.generation).toMatchObject({
      text: 'You said: stream this please',
      stopReason: 'max_tokens',
      usage: { inputTokens: 12, outputTokens: 4, totalTokens: 16 },
    });
    expect(received[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('turns a stream cut midway into STREAM_INTERRUPTED with the text received so far', async () => {
    mode = { kind: 'cut-stream' };
    let text = '';
    let error: LocalKbError | undefined;
    try {
      for await (const event of generator().stream([{ role: 'user', content: 'one two three four' }])) {
        if (event.type === 'text') text += event.text;
      }
    } catch (caught) {
      error = caught as LocalKbError;
    }
    expect(error?.code).toBe('STREAM_INTERRUPTED');
    expect(text).toBe('You said: ');
    expect(error?.details?.partialText).toBe(text);
  });

  it('maps 429 to THROTTLED and other failures to GENERATION_FAILED with the status', async () => {
    mode = { kind: 'status', status: 429 };
    const throttled = (await rejectionOf(
      generator().generate([{ role: 'user', content: 'x' }]),
    )) as LocalKbError;
    expect(throttled.code).toBe('THROTTLED');
    mode = { kind: 'status', status: 500 };
    const failed = (await rejectionOf(
      generator().generate([{ role: 'user', content: 'x' }]),
    )) as LocalKbError;
    expect(failed.code).toBe('GENERATION_FAILED');
    expect(failed.details).toMatchObject({ status: 500 });
  });

  it('reports an unreadable body as MODEL_RESPONSE_MALFORMED', async () => {
    mode = { kind: 'garbage' };
    const error = (await rejectionOf(generator().generate([{ role: 'user', content: 'x' }]))) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });

  it('says how to fix an unreachable server', async () => {
    const closed = new OpenAICompatibleGenerator({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm' });
    const error = (await rejectionOf(closed.generate([{ role: 'user', content: 'x' }]))) as LocalKbError;
    expect(error.code).toBe('GENERATION_FAILED');
    expect(error.message).toMatch(/start the server|fix baseUrl/);
  });

  it('rejects with ABORTED when the caller aborts', async () => {
    const error = (await rejectionOf(
      generator().generate([{ role: 'user', content: 'x' }], { signal: AbortSignal.abort() }),
    )) as LocalKbError;
    expect(error.code).toBe('ABORTED');
    expect(received).toHaveLength(0);
  });

  it('ends a call to a server that accepts and never answers in TIMEOUT after timeouts.idleMs', async () => {
    const silent = await startSilentServer();
    try {
      const hung = new OpenAICompatibleGenerator({
        baseUrl: `${silent.endpoint}/v1`,
        model: 'm',
        timeouts: { idleMs: 300 },
      });
      const started = performance.now();
      const error = (await rejectionOf(hung.generate([{ role: 'user', content: 'x' }]))) as LocalKbError;
      expect(error.code).toBe('TIMEOUT');
      expect(error.message).toMatch(/sent nothing for 300 ms \(timeouts\.idleMs\)/);
      expect(error.details).toMatchObject({ kind: 'idle', ms: 300, operation: 'ChatCompletions' });
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await silent.close();
    }
  });

  it('ends a body or a stream that stalls after the headers in TIMEOUT, not a wait forever', async () => {
    const stalling = await startHeadersThenStallServer();
    try {
      const hung = new OpenAICompatibleGenerator({
        baseUrl: `${stalling.endpoint}/v1`,
        model: 'm',
        timeouts: { idleMs: 300 },
      });
      const whole = (await rejectionOf(hung.generate([{ role: 'user', content: 'x' }]))) as LocalKbError;
      expect(whole.code).toBe('TIMEOUT');
      const streamed = (await rejectionOf(
        collect(hung.stream([{ role: 'user', content: 'x' }])),
      )) as LocalKbError;
      expect(streamed.code).toBe('TIMEOUT');
      expect(streamed.details?.partialText).toBe('');
    } finally {
      await stalling.close();
    }
  });

  it('does not count the time a caller spends on a stream event as the server’s silence', async () => {
    const patient = new OpenAICompatibleGenerator({ baseUrl, model: 'm', timeouts: { idleMs: 150 } });
    let text = '';
    for await (const event of patient.stream([{ role: 'user', content: 'one two three' }])) {
      if (event.type === 'text') {
        text += event.text;
        await sleep(250);
      }
    }
    expect(text).toBe('You said: one two three');
  });

  it('refuses timeouts it cannot apply and out-of-range ones', () => {
    expect(
      () =>
        new OpenAICompatibleGenerator({
          baseUrl,
          model: 'm',
          timeouts: { connectMs: 5 } as unknown as { idleMs: number },
        }),
    ).toThrow(/connectMs/);
    expect(() => new OpenAICompatibleGenerator({ baseUrl, model: 'm', timeouts: { idleMs: 0 } })).toThrow(
      /timeouts\.idleMs/,
    );
  });

  it('rejects a baseUrl that is not an http URL', () => {
    expect(() => new OpenAICompatibleGenerator({ baseUrl: 'localhost:11434', model: 'm' })).toThrow(
      /baseUrl/,
    );
    expect(() => new OpenAICompatibleGenerator({ baseUrl, model: '' })).toThrow(/model/);
  });
});
