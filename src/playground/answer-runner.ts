import { kbError } from '../errors.js';
import type { Generator } from '../generate/index.js';
import { RagAnswerer } from '../kb/rag-answerer.js';
import type { Answer, AnswerStreamEvent, RetrieveAndGenerateOptions } from '../kb/types.js';
import type { RetrievalResult } from '../types.js';

/** Wall-clock times of one answer, measured by the playground around the call. */
export interface AnswerLatency {
  /** From the call to its first text delta. */
  firstTokenMs?: number;
  /** From the call to the finished answer (citations included). */
  totalMs: number;
}

export interface AnswerOutcome {
  answer: Answer;
  latency: AnswerLatency;
}

/**
 * Answers `question` from `results` already retrieved, with the library's own RAG answerer (prompt template,
 * source block, citations, usage and cost): variants compared on one question see the very same context.
 */
export async function answerOnContext(
  generator: Generator,
  question: string,
  results: RetrievalResult[],
  options: Pick<RetrieveAndGenerateOptions, 'promptTemplate' | 'signal'>,
  onEvent?: (event: AnswerStreamEvent) => void,
): Promise<AnswerOutcome> {
  const answerer = new RagAnswerer({ generator });
  return timeAnswer(
    answerer.answerStream(question, options, async () => results),
    onEvent,
  );
}

/** Drains an answer stream, timing its first text and its end. */
export async function timeAnswer(
  stream: AsyncIterable<AnswerStreamEvent>,
  onEvent?: (event: AnswerStreamEvent) => void,
): Promise<AnswerOutcome> {
  const started = performance.now();
  let firstTokenMs: number | undefined;
  let answer: Answer | undefined;
  for await (const event of stream) {
    if (event.type === 'text' && firstTokenMs === undefined) firstTokenMs = performance.now() - started;
    if (event.type === 'done') answer = event.answer;
    onEvent?.(event);
  }
  const totalMs = performance.now() - started;
  if (!answer) throw kbError('GENERATION_FAILED', 'The answer stream ended without its final answer.');
  return { answer, latency: { ...(firstTokenMs === undefined ? {} : { firstTokenMs }), totalMs } };
}
