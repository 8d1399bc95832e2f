/** Messages between WorkerPoolEmbedder and its worker threads (plain data, structured-cloned). */

/** How a worker builds its embedder: `new (await import(module))[exportName](options)`. */
export interface WorkerEmbedderRecipe {
  /** URL of the module that exports the embedder class. */
  module: string;
  exportName: string;
  /** Plain data: the constructor's options. */
  options: Record<string, unknown>;
}

export type WorkerRequest =
  | { type: 'embed'; job: number; texts: string[] }
  | { type: 'cancel'; job: number }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; id: string; dimensions: number }
  | { type: 'vectors'; job: number; count: number; buffer: ArrayBuffer }
  | { type: 'error'; job: number; name: string; message: string; code?: string; input?: string };
