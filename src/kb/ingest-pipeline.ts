/**
 * The ingest of a local knowledge base as a pipeline: list (totals first) → load → chunk → embed → write.
 * Loading and chunking run ahead of embedding (up to a bounded number of chunks), embedding runs in batches of a
 * fixed size whatever the document sizes (so progress moves through a 1,200-chunk file), and each document is
 * written in its own transaction once all its chunks are embedded, in input order.
 */
import { isLocalKbError, kbError } from '../errors.js';
import { documentFromInput, embeddingText, loadPaths } from '../ingest/index.js';
import type { StoredDocument } from '../store/sqlite-store.js';
import {
  type Chunk,
  type DocumentInput,
  type Embedder,
  LOCALKB_METADATA_KEYS,
  type SourceDocument,
} from '../types.js';
import { IngestProgressTracker } from './ingest-progress.js';
import { emptyIngestSummary, type IngestOptions, type IngestSummary } from './types.js';

/** What the pipeline needs from the knowledge base it fills. */
export interface IngestTarget {
  readonly embedder: Embedder | undefined;
  /** Chunks per embedder call (the embedder batches further inside). */
  readonly embedBatchSize: number;
  /** Embedder calls allowed in flight at once (more than 1 only for embedders that run them in parallel). */
  readonly embedConcurrency: number;
  /** The listing is done: this much input is coming (a chance to start embedding workers for a large ingest). */
  listed?(files: number, bytes: number): void;
  /** Every stored document, without text. */
  storedDocuments(): StoredDocument[];
  /** True when `stored` already holds `document` as this ingest would write it (it is skipped). */
  isCurrent(stored: StoredDocument | undefined, document: SourceDocument): boolean;
  chunk(document: SourceDocument): Promise<Chunk[]>;
  /** Writes one document with its chunks and their vectors (null for chunks that are not embedded). */
  write(document: SourceDocument, chunks: Chunk[], vectors: (Float32Array | null)[]): void;
  /** Deletes stored documents under `roots` that were not seen; returns how many. */
  pruneMissing(roots: string[], seen: Set<string>): number;
  /** The ingest went through: save the caches. */
  finish(): void;
}

/** Chunks loaded and chunked ahead of the embedder; bounds memory on huge corpora. */
const READ_AHEAD_CHUNKS = 4096;

interface PendingDocument {
  document: SourceDocument;
  chunks: Chunk[];
  vectors: (Float32Array | null)[];
  isUpdate: boolean;
  /** Embedded chunks still waiting for their vector. */
  waiting: number;
}

/** A slice of chunks sent to the embedder in one call: where each chunk's vector goes. */
interface EmbedBatch {
  texts: string[];
  slots: { item: PendingDocument; chunk: number }[];
}

export async function runIngest(
  target: IngestTarget,
  input: string[] | DocumentInput[],
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = Date.now();
  const summary = emptyIngestSummary();
  const progress = new IngestProgressTracker(options.onProgress, (files, bytes) =>
    target.listed?.(files, bytes),
  );
  const { signal } = options;
  const throwIfAborted = () => {
    if (signal?.aborted) throw kbError('ABORTED', 'Ingest aborted by the caller.', { cause: signal.reason });
  };
  throwIfAborted();
  const embedder = target.embedder;
  // One read of what is stored (without texts) instead of a lookup per document.
  const stored = new Map(target.storedDocuments().map((doc) => [doc.id, doc]));
  const seen = new Set<string>();

  // Documents in input order, each written once its last vector arrives.
  const documents: PendingDocument[] = [];
  let batch: EmbedBatch = { texts: [], slots: [] };
  const inFlight: { done: Promise<Float32Array[]>; batch: EmbedBatch }[] = [];
  let queuedChunks = 0;

  const writeReady = () => {
    while (documents.length > 0 && documents[0]!.waiting === 0) {
      const item = documents.shift()!;
      throwIfAborted();
      target.write(item.document, item.chunks, item.vectors);
      summary.chunksEmbedded += item.vectors.filter((vector) => vector !== null).length;
      if (item.isUpdate) summary.documentsUpdated++;
      else summary.documentsAdded++;
      if (!embedder) progress.chunksEmbedded(item.chunks.length);
    }
  };
  const settleOldest = async () => {
    const { done, batch: settled } = inFlight.shift()!;
    const vectors = await done;
    if (vectors.length !== settled.texts.length) {
      throw kbError(
        'EMBEDDING_FAILED',
        `${embedder!.id} returned ${vectors.length} vectors for ${settled.texts.length} texts; every chunk needs one.`,
        { input: embedder!.id },
      );
    }
    settled.slots.forEach(({ item, chunk }, i) => {
      item.vectors[chunk] = vectors[i]!;
      item.waiting--;
    });
    queuedChunks -= settled.texts.length;
    progress.chunksEmbedded(settled.texts.length);
    writeReady();
  };
  const send = async () => {
    if (batch.texts.length === 0) return;
    const sending = batch;
    batch = { texts: [], slots: [] };
    const done = embedder!.embedDocuments(sending.texts, signal ? { signal } : {});
    done.catch(() => {}); // handled when settled, in order; an early rejection must not count as unhandled
    inFlight.push({ done, batch: sending });
    // Keep the embedder busy, but never let more than the allowed calls or the read-ahead pile up.
    while (
      inFlight.length > target.embedConcurrency ||
      (inFlight.length > 0 && queuedChunks > READ_AHEAD_CHUNKS)
    ) {
      await settleOldest();
    }
  };

  try {
    for await (const document of documentsOf(input, options, summary, progress)) {
      throwIfAborted();
      seen.add(document.id);
      const existing = stored.get(document.id);
      const bytes = document.metadata[LOCALKB_METADATA_KEYS.sizeBytes];
      const size = typeof bytes === 'number' ? bytes : document.text.length;
      if (target.isCurrent(existing, document)) {
        summary.documentsUnchanged++;
        progress.fileTaken(document.id, size, 0);
        continue;
      }
      const chunks = await target.chunk(document);
      if (chunks.length === 0) {
        summary.skipped.push({ path: document.uri, code: 'EMPTY_DOCUMENT', reason: 'no text to index' });
        progress.fileTaken(document.id, size, 0);
        continue;
      }
      const item: PendingDocument = {
        document,
        chunks,
        vectors: chunks.map(() => null),
        isUpdate: existing !== undefined,
        waiting: 0,
      };
      documents.push(item);
      // Progress counts what is embedded: passages, not the sections stored beside them for BM25.
      const counted = embedder ? chunks.filter((chunk) => chunk.role !== 'parent').length : chunks.length;
      progress.fileTaken(document.id, size, counted);
      if (!embedder) {
        writeReady();
        continue;
      }
      for (let i = 0; i < chunks.length; i++) {
        if (chunks[i]!.role === 'parent') continue;
        batch.texts.push(embeddingText(chunks[i]!));
        batch.slots.push({ item, chunk: i });
        item.waiting++;
        queuedChunks++;
        if (batch.texts.length >= target.embedBatchSize) await send();
      }
      writeReady(); // a document with nothing to embed (all parents) is ready at once
    }
    progress.chunkingDone();
    await send();
    while (inFlight.length > 0) await settleOldest();
    writeReady();
  } catch (error) {
    // Let calls still running finish (their results are dropped) so nothing writes after the ingest has ended.
    await Promise.allSettled(inFlight.map((call) => call.done));
    if (signal?.aborted && !isLocalKbError(error, 'ABORTED')) {
      throw kbError('ABORTED', 'Ingest aborted by the caller.', { cause: error });
    }
    throw error;
  }

  if (options.prune && typeof input[0] === 'string') {
    summary.documentsDeleted += target.pruneMissing(input as string[], seen);
  }
  target.finish();
  summary.durationMs = Date.now() - started;
  return summary;
}

async function* documentsOf(
  input: string[] | DocumentInput[],
  options: IngestOptions,
  summary: IngestSummary,
  progress: IngestProgressTracker,
): AsyncIterable<SourceDocument> {
  if (input.length === 0) {
    progress.listed(0, 0);
    return;
  }
  if (typeof input[0] !== 'string') {
    const items = input as DocumentInput[];
    progress.listed(
      items.length,
      items.reduce(
        (sum, item) => sum + (typeof item?.text === 'string' ? Buffer.byteLength(item.text) : 0),
        0,
      ),
    );
    for (const item of items) {
      summary.filesSeen++;
      try {
        const document = documentFromInput(item);
        if (options.metadata) document.metadata = { ...options.metadata, ...document.metadata };
        yield document;
      } catch (error) {
        if (!isLocalKbError(error)) throw error;
        summary.skipped.push({ path: item.id, code: error.code, reason: error.message });
        progress.fileTaken(String(item?.id), 0, 0);
      }
    }
    return;
  }
  const loadOptions = {
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    ...(options.loaders ? { loaders: options.loaders } : {}),
    ...(options.records ? { records: options.records } : {}),
    onListed: ({ files, bytes }: { files: number; bytes: number }) => progress.listed(files, bytes),
  };
  for await (const outcome of loadPaths(input as string[], loadOptions)) {
    summary.filesSeen++;
    if (outcome.ok) {
      yield outcome.document;
    } else {
      summary.skipped.push({ path: outcome.path, code: outcome.error.code, reason: outcome.error.message });
      progress.fileTaken(outcome.path, 0, 0);
    }
  }
}
