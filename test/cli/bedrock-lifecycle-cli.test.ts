/**
 * `localkb models`, `finetune` and `provisioned` against the emulator, configured only through the standard AWS
 * environment (AWS_ENDPOINT_URL_BEDROCK for the control plane).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let emulator: BedrockEmulator;
let env: NodeJS.ProcessEnv;

function localkb(args: string[]) {
  return runCli(args, { env });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-lifecycle-cli-'));
  mkdirSync(path.join(dir, 'bucket'));
  writeFileSync(
    path.join(dir, 'bucket', 'train.jsonl'),
    [
      JSON.stringify({ prompt: 'What is RAG?', completion: 'Retrieval-augmented generation.' }),
      JSON.stringify({ prompt: 'Name a vector index.', answer: 'HNSW' }),
      '{"prompt": "cut off',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'bucket', 'good.jsonl'),
    `${JSON.stringify({ prompt: 'What is RAG?', completion: 'Retrieval-augmented generation.' })}\n`,
  );
  emulator = await startBedrockEmulator({
    s3Buckets: { 'ft-bucket': path.join(dir, 'bucket') },
    customizationJobMs: 0,
    provisioningMs: 0,
  });
  const { accessKeyId, secretAccessKey } = emulator.clientConfig().credentials;
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK: emulator.endpoint,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.endpoint,
  };
});
afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('localkb models', () => {
  it('lists one provider with access and the profiles to call profile-only models through', async () => {
    const { code, stdout } = await localkb(['models', '--provider', 'anthropic', '--json']);
    expect(code).toBe(0);
    const listing = JSON.parse(stdout);
    const sonnet = listing.models.find((model: { modelId: string }) =>
      model.modelId.includes('claude-3-7-sonnet'),
    );
    expect(sonnet).toMatchObject({ access: 'profile-only', responseStreamingSupported: true });
    expect(
      listing.models.every((model: { providerName: string }) => model.providerName === 'Anthropic'),
    ).toBe(true);
    expect(
      listing.inferenceProfiles.map((profile: { inferenceProfileId: string }) => profile.inferenceProfileId),
    ).toContain('us.anthropic.claude-3-7-sonnet-20250219-v1:0');
  });
});

describe('localkb finetune', () => {
  it('validate prints each bad line with its number and the fix, and exits 1', async () => {
    const file = path.join(dir, 'bucket', 'train.jsonl');
    const { code, stdout } = await localkb([
      'finetune',
      'validate',
      file,
      '--base-model',
      'amazon.titan-text-express-v1',
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(`${file}:2: extraneous key "answer"`);
    expect(stdout).toContain(`${file}:2: missing "completion"`);
    expect(stdout).toContain(`${file}:3: not JSON`);
    expect(stdout).toMatch(/INVALID: 3 records in prompt-completion format .* training tokens, about \$/);
  });

  it('create, status and list drive a job to Completed', async () => {
    const created = await localkb([
      'finetune',
      'create',
      '--job-name',
      'cli-job',
      '--model-name',
      'cli-model',
      '--base-model',
      'amazon.titan-text-express-v1',
      '--role-arn',
      'arn:aws:iam::123456789012:role/Bedrock',
      '--training-data',
      's3://ft-bucket/good.jsonl',
      '--output',
      's3://ft-bucket/out/',
      '--hyper-parameter',
      'epochCount=1',
    ]);
    expect(created.code).toBe(0);
    const jobArn = created.stdout.trim();
    const status = await localkb(['finetune', 'status', jobArn, '--wait', '--interval', '1', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'Completed', jobName: 'cli-job' });
    const list = await localkb(['finetune', 'list', '--status', 'Completed']);
    expect(list.stdout).toContain('cli-job  Completed  amazon.titan-text-express-v1');
  });
});

describe('localkb provisioned', () => {
  it('creates a throughput for a custom model and waits until it is InService', async () => {
    const { modelSummaries } = await import('@aws-sdk/client-bedrock').then(
      async ({ BedrockClient, ListCustomModelsCommand }) => {
        const client = new BedrockClient(emulator.clientConfig());
        try {
          return await client.send(new ListCustomModelsCommand({}));
        } finally {
          client.destroy();
        }
      },
    );
    const model = modelSummaries?.[0]?.modelArn;
    expect(model).toBeDefined();
    const created = await localkb([
      'provisioned',
      'create',
      '--name',
      'cli-pt',
      '--model',
      model!,
      '--model-units',
      '1',
    ]);
    expect(created.code).toBe(0);
    const got = await localkb(['provisioned', 'get', 'cli-pt', '--wait', '--interval', '1']);
    expect(got.stdout).toContain('cli-pt: InService, 1/1 model units, no commitment');
    expect((await localkb(['provisioned', 'delete', 'cli-pt'])).code).toBe(0);
  });
});

describe('localkb ask --dry-run', () => {
  it('prints what the model call would send and cost without calling the model', async () => {
    const db = path.join(dir, 'kb.db');
    const kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
    await kb.ingest([{ id: 'light', text: 'The Eddystone lighthouse was built by John Smeaton in 1759.' }]);
    await kb.close();
    emulator.reset();
    const { code, stdout } = await localkb([
      'ask',
      'who built the Eddystone lighthouse?',
      '--db',
      db,
      '--model',
      'anthropic.claude-3-haiku-20240307-v1:0',
      '--max-tokens',
      '200',
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /Dry run: would call anthropic\.claude-3-haiku-20240307-v1:0 with ~\d+ input tokens and up to 200 output tokens \(at most \$0\.\d+\)/,
    );
    expect(emulator.requests.filter((request) => request.operation === 'Converse')).toHaveLength(0);
  });
});
