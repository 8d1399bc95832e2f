import { describe, expect, it } from 'vitest';
import { validateTrainingLines } from '../../src/generate/customization/training-data.js';

const claude = (messages: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ messages, ...extra });
const turn = (role: string, content: unknown) => ({ role, content });

describe('validateTrainingLines', () => {
  it('accepts Claude 3 Haiku conversations that start with user and end with assistant', async () => {
    const report = await validateTrainingLines(
      [claude([turn('user', 'hi'), turn('assistant', 'hello')], { system: 'Be brief.' })],
      { baseModelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
    );
    expect(report).toMatchObject({ valid: true, format: 'claude-messages', records: 1, epochs: 2 });
    expect(report.trainingTokens).toBe(report.tokens * 2);
  });

  it('names the line and the fix for Claude turns out of order', async () => {
    const report = await validateTrainingLines(
      [
        claude([turn('user', 'hi'), turn('assistant', 'a')]),
        claude([turn('assistant', 'a'), turn('user', 'hi')]),
      ],
      { baseModelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
    );
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({
      line: 2,
      message: 'messages[0] is "assistant" where "user" belongs',
      fix: 'start with a user turn and alternate user and assistant',
    });
    expect(report.problems.map((problem) => problem.message)).toContain('the last turn is not "assistant"');
  });

  it('requires the bedrock-conversation-2024 schema for Nova models and at least 8 records', async () => {
    const record = JSON.stringify({
      schemaVersion: 'bedrock-conversation-2024',
      messages: [turn('user', [{ text: 'hi' }]), turn('assistant', [{ text: 'hello' }])],
    });
    const report = await validateTrainingLines([record, JSON.stringify({ messages: [] })], {
      baseModelId: 'amazon.nova-lite-v1:0',
    });
    expect(report.format).toBe('bedrock-conversation');
    expect(
      report.problems.some((problem) => problem.line === 2 && problem.message.includes('schemaVersion')),
    ).toBe(true);
    expect(
      report.problems.some((problem) => problem.line === 0 && problem.message.includes('fewer than the 8')),
    ).toBe(true);
  });

  it('flags a record over the family token limit and a set over the record limit', async () => {
    const long = JSON.stringify({ prompt: 'x'.repeat(20_000), completion: 'y' });
    const report = await validateTrainingLines([long, long], {
      baseModelId: 'amazon.titan-text-lite-v1',
      limits: { maxRecords: 1 },
    });
    expect(report.problems.map((problem) => problem.line)).toEqual([1, 2, 0]);
    expect(report.problems[0]!.message).toMatch(/over the 4096-token limit/);
  });

  it('estimates cost from tokens × epochs × the price per 1,000 tokens', async () => {
    const record = JSON.stringify({ prompt: 'a'.repeat(2000), completion: 'b'.repeat(2000) });
    const report = await validateTrainingLines([record], {
      baseModelId: 'amazon.titan-text-express-v1',
      hyperParameters: { epochCount: '3' },
    });
    expect(report.trainingTokens).toBe(3000);
    expect(report.estimatedCost?.training).toBeCloseTo(3 * 0.008);
  });

  it('refuses a model Bedrock does not fine-tune', async () => {
    await expect(
      validateTrainingLines([], { baseModelId: 'anthropic.claude-sonnet-4-20250514-v1:0' }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_MODEL' });
  });
});
