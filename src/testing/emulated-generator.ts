import { lastUserMessage, toConversation } from '../generate/conversation.js';
import type {
  ChatMessage,
  GenerateOptions,
  Generation,
  GenerationEvent,
  Generator,
} from '../generate/types.js';
import type { Completion, TextRequest } from './model-families.js';

/** Answers a text request for a model id the way the emulator's runtime operations do (scripts, then default). */
export type CompleteText = (
  modelId: string,
  request: TextRequest,
) => { completion: Completion; guardrailIntervened: boolean };

/**
 * The generator behind the emulator's RetrieveAndGenerate: the same deterministic "model" (and the same
 * `respondTo` scripts) that answers Converse, called in-process, so knowledge-base answers are predictable
 * and no extra runtime request shows up in `emulator.requests`.
 */
export class EmulatedModelGenerator implements Generator {
  constructor(
    readonly modelId: string,
    private readonly complete: CompleteText,
  ) {}

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    const started = Date.now();
    const modelId = options.modelId ?? this.modelId;
    const conversation = toConversation(messages, options);
    const { completion, guardrailIntervened } = this.complete(modelId, {
      promptText: [conversation.system ?? '', ...conversation.turns.map((turn) => turn.content)]
        .filter((text) => text !== '')
        .join('\n\n'),
      lastUserText: lastUserMessage(conversation),
      ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
      stopSequences: options.stopSequences ?? [],
    });
    const generation: Generation = {
      text: completion.text,
      stopReason: completion.stopReason,
      usage: {
        inputTokens: completion.inputTokens,
        outputTokens: completion.outputTokens,
        totalTokens: completion.inputTokens + completion.outputTokens,
      },
      latencyMs: Math.max(1, Date.now() - started),
      modelId,
    };
    if (options.guardrail) generation.guardrailAction = guardrailIntervened ? 'INTERVENED' : 'NONE';
    return generation;
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncIterable<GenerationEvent> {
    const generation = await this.generate(messages, options);
    for (const piece of generation.text.split(/(?<=\s)(?=\S)/)) {
      if (piece !== '') yield { type: 'text', text: piece };
    }
    yield { type: 'done', generation };
  }
}
