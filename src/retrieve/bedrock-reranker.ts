/**
 * Reranking through Amazon Bedrock's Rerank API (bedrock-agent-runtime `Rerank`), with Amazon Rerank 1.0 or
 * Cohere Rerank 3.5. The API takes one query and at most 1000 sources per call, so longer lists are sent in
 * batches whose results are merged by score (each score depends only on its own query–passage pair).
 * IAM: the caller needs bedrock:Rerank and bedrock:InvokeModel on the model.
 */

import {
  BedrockAgentRuntimeClient,
  type BedrockAgentRuntimeClientConfig,
  type BedrockRerankingModelConfiguration,
  RerankCommand,
  type RerankCommandOutput,
} from '@aws-sdk/client-bedrock-agent-runtime';
import {
  REMOTE_CALL_SHAPE,
  type RemoteCallOptions,
  remoteSettings,
  withRemoteDefaults,
} from '../aws-clients.js';
import { clientRegion, mapAwsError } from '../aws-errors.js';
import { kbError, type LocalKbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';
import {
  orderRerankResults,
  type RerankDocument,
  type Reranker,
  type RerankOptions,
  type RerankResult,
  throwIfRerankAborted,
  validateRerankInput,
} from './rerank.js';

export const BEDROCK_RERANK_MODELS = {
  amazon: 'amazon.rerank-v1:0',
  cohere: 'cohere.rerank-v3-5:0',
} as const;

/** The Rerank API's limit on sources (documents) per request, and on numberOfResults. */
export const MAX_RERANK_SOURCES_PER_REQUEST = 1000;

type AdditionalModelRequestFields = NonNullable<
  BedrockRerankingModelConfiguration['additionalModelRequestFields']
>;

export interface BedrockRerankerOptions extends RemoteCallOptions {
  /** A model id (`amazon.rerank-v1:0`, `cohere.rerank-v3-5:0`) or a full model ARN. Default Amazon Rerank 1.0. */
  modelId?: string;
  /** A ready client; when given, `clientConfig` is ignored and close() leaves it open. */
  client?: BedrockAgentRuntimeClient;
  /** Client configuration (region, credentials, endpoint…); default: the SDK's standard chain. */
  clientConfig?: BedrockAgentRuntimeClientConfig;
  /** Sources per request, at most 1000 (the API's limit). Default 1000. */
  batchSize?: number;
  /** Passed to the model as `additionalModelRequestFields`. */
  additionalModelRequestFields?: AdditionalModelRequestFields;
}

export const BEDROCK_RERANKER_OPTIONS = declareOptions<BedrockRerankerOptions>('BedrockReranker', {
  modelId: 'string',
  ...REMOTE_CALL_SHAPE,
  client: 'object',
  clientConfig: 'object',
  batchSize: 'integer',
  additionalModelRequestFields: 'object',
});

/** Reranks with Amazon Bedrock's Rerank API (bedrock-agent-runtime `Rerank`): Amazon Rerank 1.0 or Cohere Rerank 3.5. */
export class BedrockReranker implements Reranker {
  readonly id: string;
  readonly modelId: string;
  readonly batchSize: number;
  private readonly client: BedrockAgentRuntimeClient;
  private readonly ownsClient: boolean;
  private readonly additionalModelRequestFields: AdditionalModelRequestFields | undefined;

  constructor(options: BedrockRerankerOptions = {}) {
    checkOptions(BEDROCK_RERANKER_OPTIONS, options);
    const modelId = options.modelId ?? BEDROCK_RERANK_MODELS.amazon;
    if (typeof modelId !== 'string' || modelId.trim() === '') {
      throw kbError('INVALID_OPTION', `modelId must be a non-empty string, got ${JSON.stringify(modelId)}.`, {
        input: 'modelId',
      });
    }
    const batchSize = options.batchSize ?? MAX_RERANK_SOURCES_PER_REQUEST;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_RERANK_SOURCES_PER_REQUEST) {
      throw kbError(
        'INVALID_OPTION',
        `batchSize must be an integer from 1 to ${MAX_RERANK_SOURCES_PER_REQUEST} (the Rerank API's limit), got ${JSON.stringify(batchSize)}.`,
        { input: 'batchSize' },
      );
    }
    this.modelId = modelId;
    this.batchSize = batchSize;
    this.id = `bedrock:${modelId}`;
    this.client =
      options.client ??
      new BedrockAgentRuntimeClient(withRemoteDefaults(options.clientConfig, remoteSettings(options)));
    this.ownsClient = options.client === undefined;
    this.additionalModelRequestFields = options.additionalModelRequestFields;
  }

  async rerank(
    query: string,
    documents: readonly RerankDocument[],
    options: RerankOptions = {},
  ): Promise<RerankResult[]> {
    validateRerankInput(this.id, query, documents, options);
    throwIfRerankAborted(this.id, options.signal);
    if (documents.length === 0) return [];
    const modelArn = await this.modelArn();
    const results: RerankResult[] = [];
    for (let offset = 0; offset < documents.length; offset += this.batchSize) {
      throwIfRerankAborted(this.id, options.signal);
      const batch = documents.slice(offset, offset + this.batchSize);
      const wanted = Math.min(options.topN ?? batch.length, batch.length);
      for (const item of await this.rerankBatch(modelArn, query, batch, wanted, options.signal)) {
        results.push({ id: batch[item.index]!.id, score: item.score, index: offset + item.index });
      }
    }
    return orderRerankResults(results, options.topN);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  /** A model id becomes a foundation-model ARN in the client's region, as the Rerank API requires an ARN. */
  private async modelArn(): Promise<string> {
    if (this.modelId.startsWith('arn:')) return this.modelId;
    const region = await clientRegion(this.client, this.id);
    const partition = region.startsWith('cn-')
      ? 'aws-cn'
      : region.startsWith('us-gov-')
        ? 'aws-us-gov'
        : 'aws';
    return `arn:${partition}:bedrock:${region}::foundation-model/${this.modelId}`;
  }

  /** One request (following nextToken pages); returns batch-relative indices. */
  private async rerankBatch(
    modelArn: string,
    query: string,
    batch: readonly RerankDocument[],
    numberOfResults: number,
    signal: AbortSignal | undefined,
  ): Promise<{ index: number; score: number }[]> {
    const scored: { index: number; score: number }[] = [];
    let nextToken: string | undefined;
    do {
      let response: RerankCommandOutput;
      try {
        response = await this.client.send(
          new RerankCommand({
            queries: [{ type: 'TEXT', textQuery: { text: query } }],
            sources: batch.map((document) => ({
              type: 'INLINE',
              inlineDocumentSource: { type: 'TEXT', textDocument: { text: document.text } },
            })),
            rerankingConfiguration: {
              type: 'BEDROCK_RERANKING_MODEL',
              bedrockRerankingConfiguration: {
                numberOfResults,
                modelConfiguration: {
                  modelArn,
                  ...(this.additionalModelRequestFields
                    ? { additionalModelRequestFields: this.additionalModelRequestFields }
                    : {}),
                },
              },
            },
            ...(nextToken ? { nextToken } : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
      } catch (error) {
        throw rerankError(error, this.id, signal);
      }
      for (const [i, result] of (response.results ?? []).entries()) {
        const { index, relevanceScore } = result;
        if (
          !Number.isInteger(index) ||
          index! < 0 ||
          index! >= batch.length ||
          typeof relevanceScore !== 'number'
        ) {
          throw kbError(
            'MODEL_RESPONSE_MALFORMED',
            `${this.id} returned results[${i}] = ${JSON.stringify(result)}; expected an index below ${batch.length} and a numeric relevanceScore.`,
            { input: this.id },
          );
        }
        scored.push({ index: index!, score: relevanceScore });
      }
      nextToken = response.nextToken;
    } while (nextToken);
    return scored;
  }
}

/** Fixes for the errors people hit first, keyed by AWS error name. */
const FIXES: Record<string, string> = {
  AccessDeniedException:
    'check the IAM policy allows bedrock:Rerank and bedrock:InvokeModel and that model access is enabled in the Bedrock console',
  ResourceNotFoundException: 'check the model id and that the rerank model is offered in this region',
  ValidationException: 'check the query and documents (non-empty text) and the model id',
  UnrecognizedClientException: 'check the AWS credentials',
  ServiceQuotaExceededException: 'request a quota increase or send fewer documents per call',
};

/** Maps whatever the SDK throws to a LocalKbError naming the reranker and the fix. */
export function rerankError(error: unknown, rerankerId: string, signal?: AbortSignal): LocalKbError {
  return mapAwsError(error, {
    operation: 'Rerank',
    input: rerankerId,
    signal,
    failure: 'BEDROCK_ERROR',
    call: `Bedrock Rerank on ${rerankerId}`,
    aborted: `Reranking with ${rerankerId} was aborted by the caller.`,
    throttled: (message) =>
      `Bedrock throttled Rerank on ${rerankerId} after all retries (${message}); lower the request rate, ` +
      'send fewer documents, or request a quota increase.',
    fixes: FIXES,
  });
}
