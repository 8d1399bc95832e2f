import {
  BedrockClient,
  GetFoundationModelCommand,
  GetInferenceProfileCommand,
  ListFoundationModelsCommand,
  ListInferenceProfilesCommand,
} from '@aws-sdk/client-bedrock';
import { ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { decodeJson, runtimeClient } from './runtime-clients.js';

let emulator: BedrockEmulator;
let runtime: ReturnType<typeof runtimeClient>;
let bedrock: BedrockClient;

beforeAll(async () => {
  emulator = await startBedrockEmulator({
    models: [{ modelId: 'acme.tiny-chat-v1:0', modelName: 'Tiny Chat', providerName: 'Acme' }],
  });
  runtime = runtimeClient(emulator);
  bedrock = new BedrockClient(emulator.clientConfig());
});
afterAll(async () => {
  runtime.destroy();
  bedrock.destroy();
  await emulator.close();
});
beforeEach(() => emulator.reset());

const HI = [{ role: 'user' as const, content: [{ text: 'hi' }] }];

function converse(modelId: string) {
  return runtime.send(new ConverseCommand({ modelId, messages: HI }));
}

describe('model identifiers bedrock-runtime refuses', () => {
  it.each([
    'anthropic.claude-99-imaginary-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v1:0',
    'eu.anthropic.claude-sonnet-4-20250514-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-99-imaginary-v1:0',
  ])('answers %s with ValidationException: The provided model identifier is invalid.', async (modelId) => {
    await expect(converse(modelId)).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The provided model identifier is invalid.',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it.each(['anthropic.claude-3-7-sonnet-20250219-v1:0', 'anthropic.claude-sonnet-4-20250514-v1:0'])(
    'refuses on-demand calls to the profile-only model %s, naming it',
    async (modelId) => {
      const message =
        `Invocation of model ID ${modelId} with on-demand throughput isn't supported. ` +
        'Retry your request with the ID or ARN of an inference profile that contains this model.';
      await expect(converse(modelId)).rejects.toMatchObject({ name: 'ValidationException', message });
      await expect(
        runtime.send(
          new InvokeModelCommand({
            modelId,
            body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 5, messages: [] }),
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException', message });
    },
  );

  it.each([
    'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0',
    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    'acme.tiny-chat-v1:0',
  ])('serves %s', async (modelId) => {
    const response = await converse(modelId);
    expect(response.output?.message?.content?.[0]?.text).toBe('Echo: hi');
  });
});

describe('Titan Multimodal Embeddings', () => {
  it('embeds text and an image into a vector of the requested length', async () => {
    const response = await runtime.send(
      new InvokeModelCommand({
        modelId: 'amazon.titan-embed-image-v1',
        body: JSON.stringify({
          inputText: 'a lighthouse',
          inputImage: Buffer.from('png bytes').toString('base64'),
          embeddingConfig: { outputEmbeddingLength: 384 },
        }),
      }),
    );
    const body = decodeJson(response.body);
    expect(body.embedding).toHaveLength(384);
    expect(body.inputTextTokenCount).toBeGreaterThan(0);
  });
});

describe('the bedrock control plane catalogue', () => {
  it('lists foundation models with their modalities, streaming and inference types', async () => {
    const { modelSummaries = [] } = await bedrock.send(new ListFoundationModelsCommand({}));
    const image = modelSummaries.find((model) => model.modelId === 'amazon.titan-embed-image-v1');
    expect(image).toMatchObject({
      modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-image-v1',
      providerName: 'Amazon',
      inputModalities: ['TEXT', 'IMAGE'],
      outputModalities: ['EMBEDDING'],
      responseStreamingSupported: false,
      inferenceTypesSupported: ['ON_DEMAND'],
      modelLifecycle: { status: 'ACTIVE' },
    });
    const sonnet4 = modelSummaries.find(
      (model) => model.modelId === 'anthropic.claude-sonnet-4-20250514-v1:0',
    );
    expect(sonnet4?.inferenceTypesSupported).toEqual(['INFERENCE_PROFILE']);
    expect(modelSummaries.some((model) => model.modelId === 'acme.tiny-chat-v1:0')).toBe(true);
  });

  it('filters by provider, output modality and inference type', async () => {
    const anthropic = await bedrock.send(new ListFoundationModelsCommand({ byProvider: 'anthropic' }));
    expect(anthropic.modelSummaries?.every((model) => model.providerName === 'Anthropic')).toBe(true);
    const embeddings = await bedrock.send(
      new ListFoundationModelsCommand({ byOutputModality: 'EMBEDDING', byInferenceType: 'ON_DEMAND' }),
    );
    const ids = embeddings.modelSummaries?.map((model) => model.modelId) ?? [];
    expect(ids).toContain('amazon.titan-embed-text-v2:0');
    expect(ids).not.toContain('anthropic.claude-3-haiku-20240307-v1:0');
    await expect(
      bedrock.send(new ListFoundationModelsCommand({ byOutputModality: 'SOUND' as never })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('gets one foundation model by id or ARN and 404s an unknown one', async () => {
    const byArn = await bedrock.send(
      new GetFoundationModelCommand({
        modelIdentifier: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0',
      }),
    );
    expect(byArn.modelDetails?.modelName).toBe('Titan Text Embeddings V2');
    await expect(
      bedrock.send(new GetFoundationModelCommand({ modelIdentifier: 'anthropic.claude-99-imaginary-v1:0' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  it("lists the region's geography and global inference profiles with the models they contain", async () => {
    const profiles = [];
    let nextToken: string | undefined;
    do {
      const page = await bedrock.send(new ListInferenceProfilesCommand({ maxResults: 10, nextToken }));
      profiles.push(...(page.inferenceProfileSummaries ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const ids = profiles.map((profile) => profile.inferenceProfileId);
    expect(ids).toContain('us.anthropic.claude-3-7-sonnet-20250219-v1:0');
    expect(ids).toContain('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(ids.some((id) => id?.startsWith('eu.'))).toBe(false);
    const sonnet = await bedrock.send(
      new GetInferenceProfileCommand({
        inferenceProfileIdentifier: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
      }),
    );
    expect(sonnet).toMatchObject({ type: 'SYSTEM_DEFINED', status: 'ACTIVE' });
    expect(sonnet.models?.map((model) => model.modelArn)).toContain(
      'arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0',
    );
  });
});
