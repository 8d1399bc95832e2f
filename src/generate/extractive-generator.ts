import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import { lexicalTerms } from '../retrieve/index.js';
import { ZERO_USAGE } from './call-report.js';
import { lastUserMessage, toConversation } from './conversation.js';
import {
  isNearDuplicate,
  needsPrevious,
  type Sentence,
  scoreSentences,
  sentencesOf,
} from './sentence-choice.js';
import { parseSources } from './sources.js';
import {
  type ChatMessage,
  GENERATE_OPTIONS,
  type GenerateOptions,
  type Generation,
  type GenerationEvent,
  type Generator,
} from './types.js';

export interface ExtractiveGeneratorOptions {
  /** Most sentences in an answer. Default 3. */
  maxSentences?: number;
  /** A sentence must score at least this share of the best sentence's score. Default 0.3. */
  minRelativeScore?: number;
  /** The answer when no sentence shares a term with the question. */
  noAnswerText?: string;
}

export const EXTRACTIVE_GENERATOR_OPTIONS = declareOptions<ExtractiveGeneratorOptions>(
  'ExtractiveGenerator',
  {
    maxSentences: 'integer',
    minRelativeScore: 'number',
    noAnswerText: 'string',
  },
);

export const NO_ANSWER_TEXT = 'I could not find an answer to that in the retrieved sources.';

/** Porter stems of the searchable words, the terms questions and sentences are matched on (as BM25 matches). */
export function extractiveTerms(text: string): string[] {
  return lexicalTerms(text);
}

/** The question inside a rendered prompt: the <question> block, else the prompt without its sources. */
function questionOf(prompt: string): string {
  const tagged = /<question>([\s\S]*?)<\/question>/.exec(prompt);
  if (tagged) return tagged[1]!.trim();
  return prompt.replace(/<source\s[^>]*>[\s\S]*?<\/source>/g, ' ');
}

/**
 * Answers without a model: quotes the retrieved sentences that answer the question, best first (see
 * sentence-choice.ts), near-duplicates dropped, each cited with `[n]`. Deterministic; reports zero tokens. Reads localkb's source blocks from the last
 * user message, as rendered by renderPromptTemplate.
 */
export class ExtractiveGenerator implements Generator {
  readonly modelId = 'extractive';
  readonly #maxSentences: number;
  readonly #minRelativeScore: number;
  readonly #noAnswerText: string;

  constructor(options: ExtractiveGeneratorOptions = {}) {
    checkOptions(EXTRACTIVE_GENERATOR_OPTIONS, options);
    const maxSentences = options.maxSentences ?? 3;
    if (!Number.isInteger(maxSentences) || maxSentences < 1) {
      throw kbError(
        'INVALID_OPTION',
        `maxSentences must be a positive integer, got ${String(maxSentences)}.`,
        {
          input: 'maxSentences',
        },
      );
    }
    const minRelativeScore = options.minRelativeScore ?? 0.3;
    if (!(minRelativeScore >= 0 && minRelativeScore <= 1)) {
      throw kbError(
        'INVALID_OPTION',
        `minRelativeScore must be from 0 to 1, got ${String(minRelativeScore)}.`,
        {
          input: 'minRelativeScore',
        },
      );
    }
    this.#maxSentences = maxSentences;
    this.#minRelativeScore = minRelativeScore;
    this.#noAnswerText = options.noAnswerText ?? NO_ANSWER_TEXT;
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    checkOptions(GENERATE_OPTIONS, options);
    const started = performance.now();
    const parts = this.#answerParts(messages, options);
    return this.#generation(parts.join(' '), started);
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent> {
    checkOptions(GENERATE_OPTIONS, options);
    const started = performance.now();
    const parts = this.#answerParts(messages, options);
    for (const [i, part] of parts.entries()) {
      if (options.signal?.aborted)
        throw kbError('ABORTED', 'The extractive answer was aborted.', { input: 'signal' });
      yield { type: 'text', text: i === 0 ? part : ` ${part}` };
    }
    yield { type: 'done', generation: this.#generation(parts.join(' '), started) };
  }

  #answerParts(messages: readonly ChatMessage[], options: GenerateOptions): string[] {
    if (options.signal?.aborted)
      throw kbError('ABORTED', 'The extractive answer was aborted.', { input: 'signal' });
    const prompt = lastUserMessage(toConversation(messages, options));
    const sentences = parseSources(prompt).flatMap((source, rank) => sentencesOf(source, rank));
    const ranked = scoreSentences(sentences, questionOf(prompt));
    const best = ranked[0]?.score ?? 0;
    if (best === 0) return [this.#noAnswerText];
    const kept: Sentence[] = [];
    const parts: string[] = [];
    const charBudget = options.maxTokens === undefined ? Number.POSITIVE_INFINITY : options.maxTokens * 4;
    let used = 0;
    for (const { sentence, score } of ranked) {
      if (score < best * this.#minRelativeScore) break;
      if (kept.some((other) => isNearDuplicate(sentence, other))) continue;
      const previous =
        needsPrevious(sentence) && !kept.includes(sentence.previous!) ? sentence.previous : undefined;
      const text = previous ? `${previous.text} ${sentence.text}` : sentence.text;
      if (parts.length > 0 && used + text.length > charBudget) break;
      kept.push(sentence, ...(previous ? [previous] : []));
      parts.push(`${text} [${sentence.sourceId}]`);
      used += text.length;
      if (parts.length === this.#maxSentences) break;
    }
    return parts;
  }

  #generation(text: string, started: number): Generation {
    return {
      text,
      stopReason: 'end_turn',
      usage: { ...ZERO_USAGE },
      latencyMs: performance.now() - started,
      modelId: this.modelId,
    };
  }
}
