import { ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { decodeJson, http1RuntimeClient, runtimeClient } from './runtime-clients.js';

const CREDENTIALS = { accessKeyId: 'AKIDFAULTS', secretAccessKey: 'faults-secret' };
const MODEL = 'amazon.titan-text-express-v1';

let emulator: BedrockEmulator;
let client: ReturnType<typeof runtimeClient>;

beforeAll(async () => {
  emulator = await startBedrockEmulator({ credentials: CREDENTIALS, bearerToken: 'bedrock-api-key-123' });
  client = runtimeClient(emulator);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

const invokeTitan = (target = client, modelId = MODEL) =>
  target.send(new InvokeModelCommand({ modelId, body: JSON.stringify({ inputText: 'hello' }) }));
const attempts = () => emulator.requests.map((request) => [request.attempt, request.status]);

describe('fault injection and SDK retries', () => {
  it('throttling is retried by the SDK and the third attempt succeeds', async () => {
    emulator.faults.throttle(2);
    const response = await invokeTitan();
    expect(decodeJson(response.body).results[0].outputText).toBe('Echo: hello');
    expect(response.$metadata.attempts).toBe(3);
    expect(attempts()).toEqual([
      [1, 429],
      [2, 429],
      [3, 200],
    ]);
  });

  it('throttling on every attempt surfaces ThrottlingException after 3 attempts', async () => {
    emulator.faults.throttle(5);
    await expect(invokeTitan()).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 429, attempts: 3 },
    });
    expect(attempts()).toEqual([
      [1, 429],
      [2, 429],
      [3, 429],
    ]);
  });

  it('a fault scoped to one model leaves other models alone', async () => {
    emulator.faults.throttle(1, { model: /llama/ });
    await invokeTitan();
    expect(attempts()).toEqual([[1, 200]]);
    await client.send(
      new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: '{"prompt":"x"}' }),
    );
    expect(attempts().slice(1)).toEqual([
      [1, 429],
      [2, 200],
    ]);
  });

  it('validation errors are not retried', async () => {
    emulator.faults.error(3, 'ValidationException', 400, { message: 'bad input' });
    await expect(invokeTitan()).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'bad input',
      $metadata: { attempts: 1 },
    });
    expect(attempts()).toEqual([[1, 400]]);
  });

  it('a 503 ServiceUnavailableException is retried', async () => {
    emulator.faults.error(1, 'ServiceUnavailableException', 503);
    await invokeTitan();
    expect(attempts()).toEqual([
      [1, 503],
      [2, 200],
    ]);
  });

  it('a 424 ModelErrorException is not retried', async () => {
    emulator.faults.error(1, 'ModelErrorException', 424, { message: 'model crashed' });
    await expect(invokeTitan()).rejects.toMatchObject({
      name: 'ModelErrorException',
      $metadata: { attempts: 1 },
    });
  });

  it('a hung call times out on the client and the retry is answered', async () => {
    emulator.faults.hang();
    const impatient = runtimeClient(emulator, { requestHandler: { requestTimeout: 300 } });
    const response = await invokeTitan(impatient);
    impatient.destroy();
    expect(response.$metadata.attempts).toBe(2);
    expect(attempts()).toEqual([
      [1, 0],
      [2, 200],
    ]);
  });

  it('delays the next call by the given time', async () => {
    emulator.faults.delay(150);
    const started = Date.now();
    await invokeTitan();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a malformed InvokeModel body arrives with status 200 and does not parse', async () => {
    emulator.faults.malformed(1);
    const response = await invokeTitan();
    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(() => decodeJson(response.body)).toThrow(SyntaxError);
  });

  it('reset clears faults, scripts and recorded requests', async () => {
    emulator.faults.throttle(3);
    emulator.respondTo(MODEL, { text: 'scripted' });
    emulator.reset();
    const response = await invokeTitan();
    expect(decodeJson(response.body).results[0].outputText).toBe('Echo: hello');
    expect(emulator.requests).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('records the SigV4-signed request with its headers', async () => {
    await invokeTitan();
    expect(emulator.requests[0]).toMatchObject({
      operation: 'InvokeModel',
      method: 'POST',
      http2: true,
      headers: { authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIDFAULTS\//) },
      body: { inputText: 'hello' },
    });
  });

  it('a wrong secret key is refused with InvalidSignatureException and not retried', async () => {
    const wrong = runtimeClient(emulator, {
      credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret' },
    });
    await expect(invokeTitan(wrong)).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining('signature we calculated does not match'),
      $metadata: { httpStatusCode: 403, attempts: 1 },
    });
    wrong.destroy();
  });

  it('an unknown access key is refused with UnrecognizedClientException', async () => {
    const stranger = runtimeClient(emulator, {
      credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' },
    });
    await expect(invokeTitan(stranger)).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    stranger.destroy();
  });

  it('a signature scoped to another region is refused', async () => {
    const elsewhere = runtimeClient(emulator, { region: 'eu-west-1' });
    await expect(invokeTitan(elsewhere)).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringContaining("Credential should be scoped to a valid region, not 'eu-west-1'"),
    });
    elsewhere.destroy();
  });

  it('verifies signatures over HTTP/1.1 as well, on the same port', async () => {
    const http1 = http1RuntimeClient(emulator);
    await invokeTitan(http1);
    const wrong = http1RuntimeClient(emulator, { credentials: { ...CREDENTIALS, secretAccessKey: 'nope' } });
    await expect(invokeTitan(wrong)).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    http1.destroy();
    wrong.destroy();
    await invokeTitan();
    expect(emulator.requests.map((request) => [request.http2, request.status])).toEqual([
      [false, 200],
      [false, 403],
      [true, 200],
    ]);
  });

  it('verifies signatures over percent-encoded ARN paths', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-3b-instruct-v1:0';
    const response = await client.send(
      new ConverseCommand({ modelId: arn, messages: [{ role: 'user', content: [{ text: 'signed' }] }] }),
    );
    expect(response.output?.message?.content?.[0]?.text).toBe('Echo: signed');
    expect(emulator.requests[0]!.path).toBe(`/model/${encodeURIComponent(arn)}/converse`);
  });

  it('accepts the configured bearer token and refuses another', async () => {
    const withToken = (token: string) =>
      runtimeClient(emulator, { token: { token }, authSchemePreference: ['httpBearerAuth'] });
    const good = withToken('bedrock-api-key-123');
    await invokeTitan(good);
    expect(emulator.requests.at(-1)!.headers.authorization).toBe('Bearer bedrock-api-key-123');
    const bad = withToken('stolen');
    await expect(invokeTitan(bad)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    good.destroy();
    bad.destroy();
  });
});

describe('emulator options', () => {
  it('rejects a misspelled option or a bad port with INVALID_OPTION naming it', async () => {
    await expect(startBedrockEmulator({ prot: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'prot',
    });
    await expect(startBedrockEmulator({ port: 70000 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'port',
    });
  });

  it('accepts any signature when no credentials are configured', async () => {
    const open = await startBedrockEmulator();
    const anyone = runtimeClient(open, {
      credentials: { accessKeyId: 'whoever', secretAccessKey: 'whatever' },
    });
    const response = await invokeTitan(anyone);
    expect(decodeJson(response.body).results[0].outputText).toBe('Echo: hello');
    anyone.destroy();
    await open.close();
  });
});
