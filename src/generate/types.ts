import { declareOptions } from '../options.js';
import type { TokenUsage } from '../types.js';

/** One turn of a conversation. A 'system' message is merged into the system prompt. */
export interface ChatMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

export interface GuardrailOptions {
  /** Guardrail id or ARN. */
  id: string;
  /** A version number or 'DRAFT'. */
  version: string;
  /** Ask Bedrock for the guardrail trace. Default false. */
  trace?: boolean;
}

export interface GenerateOptions {
  /** Per-call model override for generators that can switch models (the Bedrock ones); others ignore it. */
  modelId?: string;
  /** System prompt; joined after any 'system' messages. */
  system?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
  guardrail?: GuardrailOptions;
  /** Aborting rejects with an ABORTED LocalKbError. */
  signal?: AbortSignal;
}

export const GUARDRAIL_OPTIONS = declareOptions<GuardrailOptions>('guardrail', {
  id: 'string',
  version: 'string',
  trace: 'boolean',
});

/** Per-call options of every generator; `checkOptions(GENERATE_OPTIONS, options)` at each generate/stream. */
export const GENERATE_OPTIONS = declareOptions<GenerateOptions>('generate', {
  modelId: 'string',
  system: 'string',
  maxTokens: 'integer',
  temperature: 'number',
  topP: 'number',
  stopSequences: 'string[]',
  guardrail: GUARDRAIL_OPTIONS,
  signal: 'signal',
});

/** Generator defaults: the per-call options without the signal. */
export const GENERATE_DEFAULTS = declareOptions<Omit<GenerateOptions, 'signal'>>('defaults', {
  modelId: 'string',
  system: 'string',
  maxTokens: 'integer',
  temperature: 'number',
  topP: 'number',
  stopSequences: 'string[]',
  guardrail: GUARDRAIL_OPTIONS,
});

/** Why the model stopped, normalised across APIs ('end_turn', 'max_tokens', 'stop_sequence', 'guardrail_intervened'…). */
export type StopReason = string;

export interface Generation {
  text: string;
  stopReason: StopReason;
  usage: TokenUsage;
  latencyMs: number;
  /** The model id, inference profile or ARN that answered. */
  modelId: string;
  /** Set when a guardrail was configured: whether it intervened. */
  guardrailAction?: 'INTERVENED' | 'NONE';
  /** Set when a response cache answered (usage is then zero: nothing was billed). */
  cached?: boolean;
}

export type GenerationEvent = { type: 'text'; text: string } | { type: 'done'; generation: Generation };

/** Turns a conversation into text. Implementations: Bedrock Converse / InvokeModel, OpenAI-compatible, extractive. */
export interface Generator {
  /** The model this generator calls, e.g. `anthropic.claude-3-haiku-20240307-v1:0` or `extractive`. */
  readonly modelId: string;
  generate(messages: readonly ChatMessage[], options?: GenerateOptions): Promise<Generation>;
  /** Text deltas as they arrive, then exactly one 'done' event with the whole generation. */
  stream(messages: readonly ChatMessage[], options?: GenerateOptions): AsyncIterable<GenerationEvent>;
}
