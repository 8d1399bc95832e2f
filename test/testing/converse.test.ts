import { ApplyGuardrailCommand, ConverseCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { runtimeClient } from './runtime-clients.js';

let emulator: BedrockEmulator;
let client: ReturnType<typeof runtimeClient>;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
  client = runtimeClient(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const user = (text: string): Message => ({ role: 'user', content: [{ text }] });

describe('Converse', () => {
  it('answers in the Converse shape with usage and latency', async () => {
    const response = await client.send(
      new ConverseCommand({ modelId: MODEL, messages: [user('hello there')] }),
    );
    expect(response.output?.message).toEqual({ role: 'assistant', content: [{ text: 'Echo: hello there' }] });
    expect(response.stopReason).toBe('end_turn');
    expect(response.usage).toEqual({ inputTokens: 3, outputTokens: 5, totalTokens: 8 });
    expect(response.metrics?.latencyMs).toBeGreaterThanOrEqual(1);
    expect(response.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads sources from the system prompt and echoes the last user turn of a conversation', async () => {
    const response = await client.send(
      new ConverseCommand({
        modelId: 'amazon.nova-pro-v1:0',
        system: [{ text: 'Use only these:\n<source id="7">Bees make honey. They also dance.</source>' }],
        messages: [
          user('first'),
          { role: 'assistant', content: [{ text: 'ok' }] },
          user('what do bees make?'),
        ],
      }),
    );
    expect(response.output?.message?.content?.[0]?.text).toBe('Bees make honey. [7]');
    const echo = await client.send(
      new ConverseCommand({
        modelId: 'amazon.nova-pro-v1:0',
        messages: [user('first'), { role: 'assistant', content: [{ text: 'ok' }] }, user('second')],
      }),
    );
    expect(echo.output?.message?.content?.[0]?.text).toBe('Echo: second');
  });

  it('honours inferenceConfig maxTokens and stopSequences', async () => {
    const capped = await client.send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [user('one two three four five')],
        inferenceConfig: { maxTokens: 3 },
      }),
    );
    expect(capped.stopReason).toBe('max_tokens');
    expect(capped.output?.message?.content?.[0]?.text).toBe('Echo: one tw');
    const stopped = await client.send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [user('alpha beta gamma')],
        inferenceConfig: { stopSequences: ['gamma', 'beta'] },
      }),
    );
    expect(stopped.stopReason).toBe('stop_sequence');
    expect(stopped.output?.message?.content?.[0]?.text).toBe('Echo: alpha ');
  });

  it('reports guardrail intervention with stopReason guardrail_intervened and a trace', async () => {
    emulator.respondTo(MODEL, { guardrailIntervention: true });
    const response = await client.send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [user('something risky')],
        guardrailConfig: { guardrailIdentifier: 'gr-abc', guardrailVersion: 'DRAFT', trace: 'enabled' },
      }),
    );
    expect(response.stopReason).toBe('guardrail_intervened');
    expect(response.output?.message?.content?.[0]?.text).toBe(
      'Sorry, the model cannot answer this question.',
    );
    expect(response.trace?.guardrail?.inputAssessment?.['gr-abc']?.contentPolicy?.filters?.[0]?.action).toBe(
      'BLOCKED',
    );
  });

  it('rejects a conversation that does not start with a user message', async () => {
    await expect(
      client.send(
        new ConverseCommand({ modelId: MODEL, messages: [{ role: 'assistant', content: [{ text: 'hi' }] }] }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('must start with a user message'),
      $metadata: { attempts: 1 },
    });
  });

  it('rejects roles that do not alternate', async () => {
    await expect(
      client.send(new ConverseCommand({ modelId: MODEL, messages: [user('a'), user('b')] })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('alternate') });
  });

  it('refuses a system prompt for a model without system prompts, such as Titan Text', async () => {
    const request = { messages: [user('hi')], system: [{ text: 'Be brief.' }] };
    await expect(
      client.send(new ConverseCommand({ modelId: 'amazon.titan-text-express-v1', ...request })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
    });
    const answered = await client.send(new ConverseCommand({ modelId: MODEL, ...request }));
    expect(answered.output?.message?.content?.[0]?.text).toBe('Echo: hi');
  });

  it('rejects embedding and image models', async () => {
    for (const modelId of ['amazon.titan-embed-text-v2:0', 'stability.stable-diffusion-xl-v1']) {
      await expect(
        client.send(new ConverseCommand({ modelId, messages: [user('x')] })),
      ).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining("doesn't support the model"),
      });
    }
  });

  it('fails to deserialize a malformed 200 body', async () => {
    emulator.faults.malformed(1, { model: MODEL });
    await expect(client.send(new ConverseCommand({ modelId: MODEL, messages: [user('x')] }))).rejects.toThrow(
      /JSON/,
    );
  });
});

describe('ApplyGuardrail', () => {
  it('passes content through when no intervention is scripted', async () => {
    const response = await client.send(
      new ApplyGuardrailCommand({
        guardrailIdentifier: 'gr-1',
        guardrailVersion: '1',
        source: 'INPUT',
        content: [{ text: { text: 'harmless' } }],
      }),
    );
    expect(response.action).toBe('NONE');
    expect(response.outputs).toEqual([]);
    expect(emulator.requests[0]).toMatchObject({ operation: 'ApplyGuardrail', modelId: 'gr-1' });
  });

  it('intervenes when scripted for that guardrail id', async () => {
    emulator.respondTo('gr-2', { guardrailIntervention: true, text: 'Redacted.' });
    const response = await client.send(
      new ApplyGuardrailCommand({
        guardrailIdentifier: 'gr-2',
        guardrailVersion: '1',
        source: 'OUTPUT',
        content: [{ text: { text: 'bad words' } }],
      }),
    );
    expect(response.action).toBe('GUARDRAIL_INTERVENED');
    expect(response.outputs).toEqual([{ text: 'Redacted.' }]);
  });
});
