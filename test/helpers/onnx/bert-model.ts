/**
 * Writes a random-weight BERT model folder in the Hugging Face / transformers.js layout: the files of
 * Xenova/all-MiniLM-L6-v2 (config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt,
 * onnx/model.onnx, onnx/model_quantized.onnx), so tests and benchmarks run the exact loader code that loads the real
 * model, without network access or downloaded weights. The weights are random (from the seed), so vectors carry
 * lexical, not semantic, similarity; a model with MiniLM's shapes runs at MiniLM's true speed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { AFFIXES, WORDS } from './bert-vocabulary.js';
import { DataType, type DataTypeCode, encodeModel, type Node, type Tensor } from './onnx-protobuf.js';

export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
  positions: number;
  /** 0: a feature-extraction model (`last_hidden_state`); n: BertForSequenceClassification with n labels. */
  labels: number;
}

export const BERT_SHAPES = {
  /** 2 layers, hidden 32, ~4k WordPiece vocabulary: a fast feature-extraction model for tests. */
  tiny: { layers: 2, hidden: 32, heads: 4, intermediate: 64, vocab: 4096, positions: 512, labels: 0 },
  /** all-MiniLM-L6-v2's shapes: 6 layers, hidden 384, 12 heads, FFN 1536, vocab 30522, 512 positions. */
  minilm: { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocab: 30522, positions: 512, labels: 0 },
  /** The tiny shapes as BertForSequenceClassification with one label (output `logits`). */
  'cross-encoder-tiny': {
    layers: 2,
    hidden: 32,
    heads: 4,
    intermediate: 64,
    vocab: 4096,
    positions: 512,
    labels: 1,
  },
  /** ms-marco-MiniLM-L-6-v2's shapes, one label. */
  'cross-encoder-minilm': {
    layers: 6,
    hidden: 384,
    heads: 12,
    intermediate: 1536,
    vocab: 30522,
    positions: 512,
    labels: 1,
  },
} as const satisfies Record<string, BertShape>;

export type BertShapeName = keyof typeof BERT_SHAPES;

const OPSET = 17; // LayerNormalization is a standard op from opset 17
const IR_VERSION = 8; // readable by onnxruntime 1.14+
const LAYER_NORM_EPS = 1e-12;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
// Letters by English frequency: generated filler pieces use the frequent ones first.
const LETTERS_BY_FREQUENCY = 'etaoinshrdlcumwfgypbvkjxqz';
const SPECIALS = [
  '[PAD]',
  ...Array.from({ length: 99 }, (_, i) => `[unused${i}]`),
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
];
const PAD_ID = 0;
const UNK_ID = 100;
const CLS_ID = 101;
const SEP_ID = 102;
const MASK_ID = 103;

/** A WordPiece vocabulary laid out like BERT's: specials, characters, ## characters, words, then pieces. */
export function buildVocab(size: number): string[] {
  const punctuation: string[] = [];
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (!/[A-Za-z0-9]/.test(ch)) punctuation.push(ch);
  }
  const characters = [
    ...punctuation,
    ...'0123456789',
    ...LETTERS,
    ...'àáâäçèéêëíîïñóôöúûüßæøåœ°±×÷µαβγδεκλμπστω',
  ];
  const twoDigits = Array.from({ length: 90 }, (_, i) => String(i + 10));
  const pairs = [...LETTERS].flatMap((a) => [...LETTERS].map((b) => a + b));
  const pieces = [
    ...characters,
    ...characters.map((c) => `##${c}`),
    ...WORDS.filter((w) => !w.includes("'")),
    ...AFFIXES,
    ...twoDigits,
    ...twoDigits.map((n) => `##${n}`),
    ...pairs,
    ...pairs.map((p) => `##${p}`),
  ];
  // Three-letter pieces, frequent letters first, so unknown words split into a few pieces as real WordPiece does.
  for (const a of LETTERS_BY_FREQUENCY) {
    for (const b of LETTERS_BY_FREQUENCY) {
      for (const c of LETTERS_BY_FREQUENCY) pieces.push(`##${a}${b}${c}`, `${a}${b}${c}`);
    }
  }
  const vocab = [...SPECIALS];
  const seen = new Set(vocab);
  for (const piece of pieces) {
    if (vocab.length >= size) break;
    if (!seen.has(piece)) {
      seen.add(piece);
      vocab.push(piece);
    }
  }
  // Only reached if a shape asks for more than the generated pieces.
  for (let filler = 0; vocab.length < size; filler++) vocab.push(`[unused${99 + filler}]`);
  return vocab;
}

function tokenizerJson(maxLength: number): unknown {
  const added = (
    [
      [PAD_ID, '[PAD]'],
      [UNK_ID, '[UNK]'],
      [CLS_ID, '[CLS]'],
      [SEP_ID, '[SEP]'],
      [MASK_ID, '[MASK]'],
    ] as const
  ).map(([id, content]) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const special = (id: string, typeId = 0) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), sequence('A', 0), special('[SEP]')],
      pair: [special('[CLS]'), sequence('A', 0), special('[SEP]'), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [CLS_ID], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [SEP_ID], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: VOCAB_PLACEHOLDER,
    },
  };
}

const VOCAB_PLACEHOLDER = '\u0000vocab';

/** tokenizer.json with the vocabulary in id order (an object would put the digit tokens first). */
function tokenizerJsonText(vocab: string[], maxLength: number): string {
  const indent = '      ';
  const entries = vocab.map((token, i) => `${indent}${JSON.stringify(token)}: ${i}`).join(',\n');
  return `${JSON.stringify(tokenizerJson(maxLength), null, 2)}\n`.replace(
    JSON.stringify(VOCAB_PLACEHOLDER),
    `{\n${entries}\n    }`,
  );
}

/** sfc32, a small fast PRNG with a 128-bit state; standard normals by Box–Muller. */
function normalGenerator(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const uniform = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return ((t >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < 12; i++) uniform(); // mix the seed into the state
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** A row-major float matrix. */
interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}
type Linear = { weight: Matrix; bias: Float32Array };
interface LayerWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  ln1: [Float32Array, Float32Array];
  up: Linear;
  down: Linear;
  ln2: [Float32Array, Float32Array];
}
interface Weights {
  word: Matrix;
  position: Matrix;
  tokenType: Matrix;
  layers: LayerWeights[];
  pooler: Linear;
  classifier: Linear;
}

/** Weights drawn once per seed, shared by the fp32 and q8 graphs so both compute the same function. */
function randomWeights(shape: BertShape, seed: number): Weights {
  const normal = normalGenerator(seed);
  const matrix = (rows: number, cols: number, scale: number): Matrix => {
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = normal() * scale;
    return { rows, cols, data };
  };
  const vector = (n: number, offset = 0) => Float32Array.from({ length: n }, () => offset + normal() * 0.02);
  // 1/sqrt(fan_in) keeps activations O(1) through the residual stream, so every layer matters.
  const linear = (fanIn: number, fanOut: number): Linear => ({
    weight: matrix(fanIn, fanOut, 1 / Math.sqrt(fanIn)),
    bias: vector(fanOut),
  });
  const { hidden: h, intermediate } = shape;
  const labels = Math.max(shape.labels, 1);
  return {
    word: matrix(shape.vocab, h, 1),
    position: matrix(shape.positions, h, 0.1),
    tokenType: matrix(2, h, 0.1),
    layers: Array.from({ length: shape.layers }, () => ({
      q: linear(h, h),
      k: linear(h, h),
      v: linear(h, h),
      o: linear(h, h),
      ln1: [vector(h, 1), vector(h)],
      up: linear(h, intermediate),
      down: linear(intermediate, h),
      ln2: [vector(h, 1), vector(h)],
    })),
    pooler: linear(h, h),
    classifier: linear(h, labels),
  };
}

function bytesOf(array: Float32Array | Int8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Collects nodes and initialisers; `fp32` or weight-quantized (`q8`) linear layers. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  constructor(private readonly quantized: boolean) {}

  name(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  const(name: string, dataType: DataTypeCode, dims: number[], raw: Uint8Array): string {
    this.initializers.push({ name, dataType, dims, raw });
    return name;
  }
  float(name: string, values: Float32Array | number, dims?: number[]): string {
    const array = typeof values === 'number' ? Float32Array.of(values) : values;
    return this.const(
      name,
      DataType.FLOAT,
      dims ?? (typeof values === 'number' ? [] : [array.length]),
      bytesOf(array),
    );
  }
  int64(name: string, values: number[] | number): string {
    const array = BigInt64Array.from((typeof values === 'number' ? [values] : values).map(BigInt));
    return this.const(
      name,
      DataType.INT64,
      typeof values === 'number' ? [] : [values.length],
      bytesOf(array),
    );
  }
  matrix(name: string, m: Matrix): string {
    return this.float(name, m.data, [m.rows, m.cols]);
  }

  op(opType: string, inputs: string[], attributes?: Node['attributes'], prefix = opType): string {
    const output = this.name(prefix);
    this.nodes.push({
      opType,
      inputs,
      outputs: [output],
      name: output,
      ...(attributes ? { attributes } : {}),
    });
    return output;
  }

  /** x @ weight + bias. Quantized: dynamic uint8 activations × int8 per-column weights (onnxruntime's q8). */
  linear(x: string, { weight, bias }: Linear, name: string): string {
    const biasName = this.float(`${name}.bias`, bias);
    if (!this.quantized)
      return this.op('Add', [this.op('MatMul', [x, this.matrix(`${name}.weight`, weight)]), biasName]);
    const { rows, cols, data } = weight;
    const scale = new Float32Array(cols);
    for (let col = 0; col < cols; col++) {
      let max = 0;
      for (let row = 0; row < rows; row++) max = Math.max(max, Math.abs(data[row * cols + col]!));
      scale[col] = Math.max(max, 1e-8) / 127;
    }
    const q = new Int8Array(data.length);
    for (let i = 0; i < data.length; i++)
      q[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scale[i % cols]!)));
    const wQ = this.const(`${name}.weight_quantized`, DataType.INT8, [rows, cols], bytesOf(q));
    const wZero = this.const(`${name}.weight_zero_point`, DataType.INT8, [cols], new Uint8Array(cols));
    const wScale = this.float(`${name}.weight_scale`, scale);
    const xQ = this.name('x_quantized');
    const xScale = this.name('x_scale');
    const xZero = this.name('x_zero_point');
    this.nodes.push({ opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [xQ, xScale, xZero], name: xQ });
    const product = this.op('MatMulInteger', [xQ, wQ, xZero, wZero]);
    const asFloat = this.op('Cast', [product], { to: DataType.FLOAT });
    const combinedScale = this.op('Mul', [xScale, wScale]);
    return this.op('Add', [this.op('Mul', [asFloat, combinedScale]), biasName]);
  }

  embedding(ids: string, table: Matrix, name: string): string {
    if (!this.quantized) return this.op('Gather', [this.matrix(name, table), ids]);
    let max = 0;
    for (const v of table.data) max = Math.max(max, Math.abs(v));
    const scale = Math.max(max, 1e-8) / 127;
    const q = new Int8Array(table.data.length);
    for (let i = 0; i < q.length; i++)
      q[i] = Math.max(-127, Math.min(127, Math.round(table.data[i]! / scale)));
    const gathered = this.op('Gather', [
      this.const(`${name}_quantized`, DataType.INT8, [table.rows, table.cols], bytesOf(q)),
      ids,
    ]);
    const scaleName = this.float(`${name}_scale`, scale);
    const zeroName = this.const(`${name}_zero_point`, DataType.INT8, [], new Uint8Array(1));
    return this.op('DequantizeLinear', [gathered, scaleName, zeroName]);
  }

  layerNorm(x: string, [gamma, beta]: [Float32Array, Float32Array], name: string): string {
    return this.op(
      'LayerNormalization',
      [x, this.float(`${name}.weight`, gamma), this.float(`${name}.bias`, beta)],
      { axis: -1, epsilon: { float: LAYER_NORM_EPS } },
    );
  }
}

/** The BERT encoder as an ONNX graph: embeddings, `layers` post-norm blocks, then the hidden states or logits. */
function buildModel(shape: BertShape, weights: Weights, quantized: boolean): Uint8Array {
  const g = new GraphBuilder(quantized);
  const { hidden: h, heads } = shape;
  const headDim = h / heads;
  const batchSeq = ['batch_size', 'sequence_length'];
  const inputs = ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({
    name,
    elemType: DataType.INT64,
    shape: batchSeq,
  }));

  // Embeddings: word + position (0..seq-1) + token type, then LayerNorm.
  const sequenceLength = g.op('Gather', [g.op('Shape', ['input_ids']), g.int64('one_index', 1)], { axis: 0 });
  const positions = g.op('Range', [g.int64('zero_i64', 0), sequenceLength, g.int64('one_i64', 1)]);
  const words = g.embedding('input_ids', weights.word, 'embeddings.word_embeddings.weight');
  const positionVectors = g.op('Gather', [
    g.matrix('embeddings.position_embeddings.weight', weights.position),
    positions,
  ]);
  const typeVectors = g.op('Gather', [
    g.matrix('embeddings.token_type_embeddings.weight', weights.tokenType),
    'token_type_ids',
  ]);
  let hidden = g.op('Add', [g.op('Add', [words, positionVectors]), typeVectors]);
  hidden = g.layerNorm(hidden, [new Float32Array(h).fill(1), new Float32Array(h)], 'embeddings.LayerNorm');

  // Additive attention mask: 0 where attended, -1e9 on padding; shape [batch, 1, 1, seq].
  let mask = g.op('Cast', ['attention_mask'], { to: DataType.FLOAT });
  mask = g.op('Unsqueeze', [mask, g.int64('mask_axes', [1, 2])]);
  const one = g.float('one_f32', 1);
  mask = g.op('Mul', [g.op('Sub', [one, mask]), g.float('neg_inf', -1e9)]);

  const splitHeads = g.int64('split_heads_shape', [0, 0, heads, headDim]);
  const mergeHeads = g.int64('merge_heads_shape', [0, 0, h]);
  const invSqrt = g.float('attention_scale', 1 / Math.sqrt(headDim));
  const sqrtHalf = g.float('sqrt_half', 1 / Math.sqrt(2));
  const half = g.float('half', 0.5);

  weights.layers.forEach((layer, i) => {
    const prefix = `encoder.layer.${i}`;
    const headsOf = (x: string) =>
      g.op('Transpose', [g.op('Reshape', [x, splitHeads])], { perm: [0, 2, 1, 3] });
    const q = headsOf(g.linear(hidden, layer.q, `${prefix}.attention.self.query`));
    const k = headsOf(g.linear(hidden, layer.k, `${prefix}.attention.self.key`));
    const v = headsOf(g.linear(hidden, layer.v, `${prefix}.attention.self.value`));
    let scores = g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]);
    scores = g.op('Add', [g.op('Mul', [scores, invSqrt]), mask]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    let context = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
    context = g.op('Reshape', [context, mergeHeads]);
    const attention = g.linear(context, layer.o, `${prefix}.attention.output.dense`);
    hidden = g.layerNorm(g.op('Add', [attention, hidden]), layer.ln1, `${prefix}.attention.output.LayerNorm`);

    const up = g.linear(hidden, layer.up, `${prefix}.intermediate.dense`);
    // Exact GELU as in BERT: 0.5 * x * (1 + erf(x / sqrt(2))).
    const gelu = g.op('Mul', [
      g.op('Mul', [up, half]),
      g.op('Add', [g.op('Erf', [g.op('Mul', [up, sqrtHalf])]), one]),
    ]);
    const down = g.linear(gelu, layer.down, `${prefix}.output.dense`);
    hidden = g.layerNorm(g.op('Add', [down, hidden]), layer.ln2, `${prefix}.output.LayerNorm`);
  });

  let outputs: Array<{ name: string; elemType: DataTypeCode; shape: Array<number | string> }>;
  if (shape.labels === 0) {
    g.nodes.push({
      opType: 'Identity',
      inputs: [hidden],
      outputs: ['last_hidden_state'],
      name: 'last_hidden_state',
    });
    outputs = [{ name: 'last_hidden_state', elemType: DataType.FLOAT, shape: [...batchSeq, h] }];
  } else {
    const firstToken = g.op('Gather', [hidden, g.int64('cls_index', 0)], { axis: 1 });
    const pooled = g.op('Tanh', [g.linear(firstToken, weights.pooler, 'pooler.dense')]);
    const logits = g.linear(pooled, weights.classifier, 'classifier');
    g.nodes.push({ opType: 'Identity', inputs: [logits], outputs: ['logits'], name: 'logits' });
    outputs = [{ name: 'logits', elemType: DataType.FLOAT, shape: ['batch_size', shape.labels] }];
  }
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producerName: 'localkb test/helpers/onnx/bert-model.ts',
    graph: { name: 'bert', nodes: g.nodes, initializers: g.initializers, inputs, outputs },
  });
}

function configJson(shapeName: BertShapeName, shape: BertShape, seed: number): unknown {
  const classifier = shape.labels > 0;
  return {
    _name_or_path: `localkb-generated/${shapeName}`,
    architectures: [classifier ? 'BertForSequenceClassification' : 'BertModel'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    gradient_checkpointing: false,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hidden,
    initializer_range: 0.02,
    intermediate_size: shape.intermediate,
    layer_norm_eps: LAYER_NORM_EPS,
    max_position_embeddings: shape.positions,
    model_type: 'bert',
    num_attention_heads: shape.heads,
    num_hidden_layers: shape.layers,
    pad_token_id: PAD_ID,
    position_embedding_type: 'absolute',
    transformers_version: '4.29.2',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: shape.vocab,
    localkb_generated: { shape: shapeName, seed, weights: 'random, for tests and benchmarks only' },
    ...(classifier ? { id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } } : {}),
  };
}

function writeJson(file: string, data: unknown): void {
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** Writes the model folder for `shapeName` into `out` (created if missing). */
export function writeBertModelFolder(out: string, shapeName: BertShapeName, seed = 42): void {
  // raw_data is little-endian by the ONNX spec; typed arrays are in the machine's order.
  if (endianness() !== 'LE') throw new Error('writeBertModelFolder needs a little-endian machine');
  const shape: BertShape = BERT_SHAPES[shapeName];
  mkdirSync(path.join(out, 'onnx'), { recursive: true });
  const vocab = buildVocab(shape.vocab);
  writeFileSync(path.join(out, 'vocab.txt'), `${vocab.join('\n')}\n`);
  writeFileSync(path.join(out, 'tokenizer.json'), tokenizerJsonText(vocab, shape.positions));
  const specialTokens = {
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    unk_token: '[UNK]',
  };
  writeJson(path.join(out, 'special_tokens_map.json'), specialTokens);
  writeJson(path.join(out, 'tokenizer_config.json'), {
    clean_up_tokenization_spaces: true,
    do_basic_tokenize: true,
    do_lower_case: true,
    model_max_length: shape.positions,
    never_split: null,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    ...specialTokens,
  });
  writeJson(path.join(out, 'config.json'), configJson(shapeName, shape, seed));
  if (shape.labels === 0) {
    // sentence-transformers truncates all-MiniLM-L6-v2 input at 256 word pieces (special tokens included).
    writeJson(path.join(out, 'sentence_bert_config.json'), { max_seq_length: 256, do_lower_case: false });
  }
  const weights = randomWeights(shape, seed);
  writeFileSync(path.join(out, 'onnx', 'model.onnx'), buildModel(shape, weights, false));
  writeFileSync(path.join(out, 'onnx', 'model_quantized.onnx'), buildModel(shape, weights, true));
}
