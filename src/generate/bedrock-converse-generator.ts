import {
  type BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { kbError } from '../errors.js';
import { type Logger, safeLogger, truncateForLog } from '../observe/logger.js';
import type { UsageListener } from '../observe/usage.js';
import { checkOptions, declareOptions } from '../options.js';
import type { TokenUsage } from '../types.js';
import {
  abortable,
  abortedError,
  BEDROCK_CLIENT_SHAPE,
  type BedrockClientOptions,
  configSecrets,
  createBedrockRuntime,
  quietStream,
  resolveModelId,
  streamFailure,
  toLocalKbError,
  traceCall,
} from './bedrock-runtime.js';
import { type CallReport, reportFailure, reportSuccess, tokenUsage, ZERO_USAGE } from './call-report.js';
import { type Conversation, toConversation } from './conversation.js';
import {
  type ChatMessage,
  GENERATE_DEFAULTS,
  GENERATE_OPTIONS,
  type GenerateOptions,
  type Generation,
  type GenerationEvent,
  type Generator,
} from './types.js';

/** A widely available on-demand model; pass your own `modelId` for anything else. */
export const DEFAULT_CONVERSE_MODEL_ID = 'anthropic.claude-3-haiku-20240307-v1:0';

export interface BedrockConverseGeneratorOptions extends BedrockClientOptions {
  /** A model id, inference profile id (`us.anthropic…`) or ARN (foundation, custom, provisioned, profile). */
  modelId?: string;
  /** Defaults for every call; per-call options win. */
  defaults?: Omit<GenerateOptions, 'signal'>;
  /** Model-specific request fields passed through as Converse's additionalModelRequestFields. */
  additionalModelRequestFields?: Record<string, unknown>;
}

export const BEDROCK_CONVERSE_GENERATOR_OPTIONS = declareOptions<BedrockConverseGeneratorOptions>(
  'BedrockConverseGenerator',
  {
    ...BEDROCK_CLIENT_SHAPE,
    modelId: 'string',
    defaults: GENERATE_DEFAULTS,
    additionalModelRequestFields: 'object',
  },
);

/** Generates with the Bedrock Converse API: one request shape for every chat model Bedrock hosts. */
export class BedrockConverseGenerator implements Generator {
  readonly modelId: string;
  readonly #client: BedrockRuntimeClient;
  readonly #idleMs: number;
  readonly #defaults: Omit<GenerateOptions, 'signal'>;
  readonly #additionalFields: Record<string, unknown> | undefined;
  readonly #onUsage: UsageListener | undefined;
  readonly #logger: Logger;

  constructor(options: BedrockConverseGeneratorOptions = {}) {
    checkOptions(BEDROCK_CONVERSE_GENERATOR_OPTIONS, options);
    this.modelId = resolveModelId(options.modelId ?? DEFAULT_CONVERSE_MODEL_ID);
    const runtime = createBedrockRuntime(options);
    this.#client = runtime.client;
    this.#idleMs = runtime.settings.idleMs;
    this.#defaults = options.defaults ?? {};
    this.#additionalFields = options.additionalModelRequestFields;
    this.#onUsage = options.onUsage;
    this.#logger = safeLogger(options.logger, configSecrets(options.clientConfig));
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    checkOptions(GENERATE_OPTIONS, options);
    const merged = { ...this.#defaults, ...options };
    const modelId = resolveModelId(merged.modelId ?? this.modelId);
    const input = this.#request(modelId, toConversation(messages, merged), merged);
    const report = this.#report('Converse', input);
    const command = new ConverseCommand(input);
    const trace = traceCall(command);
    try {
      if (merged.signal?.aborted) throw abortedError(modelId);
      const response = await this.#client.send(command, { abortSignal: merged.signal });
      const content = response.output?.message?.content;
      if (!Array.isArray(content)) {
        throw kbError(
          'MODEL_RESPONSE_MALFORMED',
          `${modelId} answered Converse without output.message.content.`,
          {
            input: modelId,
            details: { operation: 'Converse' },
          },
        );
      }
      const text = content.map((block) => block.text ?? '').join('');
      const usage = tokenUsage(response.usage?.inputTokens ?? 0, response.usage?.outputTokens ?? 0);
      const stopReason = response.stopReason ?? 'unknown';
      const latencyMs = reportSuccess(report, usage, {
        throttledAttempts: trace.throttledAttempts,
        stopReason,
      });
      return this.#generation(modelId, text, stopReason, usage, latencyMs, merged);
    } catch (error) {
      const mapped = toLocalKbError(error, { modelId, operation: 'Converse', signal: merged.signal });
      reportFailure(report, mapped, { throttledAttempts: trace.throttledAttempts });
      throw mapped;
    }
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent> {
    checkOptions(GENERATE_OPTIONS, options);
    const merged = { ...this.#defaults, ...options };
    const modelId = resolveModelId(merged.modelId ?? this.modelId);
    const input = this.#request(modelId, toConversation(messages, merged), merged);
    const report = this.#report('ConverseStream', input);
    const command = new ConverseStreamCommand(input);
    const trace = traceCall(command);
    let text = '';
    let eventsSeen = 0;
    let stopReason = 'unknown';
    let usage: TokenUsage | undefined;
    try {
      if (merged.signal?.aborted) throw abortedError(modelId);
      const context = { modelId, operation: 'ConverseStream', signal: merged.signal };
      const quiet = quietStream(context, this.#idleMs, trace);
      const response = await this.#client.send(command, { abortSignal: quiet.abortSignal });
      if (!response.stream) {
        throw kbError('MODEL_RESPONSE_MALFORMED', `${modelId} answered ConverseStream without a stream.`, {
          input: modelId,
        });
      }
      for await (const event of abortable<ConverseStreamOutput>(
        response.stream,
        merged.signal,
        modelId,
        quiet.idle,
      )) {
        eventsSeen += 1;
        const delta = event.contentBlockDelta?.delta?.text;
        if (delta) {
          text += delta;
          yield { type: 'text', text: delta };
        }
        if (event.messageStop) stopReason = event.messageStop.stopReason ?? stopReason;
        if (event.metadata?.usage) {
          usage = tokenUsage(event.metadata.usage.inputTokens ?? 0, event.metadata.usage.outputTokens ?? 0);
        }
      }
    } catch (error) {
      const mapped = streamFailure(error, {
        modelId,
        operation: 'ConverseStream',
        partialText: text,
        eventsSeen,
        signal: merged.signal,
      });
      reportFailure(report, mapped, { throttledAttempts: trace.throttledAttempts, usage });
      throw mapped;
    }
    const finalUsage = usage ?? ZERO_USAGE;
    const latencyMs = reportSuccess(report, finalUsage, {
      throttledAttempts: trace.throttledAttempts,
      stopReason,
    });
    yield {
      type: 'done',
      generation: this.#generation(modelId, text, stopReason, finalUsage, latencyMs, merged),
    };
  }

  #request(modelId: string, conversation: Conversation, options: GenerateOptions): ConverseCommandInput {
    const inferenceConfig = {
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.stopSequences !== undefined ? { stopSequences: options.stopSequences } : {}),
    };
    return {
      modelId,
      messages: conversation.turns.map((turn) => ({ role: turn.role, content: [{ text: turn.content }] })),
      ...(conversation.system ? { system: [{ text: conversation.system }] } : {}),
      ...(Object.keys(inferenceConfig).length > 0 ? { inferenceConfig } : {}),
      ...(options.guardrail
        ? {
            guardrailConfig: {
              guardrailIdentifier: options.guardrail.id,
              guardrailVersion: options.guardrail.version,
              trace: options.guardrail.trace ? 'enabled' : 'disabled',
            },
          }
        : {}),
      ...(this.#additionalFields ? { additionalModelRequestFields: this.#additionalFields as never } : {}),
    };
  }

  #report(operation: string, input: ConverseCommandInput): CallReport {
    const lastUser = input.messages?.[input.messages.length - 1]?.content?.[0]?.text ?? '';
    const modelId = input.modelId!;
    this.#logger.debug(`${operation} request`, {
      modelId,
      messages: input.messages?.length ?? 0,
      prompt: truncateForLog(lastUser),
    });
    return {
      modelId,
      operation,
      startedAt: performance.now(),
      onUsage: this.#onUsage,
      logger: this.#logger,
    };
  }

  #generation(
    modelId: string,
    text: string,
    stopReason: string,
    usage: TokenUsage,
    latencyMs: number,
    options: GenerateOptions,
  ): Generation {
    const generation: Generation = { text, stopReason, usage, latencyMs, modelId };
    if (stopReason === 'guardrail_intervened') generation.guardrailAction = 'INTERVENED';
    else if (options.guardrail) generation.guardrailAction = 'NONE';
    return generation;
  }
}
