import { estimateCost } from '../observe/pricing.js';
import { type Tracer, traced, usageAttributes } from '../observe/tracing.js';
import type { Embedder, EmbedOptions } from '../types.js';

/**
 * An embedder whose every call is a `localkb.embed` span: the embedder, how many texts, their tokens (counted
 * with the embedder's own tokenizer, only while tracing) and, for Bedrock models, the estimated cost.
 */
export function tracedEmbedder(embedder: Embedder, tracer: Tracer | undefined): Embedder {
  if (!tracer) return embedder;
  const embed = <T>(texts: readonly string[], run: () => Promise<T>) =>
    traced(
      tracer,
      'localkb.embed',
      {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.request.model': embedder.id,
        'localkb.embed.texts': texts.length,
      },
      async (span) => {
        const result = await run();
        const counter = await embedder.tokenCounter();
        const inputTokens = texts.reduce((total, text) => total + counter.count(text), 0);
        const modelId = (embedder as { modelId?: unknown }).modelId;
        const usage = { inputTokens, outputTokens: 0 };
        span?.setAttributes({
          'localkb.embed.dimensions': embedder.dimensions,
          ...usageAttributes(usage, typeof modelId === 'string' ? estimateCost(modelId, usage) : undefined),
        });
        return result;
      },
    );
  return {
    get id() {
      return embedder.id;
    },
    get dimensions() {
      return embedder.dimensions;
    },
    get maxInputTokens() {
      return embedder.maxInputTokens;
    },
    init: () => embedder.init(),
    tokenCounter: () => embedder.tokenCounter(),
    close: async () => embedder.close?.(),
    embedDocuments: (texts: readonly string[], options?: EmbedOptions) =>
      embed(texts, () => embedder.embedDocuments(texts, options)),
    embedQuery: (text: string, options?: EmbedOptions) =>
      embed([text], () => embedder.embedQuery(text, options)),
  };
}
