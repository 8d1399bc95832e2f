import {
  asRecord,
  firstOf,
  type InvokeAdapter,
  labelledTranscript,
  normalizeStopReason,
  optionalNumber,
  optionalString,
  stringAt,
} from './adapter.js';

/** Amazon Titan Text (lite, express, premier): `inputText` in the `User: … / Bot:` chat convention. */
export const titanText: InvokeAdapter = {
  family: 'titan-text',
  supportsStreaming: true,
  requestBody(conversation, options) {
    const textGenerationConfig = {
      ...(options.maxTokens !== undefined ? { maxTokenCount: options.maxTokens } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.stopSequences ? { stopSequences: options.stopSequences } : {}),
    };
    return {
      inputText: labelledTranscript(conversation, 'User', 'Bot'),
      ...(Object.keys(textGenerationConfig).length > 0 ? { textGenerationConfig } : {}),
    };
  },
  parseResponse(body) {
    const record = asRecord(body, 'the response');
    const result = firstOf(record.results, 'results');
    return {
      text: stringAt(result.outputText, 'results[0].outputText'),
      stopReason: normalizeStopReason(result.completionReason),
      inputTokens: optionalNumber(record.inputTextTokenCount),
      outputTokens: optionalNumber(result.tokenCount),
    };
  },
  parseChunk(chunk) {
    const record = asRecord(chunk, 'the chunk');
    const text = optionalString(record.outputText);
    return {
      ...(text ? { text } : {}),
      ...(record.completionReason ? { stopReason: normalizeStopReason(record.completionReason) } : {}),
      inputTokens: optionalNumber(record.inputTextTokenCount),
      outputTokens: optionalNumber(record.totalOutputTextTokenCount),
    };
  },
};
