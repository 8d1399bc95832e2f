/**
 * `localkb query / ask / stats --knowledge-base-id`: the CLI on a managed knowledge base, configured only through
 * the standard AWS environment (region, keys, AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME / _AGENT), against the
 * emulator serving the same store the `--db` runs read.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { REPO_ROOT } from '../helpers/models.js';
import { CORPUS } from '../kb-contract/corpus.js';

const MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');

let dir: string;
let db: string;
let emulator: BedrockEmulator;
let awsEnvironment: NodeJS.ProcessEnv;

async function localkb(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-cli-managed-'));
  db = path.join(dir, 'notes.db');
  const kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await kb.ingest(CORPUS);
  await kb.close();
  emulator = await startBedrockEmulator({ knowledgeBases: { FIELDNOTES: db } });
  const { accessKeyId, secretAccessKey } = emulator.clientConfig().credentials;
  awsEnvironment = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.endpoint,
    AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME: emulator.endpoint,
    AWS_ENDPOINT_URL_BEDROCK_AGENT: emulator.endpoint,
  };
});

afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('localkb with --knowledge-base-id', () => {
  it('query prints the same results for the managed knowledge base as for the local store behind it', async () => {
    const filter = JSON.stringify({ notEquals: { key: 'topic', value: 'plants' } });
    const [managed, local] = await Promise.all([
      localkb(
        [
          'query',
          'field notes on migration',
          '--knowledge-base-id',
          'FIELDNOTES',
          '-k',
          '3',
          '--filter',
          filter,
        ],
        awsEnvironment,
      ),
      localkb(['query', 'field notes on migration', '--db', db, '-k', '3', '--filter', filter]),
    ]);
    expect(managed.stderr).toBe('');
    expect(managed.code).toBe(0);
    expect(managed.stdout).toBe(local.stdout);
    expect(managed.stdout).toContain('swifts');
    expect(
      emulator.requests.some((r) => r.operation === 'Retrieve' && r.knowledgeBaseId === 'FIELDNOTES'),
    ).toBe(true);
  });

  it('ask answers through RetrieveAndGenerate with the same text and sources as the local run', async () => {
    const [managed, local] = await Promise.all([
      localkb(
        ['ask', 'Why do honey bees dance?', '--knowledge-base-id', 'FIELDNOTES', '-k', '3'],
        awsEnvironment,
      ),
      localkb(
        ['ask', 'Why do honey bees dance?', '--db', db, '-k', '3', '--generator', 'bedrock'],
        awsEnvironment,
      ),
    ]);
    expect(managed.stderr).toBe('');
    expect(managed.code).toBe(0);
    const answerAndSources = (stdout: string) => stdout.split('\nUsage:')[0]!.trim();
    expect(answerAndSources(managed.stdout)).toBe(answerAndSources(local.stdout));
    expect(managed.stdout).toContain('Honey bees dance to tell their hive where flowers are. [1]');
    expect(managed.stdout).toMatch(/Sources:\n {2}\[1\] bees/);
  });

  it('stats reports the managed knowledge base, and --db with --knowledge-base-id is refused', async () => {
    const [stats, both] = await Promise.all([
      localkb(['stats', '--knowledge-base-id', 'FIELDNOTES', '--json'], awsEnvironment),
      localkb(['query', 'bees', '--db', db, '--knowledge-base-id', 'FIELDNOTES'], awsEnvironment),
    ]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ knowledgeBaseId: 'FIELDNOTES', status: 'ACTIVE' });
    // Bedrock does not report chunk counts: left out, never NaN (or JSON null).
    expect(JSON.parse(stats.stdout)).not.toHaveProperty('chunks');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --db');
  });
});
