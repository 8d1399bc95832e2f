import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env,
  type FeatureExtractionPipeline,
  pipeline,
} from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import { cosineSimilarity } from '../../src/embed/vector-math.js';
import { TINY_CROSS_ENCODER_PATH, TINY_EMBEDDER_PATH } from '../helpers/models.js';

env.allowRemoteModels = false;

const ENGLISH =
  'Researchers found that regular exercise lowers blood pressure in older adults. ' +
  "The study's 1,204 participants (aged 60-85) walked for 30 minutes a day; their risk of stroke fell by 12%.";

describe('models written by test/helpers/onnx/bert-model.ts', () => {
  it('load in the transformers.js feature-extraction pipeline, which pools as TransformersEmbedder does', async () => {
    const texts = ['Blood pressure rises with age.', ENGLISH];
    const extractor = (await pipeline('feature-extraction', TINY_EMBEDDER_PATH, {
      local_files_only: true,
      dtype: 'fp32',
    })) as FeatureExtractionPipeline;
    const output = await extractor(texts, { pooling: 'mean', normalize: true });
    expect(output.dims).toEqual([2, 32]);
    await extractor.dispose();

    const embedder = new TransformersEmbedder({
      modelPath: TINY_EMBEDDER_PATH,
      dtype: 'fp32',
      offline: true,
    });
    const vectors = await embedder.embedDocuments(texts);
    await embedder.close();
    texts.forEach((_, i) => {
      const fromPipeline = (output.data as Float32Array).slice(i * 32, (i + 1) * 32);
      expect(cosineSimilarity(vectors[i]!, fromPipeline)).toBeGreaterThan(0.99999);
    });
  });

  it('tokenize ordinary English with BERT WordPiece and no unknown tokens', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(TINY_EMBEDDER_PATH, { local_files_only: true });
    const tokens = tokenizer.tokenize(ENGLISH);
    expect(tokens).not.toContain('[UNK]');
    expect(tokens.slice(0, 4)).toEqual(['researchers', 'found', 'that', 'regular']);
    expect(tokens.some((token) => token.startsWith('##'))).toBe(true);
    expect(tokenizer.encode('blood')).toEqual([101, tokenizer.convert_tokens_to_ids('blood'), 102]);
  });

  it('write a vocab.txt that matches the tokenizer.json vocabulary', () => {
    const vocab = readFileSync(path.join(TINY_EMBEDDER_PATH, 'vocab.txt'), 'utf8').trimEnd().split('\n');
    const tokenizerJson = JSON.parse(readFileSync(path.join(TINY_EMBEDDER_PATH, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(path.join(TINY_EMBEDDER_PATH, 'config.json'), 'utf8'));
    expect(vocab).toHaveLength(config.vocab_size);
    vocab.forEach((token, id) => {
      expect(tokenizerJson.model.vocab[token]).toBe(id);
    });
  });

  it.each(['fp32', 'q8'] as const)(
    'include a %s cross-encoder that scores query–passage pairs as logits',
    async (dtype) => {
      const tokenizer = await AutoTokenizer.from_pretrained(TINY_CROSS_ENCODER_PATH, {
        local_files_only: true,
      });
      const model = await AutoModelForSequenceClassification.from_pretrained(TINY_CROSS_ENCODER_PATH, {
        local_files_only: true,
        dtype,
      });
      const inputs = tokenizer(['what raises blood pressure', 'what raises blood pressure'], {
        text_pair: ['Salt raises blood pressure.', 'The football match ended in a draw.'],
        padding: true,
        truncation: true,
      });
      // The second segment is marked with token type 1, as BERT cross-encoders expect.
      expect((inputs.token_type_ids!.tolist() as bigint[][])[0]).toContain(1n);
      const { logits } = await model(inputs);
      expect(logits.dims).toEqual([2, 1]);
      const [first, second] = Array.from(logits.data as Float32Array);
      expect(Number.isFinite(first)).toBe(true);
      expect(first).not.toBe(second);
      await model.dispose();
    },
  );
});
