import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import {
  BedrockInvokeGenerator,
  type ChatMessage,
  type GenerationEvent,
  MODEL_FAMILIES,
  modelFamilyOf,
} from '../../src/generate/index.js';
import type { UsageEvent } from '../../src/observe/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { collect, emulatorClientConfig, rejectionOf } from './emulator-client.js';

let emulator: BedrockEmulator;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.reset());

function generator(modelId: string, usage: UsageEvent[] = [], family?: 'llama3') {
  return new BedrockInvokeGenerator({
    modelId,
    ...(family ? { family } : {}),
    clientConfig: emulatorClientConfig(emulator),
    onUsage: (event) => usage.push(event),
  });
}

const QUESTION = 'Why is the sea salty?';
const ASK: ChatMessage[] = [{ role: 'user', content: QUESTION }];
const WITH_SYSTEM: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: QUESTION },
];

// biome-ignore lint/suspicious/noExplicitAny: native bodies of many shapes
type Json = any;

function lastBody(): Json {
  return emulator.requests.at(-1)!.body;
}

function textOf(events: GenerationEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

/** Each family: a model id, and what its native request body must look like for WITH_SYSTEM. */
const FAMILY_CASES: [string, string, (body: Json) => void][] = [
  [
    'anthropic-messages',
    'anthropic.claude-3-haiku-20240307-v1:0',
    (body) =>
      expect(body).toEqual({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 200,
        system: 'You are terse.',
        temperature: 0.5,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
          { role: 'user', content: [{ type: 'text', text: QUESTION }] },
        ],
      }),
  ],
  [
    'anthropic-text',
    'anthropic.claude-v2:1',
    (body) =>
      expect(body).toEqual({
        prompt: `You are terse.\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: ${QUESTION}\n\nAssistant:`,
        max_tokens_to_sample: 200,
        temperature: 0.5,
        stop_sequences: ['\n\nHuman:'],
      }),
  ],
  [
    'titan-text',
    'amazon.titan-text-express-v1',
    (body) =>
      expect(body).toEqual({
        inputText: `You are terse.\n\nUser: Hi\nBot: Hello.\nUser: ${QUESTION}\nBot:`,
        textGenerationConfig: { maxTokenCount: 200, temperature: 0.5 },
      }),
  ],
  [
    'llama2',
    'meta.llama2-13b-chat-v1',
    (body) =>
      expect(body).toEqual({
        prompt: `<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] ${QUESTION} [/INST]`,
        max_gen_len: 200,
        temperature: 0.5,
      }),
  ],
  [
    'llama3',
    'meta.llama3-8b-instruct-v1:0',
    (body) =>
      expect(body).toEqual({
        prompt:
          '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
          '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
          '<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>' +
          `<|start_header_id|>user<|end_header_id|>\n\n${QUESTION}<|eot_id|>` +
          '<|start_header_id|>assistant<|end_header_id|>\n\n',
        max_gen_len: 200,
        temperature: 0.5,
      }),
  ],
  [
    'cohere-command',
    'cohere.command-text-v14',
    (body) =>
      expect(body).toEqual({
        prompt: `You are terse.\n\nUser: Hi\nChatbot: Hello.\nUser: ${QUESTION}\nChatbot:`,
        max_tokens: 200,
        temperature: 0.5,
      }),
  ],
  [
    'cohere-command-r',
    'cohere.command-r-v1:0',
    (body) =>
      expect(body).toEqual({
        message: QUESTION,
        chat_history: [
          { role: 'USER', message: 'Hi' },
          { role: 'CHATBOT', message: 'Hello.' },
        ],
        preamble: 'You are terse.',
        max_tokens: 200,
        temperature: 0.5,
      }),
  ],
  [
    'ai21-jurassic',
    'ai21.j2-mid-v1',
    (body) =>
      expect(body).toEqual({
        prompt: `You are terse.\n\nUser: Hi\nAssistant: Hello.\nUser: ${QUESTION}\nAssistant:`,
        maxTokens: 200,
        temperature: 0.5,
      }),
  ],
  [
    'mistral',
    'mistral.mistral-7b-instruct-v0:2',
    (body) =>
      expect(body).toEqual({
        prompt: `<s>[INST] You are terse.\n\nHi [/INST] Hello.</s>[INST] ${QUESTION} [/INST]`,
        max_tokens: 200,
        temperature: 0.5,
      }),
  ],
];

describe('BedrockInvokeGenerator model families', () => {
  it('covers every supported family in these tests', () => {
    expect(FAMILY_CASES.map(([family]) => family).sort()).toEqual([...MODEL_FAMILIES].sort());
  });

  for (const [family, modelId, expectBody] of FAMILY_CASES) {
    it(`sends ${family} requests in the native body format`, async () => {
      await generator(modelId).generate(WITH_SYSTEM, { maxTokens: 200, temperature: 0.5 });
      expect(emulator.requests[0]!.operation).toBe('InvokeModel');
      expect(modelFamilyOf(modelId)).toBe(family);
      expectBody(lastBody());
    });

    it(`reads the ${family} answer, stop reason and token usage`, async () => {
      emulator.respondTo(modelId, {
        text: 'Because rivers carry minerals.',
        usage: { inputTokens: 17, outputTokens: 6 },
      });
      const usage: UsageEvent[] = [];
      const result = await generator(modelId, usage).generate(ASK);
      expect(result).toMatchObject({
        text: 'Because rivers carry minerals.',
        stopReason: 'end_turn',
        usage: { inputTokens: 17, outputTokens: 6, totalTokens: 23 },
        modelId,
      });
      expect(usage).toEqual([
        expect.objectContaining({ operation: 'InvokeModel', inputTokens: 17, outputTokens: 6 }),
      ]);
    });

    it(`streams ${family} answers as deltas that add up to the final text`, async () => {
      emulator.respondTo(modelId, {
        text: 'Salt comes from rocks worn down by rain over millions of years.',
        usage: { inputTokens: 9, outputTokens: 14 },
      });
      const events = await collect(generator(modelId).stream(ASK));
      const done = events.at(-1);
      if (done?.type !== 'done') throw new Error('the stream did not end with done');
      expect(textOf(events)).toBe('Salt comes from rocks worn down by rain over millions of years.');
      expect(done.generation.text).toBe(textOf(events));
      expect(done.generation.usage).toEqual({ inputTokens: 9, outputTokens: 14, totalTokens: 23 });
      expect(done.generation.stopReason).toBe('end_turn');
      const streams = family !== 'ai21-jurassic';
      expect(emulator.requests[0]!.operation).toBe(streams ? 'InvokeModelWithResponseStream' : 'InvokeModel');
      if (streams) expect(events.filter((event) => event.type === 'text').length).toBeGreaterThan(1);
    });
  }
});

describe('BedrockInvokeGenerator', () => {
  it('maps native stop reasons to Converse words', async () => {
    emulator.respondTo(/llama3/, { text: 'cut', stopReason: 'max_tokens' });
    emulator.respondTo(/titan/, { text: 'cut', stopReason: 'max_tokens' });
    expect((await generator('meta.llama3-8b-instruct-v1:0').generate(ASK)).stopReason).toBe('max_tokens');
    expect((await generator('amazon.titan-text-lite-v1').generate(ASK)).stopReason).toBe('max_tokens');
  });

  it('tells the family from inference profile ids and foundation-model ARNs', async () => {
    await generator('us.meta.llama3-1-8b-instruct-v1:0').generate(ASK);
    await generator('arn:aws:bedrock:eu-west-1::foundation-model/mistral.mistral-7b-instruct-v0:2').generate(
      ASK,
    );
    expect(lastBody().prompt).toBe(`<s>[INST] ${QUESTION} [/INST]`);
    expect(emulator.requests[0]!.body).toMatchObject({
      prompt: expect.stringContaining('<|begin_of_text|>'),
    });
    expect(modelFamilyOf('apac.anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe('anthropic-messages');
    expect(modelFamilyOf('global.anthropic.claude-sonnet-4-20250514-v1:0')).toBe('anthropic-messages');
  });

  it('invokes a provisioned model ARN in the family the caller names', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123xyz';
    emulator.aliasModel(arn, 'meta.llama3-8b-instruct-v1:0');
    const result = await generator(arn, [], 'llama3').generate(ASK);
    expect(result.text).toBe(`Echo: ${QUESTION}`);
    expect(emulator.requests[0]!.modelId).toBe(arn);
    expect(lastBody().prompt).toContain('<|start_header_id|>user<|end_header_id|>');
  });

  it('rejects a model whose family it cannot tell, listing the supported families', () => {
    let error: LocalKbError | undefined;
    try {
      generator('acme.mystery-model-v1');
    } catch (caught) {
      error = caught as LocalKbError;
    }
    expect(error?.code).toBe('UNKNOWN_MODEL');
    expect(error?.input).toBe('acme.mystery-model-v1');
    for (const family of MODEL_FAMILIES) expect(error?.message).toContain(family);
    expect(() => generator('arn:aws:bedrock:us-east-1:1:provisioned-model/x')).toThrow(/Pass \{ family \}/);
  });

  it('reports a body that does not parse as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.faults.malformed(1);
    const usage: UsageEvent[] = [];
    const error = (await rejectionOf(
      generator('meta.llama3-8b-instruct-v1:0', usage).generate(ASK),
    )) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
    expect(usage[0]?.errorClass).toBe('server');
  });

  it('reports JSON of the wrong shape for the family as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.respondTo('anthropic.claude-3-haiku-20240307-v1:0', { body: { completion: 'legacy shape' } });
    const error = (await rejectionOf(
      generator('anthropic.claude-3-haiku-20240307-v1:0').generate(ASK),
    )) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
    expect(error.message).toContain('content');
  });

  it('reports a stream chunk that does not parse as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.faults.malformed(1);
    const error = (await rejectionOf(
      collect(generator('meta.llama3-8b-instruct-v1:0').stream(ASK)),
    )) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });

  it('turns a mid-stream failure into STREAM_INTERRUPTED with the text received so far', async () => {
    emulator.respondTo(/titan/, { text: 'alpha beta gamma delta epsilon zeta eta theta' });
    emulator.faults.failStreamAfter(3);
    let received = '';
    let error: LocalKbError | undefined;
    try {
      for await (const event of generator('amazon.titan-text-express-v1').stream(ASK)) {
        if (event.type === 'text') received += event.text;
      }
    } catch (caught) {
      error = caught as LocalKbError;
    }
    expect(error?.code).toBe('STREAM_INTERRUPTED');
    expect(received.length).toBeGreaterThan(0);
    expect(error?.details?.partialText).toBe(received);
  });

  it('retries throttling through the SDK and succeeds', async () => {
    emulator.faults.throttle(1);
    const usage: UsageEvent[] = [];
    const result = await generator('mistral.mistral-7b-instruct-v0:2', usage).generate(ASK);
    expect(result.text).toBe(`Echo: ${QUESTION}`);
    expect(emulator.requests.map((request) => request.status)).toEqual([429, 200]);
    expect(usage[0]?.throttledAttempts).toBe(1);
  });

  it('sends the guardrail as headers and reports an Anthropic guardrail intervention', async () => {
    emulator.respondTo(/claude-3/, {
      body: {
        content: [{ type: 'text', text: 'Sorry.' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 3, output_tokens: 1 },
        'amazon-bedrock-guardrailAction': 'INTERVENED',
      },
    });
    const result = await generator('anthropic.claude-3-haiku-20240307-v1:0').generate(ASK, {
      guardrail: { id: 'gr-1', version: '3' },
    });
    expect(result.guardrailAction).toBe('INTERVENED');
    expect(emulator.requests[0]!.headers).toMatchObject({
      'x-amzn-bedrock-guardrailidentifier': 'gr-1',
      'x-amzn-bedrock-guardrailversion': '3',
    });
  });

  it('rejects with ABORTED when aborted while the model is working', async () => {
    emulator.faults.hang();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = (await rejectionOf(
      generator('meta.llama2-13b-chat-v1').generate(ASK, { signal: controller.signal }),
    )) as LocalKbError;
    expect(error.code).toBe('ABORTED');
  });
});
