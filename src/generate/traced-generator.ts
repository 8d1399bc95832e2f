import { estimateCost } from '../observe/pricing.js';
import { type Tracer, traced, tracedIterable, usageAttributes } from '../observe/tracing.js';
import type { ChatMessage, GenerateOptions, Generation, GenerationEvent, Generator } from './types.js';

/** A generator whose every call is a `localkb.generate` span with the model, tokens, cost and stop reason. */
export function tracedGenerator(generator: Generator, tracer: Tracer | undefined): Generator {
  if (!tracer) return generator;
  const requestAttributes = (options: GenerateOptions | undefined, stream: boolean) => ({
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': options?.modelId ?? generator.modelId,
    'localkb.stream': stream,
    ...(options?.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': options.maxTokens } : {}),
    ...(options?.temperature !== undefined ? { 'gen_ai.request.temperature': options.temperature } : {}),
  });
  const record = (span: { setAttributes(a: object): unknown } | undefined, generation: Generation) => {
    span?.setAttributes({
      'gen_ai.response.model': generation.modelId,
      'gen_ai.response.finish_reasons': [generation.stopReason],
      'localkb.cached': generation.cached === true,
      'localkb.latency_ms': generation.latencyMs,
      ...usageAttributes(generation.usage, estimateCost(generation.modelId, generation.usage)),
    });
  };
  return {
    get modelId() {
      return generator.modelId;
    },
    generate(messages: readonly ChatMessage[], options?: GenerateOptions): Promise<Generation> {
      return traced(tracer, 'localkb.generate', requestAttributes(options, false), async (span) => {
        const generation = await generator.generate(messages, options);
        record(span, generation);
        return generation;
      });
    },
    stream(messages: readonly ChatMessage[], options?: GenerateOptions): AsyncIterable<GenerationEvent> {
      return tracedIterable(
        tracer,
        'localkb.generate',
        requestAttributes(options, true),
        async function* (span) {
          for await (const event of generator.stream(messages, options)) {
            if (event.type === 'done') record(span, event.generation);
            yield event;
          }
        },
      );
    },
  };
}
