/**
 * The body of an embedding worker thread (see WorkerPoolEmbedder): builds the embedder its recipe names, then
 * embeds batches as they come, one at a time, and answers each with one transferred Float32Array.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Embedder } from '../types.js';
import type { WorkerEmbedderRecipe, WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort!;
const recipe = workerData as WorkerEmbedderRecipe;
const running = new Map<number, AbortController>();

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function describeError(error: unknown): WorkerReply & { type: 'error' } {
  const e = error as { code?: string; message?: string; input?: string; name?: string };
  return {
    type: 'error',
    job: -1,
    name: e?.name ?? 'Error',
    message: e?.message ?? String(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.input === 'string' ? { input: e.input } : {}),
  };
}

let embedder: Embedder;
try {
  const exported = (await import(recipe.module))[recipe.exportName] as new (options: unknown) => Embedder;
  embedder = new exported(recipe.options);
  await embedder.init();
  reply({ type: 'ready', id: embedder.id, dimensions: embedder.dimensions });
} catch (error) {
  reply(describeError(error));
  process.exit(0);
}

port.on('message', async (message: WorkerRequest) => {
  if (message.type === 'cancel') {
    running.get(message.job)?.abort();
    return;
  }
  if (message.type === 'close') {
    await embedder.close?.();
    port.close();
    return;
  }
  const controller = new AbortController();
  running.set(message.job, controller);
  try {
    const vectors = await embedder.embedDocuments(message.texts, { signal: controller.signal });
    const dimensions = embedder.dimensions;
    const flat = new Float32Array(vectors.length * dimensions);
    vectors.forEach((vector, i) => {
      flat.set(vector, i * dimensions);
    });
    reply({ type: 'vectors', job: message.job, count: vectors.length, buffer: flat.buffer }, [flat.buffer]);
  } catch (error) {
    reply({ ...describeError(error), job: message.job });
  } finally {
    running.delete(message.job);
  }
});
