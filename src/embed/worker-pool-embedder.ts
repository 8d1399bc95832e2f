/**
 * An embedder that runs another one in worker threads: embedDocuments goes to a pool of workers, each with its own
 * copy of the model, so ingest keeps the event loop free and uses every core (the USE model is single-threaded
 * WebAssembly; onnxruntime gets its threads split between workers). The embedder itself also stays in this thread
 * for the chunker's token counter and for queries when every worker is busy.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ERROR_CODES, type ErrorCode, kbError, type LocalKbError } from '../errors.js';
import type { Embedder, EmbedOptions, TokenCounter } from '../types.js';
import { assertEmbeddableTexts } from './embed-input.js';
import type { WorkerEmbedderRecipe, WorkerReply, WorkerRequest } from './worker-protocol.js';

export type { WorkerEmbedderRecipe } from './worker-protocol.js';

/** An embedder that can be rebuilt in a worker thread from plain data. */
export interface WorkerCapableEmbedder extends Embedder {
  workerRecipe(threads: number): WorkerEmbedderRecipe;
}

export function isWorkerCapable(embedder: Embedder): embedder is WorkerCapableEmbedder {
  return typeof (embedder as Partial<WorkerCapableEmbedder>).workerRecipe === 'function';
}

interface Job {
  id: number;
  texts: string[];
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
  /** Queries jump the queue. */
  urgent: boolean;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job: Job | undefined;
  dimensions: number;
}

/**
 * Starts the worker: the compiled embedder-worker.js next to this file, or, when running from the TypeScript
 * sources (tests, benchmarks), the .ts file through tsx's loader registered inside the worker.
 */
function startWorker(workerData: WorkerEmbedderRecipe): Worker {
  const js = new URL('./embedder-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData, stdin: false });
  const ts = new URL('./embedder-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, stdin: false });
}

export class WorkerPoolEmbedder implements Embedder {
  readonly threads: number;
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Job[] = [];
  private nextJob = 1;
  private closed = false;
  private started = false;

  constructor(
    private readonly local: WorkerCapableEmbedder,
    options: { threads: number },
  ) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw kbError('INVALID_OPTION', `threads must be a positive integer, got ${options.threads}.`, {
        input: 'threads',
      });
    }
    this.threads = options.threads;
    this.slots = new Array(options.threads).fill(undefined);
  }

  get id(): string {
    return this.local.id;
  }

  get dimensions(): number {
    return this.local.dimensions;
  }

  get maxInputTokens(): number {
    return this.local.maxInputTokens;
  }

  /** Loads the model in this thread. The workers start with `startWorkers`, when there is enough work for them. */
  async init(): Promise<void> {
    await this.local.init();
  }

  /**
   * Starts the workers loading their models (without waiting for them); from now on documents are embedded there.
   * Until then they are embedded in this thread: a handful of chunks is not worth a model load per worker.
   */
  startWorkers(): void {
    if (this.closed) return;
    this.started = true;
    for (let i = 0; i < this.slots.length; i++) this.slotAt(i);
  }

  /** True once workers were started. */
  get usingWorkers(): boolean {
    return this.started;
  }

  tokenCounter(): Promise<TokenCounter> {
    return this.local.tokenCounter();
  }

  /** In a worker when one is free (the event loop stays free), else here: a query never waits behind a batch. */
  async embedQuery(text: string, options: EmbedOptions = {}): Promise<Float32Array> {
    const idle =
      this.started && this.slots.some((slot) => slot && slot.job === undefined) && this.queue.length === 0;
    if (!idle || this.closed) return this.local.embedQuery(text, options);
    const [vector] = await this.run([text], options, true);
    return vector!;
  }

  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    if (texts.length === 0) return [];
    if (!this.started) return this.local.embedDocuments(texts, options);
    const vectors = await this.run([...texts], options, false);
    options.onProgress?.(texts.length, texts.length);
    return vectors;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(closedError(this.id));
    await Promise.all(
      this.slots.map(async (slot, i) => {
        if (!slot) return;
        this.slots[i] = undefined;
        slot.job?.reject(closedError(this.id));
        await slot.worker.terminate();
      }),
    );
    await this.local.close?.();
  }

  private run(texts: string[], options: EmbedOptions, urgent: boolean): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(closedError(this.id));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(aborted(signal));
    return new Promise<Float32Array[]>((resolve, reject) => {
      const job: Job = { id: this.nextJob++, texts, resolve, reject, urgent };
      const onAbort = () => {
        // Settle at once: a queued job never starts, a running one is told to stop and its result dropped.
        const queued = this.queue.indexOf(job);
        if (queued >= 0) this.queue.splice(queued, 1);
        if (job.slot) job.slot.worker.postMessage({ type: 'cancel', job: job.id } satisfies WorkerRequest);
        reject(aborted(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          signal?.removeEventListener('abort', onAbort);
          fn(value);
        };
      job.resolve = settle(resolve);
      job.reject = settle(reject);
      if (urgent) this.queue.unshift(job);
      else this.queue.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      const slot = this.slotAt(i);
      if (slot.job !== undefined) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      job.slot = slot;
      slot.worker.ref();
      slot.ready.then(
        () =>
          slot.worker.postMessage({ type: 'embed', job: job.id, texts: job.texts } satisfies WorkerRequest),
        (error) => this.finish(slot, () => job.reject(error)),
      );
    }
  }

  /** The worker of slot i, started on first use (and again after one died). */
  private slotAt(i: number): Slot {
    const existing = this.slots[i];
    if (existing) return existing;
    const worker = startWorker(
      this.local.workerRecipe(Math.max(1, Math.floor(availableParallelism() / this.threads))),
    );
    worker.unref();
    let markReady!: () => void;
    let failReady!: (error: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => {});
    const slot: Slot = { worker, ready, job: undefined, dimensions: 0 };
    this.slots[i] = slot;
    worker.on('message', (message: WorkerReply) => {
      if (message.type === 'ready') {
        slot.dimensions = message.dimensions;
        markReady();
        return;
      }
      if (message.type === 'error' && message.job === -1) {
        failReady(fromWorkerError(message, this.id));
        return;
      }
      const job = slot.job;
      if (!job || job.id !== message.job) return; // a cancelled job's late answer
      if (message.type === 'error') {
        this.finish(slot, () => job.reject(fromWorkerError(message, this.id)));
        return;
      }
      const flat = new Float32Array(message.buffer);
      const vectors = Array.from({ length: message.count }, (_, r) =>
        flat.subarray(r * slot.dimensions, (r + 1) * slot.dimensions),
      );
      this.finish(slot, () => job.resolve(vectors));
    });
    worker.on('error', (error) => this.lose(i, slot, error));
    worker.on('exit', (code) => {
      if (!this.closed) this.lose(i, slot, new Error(`the worker exited with code ${code}`));
    });
    return slot;
  }

  private finish(slot: Slot, settle: () => void): void {
    slot.job = undefined;
    if (this.queue.length === 0) slot.worker.unref();
    settle();
    this.dispatch();
  }

  private lose(i: number, slot: Slot, error: unknown): void {
    if (this.slots[i] !== slot) return;
    this.slots[i] = undefined;
    const failure = kbError(
      'EMBEDDING_FAILED',
      `An embedding worker of ${this.id} failed: ${(error as Error).message}`,
      {
        input: this.id,
        cause: error,
      },
    );
    slot.job?.reject(failure);
    if (slot.job === undefined && this.queue.length > 0) this.queue.shift()!.reject(failure);
    this.dispatch();
  }
}

function aborted(signal: AbortSignal): LocalKbError {
  return kbError('ABORTED', 'Embedding was aborted by the caller.', { cause: signal.reason });
}

function closedError(id: string): LocalKbError {
  return kbError('STORE_CLOSED', `The embedder ${id} is closed; open it again.`, { input: id });
}

function fromWorkerError(message: WorkerReply & { type: 'error' }, id: string): LocalKbError {
  const code = message.code && message.code in ERROR_CODES ? (message.code as ErrorCode) : 'EMBEDDING_FAILED';
  return kbError(code, message.message, { input: message.input ?? id });
}
