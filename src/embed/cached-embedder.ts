import type { ResponseCache } from '../cache/response-cache.js';
import { responseCacheKey } from '../cache/response-cache.js';
import { kbError } from '../errors.js';
import { emitUsage, type UsageListener } from '../observe/usage.js';
import type { Embedder, EmbedOptions } from '../types.js';

/**
 * An embedder that keeps each text's vector in `cache` (keyed by the embedder id, the text and whether it is a
 * query), so re-embedding unchanged text calls no model. Hits are reported with `cacheHit: true` and zero tokens.
 */
export function cachedEmbedder(
  embedder: Embedder,
  cache: ResponseCache,
  options: { onUsage?: UsageListener } = {},
): Embedder {
  const keyOf = (kind: 'document' | 'query', text: string) =>
    responseCacheKey(`embed-${kind}`, embedder.id, text);
  const reportHits = (count: number) => {
    if (count === 0) return;
    emitUsage(options.onUsage, {
      modelId: embedder.id,
      operation: 'embed',
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: 0,
      cacheHit: true,
      timestamp: Date.now(),
    });
  };
  return {
    id: embedder.id,
    get dimensions() {
      return embedder.dimensions;
    },
    maxInputTokens: embedder.maxInputTokens,
    init: () => embedder.init(),
    tokenCounter: () => embedder.tokenCounter(),
    ...(embedder.close ? { close: () => embedder.close!() } : {}),
    async embedDocuments(texts: readonly string[], embedOptions?: EmbedOptions) {
      const vectors: Array<Float32Array | undefined> = texts.map((text) => {
        const stored = cache.get<number[]>(keyOf('document', text));
        return stored ? Float32Array.from(stored) : undefined;
      });
      const missing = texts.flatMap((text, index) => (vectors[index] ? [] : [{ text, index }]));
      reportHits(texts.length - missing.length);
      if (missing.length > 0) {
        const fresh = await embedder.embedDocuments(
          missing.map((entry) => entry.text),
          embedOptions,
        );
        missing.forEach((entry, position) => {
          const vector = fresh[position];
          if (!vector) {
            throw kbError(
              'EMBEDDING_FAILED',
              `${embedder.id} returned ${fresh.length} vectors for ${missing.length} texts.`,
              {
                input: embedder.id,
              },
            );
          }
          vectors[entry.index] = vector;
          cache.set(keyOf('document', entry.text), embedder.id, Array.from(vector));
        });
      }
      return vectors as Float32Array[];
    },
    async embedQuery(text: string, embedOptions?: EmbedOptions) {
      const stored = cache.get<number[]>(keyOf('query', text));
      if (stored) {
        reportHits(1);
        return Float32Array.from(stored);
      }
      const vector = await embedder.embedQuery(text, embedOptions);
      cache.set(keyOf('query', text), embedder.id, Array.from(vector));
      return vector;
    },
  };
}
