/**
 * Amazon Bedrock embedders: Titan Text Embeddings (v1, v2) and Cohere Embed v3, over InvokeModel.
 * Requests run with bounded concurrency, with localkb's one retry policy (adaptive, bounded, full jitter) and
 * timeouts (src/aws-clients.ts). This file imports only src/types.ts, src/errors.ts, src/options.ts,
 * src/aws-errors.ts, src/aws-clients.ts and this folder (stage rule), so its usage events are typed
 * structurally to match src/observe's UsageEvent.
 */

import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  InvokeModelCommand,
} from '@aws-sdk/client-bedrock-runtime';
import {
  REMOTE_CALL_SHAPE,
  type RemoteCallOptions,
  remoteSettings,
  withRemoteDefaults,
} from '../aws-clients.js';
import { awsErrorClass, awsErrorName, mapAwsError, traceCall } from '../aws-errors.js';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions, type OptionShape } from '../options.js';
import type { Embedder, EmbedOptions, TokenCounter } from '../types.js';
import { normalize } from './vector-math.js';

/** The shape of src/observe's UsageEvent; pass `metrics.listener` or any `onUsage` listener. */
export interface EmbeddingUsageEvent {
  modelId: string;
  operation: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  errorClass?: 'client' | 'server' | 'throttle';
  errorName?: string;
  throttledAttempts?: number;
  timestamp: number;
}

export interface BedrockEmbedderOptions extends RemoteCallOptions {
  /** A ready client; when given, `clientConfig`, `retry` and `timeouts` are ignored. */
  client?: BedrockRuntimeClient;
  /**
   * Region, credentials, endpoint…; without it the SDK's standard configuration chain applies. Its own
   * requestHandler, retryStrategy or maxAttempts replace localkb's timeouts or retry policy.
   */
  clientConfig?: BedrockRuntimeClientConfig;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Called once per InvokeModel call with its token count, latency and error class. */
  onUsage?: (event: EmbeddingUsageEvent) => void;
}

const BEDROCK_EMBEDDER_SHAPE: OptionShape<BedrockEmbedderOptions> = {
  ...REMOTE_CALL_SHAPE,
  client: 'object',
  clientConfig: 'object',
  concurrency: 'integer',
  onUsage: 'function',
};

/**
 * Bedrock's embedding tokenizers are not public, so token counts are estimated conservatively: one token per
 * 3 ASCII characters (English averages about 4) plus one per non-ASCII character. Chunks measured with it stay
 * under the models' limits (Titan 8,192 tokens, Cohere 512) for ordinary text; scripts whose characters split
 * into several tokens each may exceed the estimate, which Titan rejects and Cohere truncates (see `truncate`).
 */
export function approximateBedrockTokenCount(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const char of text) {
    if (char.charCodeAt(0) < 128) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 3) + other;
}

const approximateCounter: TokenCounter = { count: approximateBedrockTokenCount };

function positiveInteger(
  value: unknown,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw kbError('INVALID_OPTION', `${name} must be an integer from 1 to ${max}, got ${String(value)}.`, {
      input: name,
    });
  }
  return value;
}

/** The parts Titan and Cohere share: the client, the request loop, backoff, concurrency and error mapping. */
abstract class BedrockEmbedder implements Embedder {
  abstract readonly id: string;
  abstract readonly dimensions: number;
  abstract readonly maxInputTokens: number;
  readonly modelId: string;
  readonly concurrency: number;
  readonly #client: BedrockRuntimeClient;
  readonly #onUsage: BedrockEmbedderOptions['onUsage'];

  protected constructor(modelId: string, options: BedrockEmbedderOptions) {
    this.modelId = modelId;
    this.concurrency = positiveInteger(options.concurrency, 'concurrency', 4, 64);
    const settings = remoteSettings(options);
    this.#client =
      options.client ?? new BedrockRuntimeClient(withRemoteDefaults(options.clientConfig, settings));
    this.#onUsage = options.onUsage;
  }

  async init(): Promise<void> {}

  async tokenCounter(): Promise<TokenCounter> {
    return approximateCounter;
  }

  async embedQuery(text: string, options: EmbedOptions = {}): Promise<Float32Array> {
    checkTexts([text], 'text');
    const [vector] = await this.runRequests([[text]], 'query', options);
    return vector!;
  }

  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    checkTexts(texts, 'texts');
    if (texts.length === 0) return [];
    return this.runRequests(this.batches(texts), 'document', options);
  }

  /** How texts are grouped into requests: one per text (Titan) or up to 96 per request (Cohere). */
  protected abstract batches(texts: readonly string[]): string[][];
  protected abstract requestBody(batch: string[], kind: 'query' | 'document'): Record<string, unknown>;
  /** Reads one vector per text from a response body; throws BodyError when the shape is wrong. */
  protected abstract parseVectors(body: Record<string, unknown>, batch: string[]): number[][];
  protected abstract bodyTokenCount(body: Record<string, unknown>): number | undefined;

  /** Runs the requests with at most `concurrency` in flight and returns the vectors in input order. */
  protected async runRequests(
    batches: string[][],
    kind: 'query' | 'document',
    options: EmbedOptions,
  ): Promise<Float32Array[]> {
    const total = batches.reduce((sum, batch) => sum + batch.length, 0);
    const results: Float32Array[][] = new Array(batches.length);
    // One controller for the whole call: the caller's abort or the first failure cancels what is in flight.
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) throw this.#aborted();
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let next = 0;
    let done = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && next < batches.length) {
        const index = next++;
        try {
          results[index] = await this.#invoke(batches[index]!, kind, controller.signal);
          done += batches[index]!.length;
          options.onProgress?.(done, total);
        } catch (error) {
          if (failure === undefined) failure = error;
          controller.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    } finally {
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
    if (options.signal?.aborted) throw this.#aborted(failure);
    if (failure !== undefined) throw this.#toError(failure);
    return results.flat();
  }

  async #invoke(batch: string[], kind: 'query' | 'document', signal: AbortSignal): Promise<Float32Array[]> {
    const command = new InvokeModelCommand({
      modelId: this.modelId,
      body: JSON.stringify(this.requestBody(batch, kind)),
      contentType: 'application/json',
      accept: 'application/json',
    });
    const trace = traceCall(command);
    const started = performance.now();
    try {
      const response = await this.#client.send(command, { abortSignal: signal });
      const body = this.#parseBody(response.body);
      const vectors = this.parseVectors(body, batch);
      const headerTokens = Number(trace.headers['x-amzn-bedrock-input-token-count']);
      this.#emit({
        inputTokens: Number.isFinite(headerTokens) ? headerTokens : (this.bodyTokenCount(body) ?? 0),
        latencyMs: performance.now() - started,
        throttledAttempts: trace.throttledAttempts,
      });
      return vectors.map((values) => this.#toVector(values));
    } catch (error) {
      if (!signal.aborted) {
        this.#emit({
          inputTokens: 0,
          latencyMs: performance.now() - started,
          throttledAttempts: trace.throttledAttempts,
          errorClass: awsErrorClass(error),
          errorName: isLocalKbError(error) ? error.code : (awsErrorName(error) ?? 'Error'),
        });
      }
      throw error;
    }
  }

  #emit(event: Omit<EmbeddingUsageEvent, 'modelId' | 'operation' | 'outputTokens' | 'timestamp'>): void {
    if (!this.#onUsage) return;
    const { throttledAttempts, ...rest } = event;
    try {
      this.#onUsage({
        modelId: this.modelId,
        operation: 'InvokeModel',
        outputTokens: 0,
        ...rest,
        ...(throttledAttempts ? { throttledAttempts } : {}),
        timestamp: Date.now(),
      });
    } catch {
      // A failing listener must not fail the embedding.
    }
  }

  #parseBody(bytes: Uint8Array | undefined): Record<string, unknown> {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw this.malformed('the body is not JSON', error);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw this.malformed('the body is not a JSON object');
    }
    return body as Record<string, unknown>;
  }

  #toVector(values: number[]): Float32Array {
    if (values.length !== this.dimensions) {
      throw kbError(
        'DIMENSION_MISMATCH',
        `${this.modelId} returned a ${values.length}-dimensional vector, expected ${this.dimensions}; check the ` +
          'dimensions option.',
        { input: this.modelId, details: { expected: this.dimensions, actual: values.length } },
      );
    }
    const vector = Float32Array.from(values);
    return this.normalizes ? normalize(vector) : vector;
  }

  /** Whether vectors are L2-normalised on our side (cosine convention). */
  protected abstract readonly normalizes: boolean;

  protected malformed(reason: string, cause?: unknown): LocalKbError {
    return kbError(
      'MODEL_RESPONSE_MALFORMED',
      `${this.modelId} answered an embedding request with ${reason}.`,
      {
        input: this.modelId,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  #aborted(cause?: unknown): LocalKbError {
    return kbError('ABORTED', abortedMessage(this.modelId), {
      input: this.modelId,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  #toError(error: unknown): LocalKbError {
    return mapAwsError(error, {
      operation: 'InvokeModel',
      input: this.modelId,
      failure: 'BEDROCK_ERROR',
      call: `Embedding with ${this.modelId}`,
      aborted: abortedMessage(this.modelId),
      throttled: () =>
        `Bedrock kept throttling ${this.modelId} after all retries; lower concurrency, raise retry.maxAttempts, ` +
        'or request a quota increase.',
      malformed: (message) =>
        `${this.modelId} answered an embedding request with a body that cannot be parsed (${message}).`,
    });
  }
}

function abortedMessage(modelId: string): string {
  return `Embedding with ${modelId} was aborted by the caller's AbortSignal.`;
}

function checkTexts(texts: readonly string[], name: string): void {
  if (!Array.isArray(texts)) {
    throw kbError('INVALID_OPTION', `${name} must be an array of strings.`, { input: name });
  }
  texts.forEach((text, i) => {
    if (typeof text !== 'string' || text.trim() === '') {
      throw kbError(
        'INVALID_OPTION',
        `${name}[${i}] is empty or not a string; Bedrock embeds only non-empty text.`,
        {
          input: `${name}[${i}]`,
        },
      );
    }
  });
}

function numberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((x) => typeof x === 'number');
}

/** The foundation model id inside an id, inference profile or ARN. */
function baseId(modelId: string): string {
  const arn = /:(foundation-model|inference-profile|custom-model)\/([^/]+)/.exec(modelId);
  return (arn ? arn[2]! : modelId).replace(/^(us|eu|apac|global)\./, '');
}

export type TitanDimensions = 256 | 512 | 1024 | 1536;

export interface TitanEmbedderOptions extends BedrockEmbedderOptions {
  /** `amazon.titan-embed-text-v2:0` (default) or `amazon.titan-embed-text-v1`. */
  modelId?: string;
  /** v2: 256, 512 or 1024 (default 1024). v1 is always 1536. */
  dimensions?: TitanDimensions;
  /** Unit-length vectors (v2 asks Bedrock; v1 is normalised here). Default true. */
  normalize?: boolean;
}

export const TITAN_EMBEDDER_OPTIONS = declareOptions<TitanEmbedderOptions>('TitanEmbedder', {
  ...BEDROCK_EMBEDDER_SHAPE,
  modelId: 'string',
  dimensions: 'integer',
  normalize: 'boolean',
});

export const DEFAULT_TITAN_EMBED_MODEL_ID = 'amazon.titan-embed-text-v2:0';
export const TITAN_MAX_INPUT_TOKENS = 8192;

/** Amazon Titan Text Embeddings: one text per request, so requests run `concurrency` at a time. */
export class TitanEmbedder extends BedrockEmbedder {
  readonly id: string;
  readonly dimensions: number;
  readonly maxInputTokens = TITAN_MAX_INPUT_TOKENS;
  readonly version: 1 | 2;
  protected readonly normalizes: boolean;

  constructor(options: TitanEmbedderOptions = {}) {
    checkOptions(TITAN_EMBEDDER_OPTIONS, options);
    const modelId = options.modelId ?? DEFAULT_TITAN_EMBED_MODEL_ID;
    super(modelId, options);
    const base = baseId(modelId);
    if (/^amazon\.titan-embed-text-v2/.test(base)) this.version = 2;
    else if (/^amazon\.titan-embed-(text-v1|g1-text)/.test(base)) this.version = 1;
    else {
      throw kbError(
        'UNKNOWN_MODEL',
        `"${modelId}" is not a Titan text embedding model; use amazon.titan-embed-text-v2:0 or amazon.titan-embed-text-v1.`,
        { input: modelId },
      );
    }
    const allowed = this.version === 2 ? [256, 512, 1024] : [1536];
    const dimensions = options.dimensions ?? allowed[allowed.length - 1]!;
    if (!allowed.includes(dimensions)) {
      throw kbError(
        'INVALID_OPTION',
        `dimensions for ${modelId} must be ${allowed.join(', ')}; got ${String(dimensions)}.`,
        { input: 'dimensions' },
      );
    }
    this.dimensions = dimensions;
    this.normalizes = options.normalize ?? true;
    this.id = `bedrock:${modelId}:${dimensions}${this.normalizes ? '' : ':raw'}`;
  }

  protected batches(texts: readonly string[]): string[][] {
    return texts.map((text) => [text]);
  }

  protected requestBody(batch: string[]): Record<string, unknown> {
    if (this.version === 1) return { inputText: batch[0] };
    return { inputText: batch[0], dimensions: this.dimensions, normalize: this.normalizes };
  }

  protected parseVectors(body: Record<string, unknown>): number[][] {
    const byType = body.embeddingsByType as { float?: unknown } | undefined;
    const vector = numberArray(body.embedding) ? body.embedding : byType?.float;
    if (!numberArray(vector)) throw this.malformed('no embedding array');
    return [vector];
  }

  protected bodyTokenCount(body: Record<string, unknown>): number | undefined {
    return typeof body.inputTextTokenCount === 'number' ? body.inputTextTokenCount : undefined;
  }
}

export interface CohereEmbedderOptions extends BedrockEmbedderOptions {
  /** `cohere.embed-english-v3` (default) or `cohere.embed-multilingual-v3`. */
  modelId?: string;
  /** Texts per request, at most 96 (Bedrock's limit). Default 96. */
  batchSize?: number;
  /** What Bedrock does with text over 512 tokens. Default 'END' (cut the end) so one long chunk cannot fail a batch. */
  truncate?: 'NONE' | 'START' | 'END';
}

export const COHERE_EMBEDDER_OPTIONS = declareOptions<CohereEmbedderOptions>('CohereEmbedder', {
  ...BEDROCK_EMBEDDER_SHAPE,
  modelId: 'string',
  batchSize: 'integer',
  truncate: 'string',
});

export const DEFAULT_COHERE_EMBED_MODEL_ID = 'cohere.embed-english-v3';
export const COHERE_MAX_BATCH = 96;
export const COHERE_MAX_INPUT_TOKENS = 512;

/**
 * Cohere Embed v3 (English, multilingual): 1024-dimensional, up to 96 texts per request; documents are sent
 * as `search_document` and queries as `search_query`, as Cohere's retrieval models expect.
 */
export class CohereEmbedder extends BedrockEmbedder {
  readonly id: string;
  readonly dimensions = 1024;
  readonly maxInputTokens = COHERE_MAX_INPUT_TOKENS;
  readonly batchSize: number;
  readonly truncate: 'NONE' | 'START' | 'END';
  protected readonly normalizes = true;

  constructor(options: CohereEmbedderOptions = {}) {
    checkOptions(COHERE_EMBEDDER_OPTIONS, options);
    const modelId = options.modelId ?? DEFAULT_COHERE_EMBED_MODEL_ID;
    super(modelId, options);
    if (!/^cohere\.embed-(english|multilingual)-v3/.test(baseId(modelId))) {
      throw kbError(
        'UNKNOWN_MODEL',
        `"${modelId}" is not a Cohere Embed v3 model; use cohere.embed-english-v3 or cohere.embed-multilingual-v3.`,
        { input: modelId },
      );
    }
    this.batchSize = positiveInteger(options.batchSize, 'batchSize', COHERE_MAX_BATCH, COHERE_MAX_BATCH);
    const truncate = options.truncate ?? 'END';
    if (!['NONE', 'START', 'END'].includes(truncate)) {
      throw kbError('INVALID_OPTION', `truncate must be NONE, START or END; got ${String(truncate)}.`, {
        input: 'truncate',
      });
    }
    this.truncate = truncate;
    this.id = `bedrock:${modelId}:${this.dimensions}`;
  }

  protected batches(texts: readonly string[]): string[][] {
    const batches: string[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) batches.push(texts.slice(i, i + this.batchSize));
    return batches;
  }

  protected requestBody(batch: string[], kind: 'query' | 'document'): Record<string, unknown> {
    return {
      texts: batch,
      input_type: kind === 'query' ? 'search_query' : 'search_document',
      truncate: this.truncate,
    };
  }

  protected parseVectors(body: Record<string, unknown>, batch: string[]): number[][] {
    const embeddings = body.embeddings;
    const vectors = Array.isArray(embeddings)
      ? embeddings
      : (embeddings as { float?: unknown } | undefined)?.float;
    if (!Array.isArray(vectors) || !vectors.every(numberArray)) throw this.malformed('no embeddings array');
    if (vectors.length !== batch.length) {
      throw this.malformed(`${vectors.length} embeddings for ${batch.length} texts`);
    }
    return vectors;
  }

  protected bodyTokenCount(): number | undefined {
    return undefined;
  }
}
