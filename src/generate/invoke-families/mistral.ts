import type { Conversation } from '../conversation.js';
import {
  asRecord,
  firstOf,
  type InvokeAdapter,
  normalizeStopReason,
  optionalString,
  snakeCaseInference,
  stringAt,
} from './adapter.js';

/**
 * Mistral instruct: `<s>[INST] … [/INST] answer</s>[INST] … [/INST]`. Mistral has no system role; the system
 * prompt leads the first instruction.
 */
export function mistralPrompt(conversation: Conversation): string {
  let prompt = '<s>';
  conversation.turns.forEach((turn, i) => {
    if (turn.role === 'user') {
      const system = i === 0 && conversation.system ? `${conversation.system.trim()}\n\n` : '';
      prompt += `[INST] ${system}${turn.content.trim()} [/INST]`;
    } else {
      prompt += ` ${turn.content.trim()}</s>`;
    }
  });
  return prompt;
}

export const mistral: InvokeAdapter = {
  family: 'mistral',
  supportsStreaming: true,
  requestBody(conversation, options) {
    return {
      prompt: mistralPrompt(conversation),
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      ...snakeCaseInference(options),
      ...(options.stopSequences ? { stop: options.stopSequences } : {}),
    };
  },
  parseResponse(body) {
    const output = firstOf(asRecord(body, 'the response').outputs, 'outputs');
    return {
      text: stringAt(output.text, 'outputs[0].text'),
      stopReason: normalizeStopReason(output.stop_reason),
    };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    if (!Array.isArray(record.outputs) || record.outputs.length === 0) return {};
    const output = asRecord(record.outputs[0], 'outputs[0]');
    const text = optionalString(output.text);
    return {
      ...(text ? { text } : {}),
      ...(output.stop_reason ? { stopReason: normalizeStopReason(output.stop_reason) } : {}),
    };
  },
};
