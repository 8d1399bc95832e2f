import {
  ConverseStreamCommand,
  type ConverseStreamOutput,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type ResponseStream,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { collect, decodeJson, http1RuntimeClient, type Json, runtimeClient } from './runtime-clients.js';

let emulator: BedrockEmulator;
let client: ReturnType<typeof runtimeClient>;

beforeAll(async () => {
  emulator = await startBedrockEmulator({
    credentials: { accessKeyId: 'AKIDSTREAM', secretAccessKey: 'stream-secret' },
  });
  client = runtimeClient(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

const attemptsOf = () => emulator.requests.map((request) => [request.attempt, request.status]);

const QUESTION = 'Tell me about streaming responses please';
const ANSWER = `Echo: ${QUESTION}`;

async function streamChunks(modelId: string, body: unknown, target = client): Promise<Json[]> {
  const response = await target.send(
    new InvokeModelWithResponseStreamCommand({
      modelId,
      contentType: 'application/json',
      body: JSON.stringify(body),
    }),
  );
  expect(response.contentType).toBe('application/json');
  const events = await collect<ResponseStream>(response.body);
  return events.map((event) => decodeJson(event.chunk?.bytes));
}

const claudeMessages = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 300,
  messages: [{ role: 'user', content: QUESTION }],
};

describe('InvokeModelWithResponseStream', () => {
  it('streams Anthropic Messages events in order, ending with invocation metrics', async () => {
    const chunks = await streamChunks('anthropic.claude-3-haiku-20240307-v1:0', claudeMessages);
    const types = chunks.map((chunk) => chunk.type);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const deltas = chunks.filter((chunk) => chunk.type === 'content_block_delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((chunk) => chunk.delta.text).join('')).toBe(ANSWER);
    expect(chunks.at(-2).delta.stop_reason).toBe('end_turn');
    expect(chunks.at(-1)['amazon-bedrock-invocationMetrics']).toMatchObject({
      inputTokenCount: Math.ceil(QUESTION.length / 4),
      outputTokenCount: Math.ceil(ANSWER.length / 4),
    });
  });

  const families: Array<[string, unknown, (chunk: Json) => string | undefined, (last: Json) => unknown]> = [
    [
      'anthropic.claude-v2',
      { prompt: `\n\nHuman: ${QUESTION}\n\nAssistant:`, max_tokens_to_sample: 300 },
      (chunk) => chunk.completion,
      (last) => last.stop_reason,
    ],
    [
      'amazon.titan-text-express-v1',
      { inputText: QUESTION },
      (chunk) => chunk.outputText,
      (last) => last.completionReason,
    ],
    [
      'meta.llama3-8b-instruct-v1:0',
      { prompt: QUESTION },
      (chunk) => chunk.generation,
      (last) => last.stop_reason,
    ],
    [
      'mistral.mixtral-8x7b-instruct-v0:1',
      { prompt: `<s>[INST] ${QUESTION} [/INST]` },
      (chunk) => chunk.outputs[0].text,
      (last) => last.outputs[0].stop_reason,
    ],
    ['cohere.command-text-v14', { prompt: QUESTION }, (chunk) => chunk.text, (last) => last.finish_reason],
    [
      'cohere.command-r-v1:0',
      { message: QUESTION },
      (chunk) => (chunk.event_type === 'text-generation' ? chunk.text : undefined),
      (last) => last.finish_reason,
    ],
    [
      'ai21.jamba-instruct-v1:0',
      { messages: [{ role: 'user', content: QUESTION }] },
      (chunk) => chunk.choices[0].delta.content,
      (last) => last.choices[0].finish_reason,
    ],
    [
      'amazon.nova-micro-v1:0',
      { messages: [{ role: 'user', content: [{ text: QUESTION }] }] },
      (chunk) => chunk.contentBlockDelta?.delta.text,
      (last) => last.metadata.usage.outputTokens,
    ],
  ];

  it.each(families)('streams %s in its native chunk format', async (modelId, body, textOf, endOf) => {
    const chunks = await streamChunks(modelId, body);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.map(textOf).join('')).toBe(ANSWER);
    expect(endOf(chunks.at(-1))).toBeTruthy();
    expect(chunks.at(-1)['amazon-bedrock-invocationMetrics'].outputTokenCount).toBe(
      Math.ceil(ANSWER.length / 4),
    );
  });

  it('streams the same text InvokeModel returns', async () => {
    const body = { inputText: 'same answer both ways' };
    const whole = await client.send(
      new InvokeModelCommand({ modelId: 'amazon.titan-text-lite-v1', body: JSON.stringify(body) }),
    );
    const chunks = await streamChunks('amazon.titan-text-lite-v1', body);
    expect(chunks.map((chunk) => chunk.outputText).join('')).toBe(
      decodeJson(whole.body).results[0].outputText,
    );
  });

  it('streams over HTTP/1.1 too', async () => {
    const http1 = http1RuntimeClient(emulator);
    const chunks = await streamChunks('anthropic.claude-3-haiku-20240307-v1:0', claudeMessages, http1);
    http1.destroy();
    expect(chunks.at(-1).type).toBe('message_stop');
    expect(emulator.requests.at(-1)).toMatchObject({ http2: false, status: 200 });
  });

  it('refuses to stream a model that has no streaming', async () => {
    await expect(streamChunks('ai21.j2-mid-v1', { prompt: 'x' })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The model is unsupported for streaming.',
    });
    await expect(streamChunks('amazon.titan-embed-text-v1', { inputText: 'x' })).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('surfaces an in-stream modelled exception after the events already sent', async () => {
    emulator.faults.failStreamAfter(3, { message: 'model fell over' });
    const response = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        body: JSON.stringify(claudeMessages),
      }),
    );
    const received: Json[] = [];
    let failure: unknown;
    try {
      for await (const event of response.body ?? []) received.push(decodeJson(event.chunk?.bytes));
    } catch (error) {
      failure = error;
    }
    expect(received.map((chunk) => chunk.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
    ]);
    expect(failure).toMatchObject({ name: 'ModelStreamErrorException', message: 'model fell over' });
    expect(emulator.requests).toHaveLength(1);
  });

  it('accepts a PascalCase exception type and sends it camelCase', async () => {
    emulator.faults.failStreamAfter(1, {
      exceptionType: 'ThrottlingException',
      message: 'slow down mid-stream',
    });
    const response = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: 'meta.llama3-8b-instruct-v1:0',
        body: '{"prompt":"hi"}',
      }),
    );
    await expect(collect(response.body)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('retries a throttle that arrives before the stream opens', async () => {
    emulator.faults.throttle(2);
    const chunks = await streamChunks('anthropic.claude-3-haiku-20240307-v1:0', claudeMessages);
    expect(chunks.at(-1).type).toBe('message_stop');
    expect(attemptsOf()).toEqual([
      [1, 429],
      [2, 429],
      [3, 200],
    ]);
  });

  it('retries a throttlingException sent as the first frame, before any event was delivered', async () => {
    emulator.faults.failStreamAfter(0, { exceptionType: 'throttlingException', message: 'busy' });
    const chunks = await streamChunks('anthropic.claude-3-haiku-20240307-v1:0', claudeMessages);
    expect(chunks.at(-1).type).toBe('message_stop');
    expect(attemptsOf()).toEqual([
      [1, 200],
      [2, 200],
    ]);
  });

  it('sends a malformed chunk whose bytes do not parse', async () => {
    emulator.faults.malformed(1);
    const response = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId: 'amazon.titan-text-express-v1',
        body: '{"inputText":"x"}',
      }),
    );
    const events = await collect<ResponseStream>(response.body);
    expect(events).toHaveLength(1);
    expect(() => decodeJson(events[0]!.chunk?.bytes)).toThrow(SyntaxError);
  });
});

describe('ConverseStream', () => {
  const converseInput = {
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    messages: [{ role: 'user' as const, content: [{ text: QUESTION }] }],
  };

  it('streams messageStart, text deltas, contentBlockStop, messageStop and metadata', async () => {
    const response = await client.send(new ConverseStreamCommand(converseInput));
    const events = await collect<ConverseStreamOutput>(response.stream);
    const kinds = events.map((event) => Object.keys(event).find((key) => (event as Json)[key] !== undefined));
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
    expect(events[0]!.messageStart?.role).toBe('assistant');
    const text = events.map((event) => event.contentBlockDelta?.delta?.text ?? '').join('');
    expect(text).toBe(ANSWER);
    expect(events.at(-2)!.messageStop?.stopReason).toBe('end_turn');
    expect(events.at(-1)!.metadata).toMatchObject({
      usage: { outputTokens: Math.ceil(ANSWER.length / 4), totalTokens: expect.any(Number) },
      metrics: { latencyMs: expect.any(Number) },
    });
  });

  it('surfaces a modelled exception after some events, without retrying', async () => {
    emulator.faults.failStreamAfter(2, { exceptionType: 'modelStreamErrorException', message: 'broken' });
    const response = await client.send(new ConverseStreamCommand(converseInput));
    const received: ConverseStreamOutput[] = [];
    await expect(
      (async () => {
        for await (const event of response.stream ?? []) received.push(event);
      })(),
    ).rejects.toMatchObject({ name: 'ModelStreamErrorException', message: 'broken' });
    expect(received).toHaveLength(2);
    expect(emulator.requests).toHaveLength(1);
  });

  it('reports guardrail intervention in messageStop and a metadata trace', async () => {
    emulator.respondTo(/claude/, { guardrailIntervention: true, text: 'Blocked by policy.' });
    const response = await client.send(
      new ConverseStreamCommand({
        ...converseInput,
        guardrailConfig: { guardrailIdentifier: 'gr-123', guardrailVersion: '1', trace: 'enabled' },
      }),
    );
    const events = await collect<ConverseStreamOutput>(response.stream);
    expect(events.map((event) => event.contentBlockDelta?.delta?.text ?? '').join('')).toBe(
      'Blocked by policy.',
    );
    expect(events.find((event) => event.messageStop)?.messageStop?.stopReason).toBe('guardrail_intervened');
    expect(events.at(-1)!.metadata?.trace?.guardrail?.inputAssessment?.['gr-123']).toBeDefined();
  });

  it('fails with a deserialization error on a malformed event payload', async () => {
    emulator.faults.malformed(1);
    // the SDK peeks at the first frame inside send(), so the error can surface there or while iterating
    const consume = async () => collect((await client.send(new ConverseStreamCommand(converseInput))).stream);
    await expect(consume()).rejects.toThrow(/JSON/);
    expect(emulator.requests.map((request) => request.status)).toEqual([200]);
  });
});
