import {
  type BedrockRuntimeClient,
  InvokeModelCommand,
  type InvokeModelCommandInput,
  InvokeModelWithResponseStreamCommand,
  type ResponseStream,
} from '@aws-sdk/client-bedrock-runtime';
import { kbError, type LocalKbError } from '../errors.js';
import { type Logger, safeLogger, truncateForLog } from '../observe/logger.js';
import type { UsageListener } from '../observe/usage.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  abortable,
  abortedError,
  BEDROCK_CLIENT_SHAPE,
  type BedrockClientOptions,
  type CallTrace,
  configSecrets,
  createBedrockRuntime,
  headerNumber,
  quietStream,
  resolveModelId,
  streamFailure,
  toLocalKbError,
  traceCall,
} from './bedrock-runtime.js';
import { type CallReport, reportFailure, reportSuccess, tokenUsage } from './call-report.js';
import { lastUserMessage, toConversation } from './conversation.js';
import {
  BodyShapeError,
  type InvokeAdapter,
  invokeAdapter,
  type ModelFamily,
  modelFamilyOf,
  type ParsedResponse,
} from './invoke-families/index.js';
import {
  type ChatMessage,
  GENERATE_DEFAULTS,
  GENERATE_OPTIONS,
  type GenerateOptions,
  type Generation,
  type GenerationEvent,
  type Generator,
} from './types.js';

export interface BedrockInvokeGeneratorOptions extends BedrockClientOptions {
  /** A model id, inference profile id (`us.meta.llama3…`) or ARN. */
  modelId: string;
  /** The body format, for ARNs that do not name their base model (provisioned models, application profiles). */
  family?: ModelFamily;
  /** Defaults for every call; per-call options win. */
  defaults?: Omit<GenerateOptions, 'signal'>;
}

export const BEDROCK_INVOKE_GENERATOR_OPTIONS = declareOptions<BedrockInvokeGeneratorOptions>(
  'BedrockInvokeGenerator',
  { ...BEDROCK_CLIENT_SHAPE, modelId: 'string', family: 'string', defaults: GENERATE_DEFAULTS },
);

const decoder = new TextDecoder();

/** Bedrock's usage summary, appended to the last stream chunk (and read from headers for InvokeModel). */
interface InvocationMetrics {
  inputTokenCount?: number;
  outputTokenCount?: number;
}

/**
 * Generates with InvokeModel / InvokeModelWithResponseStream in each family's native body format, for models
 * or features Converse does not cover. Families without a streaming API (AI21 Jurassic-2) stream as one chunk.
 */
export class BedrockInvokeGenerator implements Generator {
  readonly modelId: string;
  readonly #family: ModelFamily | undefined;
  readonly #client: BedrockRuntimeClient;
  readonly #idleMs: number;
  readonly #defaults: Omit<GenerateOptions, 'signal'>;
  readonly #onUsage: UsageListener | undefined;
  readonly #logger: Logger;

  constructor(options: BedrockInvokeGeneratorOptions) {
    checkOptions(BEDROCK_INVOKE_GENERATOR_OPTIONS, options);
    this.modelId = resolveModelId(options?.modelId);
    if (options.family !== undefined) invokeAdapter(options.family);
    else modelFamilyOf(this.modelId);
    this.#family = options.family;
    const runtime = createBedrockRuntime(options);
    this.#client = runtime.client;
    this.#idleMs = runtime.settings.idleMs;
    this.#defaults = options.defaults ?? {};
    this.#onUsage = options.onUsage;
    this.#logger = safeLogger(options.logger, configSecrets(options.clientConfig));
  }

  /** The family this generator speaks for `modelId` (the constructor's model unless overridden per call). */
  familyOf(modelId: string = this.modelId): ModelFamily {
    return modelId === this.modelId && this.#family ? this.#family : modelFamilyOf(modelId);
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    checkOptions(GENERATE_OPTIONS, options);
    const call = this.#prepare(messages, options, 'InvokeModel', false);
    const { modelId, adapter, merged, report } = call;
    const command = new InvokeModelCommand(call.input);
    const trace = traceCall(command);
    try {
      if (merged.signal?.aborted) throw abortedError(modelId);
      const response = await this.#client.send(command, { abortSignal: merged.signal });
      const body = parseJsonBody(response.body, modelId, 'InvokeModel');
      const parsed = parseWith(adapter, body, modelId);
      const usage = usageOf(parsed, trace);
      const latencyMs = reportSuccess(report, usage, {
        throttledAttempts: trace.throttledAttempts,
        stopReason: parsed.stopReason,
      });
      return generationOf(modelId, parsed.text, parsed.stopReason, usage, latencyMs, merged, body);
    } catch (error) {
      const mapped = toLocalKbError(error, { modelId, operation: 'InvokeModel', signal: merged.signal });
      reportFailure(report, mapped, { throttledAttempts: trace.throttledAttempts });
      throw mapped;
    }
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent> {
    checkOptions(GENERATE_OPTIONS, options);
    const family = this.familyOf(options.modelId ?? this.#defaults.modelId ?? this.modelId);
    if (!invokeAdapter(family).supportsStreaming) {
      const generation = await this.generate(messages, options);
      if (generation.text) yield { type: 'text', text: generation.text };
      yield { type: 'done', generation };
      return;
    }
    const call = this.#prepare(messages, options, 'InvokeModelWithResponseStream', true);
    const { modelId, adapter, merged, report } = call;
    const command = new InvokeModelWithResponseStreamCommand(call.input);
    const trace = traceCall(command);
    let text = '';
    let eventsSeen = 0;
    let stopReason = 'unknown';
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let metrics: InvocationMetrics | undefined;
    let guardrailAction: unknown;
    try {
      if (merged.signal?.aborted) throw abortedError(modelId);
      const context = { modelId, operation: 'InvokeModelWithResponseStream', signal: merged.signal };
      const quiet = quietStream(context, this.#idleMs, trace);
      const response = await this.#client.send(command, { abortSignal: quiet.abortSignal });
      if (!response.body) {
        throw kbError('MODEL_RESPONSE_MALFORMED', `${modelId} answered without a response stream.`, {
          input: modelId,
        });
      }
      for await (const event of abortable<ResponseStream>(
        response.body,
        merged.signal,
        modelId,
        quiet.idle,
      )) {
        eventsSeen += 1;
        throwIfStreamException(event);
        if (!event.chunk?.bytes) continue;
        const chunk = parseJsonBody(event.chunk.bytes, modelId, 'InvokeModelWithResponseStream');
        metrics = invocationMetricsOf(chunk) ?? metrics;
        guardrailAction =
          (chunk as Record<string, unknown>)['amazon-bedrock-guardrailAction'] ?? guardrailAction;
        const parsed = parseChunkWith(adapter, chunk, modelId);
        if (parsed.stopReason) stopReason = parsed.stopReason;
        inputTokens = parsed.inputTokens ?? inputTokens;
        outputTokens = parsed.outputTokens ?? outputTokens;
        if (parsed.text) {
          text += parsed.text;
          yield { type: 'text', text: parsed.text };
        }
      }
    } catch (error) {
      const mapped = streamFailure(error, {
        modelId,
        operation: 'InvokeModelWithResponseStream',
        partialText: text,
        eventsSeen,
        signal: merged.signal,
      });
      reportFailure(report, mapped, {
        throttledAttempts: trace.throttledAttempts,
        usage: tokenUsage(inputTokens ?? 0, outputTokens ?? 0),
      });
      throw mapped;
    }
    const usage = tokenUsage(
      metrics?.inputTokenCount ?? inputTokens ?? 0,
      metrics?.outputTokenCount ?? outputTokens ?? 0,
    );
    const latencyMs = reportSuccess(report, usage, {
      throttledAttempts: trace.throttledAttempts,
      stopReason,
    });
    const body = { 'amazon-bedrock-guardrailAction': guardrailAction };
    yield {
      type: 'done',
      generation: generationOf(modelId, text, stopReason, usage, latencyMs, merged, body),
    };
  }

  #prepare(messages: readonly ChatMessage[], options: GenerateOptions, operation: string, stream: boolean) {
    const merged = { ...this.#defaults, ...options };
    const modelId = resolveModelId(merged.modelId ?? this.modelId);
    const adapter = invokeAdapter(this.familyOf(modelId));
    const conversation = toConversation(messages, merged);
    const body = adapter.requestBody(conversation, merged, stream);
    const input: InvokeModelCommandInput = {
      modelId,
      body: JSON.stringify(body),
      contentType: 'application/json',
      accept: 'application/json',
      ...(merged.guardrail
        ? {
            guardrailIdentifier: merged.guardrail.id,
            guardrailVersion: merged.guardrail.version,
            trace: merged.guardrail.trace ? 'ENABLED' : 'DISABLED',
          }
        : {}),
    };
    this.#logger.debug(`${operation} request`, {
      modelId,
      family: adapter.family,
      prompt: truncateForLog(lastUserMessage(conversation)),
    });
    const report: CallReport = {
      modelId,
      operation,
      startedAt: performance.now(),
      onUsage: this.#onUsage,
      logger: this.#logger,
    };
    return { modelId, adapter, merged, input, report };
  }
}

function malformed(modelId: string, operation: string, reason: string, cause?: unknown): LocalKbError {
  return kbError(
    'MODEL_RESPONSE_MALFORMED',
    `${modelId} answered ${operation} with a body localkb cannot read (${reason}); check that the model id ` +
      'matches the family it is invoked as, or pass { family }.',
    { input: modelId, ...(cause === undefined ? {} : { cause }), details: { operation } },
  );
}

function parseJsonBody(bytes: Uint8Array | undefined, modelId: string, operation: string): unknown {
  if (!bytes) throw malformed(modelId, operation, 'empty body');
  const text = decoder.decode(bytes);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(modelId, operation, `not JSON: ${truncateForLog(text, 80)}`, error);
  }
}

function parseWith(adapter: InvokeAdapter, body: unknown, modelId: string): ParsedResponse {
  try {
    return adapter.parseResponse(body);
  } catch (error) {
    if (error instanceof BodyShapeError) throw malformed(modelId, 'InvokeModel', error.message, error);
    throw error;
  }
}

function parseChunkWith(adapter: InvokeAdapter, chunk: unknown, modelId: string) {
  try {
    return adapter.parseChunk(chunk);
  } catch (error) {
    if (error instanceof BodyShapeError)
      throw malformed(modelId, 'InvokeModelWithResponseStream', error.message, error);
    throw error;
  }
}

function invocationMetricsOf(chunk: unknown): InvocationMetrics | undefined {
  if (typeof chunk !== 'object' || chunk === null) return undefined;
  const metrics = (chunk as Record<string, unknown>)['amazon-bedrock-invocationMetrics'];
  return typeof metrics === 'object' && metrics !== null ? (metrics as InvocationMetrics) : undefined;
}

/** Bedrock's token-count headers are authoritative; the body's counts are the fallback. */
function usageOf(parsed: ParsedResponse, trace: CallTrace) {
  return tokenUsage(
    headerNumber(trace.headers, 'x-amzn-bedrock-input-token-count') ?? parsed.inputTokens ?? 0,
    headerNumber(trace.headers, 'x-amzn-bedrock-output-token-count') ?? parsed.outputTokens ?? 0,
  );
}

/** Modelled stream exceptions normally throw from the SDK's iterator; this catches any that arrive as members. */
function throwIfStreamException(event: ResponseStream): void {
  for (const [name, value] of Object.entries(event)) {
    if (name.endsWith('Exception') && value) {
      const message = (value as { message?: string }).message ?? name;
      throw Object.assign(new Error(message), { name: name[0]!.toUpperCase() + name.slice(1) });
    }
  }
}

function generationOf(
  modelId: string,
  text: string,
  stopReason: string,
  usage: ReturnType<typeof tokenUsage>,
  latencyMs: number,
  options: GenerateOptions,
  body: unknown,
): Generation {
  const generation: Generation = { text, stopReason, usage, latencyMs, modelId };
  const action =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>)['amazon-bedrock-guardrailAction']
      : undefined;
  if (action === 'INTERVENED' || stopReason === 'guardrail_intervened') {
    generation.guardrailAction = 'INTERVENED';
    generation.stopReason = 'guardrail_intervened';
  } else if (options.guardrail) {
    generation.guardrailAction = 'NONE';
  }
  return generation;
}
