/** Public types of the Bedrock emulator (exported from `localkb/testing`). */

import type { FoundationModelInput } from '../generate/model-catalogue/index.js';
import type { KnowledgeBase } from '../kb/types.js';
import { declareOptions } from '../options.js';
import type { Embedder } from '../types.js';

export interface BedrockEmulatorOptions {
  /** Default 127.0.0.1. Any other address needs `credentials` (or `allowUnauthenticated`). */
  host?: string;
  /** Listen beyond loopback without credentials: an open Bedrock on the network. Default false. */
  allowUnauthenticated?: boolean;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** When set, every request's SigV4 signature is verified (service `bedrock`). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default `us-east-1`; signatures must be scoped to it. */
  region?: string;
  /** When set, `Authorization: Bearer <token>` is accepted (Bedrock API keys, `AWS_BEARER_TOKEN_BEDROCK`). */
  bearerToken?: string;
  /** Opaque model ids or ARNs (provisioned models, application inference profiles) → foundation model id. */
  modelAliases?: Record<string, string>;
  /**
   * Foundation models to add to (or replace in) the catalogue the emulator serves and refuses from: at least a
   * `modelId`; the rest defaults to an on-demand text model. Ids the catalogue does not hold are refused with
   * `ValidationException: The provided model identifier is invalid.`
   */
  models?: FoundationModelInput[];
  /** Folder for the SQLite stores of knowledge bases created through CreateKnowledgeBase. Default: a temporary
   * folder, removed by close(). */
  dataDir?: string;
  /** Buckets S3 data sources (and S3 document locations) read: bucket name → local folder. */
  s3Buckets?: Record<string, string>;
  /**
   * Knowledge bases that exist from the start, by id (10 letters or digits, as Bedrock's are): the path of a local store
   * (opened with its own embedder, closed by close()) or an open KnowledgeBase (left open). Each gets a
   * CUSTOM data source named `custom` for direct ingestion.
   */
  knowledgeBases?: Record<string, string | KnowledgeBase>;
  /**
   * Makes the embedder of each knowledge base created through CreateKnowledgeBase (called once per knowledge
   * base; its embeddingModelArn is recorded, not called). Default: none, i.e. BM25-only stores, where SEMANTIC
   * and HYBRID searches are refused with ValidationException.
   */
  knowledgeBaseEmbedder?: () => Embedder;
  /** Least time each background state lasts (CREATING, STARTING, IN_PROGRESS, DELETING), in ms. Default 20. */
  transitionMs?: number;
  /** Most results per Retrieve response; the rest follow through nextToken. Default: all in one response. */
  retrievePageSize?: number;
  /** How long a model customization job trains on the emulator's clock, in ms. Default 3000. */
  customizationJobMs?: number;
  /** How long a provisioned throughput is Creating or Updating on the emulator's clock, in ms. Default 1000. */
  provisioningMs?: number;
}

export const BEDROCK_EMULATOR_OPTIONS = declareOptions<BedrockEmulatorOptions>('startBedrockEmulator', {
  host: 'string',
  allowUnauthenticated: 'boolean',
  port: 'integer',
  credentials: 'object',
  region: 'string',
  bearerToken: 'string',
  modelAliases: 'object',
  dataDir: 'string',
  s3Buckets: 'object',
  knowledgeBases: 'object',
  knowledgeBaseEmbedder: 'function',
  transitionMs: 'number',
  retrievePageSize: 'integer',
  models: 'array',
  customizationJobMs: 'number',
  provisioningMs: 'number',
});

export interface RecordedRequest {
  /** 'InvokeModel' | 'InvokeModelWithResponseStream' | 'Converse' | 'ConverseStream' | 'ApplyGuardrail' | 'Unknown' */
  operation: string;
  /** The model id from the path, percent-decoded (the guardrail id for ApplyGuardrail; the modelArn for
   * RetrieveAndGenerate and Rerank). */
  modelId?: string;
  /** The knowledge base a Knowledge Base operation names. */
  knowledgeBaseId?: string;
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw string when it is not JSON. */
  body: unknown;
  /** SDK attempt number from `amz-sdk-request: attempt=N; max=M`. */
  attempt?: number;
  /** Status the emulator answered with; 0 while unanswered (and for `hang`). */
  status: number;
  http2: boolean;
}

export interface ScriptedResponse {
  /** Answer text, rendered in the model family's native format or the Converse shape. */
  text?: string;
  /** Converse words (end_turn, max_tokens, stop_sequence…), mapped to each family's own. */
  stopReason?: string;
  usage?: { inputTokens: number; outputTokens: number };
  /** Raw native body for InvokeModel (overrides `text`); a stream sends it as one chunk. */
  body?: unknown;
  /** Converse: stopReason 'guardrail_intervened' plus a trace; ApplyGuardrail: GUARDRAIL_INTERVENED. */
  guardrailIntervention?: boolean;
  /** Embedding models return this vector for every input text. */
  embedding?: number[];
}

export type ModelMatcher = string | RegExp;

/**
 * Which calls a fault applies to. `model` is tried against the call's ids: model ids (requested and
 * foundation), guardrail ids, knowledge base and data source ids; `operation` against the operation name
 * (`Retrieve`, `StartIngestionJob`, `Converse`…). Both absent: every call.
 */
export interface FaultTarget {
  model?: ModelMatcher;
  operation?: ModelMatcher;
}

export interface BedrockEmulatorFaults {
  /** The next `count` matching calls answer ThrottlingException 429 (streams: before the stream opens). */
  throttle(count: number, opts?: FaultTarget): void;
  /**
   * From now until reset(), each matching call (every attempt of it) answers ThrottlingException 429 with
   * probability `share`, drawn from a generator seeded by `seed` (default 1) so a run repeats exactly.
   */
  throttleShare(share: number, opts?: FaultTarget & { seed?: number }): void;
  /** The next `count` matching calls answer this AWS error type and status. */
  error(count: number, errorType: string, status: number, opts?: FaultTarget & { message?: string }): void;
  /**
   * The next matching stream call sends `events` event-stream messages, then an exception its stream models:
   * `exceptionType`, else modelStreamErrorException (bedrock-runtime streams) or dependencyFailedException
   * (RetrieveAndGenerateStream, whose union has no model stream error).
   */
  failStreamAfter(events: number, opts?: FaultTarget & { exceptionType?: string; message?: string }): void;
  /** Delays the next `count` (default 1) matching calls by `ms`. */
  delay(ms: number, opts?: FaultTarget & { count?: number }): void;
  /** The next `count` (default 1) matching calls never answer (client timeout tests). */
  hang(opts?: FaultTarget & { count?: number }): void;
  /** The next `count` matching calls answer 200 with an unparseable body (or stream frame). */
  malformed(count: number, opts?: FaultTarget): void;
  /**
   * The next `count` (default 1) ingestion jobs started on the matching knowledge base / data source end
   * FAILED with these failureReasons (after STARTING and IN_PROGRESS, as a real failure does).
   */
  failIngestionJob(
    reasons: string[],
    opts?: { knowledgeBaseId?: string; dataSourceId?: string; count?: number },
  ): void;
}

export interface BedrockEmulator {
  /** e.g. http://127.0.0.1:43123 */
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  /** SDK client config pointing at the emulator: { endpoint, region, credentials }. */
  clientConfig(): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** Scripts the answer of matching models until reset(); later scripts win over earlier ones. */
  respondTo(
    model: ModelMatcher,
    response: ScriptedResponse | ((request: RecordedRequest) => ScriptedResponse),
  ): void;
  /**
   * Moves the clock customization jobs and provisioned throughputs run on: `advanceClock(3000)` finishes a job
   * started with the default customizationJobMs at once.
   */
  advanceClock(ms: number): void;
  /** Lets an opaque model id or ARN (e.g. a provisioned model) answer as `baseModelId`. */
  aliasModel(modelIdOrArn: string, baseModelId: string): void;
  /** The local knowledge base behind a managed knowledge base id (once it is ACTIVE), for inspection. */
  knowledgeBase(knowledgeBaseId: string): KnowledgeBase | undefined;
  /** Where the emulated knowledge bases' SQLite stores live. */
  readonly dataDir: string;
  readonly faults: BedrockEmulatorFaults;
  /** Clears scripts, faults, aliases added after start, and recorded requests (knowledge bases stay). */
  reset(): void;
  close(): Promise<void>;
}
