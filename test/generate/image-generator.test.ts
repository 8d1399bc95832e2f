import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalKbError } from '../../src/errors.js';
import { BedrockImageGenerator } from '../../src/generate/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { emulatorClientConfig, rejectionOf } from './emulator-client.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
let emulator: BedrockEmulator;

beforeAll(async () => {
  emulator = await startBedrockEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.reset());

function generator(modelId: string) {
  return new BedrockImageGenerator({ modelId, clientConfig: emulatorClientConfig(emulator) });
}

describe('BedrockImageGenerator', () => {
  it('asks Stable Diffusion XL in its native body and returns PNG bytes with their seeds', async () => {
    const result = await generator('stability.stable-diffusion-xl-v1').generate('a lighthouse at dusk', {
      negativePrompt: 'people',
      seed: 42,
      steps: 30,
      cfgScale: 7,
      width: 1024,
      height: 1024,
      stylePreset: 'photographic',
    });
    expect(emulator.requests[0]!.body).toEqual({
      text_prompts: [
        { text: 'a lighthouse at dusk', weight: 1 },
        { text: 'people', weight: -1 },
      ],
      cfg_scale: 7,
      seed: 42,
      steps: 30,
      width: 1024,
      height: 1024,
      style_preset: 'photographic',
    });
    expect(result.images).toHaveLength(1);
    expect([...result.images[0]!.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(result.seeds).toEqual([42]);
  });

  it('asks Titan Image Generator for several images in its native body', async () => {
    const result = await generator('amazon.titan-image-generator-v1').generate('a red bicycle', {
      numberOfImages: 3,
      seed: 7,
      quality: 'premium',
      negativePrompt: 'rain',
    });
    expect(emulator.requests[0]!.body).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a red bicycle', negativeText: 'rain' },
      imageGenerationConfig: { numberOfImages: 3, seed: 7, quality: 'premium' },
    });
    expect(result.images).toHaveLength(3);
    for (const image of result.images) expect([...image.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(result.seeds).toBeUndefined();
  });

  it('reports a content-filtered image as GENERATION_FAILED', async () => {
    emulator.respondTo(/stable-diffusion/, {
      body: { result: 'success', artifacts: [{ seed: 1, base64: '', finishReason: 'CONTENT_FILTERED' }] },
    });
    const error = (await rejectionOf(
      generator('stability.stable-diffusion-xl-v1').generate('x'),
    )) as LocalKbError;
    expect(error.code).toBe('GENERATION_FAILED');
  });

  it('reports a body without images as MODEL_RESPONSE_MALFORMED', async () => {
    emulator.respondTo(/titan-image/, { body: { images: [] } });
    const error = (await rejectionOf(
      generator('amazon.titan-image-generator-v1').generate('x'),
    )) as LocalKbError;
    expect(error.code).toBe('MODEL_RESPONSE_MALFORMED');
  });

  it('rejects unsupported models, empty prompts and impossible sizes before calling Bedrock', async () => {
    expect(() => generator('anthropic.claude-3-haiku-20240307-v1:0')).toThrow(/not a supported image model/);
    const g = generator('amazon.titan-image-generator-v1');
    await expect(g.generate('  ')).rejects.toMatchObject({ code: 'INVALID_OPTION', input: 'prompt' });
    await expect(g.generate('x', { numberOfImages: 9 })).rejects.toMatchObject({ input: 'numberOfImages' });
    expect(emulator.requests).toHaveLength(0);
  });
});
