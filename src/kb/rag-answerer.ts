import { kbError } from '../errors.js';
import {
  type ChatMessage,
  type CitationFilterEvent,
  CitationMarkerFilter,
  type CitedPart,
  DEFAULT_PROMPT_TEMPLATE,
  ExtractiveGenerator,
  formatSources,
  type GenerateOptions,
  type Generation,
  type Generator,
  renderPromptTemplate,
  stripCitationMarkers,
} from '../generate/index.js';
import { estimateCost } from '../observe/index.js';
import { declareOptions } from '../options.js';
import type { RetrievalResult } from '../types.js';
import { markAnswer, markAnswerStream } from './citation-markers.js';
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

/**
 * Retrieve, prompt, generate, and turn `[n]` markers into Bedrock-shaped citations beside plain text (markers
 * stay in the text only with `citationMarkers: true`).
 */
export class RagAnswerer {
  private readonly sessions = new SessionHistory();
  private readonly generator: Generator;

  constructor(private readonly options: RagAnswererOptions = {}) {
    this.generator = options.generator ?? new ExtractiveGenerator();
  }

  async answer(question: string, options: RetrieveAndGenerateOptions, retrieve: RetrieveFn): Promise<Answer> {
    const prepared = await this.prepare(question, options, retrieve);
    const generation = await this.generator.generate(prepared.messages, prepared.generateOptions);
    const { text, citations } = citationsOf(generation.text, prepared.results);
    const answer = this.finish(question, prepared, generation, text, citations);
    return options.citationMarkers ? markAnswer(answer) : answer;
  }

  answerStream(
    question: string,
    options: RetrieveAndGenerateOptions,
    retrieve: RetrieveFn,
  ): AsyncIterable<AnswerStreamEvent> {
    const events = this.plainStream(question, options, retrieve);
    return options.citationMarkers ? markAnswerStream(events) : events;
  }

  /** Text as the generator streams it, markers removed; each citation right after the text it covers. */
  private async *plainStream(
    question: string,
    options: RetrieveAndGenerateOptions,
    retrieve: RetrieveFn,
  ): AsyncIterable<AnswerStreamEvent> {
    const prepared = await this.prepare(question, options, retrieve);
    yield { type: 'session', sessionId: prepared.sessionId };
    const filter = new CitationMarkerFilter((n) => prepared.results[n - 1] !== undefined);
    const citations: Citation[] = [];
    function* shown(events: CitationFilterEvent[]): Iterable<AnswerStreamEvent> {
      for (const event of events) {
        if (event.type === 'text') {
          yield event;
        } else {
          const citation = citationOf(event.part, prepared.results);
          citations.push(citation);
          yield { type: 'citation', citation };
        }
      }
    }
    let generation: Generation | undefined;
    for await (const event of this.generator.stream(prepared.messages, prepared.generateOptions)) {
      if (event.type === 'text') yield* shown(filter.push(event.text));
      else if (event.type === 'done') generation = event.generation;
    }
    if (!generation) throw kbError('GENERATION_FAILED', 'The generator stream ended without a final result.');
    yield* shown(filter.end());
    yield { type: 'done', answer: this.finish(question, prepared, generation, filter.text, citations) };
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
    text: string,
    citations: Citation[],
  ): Answer {
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
 * Bedrock reports citations as spans of plain answer text with the references that support them. The model
 * marks support with [n] (n: the prompt's source number); each marked part cites those sources. Markers pointing
 * at sources that were not retrieved are dropped rather than invented.
 */
export function citationsOf(
  generated: string,
  results: RetrievalResult[],
): { text: string; citations: Citation[] } {
  const { text, parts } = stripCitationMarkers(generated, (n) => results[n - 1] !== undefined);
  return { text, citations: parts.map((part) => citationOf(part, results)) };
}

function citationOf(part: CitedPart, results: RetrievalResult[]): Citation {
  return { span: part.span, text: part.text, references: part.sourceIds.map((n) => results[n - 1]!) };
}
