// The Rerank wire round trip (RerankCommand against the emulator) is in test/testing/knowledge-bases.test.ts;
// these tests cover what needs no server: options, input checks and error mapping.
import {
  AccessDeniedException,
  BedrockAgentRuntimeClient,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isLocalKbError } from '../../src/errors.js';
import {
  BEDROCK_RERANK_MODELS,
  BedrockReranker,
  MAX_RERANK_SOURCES_PER_REQUEST,
  rerankError,
} from '../../src/retrieve/bedrock-reranker.js';

// Port 9 (discard) on loopback: any request that did reach the network would fail, not hang.
const client = new BedrockAgentRuntimeClient({
  region: 'us-west-2',
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
});

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: ErrorCode }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: ErrorCode };
  }
  throw new Error('expected a rejection');
}

describe('BedrockReranker', () => {
  afterAll(() => client.destroy());

  it('defaults to Amazon Rerank 1.0 and names itself after the model', () => {
    expect(new BedrockReranker({ client }).id).toBe(`bedrock:${BEDROCK_RERANK_MODELS.amazon}`);
    expect(new BedrockReranker({ client, modelId: BEDROCK_RERANK_MODELS.cohere }).id).toBe(
      'bedrock:cohere.rerank-v3-5:0',
    );
  });

  it('rejects a batch size beyond the API limit of 1000 sources and an empty model id', () => {
    expect(() => new BedrockReranker({ client, batchSize: MAX_RERANK_SOURCES_PER_REQUEST + 1 })).toThrow(
      /batchSize must be an integer from 1 to 1000/,
    );
    expect(() => new BedrockReranker({ client, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new BedrockReranker({ client, modelId: ' ' })).toThrow(/modelId must be a non-empty string/);
  });

  it('checks the query, documents and topN before calling Bedrock', async () => {
    const reranker = new BedrockReranker({ client });
    expect((await rejection(reranker.rerank('', [{ id: 'a', text: 'x' }]))).code).toBe('INVALID_QUERY');
    expect((await rejection(reranker.rerank('q', 'not a list' as never))).code).toBe('INVALID_OPTION');
    expect((await rejection(reranker.rerank('q', [{ id: 'a', text: 'x' }], { topN: -2 }))).code).toBe(
      'INVALID_OPTION',
    );
  });

  it('returns nothing for no documents without calling Bedrock', async () => {
    expect(await new BedrockReranker({ client }).rerank('q', [])).toEqual([]);
  });

  it('maps a network failure to BEDROCK_ERROR naming the reranker', async () => {
    const error = await rejection(new BedrockReranker({ client }).rerank('q', [{ id: 'a', text: 'x' }]));
    expect(isLocalKbError(error, 'BEDROCK_ERROR')).toBe(true);
    expect(error.message).toContain('bedrock:amazon.rerank-v1:0');
  });
});

describe('rerankError', () => {
  const metadata = { httpStatusCode: 429, requestId: 'req-1', attempts: 3 };

  it('maps ThrottlingException to THROTTLED with the AWS details', () => {
    const error = rerankError(
      new ThrottlingException({ message: 'Too many requests', $metadata: metadata }),
      'bedrock:m',
    );
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toContain('Too many requests');
    expect(error.details).toMatchObject({
      awsErrorName: 'ThrottlingException',
      status: 429,
      requestId: 'req-1',
      attempts: 3,
    });
  });

  it('maps access and validation errors to BEDROCK_ERROR with a fix', () => {
    const denied = rerankError(
      new AccessDeniedException({ message: 'not allowed', $metadata: { httpStatusCode: 403 } }),
      'bedrock:m',
    );
    expect(denied.code).toBe('BEDROCK_ERROR');
    expect(denied.message).toMatch(
      /\(AccessDeniedException 403\): not allowed; check the IAM policy allows bedrock:Rerank/,
    );
    const invalid = rerankError(
      new ValidationException({ message: 'bad', $metadata: { httpStatusCode: 400 } }),
      'bedrock:m',
    );
    expect(invalid.message).toMatch(/\(ValidationException 400\): bad; check the query and documents/);
  });

  it('maps an aborted call to ABORTED', () => {
    const controller = new AbortController();
    controller.abort();
    expect(rerankError(new Error('stop'), 'bedrock:m', controller.signal).code).toBe('ABORTED');
    expect(rerankError(Object.assign(new Error('stop'), { name: 'AbortError' }), 'bedrock:m').code).toBe(
      'ABORTED',
    );
  });
});
