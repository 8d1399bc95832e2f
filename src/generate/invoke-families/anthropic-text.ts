import {
  asRecord,
  DEFAULT_MAX_TOKENS,
  type InvokeAdapter,
  normalizeStopReason,
  optionalString,
  snakeCaseInference,
  stringAt,
} from './adapter.js';

/**
 * Anthropic Claude v2 / Instant text completions: `\n\nHuman: …\n\nAssistant:`. The system prompt goes before
 * the first Human turn, as Anthropic documents for Claude 2.1.
 */
export const anthropicText: InvokeAdapter = {
  family: 'anthropic-text',
  supportsStreaming: true,
  requestBody(conversation, options) {
    let prompt = conversation.system ?? '';
    for (const turn of conversation.turns) {
      prompt += `\n\n${turn.role === 'user' ? 'Human' : 'Assistant'}: ${turn.content}`;
    }
    if (conversation.turns[conversation.turns.length - 1]?.role === 'user') prompt += '\n\nAssistant:';
    return {
      prompt,
      max_tokens_to_sample: options.maxTokens ?? DEFAULT_MAX_TOKENS,
      ...snakeCaseInference(options),
      // Bedrock requires the Human stop sequence so the model does not write the next user turn itself.
      stop_sequences: ['\n\nHuman:', ...(options.stopSequences ?? [])],
    };
  },
  parseResponse(body) {
    const record = asRecord(body, 'the response');
    return {
      text: stringAt(record.completion, 'completion'),
      stopReason: stopReasonOf(record.stop_reason),
    };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    const text = optionalString(record.completion);
    return {
      ...(text ? { text } : {}),
      ...(record.stop_reason ? { stopReason: stopReasonOf(record.stop_reason) } : {}),
    };
  },
};

/** The legacy API reports the end of turn as the Human stop sequence. */
function stopReasonOf(native: unknown): string {
  return native === 'stop_sequence' ? 'end_turn' : normalizeStopReason(native);
}
