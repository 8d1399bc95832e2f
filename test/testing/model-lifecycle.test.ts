import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockClient,
  CreateModelCustomizationJobCommand,
  CreateProvisionedModelThroughputCommand,
  DeleteProvisionedModelThroughputCommand,
  GetModelCustomizationJobCommand,
  GetProvisionedModelThroughputCommand,
  ListCustomModelsCommand,
  ListModelCustomizationJobsCommand,
  StopModelCustomizationJobCommand,
} from '@aws-sdk/client-bedrock';
import { ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { decodeJson, runtimeClient } from './runtime-clients.js';

let dir: string;
let emulator: BedrockEmulator;
let bedrock: BedrockClient;
let runtime: ReturnType<typeof runtimeClient>;

const ROLE = 'arn:aws:iam::123456789012:role/BedrockCustomization';
const record = (index: number) =>
  JSON.stringify({ prompt: `Question ${index}?`, completion: `Answer ${index}.` });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-lifecycle-'));
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(
    path.join(dir, 'data', 'train.jsonl'),
    `${Array.from({ length: 20 }, (_, i) => record(i)).join('\n')}\n`,
  );
  writeFileSync(path.join(dir, 'data', 'bad.jsonl'), `${record(1)}\n{"prompt": "no completion"}\n`);
  emulator = await startBedrockEmulator({ s3Buckets: { 'training-bucket': path.join(dir, 'data') } });
  bedrock = new BedrockClient(emulator.clientConfig());
  runtime = runtimeClient(emulator);
});
afterAll(async () => {
  bedrock.destroy();
  runtime.destroy();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

function createJob(jobName: string, file = 'train.jsonl') {
  return bedrock.send(
    new CreateModelCustomizationJobCommand({
      jobName,
      customModelName: `${jobName}-model`,
      roleArn: ROLE,
      baseModelIdentifier: 'amazon.titan-text-express-v1',
      hyperParameters: { epochCount: '2' },
      trainingDataConfig: { s3Uri: `s3://training-bucket/${file}` },
      outputDataConfig: { s3Uri: 's3://training-bucket/output/' },
    }),
  );
}

describe('model customization jobs', () => {
  it('run InProgress then Completed on the emulator clock, and the custom model is listed', async () => {
    const { jobArn } = await createJob('support-tone');
    expect((await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }))).status).toBe(
      'InProgress',
    );
    emulator.advanceClock(3000);
    const done = await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }));
    expect(done).toMatchObject({ status: 'Completed', hyperParameters: { epochCount: '2' } });
    expect(done.trainingMetrics?.trainingLoss).toBeGreaterThan(0);
    expect(done.endTime).toBeInstanceOf(Date);
    const { modelSummaries = [] } = await bedrock.send(new ListCustomModelsCommand({}));
    expect(modelSummaries.map((model) => model.modelArn)).toContain(done.outputModelArn);
    const id = jobArn!.slice(jobArn!.lastIndexOf('/') + 1);
    const metrics = readFileSync(
      path.join(
        dir,
        'data',
        'output',
        `model-customization-job-${id}`,
        'training_artifacts',
        'step_wise_training_metrics.csv',
      ),
      'utf8',
    );
    expect(metrics.split('\n')[0]).toBe('step_number,epoch_number,training_loss,perplexity');
  });

  it('fail when the training data breaks the base model family schema, naming the line', async () => {
    const { jobArn } = await createJob('bad-data', 'bad.jsonl');
    emulator.advanceClock(3000);
    const job = await bedrock.send(new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }));
    expect(job.status).toBe('Failed');
    expect(job.failureMessage).toContain('line 2: missing "completion"');
  });

  it('stop when asked, and list with status filters', async () => {
    const { jobArn } = await createJob('to-stop');
    await bedrock.send(new StopModelCustomizationJobCommand({ jobIdentifier: jobArn }));
    emulator.advanceClock(500);
    const stopped = await bedrock.send(
      new ListModelCustomizationJobsCommand({ statusEquals: 'Stopped', nameContains: 'to-stop' }),
    );
    expect(stopped.modelCustomizationJobSummaries?.map((job) => job.jobArn)).toEqual([jobArn]);
  });

  it('refuse a base model that cannot be fine-tuned and unknown hyper-parameters', async () => {
    await expect(
      bedrock.send(
        new CreateModelCustomizationJobCommand({
          jobName: 'nope',
          customModelName: 'nope',
          roleArn: ROLE,
          baseModelIdentifier: 'anthropic.claude-sonnet-4-20250514-v1:0',
          trainingDataConfig: { s3Uri: 's3://training-bucket/train.jsonl' },
          outputDataConfig: { s3Uri: 's3://training-bucket/output/' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('provisioned throughput', () => {
  it('hosts a custom model: Creating, then InService, then its ARN answers Converse and InvokeModel', async () => {
    const { jobArn } = await createJob('for-throughput');
    emulator.advanceClock(3000);
    const { outputModelArn } = await bedrock.send(
      new GetModelCustomizationJobCommand({ jobIdentifier: jobArn }),
    );
    await expect(
      runtime.send(
        new ConverseCommand({
          modelId: outputModelArn,
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const { provisionedModelArn } = await bedrock.send(
      new CreateProvisionedModelThroughputCommand({
        modelUnits: 1,
        provisionedModelName: 'support-tone-pt',
        modelId: outputModelArn,
      }),
    );
    const creating = await bedrock.send(
      new GetProvisionedModelThroughputCommand({ provisionedModelId: provisionedModelArn }),
    );
    expect(creating.status).toBe('Creating');
    emulator.advanceClock(1000);
    const ready = await bedrock.send(
      new GetProvisionedModelThroughputCommand({ provisionedModelId: 'support-tone-pt' }),
    );
    expect(ready).toMatchObject({ status: 'InService', modelUnits: 1, modelArn: outputModelArn });
    const reply = await runtime.send(
      new ConverseCommand({
        modelId: provisionedModelArn,
        messages: [{ role: 'user', content: [{ text: 'hi' }] }],
      }),
    );
    expect(reply.output?.message?.content?.[0]?.text).toBe('Echo: hi');
    const invoked = await runtime.send(
      new InvokeModelCommand({ modelId: provisionedModelArn, body: JSON.stringify({ inputText: 'hi' }) }),
    );
    expect(decodeJson(invoked.body).results[0].outputText).toBe('Echo: hi');
    await bedrock.send(
      new DeleteProvisionedModelThroughputCommand({ provisionedModelId: provisionedModelArn }),
    );
    await expect(
      runtime.send(
        new ConverseCommand({
          modelId: provisionedModelArn,
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refuses a base model offered on demand only, naming its provisioned variants', async () => {
    await expect(
      bedrock.send(
        new CreateProvisionedModelThroughputCommand({
          modelUnits: 1,
          provisionedModelName: 'haiku-pt',
          modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        }),
      ),
    ).rejects.toThrow(/anthropic\.claude-3-haiku-20240307-v1:0:200k/);
  });
});
