import { kbError } from '../errors.js';
import type { ChatMessage, GenerateOptions } from './types.js';

/** A conversation as the model APIs want it: one system prompt, then strictly alternating turns. */
export interface Conversation {
  system?: string;
  turns: { role: 'user' | 'assistant'; content: string }[];
}

const ROLES = new Set(['user', 'assistant', 'system']);

/**
 * Validates messages and options (naming the one at fault) and normalises the conversation: 'system' messages
 * and `options.system` become one system prompt; consecutive turns of one role are joined, because Bedrock
 * rejects two user (or assistant) turns in a row.
 */
export function toConversation(
  messages: readonly ChatMessage[],
  options: GenerateOptions = {},
): Conversation {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw kbError('INVALID_OPTION', 'messages must be a non-empty array of { role, content }.', {
      input: 'messages',
    });
  }
  validateGenerateOptions(options);
  const systemParts: string[] = [];
  const turns: Conversation['turns'] = [];
  messages.forEach((message, i) => {
    if (!message || !ROLES.has(message.role) || typeof message.content !== 'string') {
      throw kbError(
        'INVALID_OPTION',
        `messages[${i}] must be { role: 'user' | 'assistant' | 'system', content: string }.`,
        { input: `messages[${i}]` },
      );
    }
    if (message.role === 'system') {
      systemParts.push(message.content);
      return;
    }
    const last = turns[turns.length - 1];
    if (last && last.role === message.role) last.content = `${last.content}\n\n${message.content}`;
    else turns.push({ role: message.role, content: message.content });
  });
  if (options.system) systemParts.push(options.system);
  if (turns.length === 0 || turns[0]!.role !== 'user') {
    throw kbError('INVALID_OPTION', 'The first non-system message must have role "user".', {
      input: 'messages',
    });
  }
  const system = systemParts.join('\n\n');
  return system ? { system, turns } : { turns };
}

function checkNumber(value: unknown, name: string, min: number, max: number, integer: boolean): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    throw kbError('INVALID_OPTION', `${name} must be ${kind} from ${min} to ${max}, got ${String(value)}.`, {
      input: name,
    });
  }
}

export function validateGenerateOptions(options: GenerateOptions): void {
  checkNumber(options.maxTokens, 'maxTokens', 1, 1_000_000, true);
  checkNumber(options.temperature, 'temperature', 0, 2, false);
  checkNumber(options.topP, 'topP', 0, 1, false);
  if (
    options.stopSequences !== undefined &&
    (!Array.isArray(options.stopSequences) || options.stopSequences.some((s) => typeof s !== 'string'))
  ) {
    throw kbError('INVALID_OPTION', 'stopSequences must be an array of strings.', { input: 'stopSequences' });
  }
  if (options.guardrail !== undefined) {
    const { id, version } = options.guardrail;
    if (typeof id !== 'string' || id === '' || typeof version !== 'string' || version === '') {
      throw kbError(
        'INVALID_OPTION',
        'guardrail must be { id, version } with a guardrail id or ARN and a version such as "1" or "DRAFT".',
        { input: 'guardrail' },
      );
    }
  }
}

/** The latest user turn: what logs preview and what the extractive generator answers. */
export function lastUserMessage(conversation: Conversation): string {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    const turn = conversation.turns[i]!;
    if (turn.role === 'user') return turn.content;
  }
  return '';
}
