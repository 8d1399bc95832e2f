/**
 * Smaller Bedrock contract points (#9 item 9), through the real SDK clients against the emulator: CreateKnowledgeBase
 * is idempotent by clientToken, and RetrieveAndGenerateStream's injected failure is an exception event the
 * stream's union models.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BedrockAgentClient, CreateKnowledgeBaseCommand } from '@aws-sdk/client-bedrock-agent';
import {
  BedrockAgentRuntimeClient,
  RetrieveAndGenerateStreamCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { CORPUS } from '../kb-contract/corpus.js';

let dir: string;
let emulator: BedrockEmulator;
let agent: BedrockAgentClient;
let runtime: BedrockAgentRuntimeClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-contract-small-'));
  const local = await LocalKnowledgeBase.open(path.join(dir, 'notes.db'), { embedder: 'none' });
  await local.ingest(CORPUS);
  await local.close();
  emulator = await startBedrockEmulator({
    transitionMs: 1,
    dataDir: dir,
    knowledgeBases: { FIELDNOTES: path.join(dir, 'notes.db') },
  });
  agent = new BedrockAgentClient({ ...emulator.clientConfig(), maxAttempts: 1 });
  runtime = new BedrockAgentRuntimeClient({ ...emulator.clientConfig(), maxAttempts: 1 });
});

afterAll(async () => {
  agent.destroy();
  runtime.destroy();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const createRequest = (name: string, clientToken: string) => ({
  name,
  clientToken,
  roleArn: 'arn:aws:iam::123456789012:role/kb',
  knowledgeBaseConfiguration: {
    type: 'VECTOR' as const,
    vectorKnowledgeBaseConfiguration: {
      embeddingModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0',
    },
  },
  storageConfiguration: {
    type: 'PINECONE' as const,
    pineconeConfiguration: {
      connectionString: 'x',
      credentialsSecretArn: 'y',
      fieldMapping: { textField: 't', metadataField: 'm' },
    },
  },
});

describe('CreateKnowledgeBase with a clientToken', () => {
  it('answers a repeat with the knowledge base the first call created, not ConflictException', async () => {
    const token = 'a1b2c3d4-e5f6-4a1b-8c2d-0123456789ab';
    const first = await agent.send(new CreateKnowledgeBaseCommand(createRequest('idempotent', token)));
    const again = await agent.send(new CreateKnowledgeBaseCommand(createRequest('idempotent', token)));
    expect(again.knowledgeBase?.knowledgeBaseId).toBe(first.knowledgeBase?.knowledgeBaseId);
    expect(again.$metadata.httpStatusCode).toBe(202);
    // a new token is a new request: the name is taken
    await expect(
      agent.send(new CreateKnowledgeBaseCommand(createRequest('idempotent', `${token}0`))),
    ).rejects.toMatchObject({ name: 'ConflictException' });
  });

  it('refuses the same token with other parameters', async () => {
    const token = 'f0e1d2c3-b4a5-4f6e-9d8c-ba9876543210';
    await agent.send(new CreateKnowledgeBaseCommand(createRequest('first-name', token)));
    const error = await agent
      .send(new CreateKnowledgeBaseCommand(createRequest('other-name', token)))
      .catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    expect((error as Error).message).toContain('clientToken');
  });
});

describe('failStreamAfter on RetrieveAndGenerateStream', () => {
  const ask = () =>
    runtime.send(
      new RetrieveAndGenerateStreamCommand({
        input: { text: 'Why do honey bees dance?' },
        retrieveAndGenerateConfiguration: {
          type: 'KNOWLEDGE_BASE',
          knowledgeBaseConfiguration: {
            knowledgeBaseId: 'FIELDNOTES',
            modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
          },
        },
      }),
    );

  async function drain(response: Awaited<ReturnType<typeof ask>>) {
    let text = '';
    try {
      for await (const event of response.stream ?? []) if (event.output) text += event.output.text;
    } catch (error) {
      return { text, error: error as Error & { $fault?: string } };
    }
    return { text, error: undefined };
  }

  it('ends the stream with an exception its union models (dependencyFailedException by default)', async () => {
    emulator.faults.failStreamAfter(2, { operation: 'RetrieveAndGenerateStream' });
    const { text, error } = await drain(await ask());
    expect(text).not.toBe('');
    expect(error).toMatchObject({ name: 'DependencyFailedException' });
    expect(error?.message).toContain('injected');
  });

  it('sends the member it is asked for', async () => {
    emulator.faults.failStreamAfter(1, {
      operation: 'RetrieveAndGenerateStream',
      exceptionType: 'throttlingException',
    });
    const { error } = await drain(await ask());
    expect(error).toMatchObject({ name: 'ThrottlingException' });
  });
});
