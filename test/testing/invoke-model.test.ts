import { crc32, inflateSync } from 'node:zlib';
import { InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { captureResponseHeaders, decodeJson, type Json, runtimeClient } from './runtime-clients.js';

let emulator: BedrockEmulator;
let client: ReturnType<typeof runtimeClient>;

beforeAll(async () => {
  emulator = await startBedrockEmulator({
    credentials: { accessKeyId: 'AKIDINVOKE', secretAccessKey: 'invoke-secret' },
  });
  client = runtimeClient(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

async function invoke(modelId: string, body: unknown): Promise<Json> {
  const response = await client.send(
    new InvokeModelCommand({ modelId, contentType: 'application/json', body: JSON.stringify(body) }),
  );
  expect(response.contentType).toBe('application/json');
  return decodeJson(response.body);
}

const QUESTION = 'What is RAG?';
const ECHO = `Echo: ${QUESTION}`;

describe('InvokeModel text families', () => {
  const cases: Array<[string, unknown, (body: Json) => unknown]> = [
    [
      'anthropic.claude-3-5-sonnet-20240620-v1:0',
      {
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 200,
        messages: [{ role: 'user', content: QUESTION }],
      },
      (body) => body.content[0].text,
    ],
    [
      'anthropic.claude-v2:1',
      { prompt: `\n\nHuman: ${QUESTION}\n\nAssistant:`, max_tokens_to_sample: 200 },
      (body) => body.completion,
    ],
    [
      'anthropic.claude-instant-v1',
      { prompt: `\n\nHuman: ${QUESTION}\n\nAssistant:`, max_tokens_to_sample: 200 },
      (body) => body.completion,
    ],
    [
      'amazon.titan-text-express-v1',
      { inputText: QUESTION, textGenerationConfig: { maxTokenCount: 200 } },
      (body) => body.results[0].outputText,
    ],
    ['cohere.command-text-v14', { prompt: QUESTION, max_tokens: 200 }, (body) => body.generations[0].text],
    ['cohere.command-r-plus-v1:0', { message: QUESTION }, (body) => body.text],
    ['ai21.j2-ultra-v1', { prompt: QUESTION, maxTokens: 200 }, (body) => body.completions[0].data.text],
    [
      'ai21.jamba-1-5-mini-v1:0',
      { messages: [{ role: 'user', content: QUESTION }] },
      (body) => body.choices[0].message.content,
    ],
    [
      'meta.llama2-13b-chat-v1',
      { prompt: `<s>[INST] ${QUESTION} [/INST]`, max_gen_len: 200 },
      (body) => body.generation,
    ],
    [
      'meta.llama3-8b-instruct-v1:0',
      {
        prompt: `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n${QUESTION}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
      },
      (body) => body.generation,
    ],
    [
      'mistral.mistral-7b-instruct-v0:2',
      { prompt: `<s>[INST] ${QUESTION} [/INST]` },
      (body) => body.outputs[0].text,
    ],
    [
      'mistral.mistral-large-2407-v1:0',
      { messages: [{ role: 'user', content: QUESTION }] },
      (body) => body.choices[0].message.content,
    ],
    [
      'amazon.nova-lite-v1:0',
      { messages: [{ role: 'user', content: [{ text: QUESTION }] }], inferenceConfig: { maxTokens: 200 } },
      (body) => body.output.message.content[0].text,
    ],
  ];

  it.each(cases)(
    '%s reads its native request and answers in its native body',
    async (modelId, body, textOf) => {
      expect(textOf(await invoke(modelId, body))).toBe(ECHO);
    },
  );

  it('reports Anthropic usage and stop reason in the Messages API shape', async () => {
    const body = await invoke('anthropic.claude-3-haiku-20240307-v1:0', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 200,
      messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
    });
    expect(body).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-3-haiku-20240307',
      stop_reason: 'end_turn',
      usage: { input_tokens: Math.ceil(QUESTION.length / 4), output_tokens: Math.ceil(ECHO.length / 4) },
    });
  });

  it('answers with one cited sentence per numbered source when the prompt holds sources', async () => {
    const prompt =
      'Answer from the sources.\n<source id="1">Paris is the capital of France. It is large.</source>\n' +
      '<source id="2">The Seine flows through Paris! Boats use it.</source>\n' +
      `<source id="3">No sentence end here</source>\n<source id="4">Ignored fourth.</source>\n${QUESTION}`;
    const body = await invoke('amazon.titan-text-premier-v1:0', { inputText: prompt });
    expect(body.results[0].outputText).toBe(
      'Paris is the capital of France. [1] The Seine flows through Paris! [2] No sentence end here [3]',
    );
  });

  it('reads Bedrock Knowledge Base style search results as numbered sources', async () => {
    const prompt =
      '<search_results><search_result><content>Alpha is first. More.</content><source>1</source></search_result>' +
      '<search_result><content>Beta is second.</content><source>2</source></search_result></search_results>';
    const body = await invoke('meta.llama3-70b-instruct-v1:0', { prompt });
    expect(body.generation).toBe('Alpha is first. [1] Beta is second. [2]');
  });

  it('cuts the answer at max tokens and reports the native stop reason', async () => {
    const body = await invoke('anthropic.claude-3-haiku-20240307-v1:0', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 2,
      messages: [{ role: 'user', content: 'a fairly long question that will not fit' }],
    });
    expect(body.stop_reason).toBe('max_tokens');
    expect(body.content[0].text).toBe('Echo: a ');
  });

  it('stops at a stop sequence and names it', async () => {
    const body = await invoke('anthropic.claude-3-haiku-20240307-v1:0', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 100,
      stop_sequences: ['STOP'],
      messages: [{ role: 'user', content: 'go STOP here' }],
    });
    expect(body).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    expect(body.content[0].text).toBe('Echo: go ');
  });

  it('sends token-count and latency headers', async () => {
    const headers = captureResponseHeaders(client);
    await invoke('amazon.titan-text-lite-v1', { inputText: '12345678' });
    expect(headers.at(-1)).toMatchObject({
      'x-amzn-bedrock-input-token-count': '2',
      'x-amzn-bedrock-output-token-count': String(Math.ceil('Echo: 12345678'.length / 4)),
      'x-amzn-bedrock-invocation-latency': expect.stringMatching(/^\d+$/),
      'x-amzn-requestid': expect.any(String),
    });
  });
});

describe('InvokeModel embedding families', () => {
  const norm = (vector: number[]) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

  it('Titan v1 returns a 1536-dimension unit vector and a token count', async () => {
    const body = await invoke('amazon.titan-embed-text-v1', { inputText: 'hello world' });
    expect(body.embedding).toHaveLength(1536);
    expect(norm(body.embedding)).toBeCloseTo(1, 6);
    expect(body.inputTextTokenCount).toBe(3);
  });

  it.each([256, 512, 1024])('Titan v2 returns the requested %i dimensions', async (dimensions) => {
    const body = await invoke('amazon.titan-embed-text-v2:0', { inputText: 'hello', dimensions });
    expect(body.embedding).toHaveLength(dimensions);
    expect(body.embeddingsByType.float).toEqual(body.embedding);
  });

  it('Titan v2 rejects dimensions it does not offer', async () => {
    await expect(
      invoke('amazon.titan-embed-text-v2:0', { inputText: 'x', dimensions: 300 }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('Titan v2 returns binary embeddings when asked', async () => {
    const body = await invoke('amazon.titan-embed-text-v2:0', {
      inputText: 'bits',
      dimensions: 256,
      embeddingTypes: ['binary'],
    });
    expect(body.embedding).toBeUndefined();
    expect(body.embeddingsByType.binary).toHaveLength(256);
    expect(new Set(body.embeddingsByType.binary)).toEqual(new Set([0, 1]));
  });

  it('equal text gives an equal vector and different text a different one, across models of a family', async () => {
    const first = await invoke('cohere.embed-english-v3', {
      texts: ['same text', 'other text', 'same text'],
      input_type: 'search_document',
    });
    expect(first.response_type).toBe('embeddings_floats');
    expect(first.embeddings).toHaveLength(3);
    expect(first.embeddings[0]).toHaveLength(1024);
    expect(first.embeddings[2]).toEqual(first.embeddings[0]);
    expect(first.embeddings[1]).not.toEqual(first.embeddings[0]);
    const query = await invoke('cohere.embed-multilingual-v3', {
      texts: ['same text'],
      input_type: 'search_query',
    });
    expect(query.embeddings[0]).toEqual(first.embeddings[0]);
  });

  it('Cohere returns embeddings by type when embedding_types is given', async () => {
    const body = await invoke('cohere.embed-english-v3', {
      texts: ['a'],
      input_type: 'search_query',
      embedding_types: ['float', 'int8'],
    });
    expect(body.response_type).toBe('embeddings_by_type');
    expect(body.embeddings.float[0]).toHaveLength(1024);
    expect(
      body.embeddings.int8[0].every((value: number) => Number.isInteger(value) && Math.abs(value) <= 127),
    ).toBe(true);
  });

  it('Cohere requires input_type and at most 96 texts', async () => {
    await expect(invoke('cohere.embed-english-v3', { texts: ['a'] })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('required key [input_type] not found'),
    });
    await expect(
      invoke('cohere.embed-english-v3', { texts: Array(97).fill('a'), input_type: 'search_query' }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('returns a scripted embedding for every text', async () => {
    emulator.respondTo(/titan-embed/, { embedding: [0.6, 0.8] });
    const body = await invoke('amazon.titan-embed-text-v2:0', { inputText: 'anything' });
    expect(body.embedding).toEqual([0.6, 0.8]);
  });
});

/** Walks PNG chunks, checking every CRC, and returns width, height and the inflated pixel bytes. */
function readPng(base64: string): { width: number; height: number; pixels: Buffer } {
  const png = Buffer.from(base64, 'base64');
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let at = 8;
  let width = 0;
  let height = 0;
  const data: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const content = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    if (type === 'IHDR') {
      width = content.readUInt32BE(0);
      height = content.readUInt32BE(4);
    }
    if (type === 'IDAT') data.push(content);
    at += 12 + length;
  }
  return { width, height, pixels: inflateSync(Buffer.concat(data)) };
}

describe('InvokeModel image families', () => {
  it('Stable Diffusion XL returns base64 PNG artifacts', async () => {
    const body = await invoke('stability.stable-diffusion-xl-v1', {
      text_prompts: [{ text: 'a lighthouse' }],
      cfg_scale: 7,
      seed: 42,
      steps: 30,
    });
    expect(body.result).toBe('success');
    expect(body.artifacts[0]).toMatchObject({ seed: 42, finishReason: 'SUCCESS' });
    const image = readPng(body.artifacts[0].base64);
    expect([image.width, image.height]).toEqual([2, 2]);
    expect(image.pixels).toHaveLength(2 * (1 + 2 * 3));
  });

  it('Titan Image Generator returns the requested number of PNG images', async () => {
    const body = await invoke('amazon.titan-image-generator-v1', {
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a lighthouse' },
      imageGenerationConfig: { numberOfImages: 2, height: 512, width: 512 },
    });
    expect(body.images).toHaveLength(2);
    for (const image of body.images) expect(readPng(image).width).toBe(2);
  });
});

describe('InvokeModel model ids', () => {
  const claudeBody = {
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 50,
    messages: [{ role: 'user', content: 'hi' }],
  };

  it.each([
    'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    'global.anthropic.claude-sonnet-4-20250514-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
  ])('maps %s to the Anthropic family and decodes its percent-encoded path', async (modelId) => {
    const body = await invoke(modelId, claudeBody);
    expect(body.content[0].text).toBe('Echo: hi');
    const recorded = emulator.requests.at(-1)!;
    expect(recorded.modelId).toBe(modelId);
    expect(recorded.path).toContain('%3A');
    if (modelId.startsWith('arn:')) expect(recorded.path).toContain('%2F');
  });

  it('answers an opaque provisioned-model ARN through an alias and 404s without one', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/k2ixxdm6zvsr';
    await expect(invoke(arn, claudeBody)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    emulator.aliasModel(arn, 'anthropic.claude-3-haiku-20240307-v1:0');
    expect((await invoke(arn, claudeBody)).content[0].text).toBe('Echo: hi');
  });

  it('rejects an unknown model id with ValidationException', async () => {
    await expect(invoke('acme.imaginary-model-v1', { prompt: 'x' })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The provided model identifier is invalid.',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });
});

describe('InvokeModel request validation', () => {
  it('rejects a body that is not JSON with ValidationException and does not retry it', async () => {
    await expect(
      client.send(
        new InvokeModelCommand({ modelId: 'amazon.titan-text-express-v1', body: '{"inputText": ' }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400, attempts: 1 } });
    expect(emulator.requests.map((request) => request.status)).toEqual([400]);
  });

  it('names a missing required key the way Bedrock does', async () => {
    await expect(
      invoke('anthropic.claude-3-haiku-20240307-v1:0', {
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
      }),
    ).rejects.toThrow(
      'Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.',
    );
  });

  it.each([
    ['meta.llama3-8b-instruct-v1:0', { prompt: 'hi', max_tokens: 5 }, '#', 'max_tokens'],
    ['amazon.titan-text-express-v1', { inputText: 'hi', maxTokenCount: 5 }, '#', 'maxTokenCount'],
    [
      'amazon.titan-text-express-v1',
      { inputText: 'hi', textGenerationConfig: { max_tokens: 5 } },
      '#/textGenerationConfig',
      'max_tokens',
    ],
    [
      'anthropic.claude-3-haiku-20240307-v1:0',
      { anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, model: 'claude', messages: [] },
      '#',
      'model',
    ],
    ['mistral.mistral-7b-instruct-v0:2', { prompt: 'hi', max_gen_len: 5 }, '#', 'max_gen_len'],
    ['amazon.titan-embed-text-v1', { inputText: 'hi', dimensions: 256 }, '#', 'dimensions'],
  ])('%s refuses an extraneous key in its body the way Bedrock words it', async (modelId, body, at, key) => {
    await expect(invoke(modelId, body)).rejects.toMatchObject({
      name: 'ValidationException',
      message: `Malformed input request: ${at}: extraneous key [${key}] is not permitted, please reformat your input and try again.`,
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  const claude = (messages: unknown[]) => ({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 5,
    messages,
  });

  it.each([
    [
      'an assistant first turn',
      [
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'hi' },
      ],
      'messages: first message must use the "user" role',
    ],
    [
      'two user turns in a row',
      [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
      'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
    ],
    [
      'an unknown role',
      [{ role: 'human', content: 'a' }],
      "messages.0.role: Input should be 'user' or 'assistant'",
    ],
    [
      'a system turn',
      [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'a' },
      ],
      'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.',
    ],
  ])('refuses a Claude Messages body with %s', async (_case, messages, message) => {
    await expect(invoke('anthropic.claude-3-haiku-20240307-v1:0', claude(messages))).rejects.toMatchObject({
      name: 'ValidationException',
      message,
    });
  });

  it('accepts a Claude conversation that alternates and ends on an assistant prefill', async () => {
    const body = await invoke(
      'anthropic.claude-3-haiku-20240307-v1:0',
      claude([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
        { role: 'assistant', content: 'The answer is' },
      ]),
    );
    expect(body.type).toBe('message');
  });

  it('rejects a Claude 2 prompt without the Human/Assistant turns', async () => {
    await expect(
      invoke('anthropic.claude-v2', { prompt: 'just text', max_tokens_to_sample: 10 }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('returns a scripted native body verbatim', async () => {
    emulator.respondTo('meta.llama3-8b-instruct-v1:0', {
      body: { generation: 'scripted', stop_reason: 'stop' },
    });
    expect(await invoke('meta.llama3-8b-instruct-v1:0', { prompt: 'x' })).toEqual({
      generation: 'scripted',
      stop_reason: 'stop',
    });
  });

  it('renders scripted text and usage in the family format, later scripts winning', async () => {
    emulator.respondTo(/claude/, { text: 'first' });
    emulator.respondTo(/claude/, (request) => ({
      text: `saw ${(request.body as Json).messages[0].content}`,
      usage: { inputTokens: 11, outputTokens: 22 },
    }));
    const body = await invoke('anthropic.claude-3-haiku-20240307-v1:0', {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'ping' }],
    });
    expect(body.content[0].text).toBe('saw ping');
    expect(body.usage).toEqual({ input_tokens: 11, output_tokens: 22 });
  });
});
