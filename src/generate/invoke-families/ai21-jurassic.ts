import {
  asRecord,
  firstOf,
  type InvokeAdapter,
  normalizeStopReason,
  plainOrTranscript,
  stringAt,
} from './adapter.js';

/** AI21 Jurassic-2 (mid, ultra): camelCase options, answers in `completions[].data.text`. No streaming. */
export const ai21Jurassic: InvokeAdapter = {
  family: 'ai21-jurassic',
  supportsStreaming: false,
  requestBody(conversation, options) {
    return {
      prompt: plainOrTranscript(conversation, 'User', 'Assistant'),
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.stopSequences ? { stopSequences: options.stopSequences } : {}),
    };
  },
  parseResponse(body) {
    const completion = firstOf(asRecord(body, 'the response').completions, 'completions');
    const data = asRecord(completion.data, 'completions[0].data');
    const finish = completion.finishReason;
    const reason =
      typeof finish === 'object' && finish !== null ? (finish as { reason?: unknown }).reason : finish;
    return { text: stringAt(data.text, 'completions[0].data.text'), stopReason: normalizeStopReason(reason) };
  },
  parseChunk() {
    return {};
  },
};
