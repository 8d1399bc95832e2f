import type { Conversation } from '../conversation.js';
import type { GenerateOptions } from '../types.js';

/** What a family's complete response says. Token counts are absent when the body does not carry them. */
export interface ParsedResponse {
  text: string;
  stopReason: string;
  inputTokens?: number;
  outputTokens?: number;
}

/** What one stream chunk adds. */
export interface ParsedChunk {
  text?: string;
  stopReason?: string;
  inputTokens?: number;
  outputTokens?: number;
}

/** One model family's native InvokeModel format: request body, response, stream chunks and usage. */
export interface InvokeAdapter {
  readonly family: string;
  /** False when Bedrock offers no InvokeModelWithResponseStream for the family (stream() then invokes once). */
  readonly supportsStreaming: boolean;
  requestBody(conversation: Conversation, options: GenerateOptions, stream: boolean): Record<string, unknown>;
  /** Throws BodyShapeError when the body lacks what the family always sends. */
  parseResponse(body: unknown): ParsedResponse;
  parseChunk(chunk: unknown): ParsedChunk;
}

/** A model body without the fields its family always sends. */
export class BodyShapeError extends Error {
  override readonly name = 'BodyShapeError';
}

export const DEFAULT_MAX_TOKENS = 1024;

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BodyShapeError(`expected ${what} to be a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new BodyShapeError(`expected ${path} to be a string`);
  return value;
}

export function firstOf(value: unknown, path: string): Record<string, unknown> {
  if (!Array.isArray(value) || value.length === 0)
    throw new BodyShapeError(`expected ${path} to be a non-empty array`);
  return asRecord(value[0], `${path}[0]`);
}

export function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Native stop reasons mapped onto Converse's vocabulary, so callers match one set of names. */
const STOP_REASONS: Record<string, string> = {
  end_turn: 'end_turn',
  stop: 'end_turn',
  finish: 'end_turn',
  complete: 'end_turn',
  endoftext: 'end_turn',
  eos_token: 'end_turn',
  max_tokens: 'max_tokens',
  length: 'max_tokens',
  max_tokens_reached: 'max_tokens',
  stop_sequence: 'stop_sequence',
  stop_criteria_met: 'stop_sequence',
  content_filtered: 'content_filtered',
  error_toxic: 'content_filtered',
  guardrail_intervened: 'guardrail_intervened',
};

export function normalizeStopReason(native: unknown): string {
  if (typeof native !== 'string' || native === '') return 'unknown';
  return STOP_REASONS[native.toLowerCase()] ?? native.toLowerCase();
}

/** Inference options shared by the families with snake_case names (Anthropic, Cohere, Mistral). */
export function snakeCaseInference(options: GenerateOptions): Record<string, unknown> {
  return {
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
  };
}

/**
 * Plain-text rendering for completion models without a chat template: the system prompt, then labelled turns,
 * ending with the assistant label so the model writes the next turn.
 */
export function labelledTranscript(
  conversation: Conversation,
  userLabel: string,
  assistantLabel: string,
): string {
  const lines = conversation.turns.map(
    (turn) => `${turn.role === 'user' ? userLabel : assistantLabel}: ${turn.content}`,
  );
  const last = conversation.turns[conversation.turns.length - 1];
  if (last?.role === 'user') lines.push(`${assistantLabel}:`);
  const transcript = lines.join('\n');
  return conversation.system ? `${conversation.system}\n\n${transcript}` : transcript;
}

/** Instruction-tuned completion models take a lone question as it is; a conversation becomes a transcript. */
export function plainOrTranscript(
  conversation: Conversation,
  userLabel: string,
  assistantLabel: string,
): string {
  const only = conversation.turns[0]!;
  if (conversation.turns.length === 1 && !conversation.system) return only.content;
  return labelledTranscript(conversation, userLabel, assistantLabel);
}
