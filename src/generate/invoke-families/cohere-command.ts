import {
  asRecord,
  firstOf,
  type InvokeAdapter,
  normalizeStopReason,
  optionalString,
  plainOrTranscript,
  stringAt,
} from './adapter.js';

/** Cohere Command (text-v14, light-text-v14): a plain `prompt`, answers in `generations[]`. */
export const cohereCommand: InvokeAdapter = {
  family: 'cohere-command',
  supportsStreaming: true,
  requestBody(conversation, options, stream) {
    return {
      prompt: plainOrTranscript(conversation, 'User', 'Chatbot'),
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { p: options.topP } : {}),
      ...(options.stopSequences ? { stop_sequences: options.stopSequences } : {}),
      ...(stream ? { stream: true } : {}),
    };
  },
  parseResponse(body) {
    const generation = firstOf(asRecord(body, 'the response').generations, 'generations');
    return {
      text: stringAt(generation.text, 'generations[0].text'),
      stopReason: normalizeStopReason(generation.finish_reason),
    };
  },
  parseChunk(chunk) {
    // Bedrock streams Command either as `{ generations: [{ text }] }` or as `{ text, is_finished }` chunks.
    const record = asRecord(chunk, 'the chunk');
    const generation = Array.isArray(record.generations)
      ? asRecord(record.generations[0], 'generations[0]')
      : record;
    const text = optionalString(generation.text);
    const reason = generation.finish_reason ?? record.finish_reason;
    return {
      ...(text && record.is_finished !== true ? { text } : {}),
      ...(reason ? { stopReason: normalizeStopReason(reason) } : {}),
    };
  },
};

/** Cohere Command R / R+: `message` plus `chat_history` and a `preamble` for the system prompt. */
export const cohereCommandR: InvokeAdapter = {
  family: 'cohere-command-r',
  supportsStreaming: true,
  requestBody(conversation, options) {
    const turns = conversation.turns;
    const last = turns[turns.length - 1]!;
    const history = (last.role === 'user' ? turns.slice(0, -1) : turns).map((turn) => ({
      role: turn.role === 'user' ? 'USER' : 'CHATBOT',
      message: turn.content,
    }));
    return {
      message: last.role === 'user' ? last.content : '',
      ...(history.length > 0 ? { chat_history: history } : {}),
      ...(conversation.system ? { preamble: conversation.system } : {}),
      ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { p: options.topP } : {}),
      ...(options.stopSequences ? { stop_sequences: options.stopSequences } : {}),
    };
  },
  parseResponse(body) {
    const record = asRecord(body, 'the response');
    return { text: stringAt(record.text, 'text'), stopReason: normalizeStopReason(record.finish_reason) };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    if (record.event_type === 'stream-end' || record.is_finished === true) {
      return { stopReason: normalizeStopReason(record.finish_reason) };
    }
    const text = optionalString(record.text);
    return text ? { text } : {};
  },
};
