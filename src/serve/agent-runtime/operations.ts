/**
 * bedrock-agent-runtime over any KnowledgeBase: Retrieve, RetrieveAndGenerate, RetrieveAndGenerateStream and
 * Rerank. One implementation, used by `startKnowledgeBaseServer` (localkb serve) and by the Bedrock emulator.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isLocalKbError } from '../../errors.js';
import type { AnswerStreamEvent, KnowledgeBase, RetrieveAndGenerateOptions } from '../../kb/types.js';
import type { Reranker } from '../../retrieve/rerank.js';
import type { RetrievalFilter, RetrievalResult } from '../../types.js';
import { AwsServiceError } from '../wire/aws-errors.js';
import { encodeEvent, encodeException } from '../wire/event-stream.js';
import type { WireRequest } from '../wire/http-server.js';
import {
  type CallSubject,
  sendEventStreamFrames,
  sendJson,
  type WireOperation,
  type WireOperationCall,
  type WireRoute,
} from '../wire/operation.js';
import { awsErrorOf } from './aws-error-of.js';
import {
  type GenerateRequest,
  isObject,
  parseJsonBody,
  type RetrievalRequest,
  readGenerateRequest,
  readRerankRequest,
  readRetrieveRequest,
} from './request-body.js';
import { toWireCitation, toWireRetrievalResult } from './wire-shapes.js';

export const SESSION_ID_HEADER = 'x-amzn-bedrock-knowledge-base-session-id';

/** A knowledge base as the agent-runtime operations see it. */
export interface ServedKnowledgeBase {
  knowledgeBase: KnowledgeBase;
  /**
   * Rewrites each result before it is written, e.g. the emulator turns the local file URIs of an S3 data
   * source back into s3:// URIs.
   */
  present?(result: RetrievalResult): RetrievalResult;
  /**
   * Rewrites a request's filter into the knowledge base's own terms, the inverse of `present`: the emulator turns
   * s3:// source URIs back into the local file URIs its store holds, so a filter on what a result shows matches it.
   */
  filter?(filter: RetrievalFilter): RetrievalFilter;
}

export interface AgentRuntimeBackend {
  /** The knowledge base behind an id; throws an AwsServiceError (ResourceNotFoundException) when there is none. */
  knowledgeBase(knowledgeBaseId: string): ServedKnowledgeBase;
  /** The reranker for a rerank model ARN; throws an AwsServiceError when the model cannot rerank here. */
  reranker(modelArn: string): Reranker;
  /**
   * The model id handed to the knowledge base's generator for a request's modelArn; undefined leaves the
   * generator's own model. Default: the modelArn as sent.
   */
  generationModel?(modelArn: string): string | undefined;
  /** Refuses a request's modelArn that names no model (throws an AwsServiceError), before anything is retrieved. */
  checkGenerationModel?(modelArn: string): void;
  /** Most results one Retrieve response carries; the rest follow through nextToken. Default: all of them. */
  retrievePageSize?: number;
}

/** The agent-runtime routes over `backend`, ready for WireRouter.add. */
export function agentRuntimeRoutes(backend: AgentRuntimeBackend): WireRoute[] {
  return [
    ['POST', '/knowledgebases/{knowledgeBaseId}/retrieve', 'Retrieve', retrieveOperation(backend)],
    ['POST', '/retrieveAndGenerate', 'RetrieveAndGenerate', generateOperation(backend)],
    ['POST', '/retrieveAndGenerateStream', 'RetrieveAndGenerateStream', generateStreamOperation(backend)],
    ['POST', '/rerank', 'Rerank', rerankOperation(backend)],
  ];
}

function retrieveOperation(backend: AgentRuntimeBackend): WireOperation {
  return {
    streaming: false,
    subject: (_request, params) => ({
      ids: [params.knowledgeBaseId ?? ''],
      ...(params.knowledgeBaseId === undefined ? {} : { knowledgeBaseId: params.knowledgeBaseId }),
    }),
    async run(call) {
      const body = parseJsonBody(call.request.body);
      const request = readRetrieveRequest(body, call.params.knowledgeBaseId ?? '');
      const served = backend.knowledgeBase(request.knowledgeBaseId);
      const fingerprint = requestFingerprint(body);
      const offset = request.nextToken === undefined ? 0 : readPageToken(request.nextToken, fingerprint);

      let results = await retrieveResults(served, request.text, request);
      if (request.reranking) results = await rerankResults(backend, request.text, results, request);
      const pageSize = backend.retrievePageSize ?? results.length;
      const page = results.slice(offset, offset + Math.max(pageSize, 1));
      const nextOffset = offset + page.length;
      sendJson(call, 200, {
        retrievalResults: page.map((result) => toWireRetrievalResult(present(served, result))),
        ...(nextOffset < results.length ? { nextToken: pageToken(nextOffset, fingerprint) } : {}),
      });
    },
  };
}

async function retrieveResults(
  served: ServedKnowledgeBase,
  text: string,
  request: RetrievalRequest,
): Promise<RetrievalResult[]> {
  try {
    return await served.knowledgeBase.retrieve(text, retrieveOptions(served, request));
  } catch (error) {
    // A managed knowledge base with nothing ingested answers with no results, not an error.
    if (isLocalKbError(error, 'EMPTY_STORE')) return [];
    throw awsErrorOf(error);
  }
}

function retrieveOptions(served: ServedKnowledgeBase, request: RetrievalRequest) {
  return {
    k: request.k,
    ...(request.filter ? { filter: served.filter ? served.filter(request.filter) : request.filter } : {}),
    ...(request.searchType ? { searchType: request.searchType } : {}),
  };
}

/** Bedrock reranks the retrieved results and keeps numberOfRerankedResults, scored by the reranker. */
async function rerankResults(
  backend: AgentRuntimeBackend,
  text: string,
  results: RetrievalResult[],
  request: RetrievalRequest,
): Promise<RetrievalResult[]> {
  if (results.length === 0 || !request.reranking) return results;
  const reranker = backend.reranker(request.reranking.modelArn);
  try {
    const reranked = await reranker.rerank(
      text,
      results.map((result, index) => ({ id: String(index), text: result.content.text })),
      { topN: Math.min(request.reranking.numberOfRerankedResults ?? results.length, results.length) },
    );
    return reranked.map((item) => ({ ...results[item.index]!, score: item.score }));
  } catch (error) {
    throw awsErrorOf(error);
  }
}

function present(served: ServedKnowledgeBase, result: RetrievalResult): RetrievalResult {
  return served.present ? served.present(result) : result;
}

/** Ties a nextToken to the request it continues, so a token cannot page through another query. */
function requestFingerprint(body: Record<string, unknown>): string {
  const { nextToken: _ignored, ...rest } = body;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

function pageToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ offset, fingerprint })).toString('base64url');
}

function readPageToken(token: string, fingerprint: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      isObject(parsed) &&
      parsed.fingerprint === fingerprint &&
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return parsed.offset;
    }
  } catch {
    // reported below
  }
  throw new AwsServiceError(
    'ValidationException',
    'The nextToken is invalid: it must come from the previous response to the same request.',
  );
}

function generateSubject(request: WireRequest): CallSubject {
  try {
    const body = JSON.parse(request.body.toString('utf8'));
    const configuration = body?.retrieveAndGenerateConfiguration?.knowledgeBaseConfiguration;
    const ids = [configuration?.knowledgeBaseId, configuration?.modelArn].filter(
      (id): id is string => typeof id === 'string',
    );
    return {
      ids,
      ...(typeof configuration?.knowledgeBaseId === 'string'
        ? { knowledgeBaseId: configuration.knowledgeBaseId }
        : {}),
      ...(typeof configuration?.modelArn === 'string' ? { modelId: configuration.modelArn } : {}),
    };
  } catch {
    return { ids: [] };
  }
}

interface PreparedGeneration {
  served: ServedKnowledgeBase;
  request: GenerateRequest;
  options: RetrieveAndGenerateOptions;
}

function prepareGeneration(backend: AgentRuntimeBackend, call: WireOperationCall): PreparedGeneration {
  const request = readGenerateRequest(parseJsonBody(call.request.body));
  const served = backend.knowledgeBase(request.knowledgeBaseId);
  backend.checkGenerationModel?.(request.modelArn);
  const modelId = backend.generationModel ? backend.generationModel(request.modelArn) : request.modelArn;
  // The knowledge base issues session ids and refuses ones it did not issue, as Bedrock does.
  const options: RetrieveAndGenerateOptions = {
    ...retrieveOptions(served, request.retrieval),
    ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
    ...(modelId === undefined ? {} : { modelId }),
    ...(request.promptTemplate === undefined ? {} : { promptTemplate: request.promptTemplate }),
    ...(request.inferenceConfig ? { inferenceConfig: request.inferenceConfig } : {}),
    ...(request.guardrail ? { guardrail: request.guardrail } : {}),
  };
  return { served, request, options };
}

function generateOperation(backend: AgentRuntimeBackend): WireOperation {
  return {
    streaming: false,
    subject: generateSubject,
    async run(call) {
      const { served, request, options } = prepareGeneration(backend, call);
      let answer: Awaited<ReturnType<KnowledgeBase['retrieveAndGenerate']>>;
      try {
        answer = await served.knowledgeBase.retrieveAndGenerate(request.text, options);
      } catch (error) {
        throw awsErrorOf(error);
      }
      const presentCitation = (citation: (typeof answer.citations)[number]) =>
        toWireCitation({ ...citation, references: citation.references.map((r) => present(served, r)) });
      sendJson(call, 200, {
        sessionId: answer.sessionId,
        output: { text: answer.text },
        citations: answer.citations.map(presentCitation),
        ...(request.guardrail ? { guardrailAction: answer.guardrailAction ?? 'NONE' } : {}),
      });
    },
  };
}

function generateStreamOperation(backend: AgentRuntimeBackend): WireOperation {
  return {
    streaming: true,
    subject: generateSubject,
    async run(call) {
      const { served, request, options } = prepareGeneration(backend, call);
      let events: AsyncIterator<AnswerStreamEvent>;
      let first: IteratorResult<AnswerStreamEvent>;
      try {
        events = served.knowledgeBase
          .retrieveAndGenerateStream(request.text, options)
          [Symbol.asyncIterator]();
        // The session id goes in a header ahead of every event; the stream opens with it. Errors so far
        // (a refused session, a bad filter) are answered as HTTP errors.
        first = await events.next();
      } catch (error) {
        throw awsErrorOf(error);
      }
      let sessionId = request.sessionId ?? randomUUID();
      let pending: AnswerStreamEvent | undefined;
      if (!first.done && first.value.type === 'session') sessionId = first.value.sessionId;
      else if (!first.done) pending = first.value;
      async function* remaining(): AsyncGenerator<AnswerStreamEvent> {
        if (pending) yield pending;
        if (first.done) return;
        let finished = false;
        try {
          for (let step = await events.next(); !step.done; step = await events.next()) yield step.value;
          finished = true;
        } finally {
          // a client that hangs up stops the knowledge base's stream too
          if (!finished) await events.return?.();
        }
      }
      async function* frames(): AsyncGenerator<Buffer> {
        try {
          for await (const event of remaining()) {
            if (event.type === 'session') continue;
            if (event.type === 'text') {
              if (event.text !== '') yield encodeEvent('output', { text: event.text });
            } else if (event.type === 'citation') {
              const wire = toWireCitation({
                ...event.citation,
                references: event.citation.references.map((r) => present(served, r)),
              });
              // `citation` is the deprecated member SDKs still read; the flattened fields are its successor.
              yield encodeEvent('citation', { citation: wire, ...wire });
            } else if (request.guardrail) {
              yield encodeEvent('guardrail', { action: event.answer.guardrailAction ?? 'NONE' });
            }
          }
        } catch (error) {
          throw awsErrorOf(error);
        }
      }
      // RetrieveAndGenerateStreamResponseOutput models no modelStreamErrorException: a model failing mid-answer
      // is a failed dependency of the knowledge base.
      await sendEventStreamFrames(
        call,
        { [SESSION_ID_HEADER]: sessionId },
        frames(),
        (error) => {
          const aws = awsErrorOf(error);
          return encodeException(aws.errorType, { message: aws.message });
        },
        'dependencyFailedException',
      );
    },
  };
}

function rerankOperation(backend: AgentRuntimeBackend): WireOperation {
  return {
    streaming: false,
    subject: (request) => {
      try {
        const modelArn = JSON.parse(request.body.toString('utf8'))?.rerankingConfiguration
          ?.bedrockRerankingConfiguration?.modelConfiguration?.modelArn;
        return typeof modelArn === 'string' ? { ids: [modelArn], modelId: modelArn } : { ids: [] };
      } catch {
        return { ids: [] };
      }
    },
    async run(call) {
      const request = readRerankRequest(parseJsonBody(call.request.body));
      if (request.nextToken !== undefined) {
        throw new AwsServiceError(
          'ValidationException',
          'The nextToken is invalid: this server answers Rerank in one page.',
        );
      }
      const reranker = backend.reranker(request.modelArn);
      let ranked: Awaited<ReturnType<Reranker['rerank']>>;
      try {
        ranked = await reranker.rerank(
          request.query,
          request.documents.map((text, index) => ({ id: String(index), text })),
          { topN: request.numberOfResults },
        );
      } catch (error) {
        throw awsErrorOf(error);
      }
      sendJson(call, 200, {
        results: ranked.map((item) => ({ index: item.index, relevanceScore: item.score })),
      });
    },
  };
}
