import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { kbError } from '../errors.js';
import {
  type FoundationModelInput,
  ModelCatalogue,
  modelIdentifierMessage,
} from '../generate/model-catalogue/index.js';
import type { KnowledgeBase } from '../kb/types.js';
import { checkOptions, declareOptions } from '../options.js';
import { BEDROCK_RERANK_MODELS } from '../retrieve/bedrock-reranker.js';
import type { Reranker } from '../retrieve/rerank.js';
import { type AgentRuntimeBackend, agentRuntimeRoutes } from './agent-runtime/operations.js';
import { AwsServiceError } from './wire/aws-errors.js';
import type { WireServerLimits } from './wire/connection-guard.js';
import { startWireServer, type WireRequest, type WireResponse } from './wire/http-server.js';
import type { WireOperation } from './wire/operation.js';
import {
  type AwsCredentialPair,
  authenticateHead,
  checkListenerExposure,
  signingRegion,
} from './wire/request-auth.js';
import { WireRouter } from './wire/router.js';

export interface KnowledgeBaseServerOptions {
  knowledgeBase: KnowledgeBase;
  /**
   * The one knowledge base id this server answers for (10 letters or digits, as Bedrock's are); other ids get
   * ResourceNotFoundException. Default: derived from the store's path (stable across restarts), or random for a
   * knowledge base without one. The server's `knowledgeBaseId` says which.
   */
  knowledgeBaseId?: string;
  /**
   * Models to add to the catalogue RetrieveAndGenerate's modelArn is checked against (new models, your own
   * entries); unknown ids are refused with Bedrock's ValidationException.
   */
  models?: FoundationModelInput[];
  /** Default 127.0.0.1. Any other address needs `credentials` (or `allowUnauthenticated`). */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** When set, every request must be SigV4-signed (service `bedrock`) with one of these keys. */
  credentials?: AwsCredentialPair | readonly AwsCredentialPair[];
  /** The region signatures must be scoped to. Default: AWS_REGION, else us-east-1. */
  region?: string;
  /** Answers Rerank and Retrieve's rerankingConfiguration, whichever rerank model the client names. */
  reranker?: Reranker;
  /**
   * Which model writes RetrieveAndGenerate answers: 'request' hands the request's modelArn to the knowledge
   * base's generator (a Bedrock generator then calls that model); 'generator' keeps the generator's own model.
   * Default 'request'.
   */
  generationModel?: 'request' | 'generator';
  /** Most results per Retrieve response; more follow through nextToken. Default: all in one response. */
  retrievePageSize?: number;
  /** Listen beyond loopback without credentials. Default false. */
  allowUnauthenticated?: boolean;
  /**
   * Request body size (default 20 MiB), head timeout (15 s), idle-connection timeout (60 s) and connection cap
   * (512); requests beyond them are refused or their connections closed.
   */
  limits?: Partial<WireServerLimits>;
}

export const KNOWLEDGE_BASE_SERVER_OPTIONS = declareOptions<KnowledgeBaseServerOptions>(
  'startKnowledgeBaseServer',
  {
    knowledgeBase: 'object',
    knowledgeBaseId: 'string',
    host: 'string',
    port: 'integer',
    credentials: ['object', 'array'],
    region: 'string',
    reranker: 'object',
    models: 'array',
    generationModel: 'string',
    retrievePageSize: 'integer',
    allowUnauthenticated: 'boolean',
    limits: declareOptions<Partial<WireServerLimits>>('limits', {
      maxBodyBytes: 'integer',
      headersTimeoutMs: 'integer',
      idleTimeoutMs: 'integer',
      maxConnections: 'integer',
    }),
  },
  { kb: 'knowledgeBase' },
);

export interface KnowledgeBaseServer {
  /** e.g. http://127.0.0.1:43123 — pass it as `endpoint` to BedrockAgentRuntimeClient. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** The knowledge base id clients must name. */
  readonly knowledgeBaseId: string;
  /** The region signatures must be scoped to. */
  readonly region: string;
  /** Stops listening and drops open connections; the knowledge base stays open (the caller owns it). */
  close(): Promise<void>;
}

/** bedrock-agent's knowledge base Id shape: exactly what Retrieve's KnowledgeBaseIdentifier accepts. */
const KNOWLEDGE_BASE_ID = /^[0-9a-zA-Z]{10}$/;

/**
 * Serves a knowledge base over the bedrock-agent-runtime wire protocol (Retrieve, RetrieveAndGenerate,
 * RetrieveAndGenerateStream, Rerank; HTTP/1.1 and h2c on one port), so code written for a managed Bedrock
 * Knowledge Base runs unchanged with `new BedrockAgentRuntimeClient({ endpoint })`.
 */
export async function startKnowledgeBaseServer(
  options: KnowledgeBaseServerOptions,
): Promise<KnowledgeBaseServer> {
  const credentials = validateServerOptions(options);
  const region = signingRegion(options.region);
  const servedId = options.knowledgeBaseId ?? derivedKnowledgeBaseId(options.knowledgeBase);
  const catalogue = new ModelCatalogue(options.models === undefined ? {} : { models: options.models });
  const backend: AgentRuntimeBackend = {
    knowledgeBase(knowledgeBaseId) {
      if (knowledgeBaseId !== servedId) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Knowledge base ${knowledgeBaseId} is not served here; this server serves ${servedId}.`,
          404,
        );
      }
      return { knowledgeBase: options.knowledgeBase };
    },
    reranker(modelArn) {
      checkRerankModel(modelArn);
      if (!options.reranker) {
        throw new AwsServiceError(
          'ValidationException',
          'This localkb server has no reranker; start it with the `reranker` option (localkb serve --rerank cross-encoder) to answer reranking requests.',
        );
      }
      return options.reranker;
    },
    checkGenerationModel: (modelArn) => checkModelArn(catalogue, modelArn, region),
    ...(options.generationModel === 'generator' ? { generationModel: () => undefined } : {}),
    ...(options.retrievePageSize === undefined ? {} : { retrievePageSize: options.retrievePageSize }),
  };
  const router = new WireRouter<WireOperation>();
  for (const [method, pattern, operation, implementation] of agentRuntimeRoutes(backend)) {
    router.add(method, pattern, operation, implementation);
  }

  async function handle(request: WireRequest, response: WireResponse): Promise<void> {
    let match: ReturnType<typeof router.match>;
    try {
      match = router.match(request.method, request.rawPath);
    } catch {
      throw new AwsServiceError(
        'ValidationException',
        `The path ${request.rawPath} has an invalid percent-encoding.`,
      );
    }
    if (!match) {
      throw new AwsServiceError(
        'UnknownOperationException',
        `No bedrock-agent-runtime operation at ${request.method} ${request.rawPath}; localkb serves Retrieve, ` +
          'RetrieveAndGenerate, RetrieveAndGenerateStream and Rerank.',
      );
    }
    await match.handler.run({ request, response, params: match.params });
  }

  const server = await startWireServer({
    host: options.host ?? '127.0.0.1',
    ...(options.port === undefined ? {} : { port: options.port }),
    handler: handle,
    authenticate: (head) => authenticateHead(head, { service: 'bedrock', region, credentials }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  return {
    endpoint: server.url,
    host: server.host,
    port: server.port,
    knowledgeBaseId: servedId,
    region,
    close: () => server.close(),
  };
}

/**
 * Bedrock refuses a RetrieveAndGenerate whose modelArn names no model it serves, whatever writes the answer
 * here; so does this server, with Bedrock's message, against the model catalogue. Custom and provisioned model
 * ARNs cannot be checked locally and are let through.
 */
function checkModelArn(catalogue: ModelCatalogue, modelArn: string, region: string): void {
  const resolution = catalogue.resolve(modelArn, region);
  if (resolution.ok) {
    if (!resolution.model.outputModalities.includes('TEXT')) {
      throw new AwsServiceError(
        'ValidationException',
        `The model ${modelArn} does not generate text; RetrieveAndGenerate needs a text model.`,
      );
    }
    return;
  }
  if (resolution.reason === 'not-found') return;
  throw new AwsServiceError('ValidationException', modelIdentifierMessage(resolution, modelArn));
}

/** Bedrock reranks only with its rerank models; the server's own reranker answers for any of them. */
function checkRerankModel(modelArn: string): void {
  const modelId = /^arn:aws[\w-]*:bedrock:[\w-]*::foundation-model\/(.+)$/.exec(modelArn)?.[1] ?? modelArn;
  const known: readonly string[] = Object.values(BEDROCK_RERANK_MODELS);
  if (!known.includes(modelId)) {
    throw new AwsServiceError(
      'ValidationException',
      `The model ${modelArn} is not a rerank model; use ${known.join(' or ')} (as a foundation-model ARN).`,
    );
  }
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * A Bedrock-shaped id (10 upper-case letters and digits) for a served knowledge base: a hash of its store's real
 * path, so a restarted server keeps its id, else random.
 */
export function derivedKnowledgeBaseId(knowledgeBase: KnowledgeBase): string {
  const storePath = (knowledgeBase as { path?: unknown }).path;
  let bytes: Buffer;
  if (typeof storePath === 'string' && storePath !== '') {
    let real = storePath;
    try {
      real = realpathSync(storePath);
    } catch {
      // a store that is not a file (e.g. in memory) keeps its given path
    }
    bytes = createHash('sha256').update(real).digest();
  } else {
    bytes = randomBytes(10);
  }
  return Array.from(bytes.subarray(0, 10), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

function validateServerOptions(options: KnowledgeBaseServerOptions): AwsCredentialPair[] {
  checkOptions(KNOWLEDGE_BASE_SERVER_OPTIONS, options);
  const kb = options.knowledgeBase as Partial<KnowledgeBase> | undefined;
  if (!kb || typeof kb.retrieve !== 'function' || typeof kb.retrieveAndGenerate !== 'function') {
    throw kbError(
      'INVALID_OPTION',
      'knowledgeBase must be a KnowledgeBase (e.g. LocalKnowledgeBase.open(...)).',
      {
        input: 'knowledgeBase',
      },
    );
  }
  if (options.knowledgeBaseId !== undefined && !KNOWLEDGE_BASE_ID.test(options.knowledgeBaseId)) {
    throw kbError(
      'INVALID_OPTION',
      `knowledgeBaseId must be 10 letters or digits like Bedrock's (e.g. LOCALKB001), got "${options.knowledgeBaseId}".`,
      { input: 'knowledgeBaseId' },
    );
  }
  if (options.generationModel !== undefined && !['request', 'generator'].includes(options.generationModel)) {
    throw kbError(
      'INVALID_OPTION',
      `generationModel must be "request" or "generator", got "${options.generationModel}".`,
      {
        input: 'generationModel',
      },
    );
  }
  const pageSize = options.retrievePageSize;
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1)) {
    throw kbError('INVALID_OPTION', `retrievePageSize must be a positive integer, got ${String(pageSize)}.`, {
      input: 'retrievePageSize',
    });
  }
  return checkListenerExposure({
    host: options.host ?? '127.0.0.1',
    credentials: options.credentials,
    allowUnauthenticated: options.allowUnauthenticated === true,
    how: 'localkb serve --access-key-id … --secret-access-key …',
  });
}
