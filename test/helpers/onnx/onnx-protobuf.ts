/**
 * Just enough of ONNX's protobuf (onnx/onnx.proto, proto2) to write an inference model: ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto (raw_data), ValueInfoProto with tensor types and symbolic shapes, and
 * OperatorSetIdProto. Field numbers are onnx.proto's; messages are encoded in one pass, lengths first.
 */

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface Tensor {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Little-endian element bytes, row-major. */
  raw: Uint8Array;
}

export type AttributeValue = number | number[] | string | { float: number };

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, AttributeValue>;
}

export interface ValueInfo {
  name: string;
  elemType: DataTypeCode;
  /** Numbers are fixed sizes, strings symbolic ones ('batch_size'). */
  shape: Array<number | string>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Model {
  irVersion: number;
  opset: number;
  producerName: string;
  graph: Graph;
}

// Protobuf wire types.
const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;

/** A message being encoded: a list of byte chunks, joined once at the end. */
class Message {
  readonly chunks: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt(field * 8 + wireType));
  }

  private varint(value: bigint): void {
    // Negative int64 values are encoded as their 64-bit two's complement, ten bytes.
    let v = value < 0n ? (1n << 64n) + value : value;
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.push(Uint8Array.from(bytes));
  }

  int(field: number, value: number): this {
    this.tag(field, VARINT);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Message): this {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    for (const chunk of value.chunks) this.push(chunk);
    return this;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

// AttributeProto.AttributeType
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_STRING = 3;
const ATTRIBUTE_INTS = 7;

function attribute(name: string, value: AttributeValue): Message {
  const m = new Message().string(1, name);
  if (typeof value === 'string') return m.int(20, ATTRIBUTE_STRING).string(4, value);
  if (Array.isArray(value)) {
    m.int(20, ATTRIBUTE_INTS);
    for (const v of value) m.int(8, v);
    return m;
  }
  if (typeof value === 'object') return m.int(20, ATTRIBUTE_FLOAT).float(2, value.float);
  if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for ${value}`);
  return m.int(20, ATTRIBUTE_INT).int(3, value);
}

function node(n: Node): Message {
  const m = new Message();
  for (const input of n.inputs) m.string(1, input);
  for (const output of n.outputs) m.string(2, output);
  m.string(3, n.name).string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) m.message(5, attribute(name, value));
  return m;
}

function tensor(t: Tensor): Message {
  const m = new Message();
  for (const dim of t.dims) m.int(1, dim);
  return m.int(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

function valueInfo(v: ValueInfo): Message {
  const shape = new Message();
  for (const dim of v.shape) {
    shape.message(1, typeof dim === 'number' ? new Message().int(1, dim) : new Message().string(2, dim));
  }
  const tensorType = new Message().int(1, v.elemType).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function graph(g: Graph): Message {
  const m = new Message();
  for (const n of g.nodes) m.message(1, node(n));
  m.string(2, g.name);
  for (const t of g.initializers) m.message(5, tensor(t));
  for (const v of g.inputs) m.message(11, valueInfo(v));
  for (const v of g.outputs) m.message(12, valueInfo(v));
  return m;
}

/** The serialized ModelProto, as onnx.save_model writes it. */
export function encodeModel(model: Model): Uint8Array {
  return new Message()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .message(7, graph(model.graph))
    .message(8, new Message().string(1, '').int(2, model.opset))
    .toBytes();
}
