/** `localkb serve`: the command prints its endpoint, answers the real SDK client, and stops on SIGTERM. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentRuntimeClient,
  RerankCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { REPO_ROOT, TINY_CROSS_ENCODER_PATH } from '../helpers/models.js';
import { CORPUS } from '../kb-contract/corpus.js';

const MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');
const KEYS = { accessKeyId: 'AKIDCLISERVE', secretAccessKey: 'cli-serve-secret' };

let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-serve-cli-'));
  db = path.join(dir, 'served.db');
  const kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await kb.ingest(CORPUS);
  await kb.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `localkb serve` and resolves with the process and the endpoint it printed. */
function serve(args: string[]): Promise<{ child: ChildProcess; endpoint: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { cwd: REPO_ROOT });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const endpoint = /export AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=(http:\/\/\S+)\n/.exec(output)?.[1];
      if (endpoint) resolve({ child, endpoint, output: () => output });
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`localkb serve exited with ${code}: ${output}`)));
  });
}

describe('localkb serve', () => {
  it('serves the store to the SDK client, verifying signatures, until SIGTERM', async () => {
    const { child, endpoint, output } = await serve([
      '--db',
      db,
      '--knowledge-base-id',
      'CLIKB00001',
      '--access-key-id',
      KEYS.accessKeyId,
      '--secret-access-key',
      KEYS.secretAccessKey,
      '--region',
      'eu-west-1',
    ]);
    expect(output()).toContain(`bedrock-agent-runtime endpoint: ${endpoint}`);
    expect(output()).toContain('as knowledge base CLIKB00001');
    const client = new BedrockAgentRuntimeClient({ endpoint, region: 'eu-west-1', credentials: KEYS });
    const response = await client.send(
      new RetrieveCommand({ knowledgeBaseId: 'CLIKB00001', retrievalQuery: { text: 'barn owls' } }),
    );
    expect(response.retrievalResults?.[0]?.documentId).toBe('owls');
    const intruder = new BedrockAgentRuntimeClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { ...KEYS, secretAccessKey: 'guess' },
      maxAttempts: 1,
    });
    await expect(
      intruder.send(new RetrieveCommand({ knowledgeBaseId: 'CLIKB00001', retrievalQuery: { text: 'owls' } })),
    ).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    client.destroy();
    intruder.destroy();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('prints the id it derives from the store when none is given and answers only that id', async () => {
    const { child, endpoint, output } = await serve(['--db', db]);
    const id = /as knowledge base ([0-9A-Z]{10})\n/.exec(output())?.[1];
    expect(id).toBeDefined();
    const client = new BedrockAgentRuntimeClient({
      endpoint,
      region: 'us-east-1',
      credentials: KEYS,
      maxAttempts: 1,
    });
    const response = await client.send(
      new RetrieveCommand({ knowledgeBaseId: id!, retrievalQuery: { text: 'barn owls' } }),
    );
    expect(response.retrievalResults?.[0]?.documentId).toBe('owls');
    await expect(
      client.send(new RetrieveCommand({ knowledgeBaseId: 'bad-kb-id!', retrievalQuery: { text: 'owls' } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    client.destroy();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('reranks with --rerank cross-encoder: Retrieve’s rerankingConfiguration and Rerank, not ValidationException', async () => {
    const { child, endpoint } = await serve([
      '--db',
      db,
      '--knowledge-base-id',
      'CLIKB00002',
      '--rerank',
      'cross-encoder',
      '--rerank-model-path',
      TINY_CROSS_ENCODER_PATH,
      '--offline',
    ]);
    const client = new BedrockAgentRuntimeClient({
      endpoint,
      region: 'us-east-1',
      credentials: KEYS,
      maxAttempts: 1,
    });
    try {
      const reranked = await client.send(
        new RetrieveCommand({
          knowledgeBaseId: 'CLIKB00002',
          retrievalQuery: { text: 'why do honey bees dance' },
          retrievalConfiguration: {
            vectorSearchConfiguration: {
              numberOfResults: 4,
              rerankingConfiguration: {
                type: 'BEDROCK_RERANKING_MODEL',
                bedrockRerankingConfiguration: {
                  modelConfiguration: {
                    modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.rerank-v1:0',
                  },
                  numberOfRerankedResults: 2,
                },
              },
            },
          },
        }),
      );
      expect(reranked.retrievalResults).toHaveLength(2);
      const scores = reranked.retrievalResults!.map((r) => r.score!);
      expect(scores[0]).toBeGreaterThanOrEqual(scores[1]!);
      const direct = await client.send(
        new RerankCommand({
          queries: [{ type: 'TEXT', textQuery: { text: 'why do honey bees dance' } }],
          sources: CORPUS.slice(0, 3).map((d) => ({
            type: 'INLINE',
            inlineDocumentSource: { type: 'TEXT', textDocument: { text: d.text } },
          })),
          rerankingConfiguration: {
            type: 'BEDROCK_RERANKING_MODEL',
            bedrockRerankingConfiguration: {
              modelConfiguration: {
                modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0',
              },
            },
          },
        }),
      );
      expect(direct.results?.map((r) => r.index).sort()).toEqual([0, 1, 2]);
      // a model that does not rerank is refused, as Bedrock refuses it
      await expect(
        client.send(
          new RerankCommand({
            queries: [{ type: 'TEXT', textQuery: { text: 'bees' } }],
            sources: [
              { type: 'INLINE', inlineDocumentSource: { type: 'TEXT', textDocument: { text: 'bees' } } },
            ],
            rerankingConfiguration: {
              type: 'BEDROCK_RERANKING_MODEL',
              bedrockRerankingConfiguration: {
                modelConfiguration: {
                  modelArn:
                    'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
                },
              },
            },
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    } finally {
      client.destroy();
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('refuses --model without --generator bedrock', async () => {
    await expect(serve(['--db', db, '--model', 'anthropic.claude-3-haiku-20240307-v1:0'])).rejects.toThrow(
      /--model chooses the Bedrock model; add --generator bedrock/,
    );
  });
});

/** Runs `localkb <args>` to its exit (at most 60 s) and returns the exit code and everything it printed. */
function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('refusing to serve unauthenticated by mistake', () => {
  it('serve refuses an empty --secret-access-key instead of turning authentication off', async () => {
    const { code, output } = await runToExit([
      'serve',
      '--db',
      db,
      '--access-key-id',
      KEYS.accessKeyId,
      '--secret-access-key',
      '',
    ]);
    expect(code).not.toBe(0);
    expect(output).toContain('--secret-access-key is empty');
    expect(output).not.toContain('requests must be SigV4-signed');
  });

  it('emulator refuses --host 0.0.0.0 without keys, as serve does', async () => {
    const { code, output } = await runToExit(['emulator', '--host', '0.0.0.0']);
    expect(code).not.toBe(0);
    expect(output).toContain('needs credentials');
    expect(output).not.toContain('listening on');
  });
});
