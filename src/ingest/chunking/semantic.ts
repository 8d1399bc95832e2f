import { kbError } from '../../errors.js';
import { checkOptions, declareOptions } from '../../options.js';
import type { Chunk, Embedder, SourceDocument } from '../../types.js';
import { textLayoutOf, toChunk } from './chunk-builder.js';
import { mergePieces } from './merge-pieces.js';
import { documentSections } from './sections.js';
import { type Span, sentenceSpans, splitIntoPieces } from './spans.js';

export interface SemanticChunkOptions {
  /** Cut where the distance between neighbouring sentences is above this percentile of all distances. Default 95. */
  percentile?: number;
  /** Hard ceiling per chunk, in the embedder's tokens; longer groups are split recursively. */
  maxTokens: number;
  /** Sentences on each side embedded together with a sentence, to smooth the distances. Default 1. */
  bufferSize?: number;
  signal?: AbortSignal;
}

const SEMANTIC_CHUNK_OPTIONS = declareOptions<SemanticChunkOptions>('chunkSemantic', {
  percentile: 'number',
  maxTokens: 'integer',
  bufferSize: 'integer',
  signal: 'signal',
});

export const DEFAULT_SEMANTIC_PERCENTILE = 95;
export const DEFAULT_SEMANTIC_BUFFER_SIZE = 1;

interface Sentence extends Span {
  section: number;
  /** A heading line: never cut right after it, so it stays with its text. */
  isHeading: boolean;
}

/**
 * Semantic chunking (Bedrock's SEMANTIC strategy): embeds each sentence with `bufferSize` neighbours, cuts where
 * the cosine distance to the next sentence is above the `percentile`-th percentile (and at every heading), then
 * splits any group over `maxTokens` with the recursive splitter.
 */
export async function chunkSemantic(
  doc: SourceDocument,
  embedder: Embedder,
  options: SemanticChunkOptions,
): Promise<Chunk[]> {
  const { percentile, maxTokens, bufferSize } = resolveSemanticOptions(options);
  const counter = await embedder.tokenCounter();
  const sections = documentSections(doc.text, doc.format);
  const sentences: Sentence[] = [];
  const layout = textLayoutOf(doc);
  sections.forEach((section, i) => {
    for (const span of sentenceSpans(doc.text, section, layout)) {
      sentences.push({ ...span, section: i, isHeading: span.end <= section.bodyStart });
    }
  });

  const cuts = new Set<number>(); // a cut after sentence i
  const neighbours: number[] = []; // i with sentences i and i + 1 in the same section
  for (let i = 0; i + 1 < sentences.length; i++) {
    if (sentences[i]!.section !== sentences[i + 1]!.section) cuts.add(i);
    else if (!sentences[i]!.isHeading) neighbours.push(i);
  }
  if (neighbours.length > 1) {
    const windows = sentences.map((sentence, i) => {
      let from = i;
      let to = i;
      while (from > 0 && i - from < bufferSize && sentences[from - 1]!.section === sentence.section) from--;
      while (
        to + 1 < sentences.length &&
        to - i < bufferSize &&
        sentences[to + 1]!.section === sentence.section
      )
        to++;
      return doc.text.slice(sentences[from]!.start, sentences[to]!.end);
    });
    const vectors = await embedder.embedDocuments(windows, options.signal ? { signal: options.signal } : {});
    const distances = neighbours.map((i) => 1 - cosine(vectors[i]!, vectors[i + 1]!));
    const threshold = percentileOf(distances, percentile);
    neighbours.forEach((i, k) => {
      if (distances[k]! > threshold) cuts.add(i);
    });
  }

  const chunks: Chunk[] = [];
  const limits = { size: maxTokens, overlap: 0, ceiling: maxTokens, ...layout };
  let first = 0;
  sentences.forEach((sentence, i) => {
    if (i + 1 < sentences.length && !cuts.has(i)) return;
    const group = { start: sentences[first]!.start, end: sentence.end };
    const headingPath = sections[sentence.section]!.headingPath;
    const tokens = counter.count(doc.text.slice(group.start, group.end));
    const pieces =
      tokens <= maxTokens
        ? [{ ...group, tokens }]
        : mergePieces(
            doc.text,
            splitIntoPieces(doc.text, group, maxTokens, counter, layout),
            limits,
            counter,
          );
    for (const piece of pieces) chunks.push(toChunk(doc, piece, chunks.length, 'leaf', headingPath));
    first = i + 1;
  });
  return chunks;
}

function resolveSemanticOptions(options: SemanticChunkOptions) {
  const invalid = (name: string, problem: string) =>
    kbError('INVALID_OPTION', `Semantic chunk option ${name} ${problem}.`, { input: name });
  checkOptions(SEMANTIC_CHUNK_OPTIONS, options);
  const {
    percentile = DEFAULT_SEMANTIC_PERCENTILE,
    maxTokens,
    bufferSize = DEFAULT_SEMANTIC_BUFFER_SIZE,
  } = options;
  if (typeof percentile !== 'number' || !(percentile >= 0 && percentile <= 100)) {
    throw invalid('percentile', `must be a number from 0 to 100, got ${JSON.stringify(percentile)}`);
  }
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw invalid('maxTokens', `must be a whole number of tokens ≥ 1, got ${JSON.stringify(maxTokens)}`);
  }
  if (typeof bufferSize !== 'number' || !Number.isInteger(bufferSize) || bufferSize < 0) {
    throw invalid('bufferSize', `must be a whole number ≥ 0, got ${JSON.stringify(bufferSize)}`);
  }
  return { percentile, maxTokens, bufferSize };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** The p-th percentile with linear interpolation between closest ranks (numpy's default). */
export function percentileOf(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (rank - lower);
}
