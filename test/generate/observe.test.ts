import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockConverseGenerator, BedrockInvokeGenerator } from '../../src/generate/index.js';
import {
  BEDROCK_PRICING,
  BedrockMetrics,
  classifyError,
  createConsoleLogger,
  createPricingTable,
  estimateCost,
  type Logger,
  pricingModelId,
  redactFields,
  safeLogger,
  type UsageEvent,
} from '../../src/observe/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { collect, emulatorClientConfig, rejectionOf } from './emulator-client.js';

const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

function event(overrides: Partial<UsageEvent>): UsageEvent {
  return {
    modelId: HAIKU,
    operation: 'Converse',
    inputTokens: 0,
    outputTokens: 0,
    latencyMs: 0,
    timestamp: 0,
    ...overrides,
  };
}

describe('BedrockMetrics', () => {
  it('aggregates the CloudWatch figures per model and overall', () => {
    const metrics = new BedrockMetrics();
    for (let i = 1; i <= 100; i++) metrics.record(event({ inputTokens: 10, outputTokens: 2, latencyMs: i }));
    metrics.record(event({ errorClass: 'client' }));
    metrics.record(event({ errorClass: 'server' }));
    metrics.record(event({ errorClass: 'throttle', throttledAttempts: 3 }));
    metrics.record(event({ latencyMs: 5, throttledAttempts: 1 }));
    metrics.record(
      event({ modelId: 'meta.llama3-8b-instruct-v1:0', inputTokens: 7, outputTokens: 1, latencyMs: 1000 }),
    );
    metrics.record(event({ errorClass: 'client', errorName: 'ABORTED' }));
    const haiku = metrics.snapshot(HAIKU);
    expect(haiku).toEqual({
      Invocations: 101,
      InputTokenCount: 1000,
      OutputTokenCount: 200,
      InvocationLatency: { avg: (5050 + 5) / 101, p50: 50, p99: 99 },
      InvocationClientErrors: 1,
      InvocationServerErrors: 1,
      InvocationThrottles: 4,
      CacheHits: 0,
    });
    const total = metrics.snapshot();
    expect(total.Invocations).toBe(102);
    expect(total.InputTokenCount).toBe(1007);
    expect(total.InvocationLatency.p99).toBe(100);
    expect(Object.keys(metrics.byModel())).toEqual([HAIKU, 'meta.llama3-8b-instruct-v1:0']);
    metrics.reset();
    expect(metrics.snapshot().Invocations).toBe(0);
    expect(metrics.snapshot().InvocationLatency).toEqual({ avg: 0, p50: 0, p99: 0 });
  });
});

describe('pricing', () => {
  it('prices a call from the per-1k-token table', () => {
    const cost = estimateCost(HAIKU, { inputTokens: 2000, outputTokens: 1000 });
    expect(cost?.currency).toBe('USD');
    expect(cost?.inputCost).toBeCloseTo(0.0005, 10);
    expect(cost?.outputCost).toBeCloseTo(0.00125, 10);
    expect(cost?.totalCost).toBeCloseTo(0.00175, 10);
  });

  it('prices inference profiles and foundation-model ARNs as their base model', () => {
    const usage = { inputTokens: 1000, outputTokens: 1000 };
    const base = estimateCost(HAIKU, usage);
    expect(estimateCost(`us.${HAIKU}`, usage)).toEqual(base);
    expect(estimateCost(`arn:aws:bedrock:us-east-1::foundation-model/${HAIKU}`, usage)).toEqual(base);
    expect(estimateCost(`arn:aws:bedrock:us-east-1:1:inference-profile/eu.${HAIKU}`, usage)).toEqual(base);
    expect(estimateCost(`${HAIKU}:200k`, usage)).toEqual(base);
  });

  it('returns undefined for unknown, custom and provisioned models instead of guessing', () => {
    const usage = { inputTokens: 1000, outputTokens: 1000 };
    expect(estimateCost('acme.unknown-v1', usage)).toBeUndefined();
    expect(estimateCost('arn:aws:bedrock:us-east-1:1:provisioned-model/abc', usage)).toBeUndefined();
    expect(pricingModelId('arn:aws:bedrock:us-east-1:1:custom-model/x/y')).toBeUndefined();
  });

  it('lets callers add and override prices', () => {
    const table = createPricingTable({
      'acme.unknown-v1': { inputPer1k: 1, outputPer1k: 2 },
      [HAIKU]: { inputPer1k: 0, outputPer1k: 0 },
    });
    expect(estimateCost('acme.unknown-v1', { inputTokens: 500, outputTokens: 500 }, table)?.totalCost).toBe(
      1.5,
    );
    expect(estimateCost(HAIKU, { inputTokens: 500, outputTokens: 500 }, table)?.totalCost).toBe(0);
    expect(BEDROCK_PRICING[HAIKU]?.inputPer1k).toBe(0.00025);
  });
});

describe('logging', () => {
  it('writes at the console level and above only', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger({ level: 'warn', write: (line) => lines.push(line) });
    logger.debug('d');
    logger.info('i');
    logger.warn('w', { a: 1 });
    logger.error('e');
    expect(lines).toEqual(['[localkb] warn w {"a":1}', '[localkb] error e']);
  });

  it('redacts credential fields at any depth', () => {
    expect(
      redactFields({
        modelId: 'm',
        inputTokens: 3,
        credentials: { accessKeyId: 'AKID', secretAccessKey: 's' },
        nested: { apiKey: 'k', Authorization: 'Bearer x', list: [{ sessionToken: 't' }] },
      }),
    ).toEqual({
      modelId: 'm',
      inputTokens: 3,
      credentials: '[redacted]',
      nested: { apiKey: '[redacted]', Authorization: '[redacted]', list: [{ sessionToken: '[redacted]' }] },
    });
  });

  it('never lets a failing logger break the caller', () => {
    const throwing: Logger = {
      debug: () => {
        throw new Error('boom');
      },
      info: () => {},
      warn: () => {},
      error: () => {},
    };
    expect(() => safeLogger(throwing).debug('x')).not.toThrow();
  });
});

describe('classifyError', () => {
  it('splits failures the way CloudWatch counts them', () => {
    expect(classifyError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } })).toBe(
      'throttle',
    );
    expect(classifyError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe('client');
    expect(classifyError({ name: 'InternalServerException', $metadata: { httpStatusCode: 500 } })).toBe(
      'server',
    );
    expect(classifyError({ code: 'THROTTLED' })).toBe('throttle');
  });
});

describe('usage events and logs from real calls', () => {
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  let emulator: BedrockEmulator;
  beforeAll(async () => {
    emulator = await startBedrockEmulator({
      credentials: { accessKeyId: 'AKIDOBSERVETEST', secretAccessKey: SECRET },
    });
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(() => emulator.reset());

  function capturingLogger(lines: string[]): Logger {
    const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }

  it('feeds metrics and cost from generator usage events', async () => {
    const metrics = new BedrockMetrics();
    const events: UsageEvent[] = [];
    const generator = new BedrockConverseGenerator({
      modelId: HAIKU,
      clientConfig: emulatorClientConfig(emulator),
      onUsage: (usage) => {
        events.push(usage);
        metrics.listener(usage);
      },
    });
    emulator.respondTo(HAIKU, { text: 'ok', usage: { inputTokens: 1200, outputTokens: 300 } });
    const generation = await generator.generate([{ role: 'user', content: 'q' }]);
    await collect(generator.stream([{ role: 'user', content: 'q' }]));
    emulator.faults.error(1, 'AccessDeniedException', 403);
    await rejectionOf(generator.generate([{ role: 'user', content: 'q' }]));
    expect(events.map((e) => [e.operation, e.inputTokens, e.outputTokens, e.errorClass])).toEqual([
      ['Converse', 1200, 300, undefined],
      ['ConverseStream', 1200, 300, undefined],
      ['Converse', 0, 0, 'client'],
    ]);
    const snapshot = metrics.snapshot(HAIKU);
    expect(snapshot.Invocations).toBe(2);
    expect(snapshot.InputTokenCount).toBe(2400);
    expect(snapshot.InvocationClientErrors).toBe(1);
    expect(snapshot.InvocationLatency.avg).toBeGreaterThan(0);
    expect(estimateCost(generation.modelId, generation.usage)?.totalCost).toBeCloseTo(
      1.2 * 0.00025 + 0.3 * 0.00125,
      10,
    );
  });

  it('never writes the secret key to the logs and logs prompts only at debug level, truncated', async () => {
    const lines: string[] = [];
    const options = {
      clientConfig: emulatorClientConfig(emulator),
      logger: capturingLogger(lines),
    };
    const longPrompt = `My question is ${'very '.repeat(200)}long.`;
    const converse = new BedrockConverseGenerator({ modelId: HAIKU, ...options });
    const invoke = new BedrockInvokeGenerator({ modelId: 'meta.llama3-8b-instruct-v1:0', ...options });
    await converse.generate([{ role: 'user', content: longPrompt }]);
    await collect(invoke.stream([{ role: 'user', content: longPrompt }]));
    emulator.faults.error(1, 'UnrecognizedClientException', 403, { message: `bad key ${SECRET}` });
    await rejectionOf(converse.generate([{ role: 'user', content: 'x' }]));
    emulator.faults.throttle(3);
    await rejectionOf(invoke.generate([{ role: 'user', content: 'x' }]));

    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(all).not.toContain(SECRET);
    const promptLines = lines.filter((line) => line.includes('My question is'));
    expect(promptLines.length).toBeGreaterThan(0);
    for (const line of promptLines) {
      expect(line.startsWith('debug ')).toBe(true);
      expect(line).not.toContain(longPrompt);
      expect(line).toContain(`(${longPrompt.length} chars)`);
    }
    expect(lines.filter((line) => line.startsWith('warn ')).length).toBe(2);
  });
});
