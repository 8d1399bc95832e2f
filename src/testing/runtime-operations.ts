import { setImmediate as nextTick } from 'node:timers/promises';
import type { FoundationModelEntry } from '../generate/model-catalogue/index.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import {
  EVENT_STREAM_CONTENT_TYPE,
  encodeEvent,
  encodeEventStreamMessage,
  encodeException,
} from '../serve/wire/event-stream.js';
import type { WireRequest, WireResponse } from '../serve/wire/http-server.js';
import type { StreamFailure } from '../serve/wire/operation.js';
import { defaultAnswer, deterministicEmbedding, estimateTokens } from './default-model.js';
import type { ScriptedResponse } from './emulator-types.js';
import {
  collectText,
  isObject,
  type JsonObject,
  optionalCount,
  optionalObject,
  optionalStringArray,
  parseJsonObject,
} from './json-body.js';
import {
  type Completion,
  familyFor,
  type InvocationMetrics,
  type ModelFamily,
  supportsSystemPrompt,
  type TextRequest,
} from './model-families.js';
import { tinyPng } from './tiny-png.js';

/** One call to a bedrock-runtime operation, after auth, routing and the faults that answer early. */
export interface OperationCall {
  request: WireRequest;
  response: WireResponse;
  params: Record<string, string>;
  /** Foundation model id behind the requested id (model operations only). */
  baseModelId: string;
  /** Its catalogue entry (model operations only). */
  model?: FoundationModelEntry;
  script: ScriptedResponse | undefined;
  /** Answer 200 with an unparseable body or frame. */
  malformed: boolean;
  /** Streams only: after this many events send this modelled exception. */
  streamFailure: StreamFailure | undefined;
  startedAt: number;
}

export interface RuntimeOperation {
  readonly streaming: boolean;
  run(call: OperationCall): Promise<void>;
}

const GUARDRAIL_BLOCKED_MESSAGE = 'Sorry, the model cannot answer this question.';
const STREAM_UNSUPPORTED = 'The model is unsupported for streaming.';
const CONVERSE_UNSUPPORTED =
  "This action doesn't support the model that you provided. Try again with a supported text or chat model.";
const SYSTEM_UNSUPPORTED =
  "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.";

function requireFamily(baseModelId: string, body?: JsonObject): ModelFamily {
  const family = familyFor(baseModelId, body);
  if (!family) {
    // The model exists (the catalogue holds it) but the emulator does not know its native body format.
    throw new AwsServiceError(
      'ValidationException',
      `The localkb emulator does not emulate the InvokeModel body format of ${baseModelId}; call it through Converse.`,
    );
  }
  return family;
}

/** Splits text into word-sized pieces that concatenate back to the exact text. */
export function streamPieces(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\s)(?=\S)/);
}

/**
 * The answer for a text request: scripted or the deterministic default, then cut at the first stop
 * sequence or at maxTokens (≈4 chars per token) the way a model stops. An explicit scripted stopReason
 * leaves the text untouched.
 */
export function completeText(request: TextRequest, script: ScriptedResponse | undefined): Completion {
  let text = script?.guardrailIntervention
    ? (script.text ?? GUARDRAIL_BLOCKED_MESSAGE)
    : (script?.text ?? defaultAnswer(request.promptText, request.lastUserText));
  let stopReason =
    script?.stopReason ?? (script?.guardrailIntervention ? 'guardrail_intervened' : 'end_turn');
  let stopSequence: string | undefined;
  if (script?.stopReason === undefined && !script?.guardrailIntervention) {
    let cut = -1;
    for (const sequence of request.stopSequences) {
      const index = sequence === '' ? -1 : text.indexOf(sequence);
      if (index !== -1 && (cut === -1 || index < cut)) {
        cut = index;
        stopSequence = sequence;
      }
    }
    if (cut !== -1) {
      text = text.slice(0, cut);
      stopReason = 'stop_sequence';
    }
    if (request.maxTokens !== undefined && estimateTokens(text) > request.maxTokens) {
      text = text.slice(0, request.maxTokens * 4);
      stopReason = 'max_tokens';
      stopSequence = undefined;
    }
  }
  return {
    text,
    stopReason,
    ...(stopSequence === undefined ? {} : { stopSequence }),
    inputTokens: script?.usage?.inputTokens ?? estimateTokens(request.promptText),
    outputTokens: script?.usage?.outputTokens ?? estimateTokens(text),
  };
}

function vectorSource(script: ScriptedResponse | undefined) {
  return (text: string, dimensions: number, normalize: boolean) =>
    script?.embedding ?? deterministicEmbedding(text, dimensions, normalize);
}

function metricsOf(completion: Completion, startedAt: number): InvocationMetrics {
  const latency = Math.max(1, Date.now() - startedAt);
  return {
    inputTokenCount: completion.inputTokens,
    outputTokenCount: completion.outputTokens,
    invocationLatency: latency,
    firstByteLatency: latency,
  };
}

function guardrailTrace(guardrailId: string) {
  return {
    guardrail: {
      inputAssessment: {
        [guardrailId]: {
          contentPolicy: {
            filters: [
              {
                type: 'VIOLENCE',
                confidence: 'HIGH',
                filterStrength: 'HIGH',
                action: 'BLOCKED',
                detected: true,
              },
            ],
          },
          invocationMetrics: { guardrailProcessingLatency: 1 },
        },
      },
      actionReason: 'Guardrail blocked.',
    },
  };
}

/** Sends event frames one at a time, cutting in with the scripted in-stream exception when armed. */
async function sendEventStream(
  call: OperationCall,
  headers: Record<string, string>,
  frames: Buffer[],
): Promise<void> {
  const stream = call.response.openStream(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE, ...headers });
  const failure = call.streamFailure;
  for (let index = 0; index <= frames.length; index++) {
    if (stream.closed) return;
    if (failure && index === Math.min(failure.events, frames.length)) {
      // bedrock-runtime's streams model modelStreamErrorException for a model that fails mid-stream
      await stream.write(
        encodeException(failure.exceptionType ?? 'modelStreamErrorException', { message: failure.message }),
      );
      break;
    }
    const frame = frames[index];
    if (frame === undefined) break;
    await stream.write(frame);
    await nextTick(); // separate writes so clients see chunk boundaries like a real stream
  }
  stream.end();
}

function chunkFrame(nativeChunk: unknown): Buffer {
  return encodeEvent('chunk', { bytes: Buffer.from(JSON.stringify(nativeChunk)).toString('base64') });
}

/** Half of the JSON text: what a body cut off mid-transfer looks like. */
function truncatedJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}

function invokeBody(call: OperationCall): { family: ModelFamily; body: JsonObject } {
  const body = parseJsonObject(call.request.body);
  return { family: requireFamily(call.baseModelId, body), body };
}

const invokeModel: RuntimeOperation = {
  streaming: false,
  async run(call) {
    const { family, body } = invokeBody(call);
    const script = call.script;
    let nativeBody: unknown;
    let inputTokens = 0;
    let outputTokens = 0;
    if (family.kind === 'text') {
      const request = family.parse(body);
      const completion = completeText(request, script);
      nativeBody = family.render(completion, call.baseModelId);
      if (script?.guardrailIntervention) {
        nativeBody = { ...(nativeBody as JsonObject), 'amazon-bedrock-guardrailAction': 'INTERVENED' };
        if (/^ENABLED/i.test(call.request.headers['x-amzn-bedrock-trace'] ?? '')) {
          const guardrailId = call.request.headers['x-amzn-bedrock-guardrailidentifier'] ?? 'guardrail';
          (nativeBody as JsonObject)['amazon-bedrock-trace'] = guardrailTrace(guardrailId);
        }
      }
      inputTokens = completion.inputTokens;
      outputTokens = completion.outputTokens;
    } else if (family.kind === 'embedding') {
      const embedded = family.embed(body, call.baseModelId, vectorSource(script));
      nativeBody = embedded.body;
      inputTokens = script?.usage?.inputTokens ?? embedded.inputTokens;
    } else {
      const generated = family.generate(body, (prompt, index) =>
        tinyPng(`${prompt}#${index}`).toString('base64'),
      );
      nativeBody = generated.body;
      inputTokens = estimateTokens(generated.prompt);
    }
    if (script?.body !== undefined) nativeBody = script.body;
    const payload = call.malformed ? truncatedJson(nativeBody) : JSON.stringify(nativeBody);
    call.response.send(
      200,
      {
        'content-type': 'application/json',
        'x-amzn-bedrock-input-token-count': String(inputTokens),
        'x-amzn-bedrock-output-token-count': String(outputTokens),
        'x-amzn-bedrock-invocation-latency': String(Math.max(1, Date.now() - call.startedAt)),
      },
      payload,
    );
  },
};

const invokeModelWithResponseStream: RuntimeOperation = {
  streaming: true,
  async run(call) {
    const { family, body } = invokeBody(call);
    if (family.kind !== 'text' || !family.streaming) {
      throw new AwsServiceError('ValidationException', STREAM_UNSUPPORTED);
    }
    const completion = completeText(family.parse(body), call.script);
    const metrics = metricsOf(completion, call.startedAt);
    const chunks: unknown[] =
      call.script?.body !== undefined
        ? [call.script.body]
        : family.renderStream(completion, streamPieces(completion.text), metrics, call.baseModelId);
    // a malformed stream carries one chunk whose bytes are cut-off JSON
    const frames = call.malformed
      ? [encodeEvent('chunk', { bytes: Buffer.from(truncatedJson(chunks[0] ?? {})).toString('base64') })]
      : chunks.map(chunkFrame);
    await sendEventStream(call, { 'x-amzn-bedrock-content-type': 'application/json' }, frames);
  },
};

interface ConverseInput {
  request: TextRequest;
  guardrail: { id: string; trace: boolean } | undefined;
}

/** Validates a Converse body the way Bedrock does and reads it as a text request. */
/** The catalogue says whether a model takes a system prompt; models added without an entry go by family. */
function acceptsSystemPrompt(call: OperationCall): boolean {
  return call.model?.systemPrompt ?? supportsSystemPrompt(call.baseModelId);
}

function readConverseBody(raw: Buffer, systemPrompt: boolean): ConverseInput {
  const body = parseJsonObject(raw);
  if (Array.isArray(body.system) && body.system.length > 0 && !systemPrompt) {
    throw new AwsServiceError('ValidationException', SYSTEM_UNSUPPORTED);
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new AwsServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must not be null or empty",
    );
  }
  const texts: string[] = [];
  let lastUser = '';
  messages.forEach((message, index) => {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'messages.${index + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`,
      );
    }
    if (index === 0 && message.role !== 'user') {
      throw new AwsServiceError(
        'ValidationException',
        'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
      );
    }
    const previous = messages[index - 1] as JsonObject | undefined;
    if (previous && previous.role === message.role) {
      throw new AwsServiceError(
        'ValidationException',
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      );
    }
    if (!Array.isArray(message.content) || message.content.length === 0) {
      throw new AwsServiceError(
        'ValidationException',
        `The content field in the Message object at messages.${index} is empty. Add a ContentBlock object to the content field and try again.`,
      );
    }
    const text = collectText(message.content).join('\n');
    texts.push(text);
    if (message.role === 'user') lastUser = text;
  });
  const system = body.system === undefined ? [] : collectText(body.system);
  const config = optionalObject(body, 'inferenceConfig');
  const guardrailConfig = body.guardrailConfig;
  let guardrail: ConverseInput['guardrail'];
  if (guardrailConfig !== undefined) {
    if (!isObject(guardrailConfig) || typeof guardrailConfig.guardrailIdentifier !== 'string') {
      throw new AwsServiceError(
        'ValidationException',
        'guardrailConfig requires guardrailIdentifier and guardrailVersion.',
      );
    }
    guardrail = {
      id: guardrailConfig.guardrailIdentifier,
      trace: guardrailConfig.trace === 'enabled' || guardrailConfig.trace === 'enabled_full',
    };
  }
  return {
    request: {
      promptText: [...system, ...texts].join('\n\n'),
      lastUserText: lastUser,
      maxTokens: optionalCount(config, 'maxTokens', 'inferenceConfig'),
      stopSequences: optionalStringArray(config, 'stopSequences', 'inferenceConfig'),
    },
    guardrail,
  };
}

/** Converse takes the catalogue's chat models, whatever their native format. */
function requireChatModel(call: OperationCall, streaming: boolean): void {
  const model = call.model;
  const family = familyFor(call.baseModelId);
  const chat = model ? model.converse : family?.kind === 'text';
  if (!chat) throw new AwsServiceError('ValidationException', CONVERSE_UNSUPPORTED);
  const streams = model ? model.responseStreamingSupported : family?.kind === 'text' && family.streaming;
  if (streaming && !streams) throw new AwsServiceError('ValidationException', STREAM_UNSUPPORTED);
}

function usageOf(completion: Completion) {
  return {
    inputTokens: completion.inputTokens,
    outputTokens: completion.outputTokens,
    totalTokens: completion.inputTokens + completion.outputTokens,
  };
}

const converse: RuntimeOperation = {
  streaming: false,
  async run(call) {
    requireChatModel(call, false);
    const input = readConverseBody(call.request.body, acceptsSystemPrompt(call));
    const completion = completeText(input.request, call.script);
    const intervened = call.script?.guardrailIntervention === true;
    const answer = {
      output: { message: { role: 'assistant', content: [{ text: completion.text }] } },
      stopReason: completion.stopReason,
      usage: usageOf(completion),
      metrics: { latencyMs: Math.max(1, Date.now() - call.startedAt) },
      ...(intervened ? { trace: guardrailTrace(input.guardrail?.id ?? 'guardrail') } : {}),
    };
    if (call.malformed) {
      call.response.send(200, { 'content-type': 'application/json' }, truncatedJson(answer));
      return;
    }
    call.response.json(200, answer);
  },
};

const converseStream: RuntimeOperation = {
  streaming: true,
  async run(call) {
    requireChatModel(call, true);
    const input = readConverseBody(call.request.body, acceptsSystemPrompt(call));
    const completion = completeText(input.request, call.script);
    const intervened = call.script?.guardrailIntervention === true;
    let frames = [
      encodeEvent('messageStart', { role: 'assistant' }),
      ...streamPieces(completion.text).map((text) =>
        encodeEvent('contentBlockDelta', { delta: { text }, contentBlockIndex: 0 }),
      ),
      encodeEvent('contentBlockStop', { contentBlockIndex: 0 }),
      encodeEvent('messageStop', { stopReason: completion.stopReason }),
      encodeEvent('metadata', {
        usage: usageOf(completion),
        metrics: { latencyMs: Math.max(1, Date.now() - call.startedAt) },
        ...(intervened ? { trace: guardrailTrace(input.guardrail?.id ?? 'guardrail') } : {}),
      }),
    ];
    if (call.malformed) {
      frames = [
        encodeEventStreamMessage(
          { ':event-type': 'messageStart', ':content-type': 'application/json', ':message-type': 'event' },
          Buffer.from('{"role":'),
        ),
      ];
    }
    await sendEventStream(call, {}, frames);
  },
};

const applyGuardrail: RuntimeOperation = {
  streaming: false,
  async run(call) {
    const body = parseJsonObject(call.request.body);
    if (body.source !== 'INPUT' && body.source !== 'OUTPUT') {
      throw new AwsServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'source' failed to satisfy constraint: Member must satisfy enum value set: [INPUT, OUTPUT]",
      );
    }
    if (!Array.isArray(body.content) || body.content.length === 0) {
      throw new AwsServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'content' must not be empty",
      );
    }
    const intervened = call.script?.guardrailIntervention === true;
    const textUnits = Math.max(1, Math.ceil(collectText(body.content).join('').length / 1000));
    const answer = {
      usage: {
        topicPolicyUnits: textUnits,
        contentPolicyUnits: textUnits,
        wordPolicyUnits: textUnits,
        sensitiveInformationPolicyUnits: textUnits,
        sensitiveInformationPolicyFreeUnits: 0,
        contextualGroundingPolicyUnits: 0,
      },
      action: intervened ? 'GUARDRAIL_INTERVENED' : 'NONE',
      outputs: intervened ? [{ text: call.script?.text ?? GUARDRAIL_BLOCKED_MESSAGE }] : [],
      assessments: intervened
        ? [
            {
              contentPolicy: {
                filters: [
                  {
                    type: 'VIOLENCE',
                    confidence: 'HIGH',
                    filterStrength: 'HIGH',
                    action: 'BLOCKED',
                    detected: true,
                  },
                ],
              },
            },
          ]
        : [{}],
    };
    if (call.malformed)
      call.response.send(200, { 'content-type': 'application/json' }, truncatedJson(answer));
    else call.response.json(200, answer);
  },
};

/** bedrock-runtime routes: (method, path pattern, operation name, implementation). */
export const RUNTIME_ROUTES: ReadonlyArray<[string, string, string, RuntimeOperation]> = [
  ['POST', '/model/{modelId}/invoke', 'InvokeModel', invokeModel],
  [
    'POST',
    '/model/{modelId}/invoke-with-response-stream',
    'InvokeModelWithResponseStream',
    invokeModelWithResponseStream,
  ],
  ['POST', '/model/{modelId}/converse', 'Converse', converse],
  ['POST', '/model/{modelId}/converse-stream', 'ConverseStream', converseStream],
  [
    'POST',
    '/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply',
    'ApplyGuardrail',
    applyGuardrail,
  ],
];
