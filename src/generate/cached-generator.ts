import type { ResponseCache } from '../cache/response-cache.js';
import { responseCacheKey } from '../cache/response-cache.js';
import { emitUsage, type UsageListener } from '../observe/usage.js';
import { ZERO_USAGE } from './call-report.js';
import type { ChatMessage, GenerateOptions, Generation, GenerationEvent, Generator } from './types.js';

export interface CachedGeneratorOptions {
  /** Receives a usage event with `cacheHit: true` and zero tokens for every answer the cache gave. */
  onUsage?: UsageListener;
}

function keyOf(
  generator: Generator,
  messages: readonly ChatMessage[],
  options: GenerateOptions = {},
): [string, string] {
  const { signal: _signal, ...parameters } = options;
  const modelId = options.modelId ?? generator.modelId;
  return [responseCacheKey('generate', modelId, { messages, parameters }), modelId];
}

function fromCache(stored: Generation): Generation {
  return { ...stored, usage: { ...ZERO_USAGE }, latencyMs: 0, cached: true };
}

/** Splits cached text into word-sized pieces, so a replayed stream reads like a live one. */
function pieces(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\s)(?=\S)/);
}

/**
 * A generator that answers repeated requests (same model, messages and parameters) from `cache`: a hit costs
 * nothing and is reported as such, and a stream replays the cached text. Guardrail interventions and failures
 * are not cached.
 */
export function cachedGenerator(
  generator: Generator,
  cache: ResponseCache,
  options: CachedGeneratorOptions = {},
): Generator {
  const hit = (modelId: string, operation: string) =>
    emitUsage(options.onUsage, {
      modelId,
      operation,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      cacheHit: true,
      timestamp: Date.now(),
    });
  const keep = (key: string, modelId: string, generation: Generation) => {
    if (generation.guardrailAction !== 'INTERVENED') cache.set(key, modelId, generation);
  };
  return {
    modelId: generator.modelId,
    async generate(messages, generateOptions) {
      const [key, modelId] = keyOf(generator, messages, generateOptions);
      const stored = cache.get<Generation>(key);
      if (stored) {
        hit(modelId, 'generate');
        return fromCache(stored);
      }
      const generation = await generator.generate(messages, generateOptions);
      keep(key, modelId, generation);
      return generation;
    },
    async *stream(messages, generateOptions): AsyncGenerator<GenerationEvent> {
      const [key, modelId] = keyOf(generator, messages, generateOptions);
      const stored = cache.get<Generation>(key);
      if (stored) {
        hit(modelId, 'stream');
        for (const text of pieces(stored.text)) yield { type: 'text', text };
        yield { type: 'done', generation: fromCache(stored) };
        return;
      }
      for await (const event of generator.stream(messages, generateOptions)) {
        if (event.type === 'done') keep(key, modelId, event.generation);
        yield event;
      }
    },
  };
}
