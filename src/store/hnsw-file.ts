/**
 * The HNSW cache on disk: hnswlib's own file at `<indexPath>` plus a JSON sidecar at `<indexPath>.json` that says
 * what the file is (dimensions, space, embedder, store, generation) and how to check it (size, CRC-32).
 * Nothing here trusts a file: every check runs before hnswlib reads a byte, so a bad file means a rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';

export const HNSW_FILE_FORMAT = 'localkb-hnsw';
/** 2: records the store generation's token, so a cache is only trusted by the history that wrote it. */
export const HNSW_FILE_FORMAT_VERSION = 2;

export interface HnswFileMeta {
  format: typeof HNSW_FILE_FORMAT;
  formatVersion: number;
  space: 'cosine';
  dimensions: number;
  embedderId: string;
  /** `settings.store_id` of the SQLite store the labels belong to. */
  storeId: string;
  /** The store's `vector_generation` that the file reflects. */
  generation: number;
  /** The store's token for that generation (`SqliteStore.generationToken`). */
  generationToken: string;
  /** Slots in use in the file, tombstones included. */
  elementCount: number;
  /** Labels present in the file but marked deleted. */
  deletedLabels: number[];
  M: number;
  efConstruction: number;
  bytes: number;
  crc32: number;
  savedAt: string;
}

/** The fixed part at the start of an hnswlib index file (hnswalg.h saveIndex). */
export interface HnswHeader {
  maxElements: number;
  elementCount: number;
  sizeDataPerElement: number;
  labelOffset: number;
  offsetData: number;
  maxM0: number;
  M: number;
}

const HEADER_BYTES = 96;

export function metaPathOf(indexPath: string): string {
  return `${indexPath}.json`;
}

export type MetaReading =
  | { status: 'ok'; meta: HnswFileMeta }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

export function readMeta(indexPath: string): MetaReading {
  const metaPath = metaPathOf(indexPath);
  const hasIndex = fs.existsSync(indexPath);
  const hasMeta = fs.existsSync(metaPath);
  if (!hasIndex && !hasMeta) return { status: 'missing' };
  if (!hasIndex) return { status: 'corrupt', reason: `${indexPath} is missing but its ${metaPath} is there` };
  if (!hasMeta) return { status: 'corrupt', reason: `${metaPath} is missing` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  } catch (error) {
    return { status: 'corrupt', reason: `${metaPath} is not JSON (${(error as Error).message})` };
  }
  const problem = metaProblem(parsed);
  return problem
    ? { status: 'corrupt', reason: `${metaPath}: ${problem}` }
    : { status: 'ok', meta: parsed as HnswFileMeta };
}

function metaProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const meta = value as Record<string, unknown>;
  if (meta.format !== HNSW_FILE_FORMAT) return `format is ${JSON.stringify(meta.format)}`;
  if (meta.formatVersion !== HNSW_FILE_FORMAT_VERSION)
    return `unsupported format version ${meta.formatVersion}`;
  if (meta.space !== 'cosine') return `space is ${JSON.stringify(meta.space)}`;
  for (const key of ['dimensions', 'generation', 'elementCount', 'M', 'efConstruction', 'bytes', 'crc32']) {
    if (!Number.isInteger(meta[key]) || (meta[key] as number) < 0)
      return `${key} is not a non-negative integer`;
  }
  for (const key of ['embedderId', 'storeId', 'generationToken']) {
    if (typeof meta[key] !== 'string') return `${key} is not a string`;
  }
  if (!Array.isArray(meta.deletedLabels) || !meta.deletedLabels.every((label) => Number.isInteger(label))) {
    return 'deletedLabels is not a list of integers';
  }
  return undefined;
}

/** Reads and sanity-checks hnswlib's header; undefined when the bytes cannot be an index of this shape. */
export function readHeader(indexPath: string, dimensions: number): HnswHeader | undefined {
  const fd = fs.openSync(indexPath, 'r');
  try {
    return readHeaderAt(fd, dimensions);
  } finally {
    fs.closeSync(fd);
  }
}

function readHeaderAt(fd: number, dimensions: number): HnswHeader | undefined {
  const bytes = Buffer.alloc(HEADER_BYTES);
  const read = fs.readSync(fd, bytes, 0, HEADER_BYTES, 0);
  if (read < HEADER_BYTES) return undefined;
  const size = (offset: number) => Number(bytes.readBigUInt64LE(offset));
  const header: HnswHeader = {
    maxElements: size(8),
    elementCount: size(16),
    sizeDataPerElement: size(24),
    labelOffset: size(32),
    offsetData: size(40),
    maxM0: size(64),
    M: size(72),
  };
  const linksLevel0 = header.maxM0 * 4 + 4;
  const consistent =
    header.M > 0 &&
    header.M < 10_000 &&
    header.maxM0 === header.M * 2 &&
    header.offsetData === linksLevel0 &&
    header.labelOffset === linksLevel0 + dimensions * 4 &&
    header.sizeDataPerElement === linksLevel0 + dimensions * 4 + 8 &&
    header.elementCount <= header.maxElements;
  return consistent ? header : undefined;
}

/** CRC-32 of a whole file, read in 8 MiB pieces. */
export function fileCrc32(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
  let crc = 0;
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) return crc;
      crc = zlib.crc32(buffer.subarray(0, read), crc);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * What is wrong with the index file given its sidecar before any of it is read, or undefined when it may be: size
 * and header must match what was recorded when it was saved. The checksum is checked by `scanIndexFile`.
 */
export function indexFileProblem(indexPath: string, meta: HnswFileMeta): string | undefined {
  const bytes = fs.statSync(indexPath).size;
  if (bytes !== meta.bytes)
    return `${indexPath} has ${bytes} bytes, ${meta.bytes} were saved (truncated or replaced)`;
  const header = readHeader(indexPath, meta.dimensions);
  if (!header) return `${indexPath} does not start with a valid ${meta.dimensions}-d hnswlib header`;
  if (header.elementCount !== meta.elementCount) {
    return `${indexPath} holds ${header.elementCount} elements, ${meta.elementCount} were saved`;
  }
  return undefined;
}

/**
 * Reads the index file (or `openFd`, read from its start and left open) front to back: checks its CRC-32 against
 * the sidecar and hands every element's label and (normalised) vector to `onElement` — the floats of a read buffer
 * and where the vector starts in them, valid only during the call — straight from hnswlib's level-0 layout.
 */
export function scanIndexFile(
  indexPath: string,
  meta: HnswFileMeta,
  onElement: (label: number, floats: Float32Array, start: number) => void,
  openFd?: number,
): string | undefined {
  const fd = openFd ?? fs.openSync(indexPath, 'r');
  try {
    return scanOpenFile(fd, indexPath, meta, onElement);
  } finally {
    if (openFd === undefined) fs.closeSync(fd);
  }
}

function scanOpenFile(
  fd: number,
  indexPath: string,
  meta: HnswFileMeta,
  onElement: (label: number, floats: Float32Array, start: number) => void,
): string | undefined {
  const header = readHeaderAt(fd, meta.dimensions);
  if (!header) return `${indexPath} does not start with a valid ${meta.dimensions}-d hnswlib header`;
  const perElement = header.sizeDataPerElement;
  const elementsPerRead = Math.max(1, Math.floor((8 * 1024 * 1024) / perElement));
  const buffer = Buffer.allocUnsafeSlow(Math.max(elementsPerRead * perElement, 8 * 1024 * 1024));
  let crc = 0;
  let position = 0;
  const read = (length: number): number => {
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, buffer, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    crc = zlib.crc32(buffer.subarray(0, got), crc);
    position += got;
    return got;
  };
  if (read(HEADER_BYTES) !== HEADER_BYTES) return `${indexPath} ends inside its header`;
  const floats = new Float32Array(buffer.buffer, buffer.byteOffset, Math.floor(buffer.length / 4));
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, Math.floor(buffer.length / 4));
  for (let done = 0; done < header.elementCount; ) {
    const count = Math.min(elementsPerRead, header.elementCount - done);
    if (read(count * perElement) !== count * perElement) return `${indexPath} ends inside its vectors`;
    for (let i = 0; i < count; i++) {
      const base = i * perElement;
      const at = (base + header.labelOffset) / 4;
      const label = words[at]! + words[at + 1]! * 2 ** 32;
      onElement(label, floats, (base + header.offsetData) / 4);
    }
    done += count;
  }
  while (read(buffer.length) > 0) {
    // The upper layers' links: only the checksum needs them.
  }
  if (position !== meta.bytes) return `${indexPath} has ${position} bytes, ${meta.bytes} were saved`;
  if (crc !== meta.crc32) return `${indexPath} fails its CRC-32 check`;
  return undefined;
}

/** The CRC-32 check of a loaded index file, running on a thread of its own; `settle` waits for its verdict. */
export interface IndexFileCheck {
  /** What is wrong with the file (undefined when it checks out); blocks until the check is done. */
  settle(): string | undefined;
}

/**
 * The worker's code, plain CommonJS (it runs from source and from the build alike): opens the file by name, makes
 * sure it is the very file (device and inode) the index was loaded from, and computes its size and CRC-32.
 */
const CHECK_WORKER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const zlib = require('node:zlib');
const state = new Int32Array(workerData.state, 0, 2);
const size = new Float64Array(workerData.state, 8, 1);
let status = 3;
let fd;
try {
  fd = fs.openSync(workerData.path, 'r');
  const stat = fs.fstatSync(fd, { bigint: true });
  if (String(stat.ino) !== workerData.ino || String(stat.dev) !== workerData.dev) {
    status = 2;
  } else {
    const buffer = Buffer.allocUnsafe(1 << 19);
    let crc = 0;
    let bytes = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      crc = zlib.crc32(buffer.subarray(0, read), crc);
      bytes += read;
    }
    state[1] = crc | 0;
    size[0] = bytes;
    status = 1;
  }
} catch {
  status = 3;
} finally {
  if (fd !== undefined) fs.closeSync(fd);
  Atomics.store(state, 0, status);
  Atomics.notify(state, 0);
}
`;

/**
 * Starts checking the CRC-32 of the index file open as `fd` on another thread, so that opening an index costs
 * what hnswlib's own load costs. Whenever the other thread cannot vouch for that very file (it was replaced since,
 * the thread failed or is too slow), `settle` checks it here from `fd`, which must stay open until then.
 */
export function checkIndexFileInBackground(
  indexPath: string,
  meta: HnswFileMeta,
  fd: number,
): IndexFileCheck {
  const stateBuffer = new SharedArrayBuffer(16);
  const state = new Int32Array(stateBuffer, 0, 2);
  const size = new Float64Array(stateBuffer, 8, 1);
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    const worker = new Worker(CHECK_WORKER, {
      eval: true,
      workerData: { path: indexPath, ino: String(stat.ino), dev: String(stat.dev), state: stateBuffer },
    });
    worker.on('error', () => {
      // The check then falls back to this thread (see settle).
    });
    worker.unref();
  } catch {
    Atomics.store(state, 0, 3);
  }
  let verdict: { problem: string | undefined } | undefined;
  return {
    settle() {
      if (verdict) return verdict.problem;
      // A generous bound (a slow disk reads 50 MB/s): past it, this thread checks the file itself.
      Atomics.wait(state, 0, 0, Math.max(5000, meta.bytes / 50_000));
      if (Atomics.load(state, 0) === 1) {
        const problem =
          size[0] !== meta.bytes
            ? `${indexPath} has ${size[0]} bytes, ${meta.bytes} were saved`
            : state[1]! >>> 0 !== meta.crc32
              ? `${indexPath} fails its CRC-32 check`
              : undefined;
        verdict = { problem };
      } else {
        let problem: string | undefined;
        try {
          problem = scanIndexFile(indexPath, meta, () => {}, fd);
        } catch (error) {
          problem = `${indexPath} could not be read: ${(error as Error).message}`;
        }
        verdict = { problem };
      }
      return verdict.problem;
    },
  };
}

/**
 * Writes the index and its sidecar so that a crash leaves either the old pair or the new one (or a pair whose
 * size/CRC disagree, which reads as corrupt and is rebuilt): temp files in the same folder, fsync, rename, fsync
 * the folder.
 */
export function saveIndexFiles(
  indexPath: string,
  writeIndex: (temporaryPath: string) => void,
  meta: Omit<HnswFileMeta, 'bytes' | 'crc32' | 'savedAt'>,
): HnswFileMeta {
  const directory = path.dirname(indexPath);
  const suffix = `.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const temporaryIndex = `${indexPath}${suffix}`;
  const temporaryMeta = `${metaPathOf(indexPath)}${suffix}`;
  try {
    writeIndex(temporaryIndex);
    fsyncFile(temporaryIndex);
    if (!readHeader(temporaryIndex, meta.dimensions)) {
      throw new Error(`hnswlib wrote an unreadable index to ${temporaryIndex} (disk full?)`);
    }
    const full: HnswFileMeta = {
      ...meta,
      bytes: fs.statSync(temporaryIndex).size,
      crc32: fileCrc32(temporaryIndex),
      savedAt: new Date().toISOString(),
    };
    fs.writeFileSync(temporaryMeta, JSON.stringify(full));
    fsyncFile(temporaryMeta);
    fs.renameSync(temporaryIndex, indexPath);
    fs.renameSync(temporaryMeta, metaPathOf(indexPath));
    fsyncDirectory(directory);
    return full;
  } finally {
    fs.rmSync(temporaryIndex, { force: true });
    fs.rmSync(temporaryMeta, { force: true });
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(directory, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the renames are still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
