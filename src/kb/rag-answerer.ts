import { kbError } from '../errors.js';
import {
  type ChatMessage,
  DEFAULT_PROMPT_TEMPLATE,
  ExtractiveGenerator,
  formatSources,
  type GenerateOptions,
  type Generation,
  type Generator,
  parseCitationMarkers,
  renderPromptTemplate,
  renumberCitationMarkers,
} from '../generate/index.js';
import { estimateCost } from '../observe/index.js';
import { declareOptions } from '../options.js';
import type { RetrievalResult } from '../types.js';
import { SessionHistory } from './sessions.js';
import type {
  Answer,
  AnswerStreamEvent,
  Citation,
  RetrieveAndGenerateOptions,
  RetrieveOptions,
} from './types.js';

export interface RagAnswererOptions {
  /** Who writes the answer. Default: the extractive generator, which needs no model. */
  generator?: Generator;
  /** Default prompt template (Bedrock KB syntax: $search_results$, $query$). */
  promptTemplate?: string;
  /** Chunks retrieved per question. Default 5. */
  k?: number;
}

export const RAG_ANSWERER_OPTIONS = declareOptions<RagAnswererOptions>('generation', {
  generator: 'object',
  promptTemplate: 'string',
  k: 'integer',
});

type RetrieveFn = (query: string, options: RetrieveOptions) => Promise<RetrievalResult[]>;

/** Retrieve, prompt, generate, and turn `[n]` markers into Bedrock-shaped citations. */
export class RagAnswerer {
  private readonly sessions = new SessionHistory();
  private readonly generator: Generator;

  constructor(private readonly options: RagAnswererOptions = {}) {
    this.generator = options.generator ?? new ExtractiveGenerator();
  }

  async answer(question: string, options: RetrieveAndGenerateOptions, retrieve: RetrieveFn): Promise<Answer> {
    const prepared = await this.prepare(question, options, retrieve);
    const generation = await this.generator.generate(prepared.messages, prepared.generateOptions);
    return this.finish(question, prepared, generation);
  }

  async *answerStream(
    question: string,
    options: RetrieveAndGenerateOptions,
    retrieve: RetrieveFn,
  ): AsyncIterable<AnswerStreamEvent> {
    const prepared = await this.prepare(question, options, retrieve);
    yield { type: 'session', sessionId: prepared.sessionId };
    let generation: Generation | undefined;
    for await (const event of this.generator.stream(prepared.messages, prepared.generateOptions)) {
      if (event.type === 'text') yield { type: 'text', text: event.text };
      else if (event.type === 'done') generation = event.generation;
    }
    if (!generation) throw kbError('GENERATION_FAILED', 'The generator stream ended without a final result.');
    const answer = this.finish(question, prepared, generation);
    for (const citation of answer.citations) yield { type: 'citation', citation };
    yield { type: 'done', answer };
  }

  private async prepare(question: string, options: RetrieveAndGenerateOptions, retrieve: RetrieveFn) {
    if (typeof question !== 'string' || question.trim() === '') {
      throw kbError('INVALID_QUERY', 'The question is empty; pass the text to answer.');
    }
    const sessionId = this.sessions.resolve(options.sessionId);
    const results = await retrieve(question, { ...options, k: options.k ?? this.options.k ?? 5 });
    const template = options.promptTemplate ?? this.options.promptTemplate ?? DEFAULT_PROMPT_TEMPLATE;
    const prompt = renderPromptTemplate(template, { query: question, searchResults: formatSources(results) });
    const history: ChatMessage[] = this.sessions
      .turns(sessionId)
      .map((turn) => ({ role: turn.role, content: turn.text }));
    const messages: ChatMessage[] = [...history, { role: 'user', content: prompt }];
    const config = options.inferenceConfig ?? {};
    const generateOptions: GenerateOptions = {
      ...(options.modelId ? { modelId: options.modelId } : {}),
      ...(config.maxTokens !== undefined ? { maxTokens: config.maxTokens } : {}),
      ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
      ...(config.topP !== undefined ? { topP: config.topP } : {}),
      ...(config.stopSequences ? { stopSequences: config.stopSequences } : {}),
      ...(options.guardrail ? { guardrail: options.guardrail } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    return { sessionId, results, messages, generateOptions };
  }

  private finish(
    question: string,
    prepared: { sessionId: string; results: RetrievalResult[] },
    generation: Generation,
  ): Answer {
    const { text, citations } = citationsOf(generation.text, prepared.results);
    this.sessions.append(prepared.sessionId, { role: 'user', text: question }, { role: 'assistant', text });
    const cost = estimateCost(generation.modelId, generation.usage);
    return {
      text,
      citations,
      sessionId: prepared.sessionId,
      usage: generation.usage,
      ...(cost ? { cost } : {}),
      ...(generation.guardrailAction ? { guardrailAction: generation.guardrailAction } : {}),
      retrievalResults: prepared.results,
    };
  }
}

/**
 * Bedrock reports citations as spans of the answer with the references that support them. The model marks
 * support with [n] (n: the prompt's source number); the answer numbers its sources 1..n in the order it first
 * cites them, and each marked span cites those sources. Markers pointing at sources that were not retrieved are
 * dropped rather than invented.
 */
export function citationsOf(
  generated: string,
  results: RetrievalResult[],
): { text: string; citations: Citation[] } {
  const { text, sources } = renumberCitationMarkers(generated, (n) => results[n - 1] !== undefined);
  const citations: Citation[] = [];
  for (const marker of parseCitationMarkers(text)) {
    const references = marker.sourceIds.flatMap((n) => {
      const result = results[(sources[n - 1] ?? 0) - 1];
      return result ? [result] : [];
    });
    if (references.length === 0) continue;
    citations.push({ span: marker.span, text: text.slice(marker.span.start, marker.span.end), references });
  }
  return { text, citations };
}
