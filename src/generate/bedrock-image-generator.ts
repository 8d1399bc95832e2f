import { type BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { kbError } from '../errors.js';
import { type Logger, safeLogger, truncateForLog } from '../observe/logger.js';
import { emitUsage, type UsageListener } from '../observe/usage.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  abortedError,
  BEDROCK_CLIENT_SHAPE,
  type BedrockClientOptions,
  configSecrets,
  createBedrockRuntime,
  resolveModelId,
  toLocalKbError,
  traceCall,
} from './bedrock-runtime.js';
import { reportFailure } from './call-report.js';
import { baseModelId } from './invoke-families/index.js';

export type ImageModelFamily = 'stability-sdxl' | 'titan-image';

export interface ImageGenerateOptions {
  /** What the image must not show. */
  negativePrompt?: string;
  width?: number;
  height?: number;
  /** Fixes the result for the same prompt and settings. */
  seed?: number;
  /** How closely the image follows the prompt. */
  cfgScale?: number;
  /** Diffusion steps (Stable Diffusion only). */
  steps?: number;
  /** Images to make, 1–5 (Titan's numberOfImages, SDXL's samples). */
  numberOfImages?: number;
  /** Stable Diffusion style preset, e.g. 'photographic'. */
  stylePreset?: string;
  /** Titan quality: 'standard' or 'premium'. */
  quality?: 'standard' | 'premium';
  signal?: AbortSignal;
}

export interface ImageGeneration {
  /** Encoded images (PNG), as the model returned them. */
  images: Uint8Array[];
  /** The seed of each image, when the model reports it. */
  seeds?: number[];
  latencyMs: number;
  modelId: string;
}

export interface BedrockImageGeneratorOptions extends BedrockClientOptions {
  /** `stability.stable-diffusion-xl-v1` (default) or `amazon.titan-image-generator-v1`, or their ARNs. */
  modelId?: string;
  family?: ImageModelFamily;
}

export const BEDROCK_IMAGE_GENERATOR_OPTIONS = declareOptions<BedrockImageGeneratorOptions>(
  'BedrockImageGenerator',
  { ...BEDROCK_CLIENT_SHAPE, modelId: 'string', family: 'string' },
);

export const IMAGE_GENERATE_OPTIONS = declareOptions<ImageGenerateOptions>('generate', {
  negativePrompt: 'string',
  width: 'integer',
  height: 'integer',
  seed: 'integer',
  cfgScale: 'number',
  steps: 'integer',
  numberOfImages: 'integer',
  stylePreset: 'string',
  quality: 'string',
  signal: 'signal',
});

export const DEFAULT_IMAGE_MODEL_ID = 'stability.stable-diffusion-xl-v1';

function imageFamilyOf(modelId: string): ImageModelFamily {
  const base = baseModelId(modelId) ?? '';
  if (base.startsWith('stability.stable-diffusion-xl')) return 'stability-sdxl';
  if (base.startsWith('amazon.titan-image-generator')) return 'titan-image';
  throw kbError(
    'UNKNOWN_MODEL',
    `"${modelId}" is not a supported image model; use stability.stable-diffusion-xl-v1 or ` +
      'amazon.titan-image-generator-v1, or pass { family } for a provisioned ARN.',
    { input: modelId, details: { supportedFamilies: ['stability-sdxl', 'titan-image'] } },
  );
}

function checkPositiveInteger(value: number | undefined, name: string, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
    throw kbError('INVALID_OPTION', `${name} must be an integer from 1 to ${max}, got ${String(value)}.`, {
      input: name,
    });
  }
}

/** Text-to-image through InvokeModel: Stable Diffusion XL and Titan Image Generator. */
export class BedrockImageGenerator {
  readonly modelId: string;
  readonly family: ImageModelFamily;
  readonly #client: BedrockRuntimeClient;
  readonly #onUsage: UsageListener | undefined;
  readonly #logger: Logger;

  constructor(options: BedrockImageGeneratorOptions = {}) {
    checkOptions(BEDROCK_IMAGE_GENERATOR_OPTIONS, options);
    this.modelId = resolveModelId(options.modelId ?? DEFAULT_IMAGE_MODEL_ID);
    this.family = options.family ?? imageFamilyOf(this.modelId);
    this.#client = createBedrockRuntime(options).client;
    this.#onUsage = options.onUsage;
    this.#logger = safeLogger(options.logger, configSecrets(options.clientConfig));
  }

  /** The native request body for `prompt` (exposed so callers can see exactly what is sent). */
  requestBody(prompt: string, options: ImageGenerateOptions = {}): Record<string, unknown> {
    checkOptions(IMAGE_GENERATE_OPTIONS, options);
    if (typeof prompt !== 'string' || prompt.trim() === '') {
      throw kbError('INVALID_OPTION', 'The image prompt is empty; describe the image to generate.', {
        input: 'prompt',
      });
    }
    checkPositiveInteger(options.width, 'width', 4096);
    checkPositiveInteger(options.height, 'height', 4096);
    checkPositiveInteger(options.steps, 'steps', 150);
    checkPositiveInteger(options.numberOfImages, 'numberOfImages', 5);
    if (this.family === 'stability-sdxl') {
      return {
        text_prompts: [
          { text: prompt, weight: 1 },
          ...(options.negativePrompt ? [{ text: options.negativePrompt, weight: -1 }] : []),
        ],
        ...(options.cfgScale !== undefined ? { cfg_scale: options.cfgScale } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.steps !== undefined ? { steps: options.steps } : {}),
        ...(options.width !== undefined ? { width: options.width } : {}),
        ...(options.height !== undefined ? { height: options.height } : {}),
        ...(options.stylePreset ? { style_preset: options.stylePreset } : {}),
        ...(options.numberOfImages !== undefined ? { samples: options.numberOfImages } : {}),
      };
    }
    return {
      taskType: 'TEXT_IMAGE',
      textToImageParams: {
        text: prompt,
        ...(options.negativePrompt ? { negativeText: options.negativePrompt } : {}),
      },
      imageGenerationConfig: {
        numberOfImages: options.numberOfImages ?? 1,
        ...(options.width !== undefined ? { width: options.width } : {}),
        ...(options.height !== undefined ? { height: options.height } : {}),
        ...(options.cfgScale !== undefined ? { cfgScale: options.cfgScale } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.quality ? { quality: options.quality } : {}),
      },
    };
  }

  async generate(prompt: string, options: ImageGenerateOptions = {}): Promise<ImageGeneration> {
    const body = this.requestBody(prompt, options);
    const startedAt = performance.now();
    const report = {
      modelId: this.modelId,
      operation: 'InvokeModel',
      startedAt,
      onUsage: this.#onUsage,
      logger: this.#logger,
    };
    this.#logger.debug('InvokeModel image request', {
      modelId: this.modelId,
      prompt: truncateForLog(prompt),
    });
    const command = new InvokeModelCommand({
      modelId: this.modelId,
      body: JSON.stringify(body),
      contentType: 'application/json',
      accept: 'application/json',
    });
    const trace = traceCall(command);
    try {
      if (options.signal?.aborted) throw abortedError(this.modelId);
      const response = await this.#client.send(command, { abortSignal: options.signal });
      const result = this.#parse(response.body);
      const latencyMs = performance.now() - startedAt;
      emitUsage(this.#onUsage, {
        modelId: this.modelId,
        operation: 'InvokeModel',
        inputTokens: 0,
        outputTokens: 0,
        latencyMs,
        ...(trace.throttledAttempts ? { throttledAttempts: trace.throttledAttempts } : {}),
        timestamp: Date.now(),
      });
      return { ...result, latencyMs, modelId: this.modelId };
    } catch (error) {
      const mapped = toLocalKbError(error, {
        modelId: this.modelId,
        operation: 'InvokeModel',
        signal: options.signal,
      });
      reportFailure(report, mapped, { throttledAttempts: trace.throttledAttempts });
      throw mapped;
    }
  }

  #parse(bytes: Uint8Array | undefined): { images: Uint8Array[]; seeds?: number[] } {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch (error) {
      throw this.#malformed('the body is not JSON', error);
    }
    if (typeof body !== 'object' || body === null) throw this.#malformed('the body is not a JSON object');
    if (typeof body.error === 'string' && body.error) {
      throw kbError('GENERATION_FAILED', `${this.modelId} could not generate the image: ${body.error}`, {
        input: this.modelId,
      });
    }
    if (this.family === 'stability-sdxl') {
      const artifacts = body.artifacts;
      if (!Array.isArray(artifacts) || artifacts.length === 0) throw this.#malformed('no artifacts[]');
      const images: Uint8Array[] = [];
      const seeds: number[] = [];
      for (const artifact of artifacts as { base64?: unknown; seed?: unknown; finishReason?: unknown }[]) {
        if (artifact.finishReason === 'CONTENT_FILTERED') {
          throw kbError(
            'GENERATION_FAILED',
            `${this.modelId} filtered the image for its content; change the prompt.`,
            {
              input: this.modelId,
              details: { finishReason: 'CONTENT_FILTERED' },
            },
          );
        }
        if (typeof artifact.base64 !== 'string') throw this.#malformed('an artifact without base64');
        images.push(new Uint8Array(Buffer.from(artifact.base64, 'base64')));
        if (typeof artifact.seed === 'number') seeds.push(artifact.seed);
      }
      return seeds.length === images.length ? { images, seeds } : { images };
    }
    const encoded = body.images;
    if (
      !Array.isArray(encoded) ||
      encoded.length === 0 ||
      encoded.some((image) => typeof image !== 'string')
    ) {
      throw this.#malformed('no images[] of base64 strings');
    }
    return { images: (encoded as string[]).map((image) => new Uint8Array(Buffer.from(image, 'base64'))) };
  }

  #malformed(reason: string, cause?: unknown) {
    return kbError(
      'MODEL_RESPONSE_MALFORMED',
      `${this.modelId} answered with an image body localkb cannot read: ${reason}.`,
      {
        input: this.modelId,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }
}
