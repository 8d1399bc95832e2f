/**
 * What the playground page asks of a knowledge base, one method per view action. Inputs arrive as parsed JSON
 * and are checked here field by field; everything goes through the KnowledgeBase interface (plus, where a
 * knowledge base has them, document listing and the prompt library).
 */
import { statSync } from 'node:fs';
import { isLocalKbError, kbError } from '../errors.js';
import { DEFAULT_PROMPT_TEMPLATE, type Generator, renderPromptTemplate } from '../generate/index.js';
import { BedrockKnowledgeBase } from '../kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../kb/local-knowledge-base.js';
import type { Answer, AnswerStreamEvent, KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { type HybridCandidate, type Reranker, validateFilter } from '../retrieve/index.js';
import type { PromptLibrary, PromptVersion } from '../store/prompt-library.js';
import type { StoredDocument } from '../store/sqlite-store.js';
import type { RetrievalResult, SearchType } from '../types.js';
import { type AnswerLatency, answerOnContext, timeAnswer } from './answer-runner.js';
import { evalRunsOf } from './eval-report.js';
import { queryHighlights, type TextRange } from './query-highlights.js';
import {
  type Fields,
  fieldsOf,
  optionalBoolean,
  optionalChoice,
  optionalInteger,
  optionalString,
  requiredArray,
  requiredString,
} from './request-fields.js';

/** A generator the page can pick: made per call, so each call may name its own model. */
export interface PlaygroundGenerator {
  /** `model` is what the page asked for, or undefined for the generator's default. */
  create(model: string | undefined): Generator;
  /** Models the page suggests for this generator. */
  models?: readonly string[];
  /** A few words shown beside the name ("offline, no model", "Amazon Bedrock Converse"). */
  description?: string;
}

export interface PlaygroundApiOptions {
  knowledgeBase: KnowledgeBase;
  description: string;
  generators: Readonly<Record<string, PlaygroundGenerator>>;
  /** Reranks a local knowledge base's results when the page turns reranking on. */
  reranker?: Reranker;
  /** A Bedrock rerank model for a managed knowledge base's Retrieve. */
  rerankModelId?: string;
  prompts: PromptLibrary;
}

/** The name under which a managed knowledge base answers itself (Bedrock RetrieveAndGenerate). */
export const KNOWLEDGE_BASE_GENERATOR = 'knowledge-base';

const SEARCH_TYPES: readonly SearchType[] = ['semantic', 'bm25', 'hybrid'];
const RETRIEVAL_FIELDS = ['searchType', 'k', 'filter', 'rerank'] as const;
/** Bedrock's numberOfResults maximum; the page offers the same range for both knowledge bases. */
export const MAX_K = 100;
const MAX_QUESTION_SET = 50;
const MAX_VARIANTS = 4;

/** A retrieved chunk as the page shows it: the result plus where the query's words are in its text. */
export type PlaygroundResult = RetrievalResult & { highlights: TextRange[] };

/** One side of a comparison: a generator (and model) with a prompt. */
interface Variant {
  generatorName: string;
  generator: Generator;
  promptTemplate: string | undefined;
  version: PromptVersion | undefined;
  label: string | undefined;
}

interface DocumentCatalogue {
  listDocuments(): Promise<StoredDocument[]>;
  getDocument(id: string): Promise<StoredDocument | undefined>;
}

export class PlaygroundApi {
  readonly #kb: KnowledgeBase;
  readonly #options: PlaygroundApiOptions;
  readonly #documents: DocumentCatalogue | undefined;

  constructor(options: PlaygroundApiOptions) {
    this.#kb = options.knowledgeBase;
    this.#options = options;
    const candidate = options.knowledgeBase as Partial<DocumentCatalogue>;
    this.#documents =
      typeof candidate.listDocuments === 'function' && typeof candidate.getDocument === 'function'
        ? (candidate as DocumentCatalogue)
        : undefined;
  }

  get #managed(): boolean {
    return this.#kb instanceof BedrockKnowledgeBase;
  }

  /** What the page needs to draw its controls. */
  info() {
    const generators = Object.entries(this.#options.generators).map(([name, g]) => ({
      name,
      models: g.models ?? [],
      ...(g.description ? { description: g.description } : {}),
    }));
    if (this.#managed) {
      generators.unshift({
        name: KNOWLEDGE_BASE_GENERATOR,
        models: [],
        description: 'the knowledge base answers itself (Bedrock RetrieveAndGenerate)',
      });
    }
    const reranker = this.#options.reranker?.id ?? this.#options.rerankModelId;
    return {
      kind: this.#managed ? 'managed' : 'local',
      description: this.#options.description,
      searchTypes: this.#searchTypes(),
      maxK: MAX_K,
      reranker: reranker ? { id: reranker } : null,
      generators,
      defaultPromptTemplate: DEFAULT_PROMPT_TEMPLATE,
      promptsPersistent: this.#options.prompts.persistent,
      documents: this.#documents !== undefined,
    };
  }

  #searchTypes(): SearchType[] {
    if (this.#managed) return ['semantic', 'hybrid'];
    if (this.#kb instanceof LocalKnowledgeBase && !this.#kb.embedder) return ['bm25'];
    return [...SEARCH_TYPES];
  }

  // ——— search ———

  async retrieve(body: unknown, signal: AbortSignal) {
    const fields = fieldsOf(body, ['query', ...RETRIEVAL_FIELDS]);
    const query = requiredString(fields, 'query');
    const started = performance.now();
    const results = await this.#retrieve(query, fields, signal);
    const latencyMs = performance.now() - started;
    const sides = await this.#hybridSides(query, fields, signal);
    const shown = withHighlights(query, results).map((result) => {
      const found = sides && sideOf(sides, result);
      return found ? { ...result, sides: found } : result;
    });
    return { results: shown, latencyMs };
  }

  /**
   * For a hybrid search of a local knowledge base: what each side made of every fused unit (its rank in that
   * side's list and its [0, 1] score), from the knowledge base's own hybridCandidates. Timed apart from the search.
   */
  async #hybridSides(query: string, fields: Fields, signal: AbortSignal) {
    const kb = this.#kb as Partial<Pick<LocalKnowledgeBase, 'hybridCandidates'>>;
    if (typeof kb.hybridCandidates !== 'function') return undefined;
    const { searchType, k, filter } = this.#retrieveOptions(fields);
    const hybrid =
      searchType === undefined ? this.#searchTypes().includes('hybrid') : searchType === 'hybrid';
    if (!hybrid) return undefined;
    const candidates = await kb.hybridCandidates(query, {
      ...(k ? { k } : {}),
      ...(filter ? { filter } : {}),
      signal,
    });
    return new Map(candidates.map((c) => [c.id, c]));
  }

  /** Validates a filter being typed, with the library's own messages. */
  validateFilter(body: unknown) {
    const text = optionalString(fieldsOf(body, ['text']), 'text', { max: 200_000, nonEmpty: false });
    if (text === undefined) {
      throw kbError('INVALID_OPTION', 'body.text is required: the filter JSON as typed ("" for none).', {
        input: 'body.text',
      });
    }
    try {
      return { valid: true, filter: parseFilter(text) };
    } catch (error) {
      return { valid: false, error: errorBody(error) };
    }
  }

  async #retrieve(query: string, fields: Fields, signal: AbortSignal): Promise<RetrievalResult[]> {
    return this.#kb.retrieve(query, { ...this.#retrieveOptions(fields), signal });
  }

  #retrieveOptions(fields: Fields): RetrieveOptions & Record<string, unknown> {
    const searchType = optionalChoice(fields, 'searchType', SEARCH_TYPES);
    const k = optionalInteger(fields, 'k', { min: 1, max: MAX_K });
    const filter =
      fields.filter === undefined || fields.filter === null ? undefined : validateFilter(fields.filter);
    const rerank = optionalBoolean(fields, 'rerank') ?? false;
    const options: RetrieveOptions & Record<string, unknown> = {
      ...(searchType ? { searchType } : {}),
      ...(k ? { k } : {}),
      ...(filter ? { filter } : {}),
    };
    if (!rerank) return options;
    if (this.#options.reranker) return { ...options, reranker: this.#options.reranker };
    if (this.#options.rerankModelId)
      return { ...options, reranking: { modelId: this.#options.rerankModelId } };
    throw kbError(
      'INVALID_OPTION',
      'This playground has no reranker; start it with --rerank <model> to turn reranking on.',
      { input: 'body.rerank' },
    );
  }

  async document(id: string | null) {
    if (id === null || id === '') {
      throw kbError('INVALID_OPTION', 'Name the document: /api/document?id=<document id>.', { input: 'id' });
    }
    if (!this.#documents) {
      throw kbError(
        'DOCUMENT_NOT_FOUND',
        'A managed knowledge base does not hand back whole documents; open the source location instead.',
        { input: id },
      );
    }
    const document = await this.#documents.getDocument(id);
    if (!document) {
      throw kbError(
        'DOCUMENT_NOT_FOUND',
        `No document with id ${JSON.stringify(id)} in this knowledge base.`,
        {
          input: id,
        },
      );
    }
    const { rowId: _rowId, ...shown } = document;
    return shown;
  }

  // ——— answers ———

  /** Retrieves, then streams one answer: 'sources' first, then the answer's own events, then 'done'. */
  async ask(
    body: unknown,
    signal: AbortSignal,
    send: (event: Record<string, unknown>) => void,
  ): Promise<void> {
    const fields = fieldsOf(body, [
      'question',
      'generator',
      'model',
      'promptTemplate',
      'promptVersionId',
      ...RETRIEVAL_FIELDS,
    ]);
    const question = requiredString(fields, 'question');
    const generatorName = requiredString(fields, 'generator', { max: 100 });
    const model = optionalString(fields, 'model', { max: 2048 });
    const promptTemplate = this.#promptTemplateOf(fields, 'body');
    const forward = (event: AnswerStreamEvent) => {
      if (event.type === 'text') send({ type: 'text', text: event.text });
      else if (event.type === 'citation') send({ type: 'citation', citation: event.citation });
    };
    const started = performance.now();
    if (generatorName === KNOWLEDGE_BASE_GENERATOR && this.#managed) {
      const { answer, latency } = await timeAnswer(
        this.#kb.retrieveAndGenerateStream(question, {
          ...this.#retrieveOptions(fields),
          ...(model ? { modelId: model } : {}),
          ...(promptTemplate ? { promptTemplate } : {}),
          signal,
        }),
        forward,
      );
      send({ type: 'sources', results: withHighlights(question, answer.retrievalResults) });
      send(doneEvent(answer, { generator: generatorName, model }, latency));
      return;
    }
    const generator = this.#generator(generatorName, model, 'body');
    const results = await this.#retrieve(question, fields, signal);
    const retrieveMs = performance.now() - started;
    send({ type: 'sources', results: withHighlights(question, results), retrieveMs });
    const { answer, latency } = await answerOnContext(
      generator,
      question,
      results,
      { ...(promptTemplate ? { promptTemplate } : {}), signal },
      forward,
    );
    send(
      doneEvent(answer, { generator: generatorName, model: generator.modelId }, { ...latency, retrieveMs }),
    );
  }

  /** One question, one retrieval, several prompt/model variants answered on that same context. */
  async compare(body: unknown, signal: AbortSignal) {
    const fields = fieldsOf(body, ['question', 'variants', ...RETRIEVAL_FIELDS]);
    const question = requiredString(fields, 'question');
    const variants = requiredArray(fields, 'variants', { min: 1, max: MAX_VARIANTS }).map((entry, i) =>
      this.#variantOf(entry, `body.variants[${i}]`),
    );
    const started = performance.now();
    const results = await this.#retrieve(question, fields, signal);
    const retrieveMs = performance.now() - started;
    const answers = [];
    // One after another, so each variant's latency is its own and not a share of the machine.
    for (const variant of variants) {
      answers.push(await this.#answerVariant(variant, question, results, signal));
    }
    return { question, context: withHighlights(question, results), retrieveMs, answers };
  }

  #variantOf(entry: unknown, where: string): Variant {
    const fields = fieldsOf(
      entry,
      ['generator', 'model', 'promptTemplate', 'promptVersionId', 'label'],
      where,
    );
    const generatorName = requiredString(fields, 'generator', { where, max: 100 });
    const model = optionalString(fields, 'model', { where, max: 2048 });
    const label = optionalString(fields, 'label', { where, max: 200 });
    const version = this.#promptVersionOf(fields, where);
    const promptTemplate = version?.template ?? this.#promptTemplateOf(fields, where);
    const generator = this.#generator(generatorName, model, where);
    return { generatorName, generator, promptTemplate, version, label };
  }

  async #answerVariant(variant: Variant, question: string, results: RetrievalResult[], signal: AbortSignal) {
    const shown = {
      generator: variant.generatorName,
      model: variant.generator.modelId,
      ...(variant.label ? { label: variant.label } : {}),
      ...(variant.version ? { promptVersion: versionLabel(variant.version) } : {}),
    };
    try {
      const { answer, latency } = await answerOnContext(variant.generator, question, results, {
        ...(variant.promptTemplate ? { promptTemplate: variant.promptTemplate } : {}),
        signal,
      });
      return { ...shown, ...answerBody(answer), latency };
    } catch (error) {
      // One failing model (no credentials, throttled) must not hide the other side's answer.
      return { ...shown, error: errorBody(error) };
    }
  }

  #generator(name: string, model: string | undefined, where: string): Generator {
    const entry = Object.hasOwn(this.#options.generators, name) ? this.#options.generators[name] : undefined;
    if (!entry) {
      const names = Object.keys(this.#options.generators);
      throw kbError(
        'INVALID_OPTION',
        `${where}.generator must be one of ${names.join(', ')}${this.#managed ? ` (or ${KNOWLEDGE_BASE_GENERATOR} in the ask view)` : ''}, got ${JSON.stringify(name)}.`,
        { input: `${where}.generator` },
      );
    }
    return entry.create(model);
  }

  #promptTemplateOf(fields: Fields, where: string): string | undefined {
    const version = this.#promptVersionOf(fields, where);
    const template = optionalString(fields, 'promptTemplate', { where, max: 100_000 });
    if (version && template !== undefined) {
      throw kbError('INVALID_OPTION', `${where}: give promptTemplate or promptVersionId, not both.`, {
        input: `${where}.promptTemplate`,
      });
    }
    if (template !== undefined) checkTemplate(template, `${where}.promptTemplate`);
    return version?.template ?? template;
  }

  #promptVersionOf(fields: Fields, where: string): PromptVersion | undefined {
    const id = optionalInteger(fields, 'promptVersionId', { where, min: 1, max: Number.MAX_SAFE_INTEGER });
    if (id === undefined) return undefined;
    const version = this.#options.prompts.getVersion(id);
    if (!version) {
      throw kbError('INVALID_OPTION', `${where}.promptVersionId ${id} is not a saved prompt version.`, {
        input: `${where}.promptVersionId`,
      });
    }
    return version;
  }

  // ——— prompt lab ———

  promptVersions() {
    return { persistent: this.#options.prompts.persistent, versions: this.#options.prompts.listVersions() };
  }

  savePromptVersion(body: unknown) {
    const fields = fieldsOf(body, ['name', 'template']);
    const name = requiredString(fields, 'name', { max: 200 });
    const template = requiredString(fields, 'template', { max: 100_000 });
    checkTemplate(template, 'body.template');
    return this.#options.prompts.saveVersion(name, template);
  }

  promptRuns() {
    return { runs: this.#options.prompts.listRuns() };
  }

  promptRun(id: number) {
    const run = this.#options.prompts.getRun(id);
    if (!run) throw kbError('INVALID_OPTION', `No prompt run with id ${id}.`, { input: 'id' });
    return run;
  }

  /** Runs one version over a question set, one question after another, and keeps the results. */
  async runQuestionSet(body: unknown, signal: AbortSignal) {
    const fields = fieldsOf(body, [
      'promptVersionId',
      'generator',
      'model',
      'questions',
      ...RETRIEVAL_FIELDS,
    ]);
    const version = this.#promptVersionOf(fields, 'body');
    if (!version) {
      throw kbError('INVALID_OPTION', 'body.promptVersionId is required: save the version you want to run.', {
        input: 'body.promptVersionId',
      });
    }
    const questions = requiredArray(fields, 'questions', { min: 1, max: MAX_QUESTION_SET }).map((q, i) => {
      if (typeof q !== 'string' || q.trim() === '' || q.length > 10_000) {
        throw kbError('INVALID_OPTION', `body.questions[${i}] must be a non-empty question.`, {
          input: `body.questions[${i}]`,
        });
      }
      return q.trim();
    });
    const generatorName = requiredString(fields, 'generator', { max: 100 });
    const model = optionalString(fields, 'model', { max: 2048 });
    const generator = this.#generator(generatorName, model, 'body');
    const retrieval = this.#retrieveOptions(fields);
    const results = [];
    for (const question of questions) {
      signal.throwIfAborted();
      try {
        const retrieved = await this.#kb.retrieve(question, { ...retrieval, signal });
        const { answer, latency } = await answerOnContext(generator, question, retrieved, {
          promptTemplate: version.template,
          signal,
        });
        results.push({
          question,
          text: answer.text,
          citations: answer.citations.length,
          sources: retrieved.map((r) => ({
            documentId: r.documentId,
            uri: r.location.uri,
            ...(r.location.page === undefined ? {} : { page: r.location.page }),
            score: r.score,
          })),
          ...(answer.usage ? { usage: answer.usage } : {}),
          ...(answer.cost ? { cost: answer.cost } : {}),
          latency,
        });
      } catch (error) {
        if (signal.aborted) throw error;
        results.push({ question, error: errorBody(error) });
      }
    }
    const { reranker: _reranker, reranking: _reranking, ...settings } = retrieval;
    return this.#options.prompts.saveRun({
      promptVersionId: version.id,
      settings: {
        promptVersion: versionLabel(version),
        generator: generatorName,
        model: generator.modelId,
        ...settings,
        rerank: optionalBoolean(fields, 'rerank') ?? false,
      },
      results,
    });
  }

  // ——— evaluation ———

  evalReport(body: unknown) {
    const fields = fieldsOf(body, ['file', 'report']);
    const file = requiredString(fields, 'file', { max: 500 });
    return { runs: evalRunsOf(fields.report, file) };
  }

  // ——— store ———

  async store() {
    const stats = await this.#kb.stats();
    const storePath = typeof stats.path === 'string' ? stats.path : undefined;
    const indexBytes = storePath ? fileSize(`${storePath}.hnsw`) : undefined;
    return {
      kind: this.#managed ? 'managed' : 'local',
      description: this.#options.description,
      stats,
      ...(indexBytes === undefined ? {} : { indexBytes }),
    };
  }

  /** One page of the stored documents (without their text), in ingest order. */
  async documents(offsetParameter: string | null, limitParameter: string | null) {
    const offset = offsetParameter === null ? 0 : countParameter(offsetParameter, 'offset', 0);
    const limit = limitParameter === null ? 100 : countParameter(limitParameter, 'limit', 1, 1000);
    if (!this.#documents) return { listed: false, total: 0, offset, documents: [] };
    const documents = await this.#documents.listDocuments();
    return {
      listed: true,
      total: documents.length,
      offset,
      documents: documents
        .slice(offset, offset + limit)
        .map(({ rowId: _rowId, text: _text, ...shown }) => shown),
    };
  }

  async deleteDocument(id: string | null) {
    if (id === null || id.trim() === '') {
      throw kbError(
        'INVALID_OPTION',
        'Name the document to delete: DELETE /api/documents?id=<document id>.',
        {
          input: 'id',
        },
      );
    }
    const deleted = await this.#kb.delete(id);
    if (!deleted) {
      throw kbError('DOCUMENT_NOT_FOUND', `No document with id ${JSON.stringify(id)} to delete.`, {
        input: id,
      });
    }
    return { deleted };
  }
}

/** Filter text as typed: blank means no filter; otherwise JSON checked by the library's validateFilter. */
export function parseFilter(text: string): unknown {
  if (text.trim() === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw kbError('INVALID_FILTER', `The filter is not valid JSON: ${(error as Error).message}.`, {
      input: 'filter',
    });
  }
  return validateFilter(parsed);
}

/** The library's own check of a template ($search_results$ required), naming the field at fault. */
function checkTemplate(template: string, input: string): void {
  try {
    renderPromptTemplate(template, { query: 'check', searchResults: [] });
  } catch (error) {
    throw kbError('INVALID_OPTION', (error as Error).message, { input, cause: error });
  }
}

function withHighlights(query: string, results: RetrievalResult[]): PlaygroundResult[] {
  const highlights = queryHighlights(
    query,
    results.map((r) => r.content.text),
  );
  return results.map((result, i) => ({ ...result, highlights: highlights[i] ?? [] }));
}

/** A result's unit among hybrid candidates: its passage, its section, or (document level) its document. */
function sideOf(candidates: Map<string, HybridCandidate>, result: RetrievalResult) {
  const candidate =
    candidates.get(`p${result.chunkId}`) ??
    candidates.get(`s${result.section?.chunkId ?? result.chunkId}`) ??
    candidates.get(result.documentId);
  if (!candidate) return undefined;
  const side = (rank: number | undefined, score: number | undefined) =>
    score === undefined ? undefined : { ...(rank === undefined ? {} : { rank }), score };
  return {
    semantic: side(candidate.semanticRank, candidate.semantic),
    bm25: side(candidate.bm25Rank, candidate.bm25),
  };
}

function answerBody(answer: Answer) {
  return {
    text: answer.text,
    citations: answer.citations,
    ...(answer.usage ? { usage: answer.usage } : {}),
    ...(answer.cost ? { cost: answer.cost } : {}),
    ...(answer.guardrailAction ? { guardrailAction: answer.guardrailAction } : {}),
  };
}

function doneEvent(
  answer: Answer,
  who: { generator: string; model: string | undefined },
  latency: AnswerLatency & { retrieveMs?: number },
) {
  return { type: 'done', ...who, answer: answerBody(answer), latency };
}

function versionLabel(version: PromptVersion) {
  return { id: version.id, name: version.name, version: version.version };
}

/** A LocalKbError as the page reads it; anything else is a bug, shown with its message. */
export function errorBody(error: unknown): { code: string; message: string; input?: string } {
  if (isLocalKbError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.input === undefined ? {} : { input: error.input }),
    };
  }
  return { code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
}

/** A whole number from a query string, within [min, max]. */
function countParameter(raw: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw);
  if (!/^\d{1,16}$/.test(raw) || value < min || value > max) {
    throw kbError(
      'INVALID_OPTION',
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}.`,
      {
        input: name,
      },
    );
  }
  return value;
}

function fileSize(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}
