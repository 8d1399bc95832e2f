/**
 * The extractive generator as it was before sentences were chosen by the question (localkb commit 0f4fc99,
 * src/generate/extractive-generator.ts): the baseline bench/extractive.ts measures the new one against.
 */
import { kbError } from '../../src/errors.js';
import { ZERO_USAGE } from '../../src/generate/call-report.js';
import { lastUserMessage, toConversation } from '../../src/generate/conversation.js';
import { type ParsedSource, parseSources } from '../../src/generate/sources.js';
import type {
  ChatMessage,
  GenerateOptions,
  Generation,
  GenerationEvent,
  Generator,
} from '../../src/generate/types.js';

interface ExtractiveGeneratorOptions {
  /** Most sentences in an answer. Default 3. */
  maxSentences?: number;
  /** A sentence must score at least this share of the best sentence's score. Default 0.3. */
  minRelativeScore?: number;
  /** The answer when no sentence shares a term with the question. */
  noAnswerText?: string;
}

const NO_ANSWER_TEXT = 'I could not find an answer to that in the retrieved sources.';

const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our she he so such than that the their them then there these they this those to was ' +
    'we were what when where which who whom why will with would you your about after all also any both each ' +
    'few more most other out over same some up very just only own too under again further once here because ' +
    'between during before above below off until while answer question source sources using use'
  ).split(' '),
);

/** Lower-cased word stems without stopwords: the terms questions and sentences are matched on. */
function extractiveTerms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => word.length > 1 && !STOPWORDS.has(word)).map(stem);
}

/** Just enough stemming that "bees" matches "bee" and "dancing" matches "dance". */
function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3).replace(/e?$/, '');
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2).replace(/e?$/, '');
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss'))
    return word.slice(0, -1).replace(/e$/, '');
  return word.replace(/e$/, '');
}

interface Sentence {
  sourceId: number;
  position: number;
  text: string;
  terms: string[];
}

function sentencesOf(source: ParsedSource): Sentence[] {
  return (
    source.text
      .split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'([])|\n\s*\n|\n(?=\s*[-*•]\s)/u)
      .map((text) => text.replace(/\s+/g, ' ').trim())
      // Headings name a topic but state nothing, so they are never quoted as an answer.
      .filter((text) => text.length > 0 && !text.startsWith('#'))
      .map((text, position) => ({ sourceId: source.id, position, text, terms: extractiveTerms(text) }))
  );
}

/** BM25 with sentences as the documents: rewards rare question terms, damps long sentences. */
function bm25Scores(sentences: Sentence[], queryTerms: string[]): number[] {
  const k1 = 1.2;
  const b = 0.75;
  const documentFrequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(sentence.terms))
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const averageLength =
    sentences.reduce((total, s) => total + s.terms.length, 0) / Math.max(1, sentences.length);
  const unique = [...new Set(queryTerms)];
  return sentences.map((sentence) => {
    let score = 0;
    for (const term of unique) {
      const tf = sentence.terms.filter((t) => t === term).length;
      if (tf === 0) continue;
      const df = documentFrequency.get(term) ?? 0;
      const idf = Math.log(1 + (sentences.length - df + 0.5) / (df + 0.5));
      score +=
        (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * sentence.terms.length) / (averageLength || 1)));
    }
    return score;
  });
}

/** The question inside a rendered prompt: the <question> block, else the prompt without its sources. */
function questionOf(prompt: string): string {
  const tagged = /<question>([\s\S]*?)<\/question>/.exec(prompt);
  if (tagged) return tagged[1]!.trim();
  return prompt.replace(/<source\s[^>]*>[\s\S]*?<\/source>/g, ' ');
}

/**
 * Answers without a model: picks the retrieved sentences that best match the question (BM25 over sentences)
 * and cites each with `[n]`. Deterministic; reports zero tokens. Reads localkb's source blocks from the last
 * user message, as rendered by renderPromptTemplate.
 */
export class PreviousExtractiveGenerator implements Generator {
  readonly modelId = 'extractive';
  readonly #maxSentences: number;
  readonly #minRelativeScore: number;
  readonly #noAnswerText: string;

  constructor(options: ExtractiveGeneratorOptions = {}) {
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
    const started = performance.now();
    const parts = this.#answerParts(messages, options);
    return this.#generation(parts.join(' '), started);
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent> {
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
    const sentences = parseSources(prompt).flatMap(sentencesOf);
    const queryTerms = extractiveTerms(questionOf(prompt));
    const scores = bm25Scores(sentences, queryTerms);
    const best = Math.max(0, ...scores);
    if (best === 0) return [this.#noAnswerText];
    const ranked = sentences
      .map((sentence, i) => ({ sentence, score: scores[i]! }))
      .filter((entry) => entry.score > 0 && entry.score >= best * this.#minRelativeScore)
      // Ties keep source order, then sentence order: the answer is the same on every run.
      .sort(
        (a, b) =>
          b.score - a.score ||
          a.sentence.sourceId - b.sentence.sourceId ||
          a.sentence.position - b.sentence.position,
      );
    const seen = new Set<string>();
    const parts: string[] = [];
    const charBudget = options.maxTokens === undefined ? Number.POSITIVE_INFINITY : options.maxTokens * 4;
    let used = 0;
    for (const { sentence } of ranked) {
      const key = sentence.text.toLowerCase();
      if (seen.has(key)) continue;
      if (parts.length > 0 && used + sentence.text.length > charBudget) break;
      seen.add(key);
      parts.push(`${sentence.text} [${sentence.sourceId}]`);
      used += sentence.text.length;
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
