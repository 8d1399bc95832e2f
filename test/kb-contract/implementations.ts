import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { BedrockConverseGenerator } from '../../src/generate/index.js';
import { BedrockKnowledgeBaseAdmin } from '../../src/kb/bedrock-kb-admin.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { KnowledgeBase } from '../../src/kb/types.js';
import type { BedrockEmulator } from '../../src/testing/index.js';

export const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

/** A vector store configuration; the emulator records it (its knowledge bases live in SQLite). */
export const STORAGE = {
  type: 'OPENSEARCH_SERVERLESS' as const,
  opensearchServerlessConfiguration: {
    collectionArn: 'arn:aws:aoss:us-east-1:123456789012:collection/localkb',
    vectorIndexName: 'localkb-index',
    fieldMapping: { vectorField: 'vector', textField: 'text', metadataField: 'metadata' },
  },
};
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/localkb-kb-role';

export interface Implementation {
  kb: KnowledgeBase;
  close(): Promise<void>;
}

/** SDK client settings for tests: the emulator, and retries without real backoff delays. */
export function testClientConfig(emulator: BedrockEmulator) {
  return { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1) };
}

/**
 * The local knowledge base: BM25 over SQLite, answers written by Bedrock Converse (the emulator's model), the
 * same model the emulator's managed knowledge bases answer with.
 */
export async function openLocal(emulator: BedrockEmulator): Promise<Implementation> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-contract-'));
  const generator = new BedrockConverseGenerator({
    modelId: MODEL,
    clientConfig: testClientConfig(emulator),
  });
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'local.db'), {
    embedder: 'none',
    generation: { generator },
  });
  return {
    kb,
    async close() {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A managed knowledge base made through bedrock-agent on the emulator (a CUSTOM data source), used through BedrockKnowledgeBase. */
export async function openManaged(
  emulator: BedrockEmulator,
  name: string,
): Promise<Implementation & { knowledgeBaseId: string }> {
  const admin = new BedrockKnowledgeBaseAdmin({
    clientConfig: testClientConfig(emulator),
    pollIntervalMs: 5,
  });
  const created = await admin.createKnowledgeBase({
    name,
    roleArn: ROLE_ARN,
    embeddingModel: 'amazon.titan-embed-text-v2:0',
    storage: STORAGE,
  });
  const knowledgeBaseId = created.knowledgeBaseId!;
  await admin.createDataSource(knowledgeBaseId, { name: 'direct' });
  const kb = new BedrockKnowledgeBase({
    knowledgeBaseId,
    modelId: MODEL,
    clientConfig: testClientConfig(emulator),
    pollIntervalMs: 5,
  });
  return {
    kb,
    knowledgeBaseId,
    async close() {
      await kb.close();
      await admin.deleteKnowledgeBase(knowledgeBaseId);
      await admin.close();
    },
  };
}
