import type { Conversation } from '../conversation.js';
import type { GenerateOptions } from '../types.js';
import {
  asRecord,
  type InvokeAdapter,
  normalizeStopReason,
  optionalNumber,
  optionalString,
  stringAt,
} from './adapter.js';

function llamaBody(prompt: string, options: GenerateOptions): Record<string, unknown> {
  return {
    prompt,
    ...(options.maxTokens !== undefined ? { max_gen_len: options.maxTokens } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
  };
}

/** Both Llama generations answer in one shape: generation, token counts, stop_reason. */
const llamaResponse: Pick<InvokeAdapter, 'parseResponse' | 'parseChunk'> = {
  parseResponse(body) {
    const record = asRecord(body, 'the response');
    return {
      text: stringAt(record.generation, 'generation'),
      stopReason: normalizeStopReason(record.stop_reason),
      inputTokens: optionalNumber(record.prompt_token_count),
      outputTokens: optionalNumber(record.generation_token_count),
    };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    const text = optionalString(record.generation);
    return {
      ...(text ? { text } : {}),
      ...(record.stop_reason ? { stopReason: normalizeStopReason(record.stop_reason) } : {}),
      inputTokens: optionalNumber(record.prompt_token_count),
      outputTokens: optionalNumber(record.generation_token_count),
    };
  },
};

/** Llama 2 chat: `<s>[INST] <<SYS>>…<</SYS>> user [/INST] answer </s>`. */
export function llama2Prompt(conversation: Conversation): string {
  let prompt = '';
  conversation.turns.forEach((turn, i) => {
    if (turn.role === 'user') {
      const system = i === 0 && conversation.system ? `<<SYS>>\n${conversation.system}\n<</SYS>>\n\n` : '';
      prompt += `<s>[INST] ${system}${turn.content.trim()} [/INST]`;
    } else {
      prompt += ` ${turn.content.trim()} </s>`;
    }
  });
  return prompt;
}

/** Llama 3 instruct: header-delimited turns, ending with an open assistant header. */
export function llama3Prompt(conversation: Conversation): string {
  const block = (role: string, content: string) =>
    `<|start_header_id|>${role}<|end_header_id|>\n\n${content.trim()}<|eot_id|>`;
  let prompt = '<|begin_of_text|>';
  if (conversation.system) prompt += block('system', conversation.system);
  for (const turn of conversation.turns) prompt += block(turn.role, turn.content);
  return `${prompt}<|start_header_id|>assistant<|end_header_id|>\n\n`;
}

export const llama2: InvokeAdapter = {
  family: 'llama2',
  supportsStreaming: true,
  requestBody: (conversation, options) => llamaBody(llama2Prompt(conversation), options),
  ...llamaResponse,
};

export const llama3: InvokeAdapter = {
  family: 'llama3',
  supportsStreaming: true,
  requestBody: (conversation, options) => llamaBody(llama3Prompt(conversation), options),
  ...llamaResponse,
};
