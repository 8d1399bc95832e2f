import {
  asRecord,
  BodyShapeError,
  DEFAULT_MAX_TOKENS,
  type InvokeAdapter,
  normalizeStopReason,
  optionalNumber,
  snakeCaseInference,
  stringAt,
} from './adapter.js';

/** Anthropic Claude 3 and later: the Messages API body (`anthropic_version: bedrock-2023-05-31`). */
export const anthropicMessages: InvokeAdapter = {
  family: 'anthropic-messages',
  supportsStreaming: true,
  requestBody(conversation, options) {
    return {
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: conversation.turns.map((turn) => ({
        role: turn.role,
        content: [{ type: 'text', text: turn.content }],
      })),
      ...(conversation.system ? { system: conversation.system } : {}),
      ...snakeCaseInference(options),
      ...(options.stopSequences ? { stop_sequences: options.stopSequences } : {}),
    };
  },
  parseResponse(body) {
    const record = asRecord(body, 'the response');
    if (!Array.isArray(record.content)) throw new BodyShapeError('expected content to be an array');
    const text = record.content
      .map((block, i) => {
        const item = asRecord(block, `content[${i}]`);
        return item.type === 'text' ? stringAt(item.text, `content[${i}].text`) : '';
      })
      .join('');
    const usage =
      typeof record.usage === 'object' && record.usage !== null ? asRecord(record.usage, 'usage') : {};
    return {
      text,
      stopReason: normalizeStopReason(record.stop_reason),
      inputTokens: optionalNumber(usage.input_tokens),
      outputTokens: optionalNumber(usage.output_tokens),
    };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    switch (record.type) {
      case 'message_start': {
        const message = asRecord(record.message, 'message');
        const usage =
          typeof message.usage === 'object' && message.usage !== null ? asRecord(message.usage, 'usage') : {};
        return { inputTokens: optionalNumber(usage.input_tokens) };
      }
      case 'content_block_delta': {
        const delta = asRecord(record.delta, 'delta');
        return delta.type === 'text_delta' || typeof delta.text === 'string'
          ? { text: stringAt(delta.text, 'delta.text') }
          : {};
      }
      case 'message_delta': {
        const delta = asRecord(record.delta, 'delta');
        const usage =
          typeof record.usage === 'object' && record.usage !== null ? asRecord(record.usage, 'usage') : {};
        return {
          ...(delta.stop_reason ? { stopReason: normalizeStopReason(delta.stop_reason) } : {}),
          outputTokens: optionalNumber(usage.output_tokens),
        };
      }
      default:
        return {};
    }
  },
};
