import { randomBytes } from 'node:crypto';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import {
  collectText,
  isObject,
  type JsonObject,
  malformedInput,
  optionalCount,
  optionalObject,
  optionalString,
  optionalStringArray,
  refuseExtraneousKeys,
  requiredArray,
  requiredCount,
  requiredObject,
  requiredString,
} from './json-body.js';

/**
 * Each Bedrock model family's native InvokeModel body format: how its request is read and how its
 * response and stream chunks are written. Families are picked by the foundation model id's prefix.
 */

/** What a text model is asked, independent of its native format. */
export interface TextRequest {
  /** Everything the model reads (system prompt and all turns), used to find numbered sources. */
  promptText: string;
  /** The last user turn, used for the `Echo:` answer. */
  lastUserText: string;
  maxTokens?: number;
  stopSequences: string[];
}

/** A finished answer. `stopReason` uses Converse's words: end_turn, max_tokens, stop_sequence, … */
export interface Completion {
  text: string;
  stopReason: string;
  stopSequence?: string;
  inputTokens: number;
  outputTokens: number;
}

/** The `amazon-bedrock-invocationMetrics` object Bedrock appends to a native stream's last chunk. */
export interface InvocationMetrics {
  inputTokenCount: number;
  outputTokenCount: number;
  invocationLatency: number;
  firstByteLatency: number;
}

export interface TextModelFamily {
  readonly kind: 'text';
  readonly name: string;
  readonly streaming: boolean;
  parse(body: JsonObject): TextRequest;
  render(completion: Completion, modelId: string): JsonObject;
  /** Native stream chunks, each later sent as `{"bytes": base64(JSON)}`. */
  renderStream(
    completion: Completion,
    pieces: string[],
    metrics: InvocationMetrics,
    modelId: string,
  ): JsonObject[];
}

export type VectorSource = (text: string, dimensions: number, normalize: boolean) => number[];

export interface EmbeddingModelFamily {
  readonly kind: 'embedding';
  readonly name: string;
  embed(
    body: JsonObject,
    modelId: string,
    vectorFor: VectorSource,
  ): { body: JsonObject; inputTokens: number };
}

/** `imageFor(prompt, index)` returns a base64 PNG. */
export interface ImageModelFamily {
  readonly kind: 'image';
  readonly name: string;
  generate(
    body: JsonObject,
    imageFor: (prompt: string, index: number) => string,
  ): {
    body: JsonObject;
    prompt: string;
  };
}

export type ModelFamily = TextModelFamily | EmbeddingModelFamily | ImageModelFamily;

const METRICS_KEY = 'amazon-bedrock-invocationMetrics';

function tokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function nativeStop(stopReason: string, words: Record<string, string>): string {
  return words[stopReason] ?? stopReason;
}

/** Calls `each(piece, isFirst, isLast)` over the pieces, or once with '' when there are none. */
function overPieces<T>(pieces: string[], each: (piece: string, isFirst: boolean, isLast: boolean) => T): T[] {
  const list = pieces.length > 0 ? pieces : [''];
  return list.map((piece, index) => each(piece, index === 0, index === list.length - 1));
}

function lastOf<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}

/** The last user turn inside a raw chat-template prompt (Claude, Llama 2/3, Mistral), else the whole prompt. */
export function lastUserTurn(prompt: string): string {
  const llama3 = [
    ...prompt.matchAll(/<\|start_header_id\|>user<\|end_header_id\|>([\s\S]*?)(?:<\|eot_id\|>|$)/g),
  ];
  if (llama3.length > 0) return lastOf(llama3)![1]!.trim();
  const inst = [...prompt.matchAll(/\[INST\]([\s\S]*?)\[\/INST\]/g)];
  if (inst.length > 0)
    return lastOf(inst)![1]!
      .replace(/<<SYS>>[\s\S]*?<<\/SYS>>/, '')
      .trim();
  const human = prompt.lastIndexOf('Human:');
  if (human !== -1)
    return prompt
      .slice(human + 'Human:'.length)
      .replace(/\s*Assistant:\s*$/, '')
      .trim();
  const user = prompt.lastIndexOf('User:');
  if (user !== -1)
    return prompt
      .slice(user + 'User:'.length)
      .replace(/\s*(Bot|Assistant):\s*$/, '')
      .trim();
  return prompt.replace(/<\/?s>|<\|[a-z_]+\|>/g, '').trim();
}

/** Reads chat messages `[{role, content}]` as Anthropic, Nova, Jamba and Mistral chat send them. */
function readChatMessages(messages: unknown[], path: string): { all: string[]; lastUser: string } {
  if (messages.length === 0) throw malformedInput(`#/${path}: expected minimum item count: 1, found: 0`);
  const all: string[] = [];
  let lastUser = '';
  messages.forEach((message, index) => {
    if (!isObject(message)) throw malformedInput(`#/${path}/${index}: expected type: JSONObject`);
    const role = requiredString(message, 'role', `${path}/${index}`);
    if (message.content === undefined)
      throw malformedInput(`#/${path}/${index}: required key [content] not found`);
    const text = collectText(message.content).join('\n');
    all.push(text);
    if (role === 'user') lastUser = text;
  });
  return { all, lastUser };
}

/**
 * Top-level keys of the Claude Messages body (userguide/model-parameters-anthropic-claude-messages-request-response,
 * plus `thinking` from the extended-thinking page).
 */
const ANTHROPIC_MESSAGES_KEYS = [
  'anthropic_version',
  'anthropic_beta',
  'max_tokens',
  'system',
  'messages',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'stop_sequences',
  'thinking',
];

/**
 * The turn order Claude's Messages API on Bedrock enforces, in its words: roles user/assistant only, the first
 * turn the user's, and no two turns of one role in a row.
 */
function checkClaudeTurnOrder(messages: unknown[]): void {
  messages.forEach((message, index) => {
    const role = isObject(message) ? message.role : undefined;
    if (role !== 'user' && role !== 'assistant') {
      throw new AwsServiceError(
        'ValidationException',
        role === 'system'
          ? 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.'
          : `messages.${index}.role: Input should be 'user' or 'assistant'`,
      );
    }
    if (index === 0 && role !== 'user') {
      throw new AwsServiceError('ValidationException', 'messages: first message must use the "user" role');
    }
    const previous = messages[index - 1];
    if (isObject(previous) && previous.role === role) {
      throw new AwsServiceError(
        'ValidationException',
        `messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`,
      );
    }
  });
}

const anthropicMessages: TextModelFamily = {
  kind: 'text',
  name: 'anthropic-messages',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, ANTHROPIC_MESSAGES_KEYS);
    requiredString(body, 'anthropic_version');
    const maxTokens = requiredCount(body, 'max_tokens');
    const { all, lastUser } = readChatMessages(requiredArray(body, 'messages'), 'messages');
    checkClaudeTurnOrder(body.messages as unknown[]);
    const system = body.system === undefined ? [] : collectText(body.system);
    return {
      promptText: [...system, ...all].join('\n\n'),
      lastUserText: lastUser,
      maxTokens,
      stopSequences: optionalStringArray(body, 'stop_sequences'),
    };
  },
  render(completion, modelId) {
    return {
      id: `msg_bdrk_${randomBytes(12).toString('hex')}`,
      type: 'message',
      role: 'assistant',
      model: anthropicModelName(modelId),
      content: [{ type: 'text', text: completion.text }],
      stop_reason: completion.stopReason,
      stop_sequence: completion.stopSequence ?? null,
      usage: { input_tokens: completion.inputTokens, output_tokens: completion.outputTokens },
    };
  },
  renderStream(completion, pieces, metrics, modelId) {
    return [
      {
        type: 'message_start',
        message: {
          id: `msg_bdrk_${randomBytes(12).toString('hex')}`,
          type: 'message',
          role: 'assistant',
          model: anthropicModelName(modelId),
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: completion.inputTokens, output_tokens: 1 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      ...pieces.map((text) => ({
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text },
      })),
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: completion.stopReason, stop_sequence: completion.stopSequence ?? null },
        usage: { output_tokens: completion.outputTokens },
      },
      { type: 'message_stop', [METRICS_KEY]: metrics },
    ];
  },
};

/** `anthropic.claude-3-haiku-20240307-v1:0` → `claude-3-haiku-20240307`, as the model field reads. */
function anthropicModelName(modelId: string): string {
  return modelId.replace(/^anthropic\./, '').replace(/-v\d+(:\d+)?$/, '');
}

/** userguide/model-parameters-anthropic-claude-text-completion (anthropic_version is accepted too). */
const ANTHROPIC_TEXT_KEYS = [
  'prompt',
  'temperature',
  'top_p',
  'top_k',
  'max_tokens_to_sample',
  'stop_sequences',
  'anthropic_version',
];

const anthropicTextCompletion: TextModelFamily = {
  kind: 'text',
  name: 'anthropic-text-completion',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, ANTHROPIC_TEXT_KEYS);
    const prompt = requiredString(body, 'prompt');
    const maxTokens = requiredCount(body, 'max_tokens_to_sample');
    if (!/^(?:[\s\S]*?)\n\nHuman:/.test(prompt)) {
      throw new AwsServiceError('ValidationException', 'prompt must start with "\n\nHuman:" turn');
    }
    if (!/\n\nAssistant:\s*$/.test(prompt)) {
      throw new AwsServiceError('ValidationException', 'prompt must end with "\n\nAssistant:" turn');
    }
    return {
      promptText: prompt,
      lastUserText: lastUserTurn(prompt),
      maxTokens,
      stopSequences: optionalStringArray(body, 'stop_sequences'),
    };
  },
  render(completion) {
    const reason = nativeStop(completion.stopReason, { end_turn: 'stop_sequence' });
    return {
      type: 'completion',
      completion: completion.text,
      stop_reason: reason,
      stop: reason === 'stop_sequence' ? (completion.stopSequence ?? '\n\nHuman:') : null,
    };
  },
  renderStream(completion, pieces, metrics) {
    const reason = nativeStop(completion.stopReason, { end_turn: 'stop_sequence' });
    return overPieces(pieces, (piece, _first, last) => ({
      type: 'completion',
      completion: piece,
      stop_reason: last ? reason : null,
      stop: last && reason === 'stop_sequence' ? (completion.stopSequence ?? '\n\nHuman:') : null,
      ...(last ? { [METRICS_KEY]: metrics } : {}),
    }));
  },
};

const TITAN_STOP = { end_turn: 'FINISH', max_tokens: 'LENGTH', stop_sequence: 'STOP_CRITERIA_MET' };

/** userguide/model-parameters-titan-text: `inputText` and an optional `textGenerationConfig`. */
const TITAN_TEXT_KEYS = ['inputText', 'textGenerationConfig'];
const TITAN_TEXT_CONFIG_KEYS = ['temperature', 'topP', 'maxTokenCount', 'stopSequences'];

const titanText: TextModelFamily = {
  kind: 'text',
  name: 'amazon-titan-text',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, TITAN_TEXT_KEYS);
    const inputText = requiredString(body, 'inputText');
    const config = optionalObject(body, 'textGenerationConfig');
    refuseExtraneousKeys(config, TITAN_TEXT_CONFIG_KEYS, 'textGenerationConfig');
    return {
      promptText: inputText,
      lastUserText: lastUserTurn(inputText),
      maxTokens: optionalCount(config, 'maxTokenCount', 'textGenerationConfig'),
      stopSequences: optionalStringArray(config, 'stopSequences', 'textGenerationConfig'),
    };
  },
  render(completion) {
    return {
      inputTextTokenCount: completion.inputTokens,
      results: [
        {
          tokenCount: completion.outputTokens,
          outputText: completion.text,
          completionReason: nativeStop(completion.stopReason, TITAN_STOP),
        },
      ],
    };
  },
  renderStream(completion, pieces, metrics) {
    return overPieces(pieces, (piece, first, last) => ({
      outputText: piece,
      index: 0,
      totalOutputTextTokenCount: last ? completion.outputTokens : null,
      completionReason: last ? nativeStop(completion.stopReason, TITAN_STOP) : null,
      inputTextTokenCount: first ? completion.inputTokens : null,
      ...(last ? { [METRICS_KEY]: metrics } : {}),
    }));
  },
};

const LLAMA_STOP = { end_turn: 'stop', max_tokens: 'length', stop_sequence: 'stop' };

/** userguide/model-parameters-meta (`images` for the Llama 3.2 vision models). */
const LLAMA_KEYS = ['prompt', 'temperature', 'top_p', 'max_gen_len', 'images'];

const metaLlama: TextModelFamily = {
  kind: 'text',
  name: 'meta-llama',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, LLAMA_KEYS);
    const prompt = requiredString(body, 'prompt');
    return {
      promptText: prompt,
      lastUserText: lastUserTurn(prompt),
      maxTokens: optionalCount(body, 'max_gen_len'),
      stopSequences: [],
    };
  },
  render(completion) {
    return {
      generation: completion.text,
      prompt_token_count: completion.inputTokens,
      generation_token_count: completion.outputTokens,
      stop_reason: nativeStop(completion.stopReason, LLAMA_STOP),
    };
  },
  renderStream(completion, pieces, metrics) {
    let generated = 0;
    return overPieces(pieces, (piece, first, last) => {
      generated = last ? completion.outputTokens : generated + tokens(piece);
      return {
        generation: piece,
        prompt_token_count: first ? completion.inputTokens : null,
        generation_token_count: generated,
        stop_reason: last ? nativeStop(completion.stopReason, LLAMA_STOP) : null,
        ...(last ? { [METRICS_KEY]: metrics } : {}),
      };
    });
  },
};

const MISTRAL_STOP = { end_turn: 'stop', max_tokens: 'length', stop_sequence: 'stop' };

/** userguide/model-parameters-mistral-text-completion. */
const MISTRAL_COMPLETION_KEYS = ['prompt', 'max_tokens', 'stop', 'temperature', 'top_p', 'top_k'];

const mistralCompletion: TextModelFamily = {
  kind: 'text',
  name: 'mistral',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, MISTRAL_COMPLETION_KEYS);
    const prompt = requiredString(body, 'prompt');
    return {
      promptText: prompt,
      lastUserText: lastUserTurn(prompt),
      maxTokens: optionalCount(body, 'max_tokens'),
      stopSequences: optionalStringArray(body, 'stop'),
    };
  },
  render(completion) {
    return {
      outputs: [{ text: completion.text, stop_reason: nativeStop(completion.stopReason, MISTRAL_STOP) }],
    };
  },
  renderStream(completion, pieces, metrics) {
    return overPieces(pieces, (piece, _first, last) => ({
      outputs: [{ text: piece, stop_reason: last ? nativeStop(completion.stopReason, MISTRAL_STOP) : null }],
      ...(last ? { [METRICS_KEY]: metrics } : {}),
    }));
  },
};

/** Mistral Large 2 and later also take OpenAI-style `messages`. */
const mistralChat: TextModelFamily = {
  kind: 'text',
  name: 'mistral-chat',
  streaming: true,
  parse(body) {
    const { all, lastUser } = readChatMessages(requiredArray(body, 'messages'), 'messages');
    return {
      promptText: all.join('\n\n'),
      lastUserText: lastUser,
      maxTokens: optionalCount(body, 'max_tokens'),
      stopSequences: optionalStringArray(body, 'stop'),
    };
  },
  render(completion) {
    return {
      id: randomBytes(16).toString('hex'),
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: completion.text },
          stop_reason: nativeStop(completion.stopReason, MISTRAL_STOP),
        },
      ],
    };
  },
  renderStream(completion, pieces, metrics) {
    return overPieces(pieces, (piece, _first, last) => ({
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: piece },
          stop_reason: last ? nativeStop(completion.stopReason, MISTRAL_STOP) : null,
        },
      ],
      ...(last ? { [METRICS_KEY]: metrics } : {}),
    }));
  },
};

const COHERE_STOP = { end_turn: 'COMPLETE', max_tokens: 'MAX_TOKENS', stop_sequence: 'COMPLETE' };

/** userguide/model-parameters-cohere-command. */
const COHERE_COMMAND_KEYS = [
  'prompt',
  'temperature',
  'p',
  'k',
  'max_tokens',
  'stop_sequences',
  'return_likelihoods',
  'stream',
  'num_generations',
  'logit_bias',
  'truncate',
];

const cohereCommand: TextModelFamily = {
  kind: 'text',
  name: 'cohere-command',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, COHERE_COMMAND_KEYS);
    const prompt = requiredString(body, 'prompt');
    return {
      promptText: prompt,
      lastUserText: lastUserTurn(prompt),
      maxTokens: optionalCount(body, 'max_tokens'),
      stopSequences: optionalStringArray(body, 'stop_sequences'),
    };
  },
  render(completion) {
    const id = randomBytes(16).toString('hex');
    return {
      id,
      generations: [
        {
          id: randomBytes(16).toString('hex'),
          text: completion.text,
          finish_reason: nativeStop(completion.stopReason, COHERE_STOP),
        },
      ],
      prompt: '',
    };
  },
  renderStream(completion, pieces, metrics) {
    return [
      ...pieces.map((text, index) => ({ text, is_finished: false, index })),
      {
        text: '',
        is_finished: true,
        finish_reason: nativeStop(completion.stopReason, COHERE_STOP),
        [METRICS_KEY]: metrics,
      },
    ];
  },
};

/** userguide/model-parameters-cohere-command-r-plus. */
const COHERE_COMMAND_R_KEYS = [
  'message',
  'chat_history',
  'documents',
  'search_queries_only',
  'preamble',
  'max_tokens',
  'temperature',
  'p',
  'k',
  'prompt_truncation',
  'frequency_penalty',
  'presence_penalty',
  'seed',
  'return_prompt',
  'tools',
  'tool_results',
  'stop_sequences',
  'raw_prompting',
];

const cohereChat: TextModelFamily = {
  kind: 'text',
  name: 'cohere-command-r',
  streaming: true,
  parse(body) {
    refuseExtraneousKeys(body, COHERE_COMMAND_R_KEYS);
    const message = requiredString(body, 'message');
    const history = body.chat_history === undefined ? [] : collectText(body.chat_history);
    const documents = body.documents === undefined ? [] : collectText(body.documents);
    const preamble = optionalString(body, 'preamble');
    return {
      promptText: [preamble ?? '', ...documents, ...history, message].filter(Boolean).join('\n\n'),
      lastUserText: message,
      maxTokens: optionalCount(body, 'max_tokens'),
      stopSequences: optionalStringArray(body, 'stop_sequences'),
    };
  },
  render(completion) {
    return {
      response_id: randomBytes(16).toString('hex'),
      text: completion.text,
      generation_id: randomBytes(16).toString('hex'),
      chat_history: [{ role: 'CHATBOT', message: completion.text }],
      finish_reason: nativeStop(completion.stopReason, { ...COHERE_STOP, stop_sequence: 'STOP_SEQUENCE' }),
    };
  },
  renderStream(completion, pieces, metrics) {
    const finish = nativeStop(completion.stopReason, { ...COHERE_STOP, stop_sequence: 'STOP_SEQUENCE' });
    return [
      { is_finished: false, event_type: 'stream-start', generation_id: randomBytes(16).toString('hex') },
      ...pieces.map((text) => ({ is_finished: false, event_type: 'text-generation', text })),
      {
        is_finished: true,
        event_type: 'stream-end',
        finish_reason: finish,
        response: { text: completion.text, finish_reason: finish },
        [METRICS_KEY]: metrics,
      },
    ];
  },
};

/** userguide/model-parameters-jurassic2. */
const JURASSIC_KEYS = [
  'prompt',
  'temperature',
  'topP',
  'maxTokens',
  'stopSequences',
  'countPenalty',
  'presencePenalty',
  'frequencyPenalty',
];

const ai21Jurassic: TextModelFamily = {
  kind: 'text',
  name: 'ai21-jurassic-2',
  streaming: false,
  parse(body) {
    refuseExtraneousKeys(body, JURASSIC_KEYS);
    const prompt = requiredString(body, 'prompt');
    return {
      promptText: prompt,
      lastUserText: lastUserTurn(prompt),
      maxTokens: optionalCount(body, 'maxTokens'),
      stopSequences: optionalStringArray(body, 'stopSequences'),
    };
  },
  render(completion) {
    const reason = nativeStop(completion.stopReason, { end_turn: 'endoftext', max_tokens: 'length' });
    return {
      id: 1234,
      prompt: { text: '', tokens: [] },
      completions: [
        {
          data: { text: completion.text, tokens: [] },
          finishReason:
            reason === 'stop_sequence' ? { reason: 'stop', sequence: completion.stopSequence } : { reason },
        },
      ],
    };
  },
  renderStream() {
    return [];
  },
};

const JAMBA_STOP = { end_turn: 'stop', max_tokens: 'length', stop_sequence: 'stop' };

const ai21Jamba: TextModelFamily = {
  kind: 'text',
  name: 'ai21-jamba',
  streaming: true,
  parse(body) {
    const { all, lastUser } = readChatMessages(requiredArray(body, 'messages'), 'messages');
    return {
      promptText: all.join('\n\n'),
      lastUserText: lastUser,
      maxTokens: optionalCount(body, 'max_tokens'),
      stopSequences: optionalStringArray(body, 'stop'),
    };
  },
  render(completion) {
    return {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: completion.text },
          finish_reason: nativeStop(completion.stopReason, JAMBA_STOP),
        },
      ],
      usage: {
        prompt_tokens: completion.inputTokens,
        completion_tokens: completion.outputTokens,
        total_tokens: completion.inputTokens + completion.outputTokens,
      },
    };
  },
  renderStream(completion, pieces, metrics) {
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    return [
      ...pieces.map((content, index) => ({
        id,
        choices: [
          {
            index: 0,
            delta: index === 0 ? { role: 'assistant', content } : { content },
            finish_reason: null,
          },
        ],
      })),
      {
        id,
        choices: [{ index: 0, delta: {}, finish_reason: nativeStop(completion.stopReason, JAMBA_STOP) }],
        usage: {
          prompt_tokens: completion.inputTokens,
          completion_tokens: completion.outputTokens,
          total_tokens: completion.inputTokens + completion.outputTokens,
        },
        [METRICS_KEY]: metrics,
      },
    ];
  },
};

/** Amazon Nova text models' `messages-v1` schema, which mirrors Converse. */
const amazonNova: TextModelFamily = {
  kind: 'text',
  name: 'amazon-nova',
  streaming: true,
  parse(body) {
    const { all, lastUser } = readChatMessages(requiredArray(body, 'messages'), 'messages');
    const system = body.system === undefined ? [] : collectText(body.system);
    const config = optionalObject(body, 'inferenceConfig');
    return {
      promptText: [...system, ...all].join('\n\n'),
      lastUserText: lastUser,
      maxTokens:
        optionalCount(config, 'maxTokens', 'inferenceConfig') ??
        optionalCount(config, 'max_new_tokens', 'inferenceConfig'),
      stopSequences: optionalStringArray(config, 'stopSequences', 'inferenceConfig'),
    };
  },
  render(completion) {
    return {
      output: { message: { role: 'assistant', content: [{ text: completion.text }] } },
      stopReason: completion.stopReason,
      usage: {
        inputTokens: completion.inputTokens,
        outputTokens: completion.outputTokens,
        totalTokens: completion.inputTokens + completion.outputTokens,
      },
    };
  },
  renderStream(completion, pieces, metrics) {
    return [
      { messageStart: { role: 'assistant' } },
      ...pieces.map((text) => ({ contentBlockDelta: { delta: { text }, contentBlockIndex: 0 } })),
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: completion.stopReason } },
      {
        metadata: {
          usage: { inputTokens: completion.inputTokens, outputTokens: completion.outputTokens },
          metrics: {},
          trace: {},
        },
        [METRICS_KEY]: metrics,
      },
    ];
  },
};

const titanEmbedV1: EmbeddingModelFamily = {
  kind: 'embedding',
  name: 'amazon-titan-embed-text-v1',
  embed(body, _modelId, vectorFor) {
    // userguide/model-parameters-titan-embed-text: v1 takes only the text.
    refuseExtraneousKeys(body, ['inputText']);
    const inputText = requiredString(body, 'inputText');
    const inputTokens = tokens(inputText);
    return {
      body: { embedding: vectorFor(inputText, 1536, true), inputTextTokenCount: inputTokens },
      inputTokens,
    };
  },
};

const titanEmbedV2: EmbeddingModelFamily = {
  kind: 'embedding',
  name: 'amazon-titan-embed-text-v2',
  embed(body, _modelId, vectorFor) {
    refuseExtraneousKeys(body, ['inputText', 'dimensions', 'normalize', 'embeddingTypes']);
    const inputText = requiredString(body, 'inputText');
    const dimensions = optionalCount(body, 'dimensions') ?? 1024;
    if (![256, 512, 1024].includes(dimensions)) {
      throw malformedInput(`#/dimensions: ${dimensions} is not a valid enum value`);
    }
    if (body.normalize !== undefined && typeof body.normalize !== 'boolean') {
      throw malformedInput('#/normalize: expected type: Boolean');
    }
    const types = optionalStringArray(body, 'embeddingTypes');
    const embeddingTypes = types.length > 0 ? types : ['float'];
    for (const type of embeddingTypes) {
      if (type !== 'float' && type !== 'binary')
        throw malformedInput(`#/embeddingTypes: ${type} is not a valid enum value`);
    }
    const vector = vectorFor(inputText, dimensions, body.normalize !== false);
    const byType: JsonObject = {};
    if (embeddingTypes.includes('float')) byType.float = vector;
    if (embeddingTypes.includes('binary')) byType.binary = vector.map((value) => (value > 0 ? 1 : 0));
    const inputTokens = tokens(inputText);
    return {
      body: {
        ...(embeddingTypes.includes('float') ? { embedding: vector } : {}),
        embeddingsByType: byType,
        inputTextTokenCount: inputTokens,
      },
      inputTokens,
    };
  },
};

/** Titan Multimodal Embeddings G1: text and/or a base64 image, one vector of 256, 384 or 1024 floats. */
const titanEmbedImage: EmbeddingModelFamily = {
  kind: 'embedding',
  name: 'amazon-titan-embed-image-v1',
  embed(body, _modelId, vectorFor) {
    for (const key of Object.keys(body)) {
      if (!['inputText', 'inputImage', 'embeddingConfig'].includes(key)) {
        throw malformedInput(`#: extraneous key [${key}] is not permitted`);
      }
    }
    const inputText = optionalString(body, 'inputText');
    const inputImage = optionalString(body, 'inputImage');
    if (inputText === undefined && inputImage === undefined) {
      throw malformedInput('#: at least one of [inputText, inputImage] is required');
    }
    const config = optionalObject(body, 'embeddingConfig');
    const dimensions = optionalCount(config, 'outputEmbeddingLength', 'embeddingConfig') ?? 1024;
    if (![256, 384, 1024].includes(dimensions)) {
      throw malformedInput(
        `#/embeddingConfig/outputEmbeddingLength: ${dimensions} is not a valid enum value`,
      );
    }
    // An image counts by its bytes' hash; text and image together give one joint vector.
    const seed = inputImage === undefined ? (inputText ?? '') : `${inputText ?? ''}\u0000${inputImage}`;
    const inputTokens = inputText === undefined ? 0 : tokens(inputText);
    return {
      body: { embedding: vectorFor(seed, dimensions, true), inputTextTokenCount: inputTokens, message: null },
      inputTokens,
    };
  },
};

const COHERE_INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'];

const cohereEmbed: EmbeddingModelFamily = {
  kind: 'embedding',
  name: 'cohere-embed',
  embed(body, modelId, vectorFor) {
    // userguide/model-parameters-embed (v3) and model-parameters-embed-v4 (output_dimension, max_tokens, inputs).
    refuseExtraneousKeys(
      body,
      /embed-v4/.test(modelId)
        ? [
            'texts',
            'images',
            'inputs',
            'input_type',
            'truncate',
            'embedding_types',
            'output_dimension',
            'max_tokens',
          ]
        : ['texts', 'images', 'input_type', 'truncate', 'embedding_types'],
    );
    const texts = requiredArray(body, 'texts');
    if (texts.length === 0) throw malformedInput('#/texts: expected minimum item count: 1, found: 0');
    if (texts.length > 96)
      throw malformedInput(`#/texts: expected maximum item count: 96, found: ${texts.length}`);
    texts.forEach((text, index) => {
      if (typeof text !== 'string') throw malformedInput(`#/texts/${index}: expected type: String`);
    });
    const inputType = requiredString(body, 'input_type');
    if (!COHERE_INPUT_TYPES.includes(inputType))
      throw malformedInput(`#/input_type: ${inputType} is not a valid enum value`);
    const isV4 = /embed-v4/.test(modelId);
    const dimensions = (isV4 ? optionalCount(body, 'output_dimension') : undefined) ?? (isV4 ? 1536 : 1024);
    const vectors = (texts as string[]).map((text) => vectorFor(text, dimensions, true));
    const types = optionalStringArray(body, 'embedding_types');
    const inputTokens = (texts as string[]).reduce((sum, text) => sum + tokens(text), 0);
    const id = randomBytes(16).toString('hex');
    if (types.length === 0) {
      return { body: { id, texts, embeddings: vectors, response_type: 'embeddings_floats' }, inputTokens };
    }
    const embeddings: JsonObject = {};
    for (const type of types) {
      if (type === 'float') embeddings.float = vectors;
      else if (type === 'int8') embeddings.int8 = vectors.map((v) => v.map((x) => Math.round(x * 127)));
      else if (type === 'uint8')
        embeddings.uint8 = vectors.map((v) => v.map((x) => Math.round((x + 1) * 127.5)));
      else if (type === 'binary' || type === 'ubinary')
        embeddings[type] = vectors.map((v) => packBits(v, type));
      else throw malformedInput(`#/embedding_types: ${type} is not a valid enum value`);
    }
    return { body: { id, texts, embeddings, response_type: 'embeddings_by_type' }, inputTokens };
  },
};

/** Cohere's binary embeddings: one sign bit per dimension, packed eight to an int8 / uint8. */
function packBits(vector: number[], type: 'binary' | 'ubinary'): number[] {
  const packed: number[] = [];
  for (let start = 0; start < vector.length; start += 8) {
    let byte = 0;
    for (let bit = 0; bit < 8; bit++) byte = (byte << 1) | ((vector[start + bit] ?? 0) > 0 ? 1 : 0);
    packed.push(type === 'binary' ? byte - 128 : byte);
  }
  return packed;
}

const titanImage: ImageModelFamily = {
  kind: 'image',
  name: 'amazon-titan-image',
  generate(body, imageFor) {
    const taskType = requiredString(body, 'taskType');
    const paramsKey =
      {
        TEXT_IMAGE: 'textToImageParams',
        INPAINTING: 'inPaintingParams',
        OUTPAINTING: 'outPaintingParams',
        IMAGE_VARIATION: 'imageVariationParams',
        COLOR_GUIDED_GENERATION: 'colorGuidedGenerationParams',
        BACKGROUND_REMOVAL: 'backgroundRemovalParams',
      }[taskType] ?? undefined;
    if (paramsKey === undefined) throw malformedInput(`#/taskType: ${taskType} is not a valid enum value`);
    const params = requiredObject(body, paramsKey);
    const prompt =
      taskType === 'TEXT_IMAGE' ? requiredString(params, 'text', paramsKey) : String(params.text ?? '');
    const config = optionalObject(body, 'imageGenerationConfig');
    const count = optionalCount(config, 'numberOfImages', 'imageGenerationConfig') ?? 1;
    if (count > 5)
      throw malformedInput(`#/imageGenerationConfig/numberOfImages: ${count} is not less or equal to 5`);
    return {
      body: { images: Array.from({ length: count }, (_, index) => imageFor(prompt, index)), error: null },
      prompt,
    };
  },
};

const stabilitySdxl: ImageModelFamily = {
  kind: 'image',
  name: 'stability-sdxl',
  generate(body, imageFor) {
    const prompts = requiredArray(body, 'text_prompts');
    if (prompts.length === 0)
      throw malformedInput('#/text_prompts: expected minimum item count: 1, found: 0');
    const prompt = prompts
      .map((entry, index) => {
        if (!isObject(entry)) throw malformedInput(`#/text_prompts/${index}: expected type: JSONObject`);
        return requiredString(entry, 'text', `text_prompts/${index}`);
      })
      .join(' ');
    const seed = typeof body.seed === 'number' ? body.seed : 0;
    const samples = optionalCount(body, 'samples') ?? 1;
    return {
      body: {
        result: 'success',
        artifacts: Array.from({ length: samples }, (_, index) => ({
          seed: seed + index,
          base64: imageFor(prompt, index),
          finishReason: 'SUCCESS',
        })),
      },
      prompt,
    };
  },
};

/** Stable Diffusion 3 / Stable Image Core and Ultra. */
const stabilityImage: ImageModelFamily = {
  kind: 'image',
  name: 'stability-image',
  generate(body, imageFor) {
    const prompt = requiredString(body, 'prompt');
    const seed = typeof body.seed === 'number' ? body.seed : 0;
    return { body: { seeds: [seed], finish_reasons: [null], images: [imageFor(prompt, 0)] }, prompt };
  },
};

const FAMILIES: ReadonlyArray<{ prefix: RegExp; family: ModelFamily }> = [
  { prefix: /^anthropic\.claude-(v2|instant)/, family: anthropicTextCompletion },
  { prefix: /^anthropic\./, family: anthropicMessages },
  { prefix: /^amazon\.titan-(text|tg1)-/, family: titanText },
  { prefix: /^amazon\.titan-embed-text-v2/, family: titanEmbedV2 },
  { prefix: /^amazon\.titan-embed-(text-v1|g1-text)/, family: titanEmbedV1 },
  { prefix: /^amazon\.titan-embed-image-v1/, family: titanEmbedImage },
  { prefix: /^amazon\.(titan-image-generator|nova-canvas)/, family: titanImage },
  { prefix: /^amazon\.nova-(micro|lite|pro|premier)/, family: amazonNova },
  { prefix: /^cohere\.embed-/, family: cohereEmbed },
  { prefix: /^cohere\.command-r/, family: cohereChat },
  { prefix: /^cohere\.command/, family: cohereCommand },
  { prefix: /^ai21\.j2-/, family: ai21Jurassic },
  { prefix: /^ai21\.jamba/, family: ai21Jamba },
  { prefix: /^meta\.llama/, family: metaLlama },
  { prefix: /^mistral\./, family: mistralCompletion },
  { prefix: /^stability\.stable-diffusion-xl/, family: stabilitySdxl },
  { prefix: /^stability\.(sd3|stable-image)/, family: stabilityImage },
];

/**
 * The family whose native format applies to a foundation model id, or undefined for an unknown model.
 * Claude 2 / Instant answer the Messages API too, and Mistral Large takes chat `messages`, so the body's
 * shape picks between their two formats.
 */
export function familyFor(baseModelId: string, body?: JsonObject): ModelFamily | undefined {
  const family = FAMILIES.find((entry) => entry.prefix.test(baseModelId))?.family;
  if (family === anthropicTextCompletion && body?.messages !== undefined) return anthropicMessages;
  if (family === mistralCompletion && body?.messages !== undefined) return mistralChat;
  return family;
}

/**
 * Models whose Converse requests may not carry `system` (the "System prompts" column of
 * userguide/conversation-inference-supported-models-features): Titan Text, Mistral 7B / Mixtral 8x7B, Cohere
 * Command (text and light) and AI21 Jurassic-2.
 */
const WITHOUT_SYSTEM_PROMPTS = [
  /^amazon\.titan-(text|tg1)-/,
  /^mistral\.(mistral-7b|mixtral-8x7b)/,
  /^cohere\.command-(text|light-text)/,
  /^ai21\.j2-/,
];

export function supportsSystemPrompt(baseModelId: string): boolean {
  return !WITHOUT_SYSTEM_PROMPTS.some((pattern) => pattern.test(baseModelId));
}
