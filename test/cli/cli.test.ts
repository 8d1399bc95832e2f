import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { type CliResult, CLI_MAIN as MAIN, runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/models.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');

/** Runs the real CLI entry point in its own process. */
function localkb(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env });
}

let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-cli-'));
  db = path.join(dir, 'cli.db');
  const result = await localkb(['ingest', CORPUS, '--db', db, '--embedder', 'none', '--quiet']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('localkb ingest', () => {
  it('prints a summary of what it stored, and skips unchanged files the second time', async () => {
    const again = await localkb(['ingest', CORPUS, '--db', db, '--quiet']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 added, 0 updated, 6 unchanged');
  });

  it('reports a bad file as a skip and goes on', async () => {
    const folder = path.join(dir, 'mixed');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'good.md'), '# Foghorns\n\nA diaphone foghorn sounds two tones.\n');
    writeFileSync(path.join(folder, 'bad.pdf'), 'not a pdf at all');
    const result = await localkb([
      'ingest',
      folder,
      '--db',
      path.join(dir, 'mixed.db'),
      '--embedder',
      'none',
      '--quiet',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1 added');
    expect(result.stdout).toMatch(/skipped 1 \[PDF_CORRUPT\]: .*\n {4}.*bad\.pdf: /);
  });
});

describe('localkb query', () => {
  it('prints ranked results with their sources', async () => {
    const result = await localkb(['query', 'Smeaton granite tower', '--db', db, '-k', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ 1\. \d\.\d{4} {2}examples\/corpus\/eddystone\.md/m);
    expect(result.stdout).toMatch(/^ 2\. /m);
  });

  it('prints Bedrock-shaped JSON with --json and honours a filter', async () => {
    const filter = JSON.stringify({ equals: { key: 'topic', value: 'engineering' } });
    const result = await localkb([
      'query',
      'lighthouse',
      '--db',
      db,
      '-k',
      '3',
      '--json',
      '--filter',
      filter,
    ]);
    expect(result.code).toBe(0);
    const results = JSON.parse(result.stdout) as {
      documentId: string;
      content: { type: string };
      score: number;
    }[];
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.documentId).toBe('eddystone.md');
      expect(r.content.type).toBe('TEXT');
    }
  });

  it('fails with one line naming the problem, exit 2 for a wrong command line', async () => {
    const noDb = await localkb(['query', 'x']);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr.trim().split('\n')).toHaveLength(1);
    expect(noDb.stderr).toContain('--db');

    const badFilter = await localkb(['query', 'x', '--db', db, '--filter', '{"equals":{"key":"a"}}']);
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toContain('[INVALID_FILTER]');

    const typo = await localkb(['query', 'x', '--db', db, '--kk', '3']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown flag --kk; did you mean --k?');

    const missing = await localkb(['query', 'anything', '--db', path.join(dir, 'nothing-here.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[STORE_NOT_FOUND]');

    const emptyDb = path.join(dir, 'empty.db');
    await (await LocalKnowledgeBase.open(emptyDb, { embedder: 'none' })).close();
    const empty = await localkb(['query', 'anything', '--db', emptyDb]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('[EMPTY_STORE]');
  });
});

describe('localkb stats', () => {
  it('shows the store contents as JSON', async () => {
    const result = await localkb(['stats', '--db', db, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ documents: 6, embedderId: 'none' });
  });
});

describe('localkb ask', () => {
  let emulator: BedrockEmulator;
  beforeAll(async () => {
    emulator = await startBedrockEmulator();
  });
  afterAll(async () => emulator.close());

  it('answers offline with the extractive generator and lists its sources', async () => {
    const result = await localkb(['ask', 'Who designed the Pharos of Alexandria?', '--db', db]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Sostratus');
    expect(result.stdout).toMatch(/Sources:\n {2}\[\d\] examples\/corpus\/ancient-lights\.md/);
  });

  it('reaches Bedrock through the standard AWS endpoint variable, streaming', async () => {
    const { credentials, region } = emulator.clientConfig();
    const result = await localkb(
      ['ask', 'Who built the first Eddystone light?', '--db', db, '--generator', 'bedrock', '--stream'],
      {
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.endpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(emulator.requests.at(-1)?.operation).toBe('ConverseStream');
    expect(result.stdout).toMatch(/\[\d\]/);
    expect(result.stdout).toContain('Sources:');
  });
});

describe('localkb emulator', () => {
  it('prints its endpoint and serves until stopped', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'emulator', '--port', '0'], {
      cwd: REPO_ROOT,
    });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1] as string);
      });
      child.on('exit', (code) => reject(new Error(`emulator exited ${code}`)));
    });
    const response = await fetch(`${endpoint}/model/amazon.titan-text-express-v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputText: 'hello' }),
    });
    expect(response.status).toBe(200);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
