import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import { cosineSimilarity, norm } from '../../src/embed/vector-math.js';
import { isLocalKbError, type LocalKbError } from '../../src/errors.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';

const TEXTS = [
  'Blood pressure rises with age.',
  'The heart pumps blood through the arteries and veins of the body, and the lungs add oxygen to it.',
  'Cells',
  'Mitochondrial dysfunction is associated with neuronal death in older patients with chronic disease.',
  'A short question about cancer risk?',
];

const scratch = mkdtempSync(path.join(tmpdir(), 'localkb-embed-'));
const open: TransformersEmbedder[] = [];

/** An embedder on the generated tiny model, closed after each test. */
function tinyEmbedder(
  options: ConstructorParameters<typeof TransformersEmbedder>[0] = {},
): TransformersEmbedder {
  const embedder = new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true, ...options });
  open.push(embedder);
  return embedder;
}

/** A copy of the tiny model folder that a test may change. */
function copyOfTinyModel(name: string): string {
  const folder = path.join(scratch, name);
  cpSync(TINY_EMBEDDER_PATH, folder, { recursive: true });
  return folder;
}

async function caught(promise: Promise<unknown>): Promise<LocalKbError> {
  try {
    await promise;
  } catch (error) {
    if (isLocalKbError(error)) return error;
    throw error;
  }
  throw new Error('expected a LocalKbError');
}

/** Reference BERT WordPiece on ASCII text: split on spaces and punctuation, then greedy longest-match pieces. */
function referenceWordPieceCount(text: string, vocab: Set<string>): number {
  const words = text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
  let count = 0;
  for (const word of words) {
    const pieces: string[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let piece: string | undefined;
      while (end > start) {
        const candidate = (start > 0 ? '##' : '') + word.slice(start, end);
        if (vocab.has(candidate)) {
          piece = candidate;
          break;
        }
        end--;
      }
      if (!piece) {
        pieces.length = 0;
        pieces.push('[UNK]');
        break;
      }
      pieces.push(piece);
      start = end;
    }
    count += pieces.length;
  }
  return count;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((embedder) => embedder.close()));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('TransformersEmbedder on the generated tiny BERT model', () => {
  it('loads from a local model folder offline and reports the model config', async () => {
    const embedder = tinyEmbedder();
    await embedder.init();
    expect(embedder.id).toBe('transformers:tiny-embedder:q8');
    expect(embedder.dimensions).toBe(32);
    // sentence_bert_config.json max_seq_length 256 minus [CLS] and [SEP].
    expect(embedder.maxInputTokens).toBe(254);
  });

  it('names itself after the model option when a model path is given', () => {
    const embedder = tinyEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', dtype: 'fp32' });
    expect(embedder.id).toBe('transformers:Xenova/all-MiniLM-L6-v2:fp32');
  });

  it('returns L2-normalised vectors of the model dimension', async () => {
    const vectors = await tinyEmbedder().embedDocuments(TEXTS);
    expect(vectors).toHaveLength(TEXTS.length);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(32);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('gives identical text an identical vector, in one call and across calls', async () => {
    const embedder = tinyEmbedder();
    const [a, b] = await embedder.embedDocuments([TEXTS[1]!, TEXTS[1]!]);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    const first = await embedder.embedQuery(TEXTS[3]!);
    const second = await embedder.embedQuery(TEXTS[3]!);
    expect(Array.from(first)).toEqual(Array.from(second));
  });

  it('gives different texts different vectors', async () => {
    const [a, b] = await tinyEmbedder().embedDocuments([TEXTS[0]!, TEXTS[3]!]);
    expect(cosineSimilarity(a!, b!)).toBeLessThan(0.95);
  });

  it('returns vectors in input order when texts of mixed lengths are batched by length', async () => {
    const embedder = tinyEmbedder({ dtype: 'fp32', batchSize: 2 });
    const batched = await embedder.embedDocuments(TEXTS);
    const alone: Float32Array[] = [];
    for (const text of TEXTS) alone.push(await embedder.embedQuery(text));
    TEXTS.forEach((_, i) => {
      // fp32 with masked padding: the same vector whatever the batch mates.
      expect(cosineSimilarity(batched[i]!, alone[i]!)).toBeGreaterThan(0.99999);
      TEXTS.forEach((__, j) => {
        if (j !== i) expect(cosineSimilarity(batched[i]!, alone[j]!)).toBeLessThan(0.99);
      });
    });
  });

  it('reports progress after each batch', async () => {
    const progress: Array<[number, number]> = [];
    await tinyEmbedder({ batchSize: 2 }).embedDocuments(TEXTS, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(progress).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
  });

  it('stops with ABORTED when the signal is aborted', async () => {
    const controller = new AbortController();
    const embedder = tinyEmbedder({ batchSize: 1 });
    const error = await caught(
      embedder.embedDocuments(TEXTS, { signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(error.code).toBe('ABORTED');
  });

  it('loads q8 and fp32 weights, which agree more closely than any two different texts do', async () => {
    const q8 = await tinyEmbedder({ dtype: 'q8' }).embedDocuments(TEXTS);
    const fp32 = await tinyEmbedder({ dtype: 'fp32' }).embedDocuments(TEXTS);
    let closestDifferentTexts = -1;
    TEXTS.forEach((_, i) => {
      TEXTS.forEach((__, j) => {
        if (i !== j)
          closestDifferentTexts = Math.max(closestDifferentTexts, cosineSimilarity(fp32[i]!, fp32[j]!));
      });
    });
    TEXTS.forEach((_, i) => {
      const agreement = cosineSimilarity(q8[i]!, fp32[i]!);
      expect(agreement).toBeGreaterThan(0.98);
      expect(agreement).toBeGreaterThan(closestDifferentTexts);
    });
  });

  it('counts tokens as BERT WordPiece does on the model vocabulary, without special tokens', async () => {
    const counter = await tinyEmbedder().tokenCounter();
    const vocab = new Set(readFileSync(path.join(TINY_EMBEDDER_PATH, 'vocab.txt'), 'utf8').split('\n'));
    const samples = [
      ...TEXTS,
      'Hello, world! The quick brown fox jumps over the lazy dog.',
      'Vaccination reduced SARS-CoV-2 infections by 95% (p < 0.001) in 43,448 participants.',
    ];
    for (const text of samples) expect(counter.count(text)).toBe(referenceWordPieceCount(text, vocab));
    expect(counter.count('')).toBe(0);
    expect(counter.count('blood')).toBe(1);
  });

  it('reads only maxInputTokens tokens of a long text', async () => {
    const embedder = tinyEmbedder({ dtype: 'fp32' });
    const counter = await embedder.tokenCounter();
    const long = 'The heart pumps blood through the body. '.repeat(40);
    expect(counter.count(long)).toBeGreaterThan(embedder.maxInputTokens);
    const [cut, extended] = await embedder.embedDocuments([long, `${long} Cancer cells grow in the liver.`]);
    expect(cosineSimilarity(cut!, extended!)).toBeGreaterThan(0.999999);

    const short = 'The heart pumps blood through the body.';
    const [plain, changed] = await embedder.embedDocuments([
      short,
      `${short} Cancer cells grow in the liver.`,
    ]);
    expect(cosineSimilarity(plain!, changed!)).toBeLessThan(0.999);
  });

  it('truncates at a smaller maxInputTokens option', async () => {
    const embedder = tinyEmbedder({ dtype: 'fp32', maxInputTokens: 8 });
    await embedder.init();
    expect(embedder.maxInputTokens).toBe(8);
    const counter = await embedder.tokenCounter();
    const long = 'the heart pumps blood through the body and';
    const short = 'the heart';
    expect(counter.count(long)).toBeGreaterThan(8);
    expect(counter.count(`${short} pumps`)).toBeLessThan(8);
    const [a, b, c, d] = await embedder.embedDocuments([long, `${long} the lungs`, short, `${short} pumps`]);
    expect(cosineSimilarity(a!, b!)).toBeGreaterThan(0.999999);
    expect(cosineSimilarity(c!, d!)).toBeLessThan(0.999);
  });

  it('takes the input limit from tokenizer model_max_length when there is no sentence_bert_config.json', async () => {
    const folder = copyOfTinyModel('no-sentence-config');
    rmSync(path.join(folder, 'sentence_bert_config.json'));
    const embedder = tinyEmbedder({ modelPath: folder });
    await embedder.init();
    expect(embedder.maxInputTokens).toBe(510);
  });

  it('honours max_seq_length from sentence_bert_config.json', async () => {
    const folder = copyOfTinyModel('short-sentence-config');
    writeFileSync(path.join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: 64 }));
    const embedder = tinyEmbedder({ modelPath: folder });
    await embedder.init();
    expect(embedder.maxInputTokens).toBe(62);
  });

  it('rejects a maxInputTokens option beyond the position embeddings', async () => {
    const error = await caught(tinyEmbedder({ maxInputTokens: 600 }).init());
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('510');
  });

  it('embeds again after close() released the session', async () => {
    const embedder = tinyEmbedder();
    const before = await embedder.embedQuery(TEXTS[0]!);
    await embedder.close();
    const after = await embedder.embedQuery(TEXTS[0]!);
    expect(Array.from(after)).toEqual(Array.from(before));
  });
});

describe('TransformersEmbedder model discovery', () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    for (const key of ['LOCALKB_MODEL_PATH', 'LOCALKB_OFFLINE', 'HF_HUB_OFFLINE', 'LOCALKB_CACHE_DIR']) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
  });

  let reference: Float32Array;
  beforeAll(async () => {
    const embedder = new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true });
    reference = await embedder.embedQuery(TEXTS[1]!);
    await embedder.close();
  });

  it('loads from a Hugging Face hub cache layout (models--org--name/snapshots/<rev>) given cacheDir', async () => {
    const cacheDir = path.join(scratch, 'hf-cache');
    const repo = path.join(cacheDir, 'models--Xenova--tiny-test');
    const revision = '0123456789abcdef0123456789abcdef01234567';
    const snapshot = path.join(repo, 'snapshots', revision);
    // Like huggingface_hub: snapshot files are symlinks into blobs/.
    for (const file of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/model_quantized.onnx',
    ]) {
      const blob = path.join(repo, 'blobs', file.replace('/', '_'));
      mkdirSync(path.dirname(blob), { recursive: true });
      cpSync(path.join(TINY_EMBEDDER_PATH, file), blob);
      mkdirSync(path.dirname(path.join(snapshot, file)), { recursive: true });
      symlinkSync(blob, path.join(snapshot, file));
    }
    mkdirSync(path.join(repo, 'refs'), { recursive: true });
    writeFileSync(path.join(repo, 'refs', 'main'), revision);

    const embedder = new TransformersEmbedder({ model: 'Xenova/tiny-test', cacheDir, offline: true });
    open.push(embedder);
    expect(embedder.id).toBe('transformers:Xenova/tiny-test:q8');
    const vector = await embedder.embedQuery(TEXTS[1]!);
    expect(Array.from(vector)).toEqual(Array.from(reference));
    // No sentence_bert_config.json in this snapshot: the tokenizer's model_max_length (512) applies.
    expect(embedder.maxInputTokens).toBe(510);
  });

  it('loads from the transformers.js cache layout (org/name/) given cacheDir', async () => {
    const cacheDir = path.join(scratch, 'transformers-cache');
    cpSync(TINY_EMBEDDER_PATH, path.join(cacheDir, 'Xenova', 'tiny-test'), { recursive: true });
    const embedder = new TransformersEmbedder({ model: 'Xenova/tiny-test', cacheDir, offline: true });
    open.push(embedder);
    expect(Array.from(await embedder.embedQuery(TEXTS[1]!))).toEqual(Array.from(reference));
  });

  it('reads the model folder from LOCALKB_MODEL_PATH and offline mode from HF_HUB_OFFLINE', async () => {
    process.env.LOCALKB_MODEL_PATH = TINY_EMBEDDER_PATH;
    process.env.HF_HUB_OFFLINE = '1';
    const embedder = new TransformersEmbedder();
    open.push(embedder);
    expect(embedder.offline).toBe(true);
    expect(Array.from(await embedder.embedQuery(TEXTS[1]!))).toEqual(Array.from(reference));
  });

  it('fails with MODEL_NOT_FOUND naming every way to provide the model when it is not cached offline', async () => {
    const cacheDir = path.join(scratch, 'empty-cache');
    mkdirSync(cacheDir, { recursive: true });
    const embedder = new TransformersEmbedder({ cacheDir, offline: true });
    const error = await caught(embedder.init());
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.input).toBe('Xenova/all-MiniLM-L6-v2');
    for (const hint of [
      '--model-path',
      'LOCALKB_MODEL_PATH',
      'config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx',
      'models--Xenova--all-MiniLM-L6-v2/snapshots/<revision>/',
      cacheDir,
      'LOCALKB_OFFLINE=1',
      'HF_HUB_OFFLINE=1',
    ]) {
      expect(error.message).toContain(hint);
    }
  });

  it('fails with MODEL_NOT_FOUND listing the files a model folder lacks', async () => {
    const folder = copyOfTinyModel('without-fp32');
    rmSync(path.join(folder, 'onnx', 'model.onnx'));
    const error = await caught(tinyEmbedder({ modelPath: folder, dtype: 'fp32' }).init());
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.input).toBe(folder);
    expect(error.message).toContain('lacks: onnx/model.onnx');
    expect(error.details).toEqual({ missing: ['onnx/model.onnx'] });
  });

  it('fails with MODEL_NOT_FOUND for a model path that does not exist', async () => {
    const error = await caught(tinyEmbedder({ modelPath: path.join(scratch, 'no-such-folder') }).init());
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain('config.json');
  });

  it('fails with MODEL_LOAD_FAILED when the ONNX file is corrupt', async () => {
    const folder = copyOfTinyModel('corrupt');
    writeFileSync(path.join(folder, 'onnx', 'model_quantized.onnx'), 'not an onnx model');
    const error = await caught(tinyEmbedder({ modelPath: folder }).init());
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.input).toBe(folder);
  });

  it.each([
    [{ modle: 'x' }, 'modle'],
    [{ dtype: 'fp16' }, 'dtype'],
    [{ batchSize: 0 }, 'batchSize'],
    [{ maxInputTokens: 1.5 }, 'maxInputTokens'],
    [{ modelPath: '' }, 'modelPath'],
  ])('rejects the invalid option %o with INVALID_OPTION', (options, input) => {
    try {
      new TransformersEmbedder(options as never);
      expect.unreachable();
    } catch (error) {
      expect(isLocalKbError(error, 'INVALID_OPTION')).toBe(true);
      expect((error as LocalKbError).input).toBe(input);
    }
  });

  it('asks for init() before dimensions are known', () => {
    const embedder = tinyEmbedder();
    expect(() => embedder.dimensions).toThrow(/init\(\)/);
  });
});
