import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLocalKbError, type LocalKbError } from '../../src/errors.js';
import {
  BedrockConverseGenerator,
  DEFAULT_PROMPT_TEMPLATE,
  type GenerationEvent,
  parseCitationMarkers,
  renderPromptTemplate,
} from '../../src/generate/index.js';
import type { UsageEvent } from '../../src/observe/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { collect, emulatorClientConfig, rejectionOf } from './emulator-client.js';

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
let emulator: BedrockEmulator;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.reset());

function generator(usage: UsageEvent[] = [], modelId = MODEL) {
  return new BedrockConverseGenerator({
    modelId,
    clientConfig: emulatorClientConfig(emulator),
    onUsage: (event) => usage.push(event),
  });
}

function textOf(events: GenerationEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

async function streamError(
  iterable: AsyncIterable<GenerationEvent>,
): Promise<{ error: LocalKbError; received: string }> {
  let received = '';
  try {
    for await (const event of iterable) if (event.type === 'text') received += event.text;
  } catch (error) {
    if (!isLocalKbError(error)) throw error;
    return { error, received };
  }
  throw new Error('expected the stream to fail');
}

describe('BedrockConverseGenerator', () => {
  it('sends the conversation, system prompt and inference options in the Converse shape', async () => {
    const result = await generator().generate(
      [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'What colour is the sky?' },
      ],
      { maxTokens: 64, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    );
    expect(result.text).toBe('Echo: What colour is the sky?');
    expect(emulator.requests).toHaveLength(1);
    const request = emulator.requests[0]!;
    expect(request.operation).toBe('Converse');
    expect(request.modelId).toBe(MODEL);
    expect(request.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'What colour is the sky?' }] }],
      system: [{ text: 'Answer briefly.' }],
      inferenceConfig: { maxTokens: 64, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
  });

  it('reports the stop reason, token usage, latency and model id of the answer', async () => {
    emulator.respondTo(MODEL, {
      text: 'Blue.',
      stopReason: 'max_tokens',
      usage: { inputTokens: 11, outputTokens: 2 },
    });
    const result = await generator().generate([{ role: 'user', content: 'Sky?' }]);
    expect(result).toMatchObject({
      text: 'Blue.',
      stopReason: 'max_tokens',
      usage: { inputTokens: 11, outputTokens: 2, totalTokens: 13 },
      modelId: MODEL,
    });
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(result.guardrailAction).toBeUndefined();
  });

  it('joins consecutive turns of one role, because Bedrock rejects two user turns in a row', async () => {
    await generator().generate([
      { role: 'user', content: 'First part.' },
      { role: 'user', content: 'Second part.' },
    ]);
    expect((emulator.requests[0]!.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: [{ text: 'First part.\n\nSecond part.' }] },
    ]);
  });

  it('streams text deltas that add up to the final generation', async () => {
    const usage: UsageEvent[] = [];
    const events = await collect(
      generator(usage).stream([{ role: 'user', content: 'Tell me a long story about rivers' }]),
    );
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    expect(events.filter((event) => event.type === 'text').length).toBeGreaterThan(1);
    if (done?.type !== 'done') throw new Error('no done event');
    expect(textOf(events)).toBe('Echo: Tell me a long story about rivers');
    expect(done.generation.text).toBe(textOf(events));
    expect(done.generation.usage.outputTokens).toBeGreaterThan(0);
    expect(emulator.requests[0]!.operation).toBe('ConverseStream');
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ operation: 'ConverseStream', modelId: MODEL });
  });

  it('passes inference profile ids and model ARNs through to the model path', async () => {
    const profile = 'us.anthropic.claude-3-haiku-20240307-v1:0';
    const arn = `arn:aws:bedrock:us-east-1::foundation-model/${MODEL}`;
    await generator([], profile).generate([{ role: 'user', content: 'hi' }]);
    const viaArn = await generator([], arn).generate([{ role: 'user', content: 'hi' }]);
    expect(emulator.requests.map((request) => request.modelId)).toEqual([profile, arn]);
    expect(emulator.requests[1]!.path).toContain('foundation-model%2F');
    expect(viaArn.modelId).toBe(arn);
  });

  it('switches model per call when options.modelId is given', async () => {
    const result = await generator().generate([{ role: 'user', content: 'hi' }], {
      modelId: 'amazon.nova-lite-v1:0',
    });
    expect(result.modelId).toBe('amazon.nova-lite-v1:0');
    expect(emulator.requests[0]!.modelId).toBe('amazon.nova-lite-v1:0');
  });

  it('reports a guardrail intervention and sends the guardrail configuration', async () => {
    emulator.respondTo(MODEL, { text: 'Sorry, I cannot help with that.', guardrailIntervention: true });
    const result = await generator().generate([{ role: 'user', content: 'something forbidden' }], {
      guardrail: { id: 'gr-123', version: '2', trace: true },
    });
    expect(result.guardrailAction).toBe('INTERVENED');
    expect(result.stopReason).toBe('guardrail_intervened');
    expect(emulator.requests[0]!.body).toMatchObject({
      guardrailConfig: { guardrailIdentifier: 'gr-123', guardrailVersion: '2', trace: 'enabled' },
    });
  });

  it("reports guardrailAction NONE when a guardrail was configured and didn't intervene", async () => {
    const result = await generator().generate([{ role: 'user', content: 'fine question' }], {
      guardrail: { id: 'gr-123', version: 'DRAFT' },
    });
    expect(result.guardrailAction).toBe('NONE');
  });

  it('reports a guardrail intervention in a stream', async () => {
    emulator.respondTo(MODEL, { text: 'Blocked.', guardrailIntervention: true });
    const events = await collect(
      generator().stream([{ role: 'user', content: 'x' }], { guardrail: { id: 'g', version: '1' } }),
    );
    const done = events.at(-1);
    expect(done?.type === 'done' && done.generation.guardrailAction).toBe('INTERVENED');
  });

  it('lets the SDK retry throttling, and counts the throttled attempts in the usage event', async () => {
    const usage: UsageEvent[] = [];
    emulator.faults.throttle(2);
    const result = await generator(usage).generate([{ role: 'user', content: 'retry me' }]);
    expect(result.text).toBe('Echo: retry me');
    expect(emulator.requests.map((request) => [request.attempt, request.status])).toEqual([
      [1, 429],
      [2, 429],
      [3, 200],
    ]);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ throttledAttempts: 2 });
    expect(usage[0]!.errorClass).toBeUndefined();
  });

  it('fails with THROTTLED once the SDK has used all its attempts', async () => {
    const usage: UsageEvent[] = [];
    emulator.faults.throttle(5);
    const error = (await rejectionOf(
      generator(usage).generate([{ role: 'user', content: 'x' }]),
    )) as LocalKbError;
    expect(error.code).toBe('THROTTLED');
    expect(error.input).toBe(MODEL);
    expect(error.details).toMatchObject({ awsErrorName: 'ThrottlingException', status: 429, attempts: 3 });
    expect(emulator.requests).toHaveLength(3);
    expect(usage[0]).toMatchObject({ errorClass: 'throttle', throttledAttempts: 3 });
  });

  it('does not retry a validation error and reports its AWS name and status', async () => {
    const usage: UsageEvent[] = [];
    emulator.faults.error(1, 'ValidationException', 400, { message: 'The model id is invalid.' });
    const error = (await rejectionOf(
      generator(usage).generate([{ role: 'user', content: 'x' }]),
    )) as LocalKbError;
    expect(error.code).toBe('BEDROCK_ERROR');
    expect(error.details).toMatchObject({ awsErrorName: 'ValidationException', status: 400 });
    expect(error.message).toContain('The model id is invalid');
    expect(emulator.requests).toHaveLength(1);
    expect(usage[0]).toMatchObject({ errorClass: 'client', errorName: 'ValidationException' });
  });

  it('classifies a 500 that survives the retries as a server error', async () => {
    const usage: UsageEvent[] = [];
    emulator.faults.error(3, 'InternalServerException', 500);
    const error = (await rejectionOf(
      generator(usage).generate([{ role: 'user', content: 'x' }]),
    )) as LocalKbError;
    expect(error.code).toBe('BEDROCK_ERROR');
    expect(emulator.requests).toHaveLength(3);
    expect(usage[0]).toMatchObject({ errorClass: 'server', errorName: 'InternalServerException' });
  });

  it('turns a mid-stream failure into STREAM_INTERRUPTED carrying the text received so far', async () => {
    emulator.respondTo(MODEL, { text: 'one two three four five six seven eight nine ten' });
    emulator.faults.failStreamAfter(4, {
      exceptionType: 'modelStreamErrorException',
      message: 'model broke',
    });
    const usage: UsageEvent[] = [];
    const { error, received } = await streamError(
      generator(usage).stream([{ role: 'user', content: 'count' }]),
    );
    expect(error.code).toBe('STREAM_INTERRUPTED');
    expect(received.length).toBeGreaterThan(0);
    expect(error.details?.partialText).toBe(received);
    expect('one two three four five six seven eight nine ten'.startsWith(received)).toBe(true);
    expect(error.details?.awsErrorName).toBe('ModelStreamErrorException');
    expect(emulator.requests).toHaveLength(1);
    expect(usage[0]?.errorClass).toBeDefined();
  });

  it('reports a malformed Converse body as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.faults.malformed(1);
    const error = (await rejectionOf(generator().generate([{ role: 'user', content: 'x' }]))) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
    expect(error.input).toBe(MODEL);
  });

  it('reports a malformed stream frame as an error, never as a silent empty answer', async () => {
    emulator.faults.malformed(1);
    const { error } = await streamError(generator().stream([{ role: 'user', content: 'x' }]));
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });

  it('rejects with ABORTED when the signal aborts a call that is waiting for the model', async () => {
    emulator.faults.hang();
    const controller = new AbortController();
    const pending = generator().generate([{ role: 'user', content: 'x' }], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = (await rejectionOf(pending)) as LocalKbError;
    expect(error.code).toBe('ABORTED');
  });

  it('sends nothing when the signal is already aborted', async () => {
    const error = (await rejectionOf(
      generator().generate([{ role: 'user', content: 'x' }], { signal: AbortSignal.abort() }),
    )) as LocalKbError;
    expect(error.code).toBe('ABORTED');
    expect(emulator.requests).toHaveLength(0);
  });

  it('stops a stream with ABORTED when the signal aborts between deltas', async () => {
    const controller = new AbortController();
    const stream = generator().stream([{ role: 'user', content: 'a fairly long question to echo back' }], {
      signal: controller.signal,
    });
    let received = '';
    const error = await (async () => {
      try {
        for await (const event of stream) {
          if (event.type === 'text') {
            received += event.text;
            controller.abort();
          }
        }
      } catch (caught) {
        return caught as LocalKbError;
      }
      throw new Error('expected ABORTED');
    })();
    expect(error.code).toBe('ABORTED');
    expect(error.details?.partialText).toBe(received);
  });

  it('rejects malformed messages and options with INVALID_OPTION naming the input', async () => {
    const g = generator();
    const cases: [unknown[], object, string][] = [
      [[], {}, 'messages'],
      [[{ role: 'robot', content: 'x' }], {}, 'messages[0]'],
      [[{ role: 'assistant', content: 'x' }], {}, 'messages'],
      [[{ role: 'user', content: 'x' }], { maxTokens: 0 }, 'maxTokens'],
      [[{ role: 'user', content: 'x' }], { topP: 2 }, 'topP'],
      [[{ role: 'user', content: 'x' }], { guardrail: { id: '' } }, 'guardrail'],
    ];
    for (const [messages, options, input] of cases) {
      const error = (await rejectionOf(g.generate(messages as never, options))) as LocalKbError;
      expect(error.code).toBe('INVALID_OPTION');
      expect(error.input).toBe(input);
    }
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('BedrockConverseGenerator configuration', () => {
  it('finds Bedrock through the standard AWS environment when given no client config', async () => {
    const names = [
      'AWS_ENDPOINT_URL_BEDROCK_RUNTIME',
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_MAX_ATTEMPTS',
    ];
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
    const config = emulator.clientConfig();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: config.endpoint,
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: config.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: config.credentials.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
    });
    try {
      const result = await new BedrockConverseGenerator().generate([{ role: 'user', content: 'from env' }]);
      expect(result.text).toBe('Echo: from env');
      expect(emulator.requests[0]!.modelId).toBe(MODEL);
    } finally {
      for (const name of names) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  it('answers a rendered RAG prompt with markers that point at the sources', async () => {
    const searchResults = [
      {
        content: { type: 'TEXT' as const, text: 'Bees dance to share where flowers are. They also buzz.' },
        location: { type: 'LOCAL' as const, uri: 'file:///bees.md' },
        score: 0.9,
        metadata: {},
        documentId: 'bees.md',
        chunkId: 'bees.md#0',
      },
      {
        content: { type: 'TEXT' as const, text: 'The sea is salty because rivers carry minerals.' },
        location: { type: 'LOCAL' as const, uri: 'file:///sea.md', page: 2 },
        score: 0.5,
        metadata: {},
        documentId: 'sea.md',
        chunkId: 'sea.md#0',
      },
    ];
    const prompt = renderPromptTemplate(DEFAULT_PROMPT_TEMPLATE, {
      query: 'Why do bees dance?',
      searchResults,
    });
    const result = await generator().generate([{ role: 'user', content: prompt }]);
    const markers = parseCitationMarkers(result.text);
    expect(markers.map((marker) => marker.sourceIds)).toEqual([[1], [2]]);
    expect(result.text.slice(markers[0]!.span.start, markers[0]!.span.end)).toContain(
      'Bees dance to share where flowers are.',
    );
  });
});
