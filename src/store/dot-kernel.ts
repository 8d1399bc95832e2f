/**
 * Dot products of one query against many stored rows, the inner loop of every exact scan. WebAssembly SIMD
 * (four f32x4 accumulators, 16 floats a step) where the runtime has it, plain JavaScript otherwise.
 *
 * The module is assembled here from its instructions (below, one line per instruction) rather than shipped as
 * an opaque blob, so what runs can be read. Each memory the kernel works on is imported, so one compiled module
 * serves every segment of a VectorMatrix.
 */

/** The parts of the WebAssembly API used here (TypeScript's lib declares it only for browsers). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
type WasmModule = { readonly kind?: 'wasm-module' };
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Floats per row are padded to a multiple of this, so the SIMD loop has no remainder. */
export const ROW_ALIGNMENT = 16;

export interface DotKernel {
  readonly simd: boolean;
  /** out[r] = q · row r, for rows [0, rows) starting at byte `base`; all offsets are bytes in `memory`. */
  dots(memory: SegmentMemory, q: number, base: number, rows: number, stride: number, out: number): void;
  /** out[i] = q · row idx[i], for i in [0, count); `idx` holds i32 row numbers. */
  dotsAt(
    memory: SegmentMemory,
    q: number,
    base: number,
    idx: number,
    count: number,
    stride: number,
    out: number,
  ): void;
}

/** A WebAssembly memory with the kernel instantiated on it (or, in the fallback, just the memory). */
export interface SegmentMemory {
  readonly memory: WasmMemory;
  /** Bound exports when SIMD is in use. */
  readonly exports?: {
    dots(q: number, base: number, rows: number, stride: number, out: number): void;
    dotsAt(q: number, base: number, idx: number, count: number, stride: number, out: number): void;
  };
}

// ——— a tiny WebAssembly assembler: just what the two functions need ———

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0);
  return bytes;
}

function sleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  i32Load: [0x28, 2, 0],
  f32Add: [0x92],
  f32Store: [0x38, 2, 0],
  v128Load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array(16).fill(0)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  lane: (index: number) => [0xfd, 0x1f, index],
};

/**
 * The row loop shared by both functions: with `rowPtr` (local) pointing at a row, sums q · row into local `sum`
 * using four v128 accumulators. Locals: q, rowPtr, end, qPtr, acc0..acc3, as numbered by the caller.
 */
function rowDot(l: {
  q: number;
  row: number;
  end: number;
  qp: number;
  acc: number[];
  stride: number;
}): number[] {
  const [a0, a1, a2, a3] = l.acc as [number, number, number, number];
  const code: number[] = [];
  for (const a of l.acc) code.push(...op.v128Zero, ...op.set(a));
  // end = row + stride * 4; qp = q
  code.push(
    ...op.get(l.row),
    ...op.get(l.stride),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(l.end),
  );
  code.push(...op.get(l.q), ...op.set(l.qp));
  code.push(...op.loop);
  for (const [i, a] of [a0, a1, a2, a3].entries()) {
    code.push(
      ...op.get(a),
      ...op.get(l.qp),
      ...op.v128Load(i * 16),
      ...op.get(l.row),
      ...op.v128Load(i * 16),
    );
    code.push(...op.f32x4Mul, ...op.f32x4Add, ...op.set(a));
  }
  code.push(...op.get(l.qp), ...op.i32(64), ...op.i32Add, ...op.set(l.qp));
  code.push(...op.get(l.row), ...op.i32(64), ...op.i32Add, ...op.set(l.row));
  code.push(...op.get(l.row), ...op.get(l.end), ...op.i32LtU, ...op.brIf(0));
  code.push(...op.end);
  // (a0 + a1) + (a2 + a3), then the four lanes: leaves one f32 on the stack.
  code.push(...op.get(a0), ...op.get(a1), ...op.f32x4Add, ...op.get(a2), ...op.get(a3), ...op.f32x4Add);
  code.push(...op.f32x4Add, ...op.set(a0));
  code.push(...op.get(a0), ...op.lane(0), ...op.get(a0), ...op.lane(1), ...op.f32Add);
  code.push(...op.get(a0), ...op.lane(2), ...op.get(a0), ...op.lane(3), ...op.f32Add, ...op.f32Add);
  return code;
}

/** dots(q, base, rows, stride, out): params 0–4; locals r=5, row=6, end=7, qp=8, acc 9–12. */
function dotsBody(): number[] {
  const [q, base, rows, stride, out, r, row, end, qp] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const code: number[] = [];
  code.push(...op.block, ...op.loop);
  code.push(...op.get(r), ...op.get(rows), ...op.i32GeU, ...op.brIf(1));
  // row = base + r * stride * 4
  code.push(...op.get(base), ...op.get(r), ...op.get(stride), ...op.i32Mul, ...op.i32(2), ...op.i32Shl);
  code.push(...op.i32Add, ...op.set(row));
  // out + r * 4 is the store address; it goes on the stack before the value.
  code.push(...op.get(out), ...op.get(r), ...op.i32(2), ...op.i32Shl, ...op.i32Add);
  code.push(...rowDot({ q, row, end, qp, acc: [9, 10, 11, 12], stride }));
  code.push(...op.f32Store);
  code.push(...op.get(r), ...op.i32(1), ...op.i32Add, ...op.set(r), ...op.br(0));
  code.push(...op.end, ...op.end);
  return code;
}

/** dotsAt(q, base, idx, count, stride, out): params 0–5; locals i=6, row=7, end=8, qp=9, acc 10–13. */
function dotsAtBody(): number[] {
  const [q, base, idx, count, stride, out, i, row, end, qp] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const code: number[] = [];
  code.push(...op.block, ...op.loop);
  code.push(...op.get(i), ...op.get(count), ...op.i32GeU, ...op.brIf(1));
  // row = base + idx[i] * stride * 4
  code.push(...op.get(base), ...op.get(idx), ...op.get(i), ...op.i32(2), ...op.i32Shl, ...op.i32Add);
  code.push(
    ...op.i32Load,
    ...op.get(stride),
    ...op.i32Mul,
    ...op.i32(2),
    ...op.i32Shl,
    ...op.i32Add,
    ...op.set(row),
  );
  code.push(...op.get(out), ...op.get(i), ...op.i32(2), ...op.i32Shl, ...op.i32Add);
  code.push(...rowDot({ q, row, end, qp, acc: [10, 11, 12, 13], stride }));
  code.push(...op.f32Store);
  code.push(...op.get(i), ...op.i32(1), ...op.i32Add, ...op.set(i), ...op.br(0));
  code.push(...op.end, ...op.end);
  return code;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function functionBody(locals: [count: number, type: number][], code: number[]): number[] {
  const body = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...code, ...op.end];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: imports env.memory, exports dots and dotsAt. */
export function dotKernelModuleBytes(): Uint8Array {
  const types = section(1, [
    ...uleb(2),
    ...[0x60, ...vector(new Array(5).fill([I32])), 0x00],
    ...[0x60, ...vector(new Array(6).fill([I32])), 0x00],
  ]);
  // (import "env" "memory" (memory 1)): limits flag 0, minimum 1 page.
  const imports = section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]]));
  const functions = section(3, vector([[0x00], [0x01]]));
  const exports = section(
    7,
    vector([
      [...name('dots'), 0x00, 0x00],
      [...name('dotsAt'), 0x00, 0x01],
    ]),
  );
  const code = section(
    10,
    vector([
      functionBody(
        [
          [4, I32],
          [4, V128],
        ],
        dotsBody(),
      ),
      functionBody(
        [
          [4, I32],
          [4, V128],
        ],
        dotsAtBody(),
      ),
    ]),
  );
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...functions,
    ...exports,
    ...code,
  ]);
}

let compiled: WasmModule | null | undefined;

/** The compiled SIMD module, or null when this runtime cannot run WebAssembly SIMD (or LOCALKB_NO_SIMD=1). */
function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = dotKernelModuleBytes();
    compiled = process.env.LOCALKB_NO_SIMD !== '1' && wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

/** A memory of `pages` 64 KiB pages with the kernel bound to it (a plain buffer where there is no WebAssembly). */
export function createSegmentMemory(pages: number, maximumPages?: number): SegmentMemory {
  if (!wasm) return { memory: new GrowableBuffer(pages) };
  const memory = new wasm.Memory({ initial: pages, ...(maximumPages ? { maximum: maximumPages } : {}) });
  const module = simdModule();
  if (!module) return { memory };
  const instance = new wasm.Instance(module, { env: { memory } });
  return { memory, exports: instance.exports as unknown as NonNullable<SegmentMemory['exports']> };
}

export const simdDotKernel: DotKernel = {
  simd: true,
  dots: (memory, q, base, rows, stride, out) => memory.exports!.dots(q, base, rows, stride, out),
  dotsAt: (memory, q, base, idx, count, stride, out) =>
    memory.exports!.dotsAt(q, base, idx, count, stride, out),
};

/** The same sums in plain JavaScript: the fallback, and the reference the SIMD kernel is tested against. */
export const scalarDotKernel: DotKernel = {
  simd: false,
  dots(memory, q, base, rows, stride, out) {
    const f = new Float32Array(memory.memory.buffer);
    const qi = q >> 2;
    const outI = out >> 2;
    for (let r = 0; r < rows; r++) {
      const offset = (base >> 2) + r * stride;
      let sum = 0;
      for (let d = 0; d < stride; d++) sum += f[qi + d]! * f[offset + d]!;
      f[outI + r] = sum;
    }
  },
  dotsAt(memory, q, base, idx, count, stride, out) {
    const f = new Float32Array(memory.memory.buffer);
    const rowsAt = new Int32Array(memory.memory.buffer, idx, count);
    const qi = q >> 2;
    const outI = out >> 2;
    for (let i = 0; i < count; i++) {
      const offset = (base >> 2) + rowsAt[i]! * stride;
      let sum = 0;
      for (let d = 0; d < stride; d++) sum += f[qi + d]! * f[offset + d]!;
      f[outI + i] = sum;
    }
  },
};

/** The kernel for memories made by `createSegmentMemory` in this process. */
export function dotKernel(): DotKernel {
  return simdModule() ? simdDotKernel : scalarDotKernel;
}

/** Stands in for a WebAssembly memory in runtimes without WebAssembly: grows by copying. */
class GrowableBuffer implements WasmMemory {
  buffer: ArrayBuffer;
  constructor(pages: number) {
    this.buffer = new ArrayBuffer(pages * 65536);
  }
  grow(pages: number): number {
    const previous = this.buffer.byteLength / 65536;
    const next = new ArrayBuffer(this.buffer.byteLength + pages * 65536);
    new Uint8Array(next).set(new Uint8Array(this.buffer));
    this.buffer = next;
    return previous;
  }
}
