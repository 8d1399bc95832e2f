import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kbError } from '../errors.js';
import { ModelCatalogue } from '../generate/model-catalogue/index.js';
import { checkOptions } from '../options.js';
import { seededRandom } from '../seeded-random.js';
import { type AgentRuntimeBackend, agentRuntimeRoutes } from '../serve/agent-runtime/operations.js';
import { AwsServiceError, sendAwsError } from '../serve/wire/aws-errors.js';
import {
  startWireServer,
  type WireRequest,
  type WireRequestHead,
  type WireResponse,
} from '../serve/wire/http-server.js';
import type { CallSubject, WireOperation } from '../serve/wire/operation.js';
import { authenticateHead, checkListenerExposure } from '../serve/wire/request-auth.js';
import { WireRouter } from '../serve/wire/router.js';
import { agentRoutes } from './agent-operations.js';
import { customizationRoutes } from './customization-operations.js';
import { EmulatedModelGenerator } from './emulated-generator.js';
import { EMULATED_RERANK_MODELS, TermOverlapReranker } from './emulated-reranker.js';
import {
  BEDROCK_EMULATOR_OPTIONS,
  type BedrockEmulator,
  type BedrockEmulatorOptions,
  type ModelMatcher,
  type RecordedRequest,
  type ScriptedResponse,
} from './emulator-types.js';
import { FaultPlan, matchesModel } from './fault-plan.js';
import { foundationModelRoutes } from './foundation-model-operations.js';
import { KnowledgeBaseRegistry } from './knowledge-base-registry.js';
import { familyFor } from './model-families.js';
import { type ModelDirectory, resolveModelId } from './model-ids.js';
import { EmulatorClock, ModelLifecycleState } from './model-lifecycle-state.js';
import { provisionedThroughputRoutes } from './provisioned-throughput-operations.js';
import { completeText, RUNTIME_ROUTES, type RuntimeOperation } from './runtime-operations.js';

const DEFAULT_CREDENTIALS = {
  accessKeyId: 'AKIDLOCALKBEMULATOR',
  secretAccessKey: 'localkb-emulator-secret',
};

/** The model the emulated knowledge bases' generator names when a request gives none. */
const DEFAULT_KB_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

interface Script {
  model: ModelMatcher;
  response: ScriptedResponse | ((request: RecordedRequest) => ScriptedResponse);
}

/** A route of one of the emulated services: bedrock-runtime (model operations) or the knowledge-base services. */
type EmulatedRoute =
  | { service: 'runtime'; operation: RuntimeOperation }
  | { service: 'agent'; operation: WireOperation };

/**
 * Starts a wire-faithful Amazon Bedrock on 127.0.0.1: bedrock-runtime (every model family in its native body
 * and stream format), bedrock-agent-runtime (Retrieve, RetrieveAndGenerate(Stream), Rerank) and the
 * bedrock-agent Knowledge Base control plane, whose knowledge bases are real local ones. Real SDK clients talk
 * to it over h2c or HTTP/1.1 with SigV4.
 */
export async function startBedrockEmulator(options: BedrockEmulatorOptions = {}): Promise<BedrockEmulator> {
  validateOptions(options);
  const region = options.region ?? 'us-east-1';
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const verifiedCredentials = checkListenerExposure({
    host: options.host ?? '127.0.0.1',
    credentials: options.credentials,
    allowUnauthenticated: options.allowUnauthenticated === true,
    how: 'localkb emulator --access-key-id … --secret-access-key …',
  });
  const initialAliases = Object.entries(options.modelAliases ?? {});
  const aliases = new Map<string, string>(initialAliases);
  const catalogue = new ModelCatalogue(options.models === undefined ? {} : { models: options.models });
  const directory: ModelDirectory = { catalogue, region, aliases };
  const requests: RecordedRequest[] = [];
  let scripts: Script[] = [];
  const faults = new FaultPlan();
  const hanging = new Set<WireResponse>();

  function scriptFor(ids: string[], record: RecordedRequest): ScriptedResponse | undefined {
    for (let index = scripts.length - 1; index >= 0; index--) {
      const script = scripts[index]!;
      if (!matchesModel(script.model, ids)) continue;
      return typeof script.response === 'function' ? script.response(record) : script.response;
    }
    return undefined;
  }

  // Knowledge bases answer with the same deterministic model (and scripts) as Converse, called in-process.
  const generator = new EmulatedModelGenerator(DEFAULT_KB_MODEL, (modelId, request) => {
    const resolved = resolveModelId(modelId, directory);
    const family = familyFor(resolved.baseModelId);
    if (family?.kind !== 'text') {
      throw new AwsServiceError(
        'ValidationException',
        `The model ${modelId} cannot generate text for a knowledge base; use a text model such as ${DEFAULT_KB_MODEL}.`,
      );
    }
    const record: RecordedRequest = {
      operation: 'RetrieveAndGenerate',
      modelId,
      method: 'POST',
      path: '',
      headers: {},
      body: { prompt: request.promptText },
      status: 0,
      http2: false,
    };
    const script = scriptFor([resolved.requested, resolved.baseModelId], record);
    return {
      completion: completeText(request, script),
      guardrailIntervened: script?.guardrailIntervention === true,
    };
  });

  const createdDataDirectory = options.dataDir === undefined;
  const dataDirectory = options.dataDir
    ? path.resolve(options.dataDir)
    : mkdtempSync(path.join(tmpdir(), 'localkb-emulator-'));
  mkdirSync(dataDirectory, { recursive: true });
  const registry = new KnowledgeBaseRegistry({
    dataDirectory,
    region,
    s3Buckets: options.s3Buckets ?? {},
    ...(options.knowledgeBaseEmbedder ? { embedder: options.knowledgeBaseEmbedder } : {}),
    generator,
    transitionMs: options.transitionMs ?? 20,
  });
  try {
    for (const [id, source] of Object.entries(options.knowledgeBases ?? {})) {
      await registry.addExistingKnowledgeBase(id, source);
    }
  } catch (error) {
    await registry.close();
    if (createdDataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
    throw error;
  }

  const backend: AgentRuntimeBackend = {
    knowledgeBase: (knowledgeBaseId) => registry.served(knowledgeBaseId),
    reranker(modelArn) {
      const { baseModelId } = resolveModelId(modelArn, directory);
      if (!(EMULATED_RERANK_MODELS as readonly string[]).includes(baseModelId)) {
        throw new AwsServiceError(
          'ValidationException',
          `The model ${modelArn} cannot rerank; use ${EMULATED_RERANK_MODELS.join(' or ')}.`,
        );
      }
      return new TermOverlapReranker(`emulator:${baseModelId}`);
    },
    ...(options.retrievePageSize === undefined ? {} : { retrievePageSize: options.retrievePageSize }),
  };

  const clock = new EmulatorClock();
  const s3Buckets = options.s3Buckets ?? {};
  const lifecycle = new ModelLifecycleState(
    clock,
    {
      customizationJobMs: options.customizationJobMs ?? 3000,
      provisioningMs: options.provisioningMs ?? 1000,
    },
    catalogue,
    (s3Uri) => {
      const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(s3Uri);
      const folder = match ? s3Buckets[match[1]!] : undefined;
      return folder === undefined ? undefined : path.join(path.resolve(folder), ...match![2]!.split('/'));
    },
  );
  const router = new WireRouter<EmulatedRoute>();
  for (const [method, pattern, name, operation] of RUNTIME_ROUTES) {
    router.add(method, pattern, name, { service: 'runtime', operation });
  }
  for (const [method, pattern, name, operation] of [
    ...agentRuntimeRoutes(backend),
    ...agentRoutes(registry),
    ...foundationModelRoutes(catalogue, region),
    ...customizationRoutes(lifecycle, catalogue, region),
    ...provisionedThroughputRoutes(lifecycle, catalogue, region),
  ]) {
    router.add(method, pattern, name, { service: 'agent', operation });
  }

  /** Ids a call is known by (for faults and scripts): model ids resolved to their foundation model too. */
  function subjectOf(
    route: EmulatedRoute,
    request: WireRequest,
    params: Record<string, string>,
  ): CallSubject {
    if (route.service === 'agent') {
      const subject = route.operation.subject?.(request, params) ?? { ids: [] };
      if (subject.modelId !== undefined) {
        try {
          subject.ids.push(resolveModelId(subject.modelId, directory).baseModelId);
        } catch {
          // an unusable model id is reported by the operation itself
        }
      }
      return subject;
    }
    const modelId = params.modelId ?? params.guardrailIdentifier;
    return modelId === undefined ? { ids: [] } : { ids: [modelId], modelId };
  }

  /** Records a request (its body is empty when it was refused unread) with the route and subject it names. */
  function recordRequest(request: WireRequest) {
    const record: RecordedRequest = {
      operation: 'Unknown',
      method: request.method,
      path: request.rawPath,
      headers: request.headers,
      body: parseRecordedBody(request.body),
      status: 0,
      http2: request.http2,
    };
    const attempt = /attempt=(\d+)/.exec(request.headers['amz-sdk-request'] ?? '')?.[1];
    if (attempt !== undefined) record.attempt = Number(attempt);
    requests.push(record);
    let match: ReturnType<typeof router.match>;
    try {
      match = router.match(request.method, request.rawPath);
    } catch {
      return { record, match: undefined, subject: { ids: [] } as CallSubject, badPath: true };
    }
    const subject = match ? subjectOf(match.handler, request, match.params) : { ids: [] };
    if (match) {
      record.operation = match.operation;
      if (subject.modelId !== undefined) record.modelId = subject.modelId;
      if (subject.knowledgeBaseId !== undefined) record.knowledgeBaseId = subject.knowledgeBaseId;
    }
    return { record, match, subject, badPath: false };
  }

  const authOptions = {
    service: 'bedrock',
    region,
    credentials: verifiedCredentials,
    ...(options.bearerToken === undefined ? {} : { bearerToken: options.bearerToken }),
  };
  /** Authenticates before the body is read, as Bedrock does; a refused request is recorded with its status. */
  function authenticate(head: WireRequestHead) {
    const refused = (error: unknown, body: Buffer = Buffer.alloc(0)) => {
      const { record } = recordRequest({ ...head, body });
      if (error instanceof AwsServiceError) record.status = error.status;
      return error;
    };
    let verifyBody: ReturnType<typeof authenticateHead>;
    try {
      verifyBody = authenticateHead(head, authOptions);
    } catch (error) {
      throw refused(error);
    }
    if (!verifyBody) return undefined;
    const verify = verifyBody;
    return async (body: Buffer) => {
      try {
        await verify(body);
      } catch (error) {
        throw refused(error, body);
      }
    };
  }

  async function handle(request: WireRequest, response: WireResponse): Promise<void> {
    const startedAt = Date.now();
    const { record, match, subject, badPath } = recordRequest(request);
    response.onHead((status) => {
      record.status = status;
    });
    if (badPath) {
      throw new AwsServiceError(
        'ValidationException',
        `The path ${request.rawPath} has an invalid percent-encoding.`,
      );
    }
    if (!match) {
      throw new AwsServiceError(
        'UnknownOperationException',
        `No operation at ${request.method} ${request.rawPath}.`,
      );
    }

    const route = match.handler;
    const ids = [...subject.ids];
    let resolved: ReturnType<typeof resolveModelId> | undefined;
    if (route.service === 'runtime' && match.params.modelId !== undefined) {
      resolved = resolveModelId(match.params.modelId, directory);
      ids.push(resolved.baseModelId);
    }

    const delay = faults.take(['delay'], ids, match.operation);
    if (delay) await sleep(delay.ms, undefined, { ref: false });
    if (faults.take(['hang'], ids, match.operation)) {
      hanging.add(response);
      response.onClose(() => hanging.delete(response));
      return;
    }
    const shared = faults.take(['throttleShare'], ids, match.operation);
    const sharedThrottle = shared !== undefined && shared.random() < shared.share;
    const fault = sharedThrottle
      ? undefined
      : faults.take(
          route.operation.streaming
            ? ['throttle', 'error', 'malformed', 'failStreamAfter']
            : ['throttle', 'error', 'malformed'],
          ids,
          match.operation,
        );
    if (sharedThrottle || fault?.kind === 'throttle') {
      sendAwsError(
        response,
        'ThrottlingException',
        'Too many requests, please wait before trying again.',
        429,
      );
      return;
    }
    if (fault?.kind === 'error') {
      sendAwsError(response, fault.errorType, fault.message ?? `Injected ${fault.errorType}.`, fault.status);
      return;
    }
    const malformed = fault?.kind === 'malformed';
    const streamFailure = fault?.kind === 'failStreamAfter' ? fault : undefined;
    if (route.service === 'agent') {
      await route.operation.run({ request, response, params: match.params, malformed, streamFailure });
      return;
    }
    await route.operation.run({
      request,
      response,
      params: match.params,
      baseModelId: resolved?.baseModelId ?? '',
      ...(resolved ? { model: resolved.model } : {}),
      script: scriptFor(ids, record),
      malformed,
      streamFailure,
      startedAt,
    });
  }

  let server: Awaited<ReturnType<typeof startWireServer>>;
  try {
    server = await startWireServer({
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.port === undefined ? {} : { port: options.port }),
      handler: handle,
      authenticate,
    });
  } catch (error) {
    await registry.close();
    if (createdDataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint: server.url,
    requests,
    dataDir: dataDirectory,
    clientConfig: () => ({ endpoint: server.url, region, credentials: { ...credentials } }),
    respondTo(model, response) {
      scripts.push({ model, response });
    },
    advanceClock(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw kbError('INVALID_OPTION', `advanceClock takes a non-negative number of ms, got ${ms}.`, {
          input: 'ms',
        });
      }
      clock.advance(ms);
    },
    aliasModel(modelIdOrArn, baseModelId) {
      if (!catalogue.foundationModel(baseModelId.replace(/^(us|us-gov|eu|apac|global)\./, ''))) {
        throw kbError(
          'UNKNOWN_MODEL',
          `aliasModel: "${baseModelId}" is not in the emulator's model catalogue; add it with the models option.`,
          { input: baseModelId },
        );
      }
      aliases.set(modelIdOrArn, baseModelId);
    },
    knowledgeBase(knowledgeBaseId) {
      try {
        return registry.knowledgeBase(knowledgeBaseId).knowledgeBase;
      } catch {
        return undefined;
      }
    },
    faults: {
      throttle(count, opts = {}) {
        faults.arm({ kind: 'throttle' }, count, opts.model, opts.operation);
      },
      throttleShare(share, opts = {}) {
        if (typeof share !== 'number' || !(share >= 0 && share <= 1)) {
          throw kbError('INVALID_OPTION', `throttleShare share must be a number from 0 to 1, got ${share}`, {
            input: 'share',
          });
        }
        const random = seededRandom(opts.seed ?? 1);
        faults.arm(
          { kind: 'throttleShare', share, random },
          Number.POSITIVE_INFINITY,
          opts.model,
          opts.operation,
        );
      },
      error(count, errorType, status, opts = {}) {
        faults.arm(
          {
            kind: 'error',
            errorType,
            status,
            ...(opts.message === undefined ? {} : { message: opts.message }),
          },
          count,
          opts.model,
          opts.operation,
        );
      },
      failStreamAfter(events, opts = {}) {
        if (!Number.isInteger(events) || events < 0) {
          throw kbError(
            'INVALID_OPTION',
            `failStreamAfter events must be a non-negative integer, got ${events}`,
            {
              input: 'events',
            },
          );
        }
        faults.arm(
          {
            kind: 'failStreamAfter',
            events,
            // each stream's own failure unless one is named (modelStreamErrorException for bedrock-runtime's,
            // dependencyFailedException for RetrieveAndGenerateStream, whose union has no model stream error)
            exceptionType: opts.exceptionType,
            message: opts.message ?? 'The model stream failed (injected by the localkb emulator).',
          },
          1,
          opts.model,
          opts.operation,
        );
      },
      delay(ms, opts = {}) {
        faults.arm({ kind: 'delay', ms }, opts.count ?? 1, opts.model, opts.operation);
      },
      hang(opts = {}) {
        faults.arm({ kind: 'hang' }, opts.count ?? 1, opts.model, opts.operation);
      },
      malformed(count, opts = {}) {
        faults.arm({ kind: 'malformed' }, count, opts.model, opts.operation);
      },
      failIngestionJob(reasons, opts = {}) {
        if (!Array.isArray(reasons) || reasons.length === 0 || reasons.some((r) => typeof r !== 'string')) {
          throw kbError(
            'INVALID_OPTION',
            'failIngestionJob needs a non-empty list of failure reasons (strings).',
            {
              input: 'reasons',
            },
          );
        }
        const count = opts.count ?? 1;
        if (!Number.isInteger(count) || count < 1) {
          throw kbError('INVALID_OPTION', `failIngestionJob count must be a positive integer, got ${count}`, {
            input: 'count',
          });
        }
        registry.armJobFailure({
          reasons: [...reasons],
          remaining: count,
          ...(opts.knowledgeBaseId === undefined ? {} : { knowledgeBaseId: opts.knowledgeBaseId }),
          ...(opts.dataSourceId === undefined ? {} : { dataSourceId: opts.dataSourceId }),
        });
      },
    },
    reset() {
      scripts = [];
      faults.clear();
      registry.clearFaults();
      requests.length = 0;
      aliases.clear();
      for (const [alias, base] of initialAliases) aliases.set(alias, base);
    },
    close() {
      closing ??= (async () => {
        await server.close();
        await registry.close();
        if (createdDataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

function parseRecordedBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function validateOptions(options: BedrockEmulatorOptions): void {
  checkOptions(BEDROCK_EMULATOR_OPTIONS, options);
  const { credentials } = options;
  if (credentials && (!credentials.accessKeyId || !credentials.secretAccessKey)) {
    throw kbError('INVALID_OPTION', 'credentials needs both accessKeyId and secretAccessKey.', {
      input: 'credentials',
    });
  }
  for (const [bucket, folder] of Object.entries(options.s3Buckets ?? {})) {
    if (!/^[a-z0-9][a-z0-9.-]{1,62}$/.test(bucket) || typeof folder !== 'string' || folder === '') {
      throw kbError(
        'INVALID_OPTION',
        `s3Buckets maps bucket names (lower-case S3 names) to local folders; "${bucket}" → ${JSON.stringify(folder)} is not one.`,
        { input: 's3Buckets' },
      );
    }
  }
  for (const id of Object.keys(options.knowledgeBases ?? {})) {
    if (!/^[0-9a-zA-Z]{10}$/.test(id)) {
      throw kbError(
        'INVALID_OPTION',
        `knowledgeBases ids must be 10 letters or digits like Bedrock's (e.g. LOCALKB001), got "${id}".`,
        { input: 'knowledgeBases' },
      );
    }
  }
  for (const name of ['transitionMs', 'retrievePageSize', 'customizationJobMs', 'provisioningMs'] as const) {
    const value = options[name];
    const minimum = name === 'retrievePageSize' ? 1 : 0;
    if (value !== undefined && (!Number.isInteger(value) || value < minimum)) {
      throw kbError(
        'INVALID_OPTION',
        `${name} must be an integer of at least ${minimum}, got ${String(value)}.`,
        {
          input: name,
        },
      );
    }
  }
  if (options.knowledgeBaseEmbedder !== undefined && typeof options.knowledgeBaseEmbedder !== 'function') {
    throw kbError(
      'INVALID_OPTION',
      'knowledgeBaseEmbedder must be a function returning a new Embedder for each knowledge base.',
      { input: 'knowledgeBaseEmbedder' },
    );
  }
}
