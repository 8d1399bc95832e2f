import { createHash } from 'node:crypto';
import { seededRandom } from '../seeded-random.js';

/**
 * The emulator's deterministic "model": answers derived from the prompt so RAG tests can assert on them,
 * and embeddings that are equal for equal text.
 */

export interface NumberedSource {
  id: number;
  text: string;
}

const MAX_ANSWER_SOURCES = 3;
const ECHO_LIMIT = 200;

/**
 * Finds numbered sources in a prompt: localkb's `<source id="1">…</source>` blocks, or Bedrock Knowledge
 * Base style `<search_result>…</search_result>` blocks (numbered by an inner `<source>n</source>` or by
 * position).
 */
export function findNumberedSources(prompt: string): NumberedSource[] {
  const sources: NumberedSource[] = [];
  for (const match of prompt.matchAll(/<source\s+id="(\d+)"[^>]*>([\s\S]*?)<\/source>/g)) {
    sources.push({ id: Number(match[1]), text: match[2]!.trim() });
  }
  if (sources.length > 0) return sources;
  let position = 0;
  for (const match of prompt.matchAll(/<search_result>([\s\S]*?)<\/search_result>/g)) {
    position++;
    const block = match[1]!;
    const content =
      /<content>([\s\S]*?)<\/content>/.exec(block)?.[1] ?? block.replace(/<source>[\s\S]*?<\/source>/, '');
    const id = Number(/<source>\s*(\d+)\s*<\/source>/.exec(block)?.[1] ?? position);
    sources.push({ id, text: content.trim() });
  }
  return sources;
}

/** The first sentence of a text, whitespace collapsed; the whole text when it has no sentence end. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const match = /^(.+?[.!?])(?=\s|$)/.exec(flat);
  return match ? match[1]! : flat;
}

/**
 * The default answer: one sentence per numbered source (up to 3), each quoting the source's first sentence
 * and ending with its citation marker `[n]`; without sources, `Echo: <last user message>` (200 chars max).
 */
export function defaultAnswer(promptText: string, lastUserText: string): string {
  const sources = findNumberedSources(promptText).slice(0, MAX_ANSWER_SOURCES);
  if (sources.length > 0) {
    return sources.map((source) => `${firstSentence(source.text)} [${source.id}]`).join(' ');
  }
  return `Echo: ${lastUserText.trim().slice(0, ECHO_LIMIT)}`;
}

/** Bedrock-like token estimate: about four characters per token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * A pseudo-random vector seeded by a hash of the text: equal text gives an equal vector, different text a
 * nearly orthogonal one. Unit length unless `normalize` is false.
 */
export function deterministicEmbedding(text: string, dimensions: number, normalize = true): number[] {
  const seed = createHash('sha256').update(text).digest();
  const next = seededRandom(seed.readUInt32LE(0) ^ seed.readUInt32LE(4));
  const vector = Array.from({ length: dimensions }, () => next() * 2 - 1);
  if (!normalize) return vector;
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares) || 1;
  return vector.map((value) => value / norm);
}
