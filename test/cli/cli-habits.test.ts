/** What a newcomer expects of a CLI: --version, help <command>, --json everywhere, list, documented exit codes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { CLI_MAIN, runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/models.js';
import { openManaged } from '../kb-contract/implementations.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');
let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-cli-habits-'));
  db = path.join(dir, 'habits.db');
  const made = await runCli(['ingest', CORPUS, '--db', db, '--embedder', 'none', '--quiet']);
  expect(made.code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The commands `localkb --help` lists, read from its own output. */
async function listedCommands(): Promise<string[]> {
  const { stdout, code } = await runCli(['--help']);
  expect(code).toBe(0);
  const section = stdout.slice(
    stdout.indexOf('Commands:'),
    stdout.indexOf('\n\n', stdout.indexOf('Commands:')),
  );
  return [...section.matchAll(/^ {2}(\S+) {2,}/gm)]
    .map((m) => m[1] as string)
    .filter((name) => name !== 'help');
}

describe('localkb --version and help', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it('documents the exit codes and lists list among the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toContain('Exit codes: 0 ok, 1 failure');
    expect(result.stdout).toContain('2 usage');
    expect(await listedCommands()).toEqual(expect.arrayContaining(['list', 'delete', 'stats', 'ingest']));
  });

  it('help <command> is <command> --help for every command, and each one offers --json', async () => {
    const commands = await listedCommands();
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) {
      const viaHelp = await runCli(['help', command]);
      const viaFlag = await runCli([command, '--help']);
      expect(viaHelp.code, command).toBe(0);
      expect(viaHelp.stdout, command).toBe(viaFlag.stdout);
      expect(viaHelp.stdout, command).toContain(`localkb ${command}`);
      expect(viaHelp.stdout, `${command} --help mentions --json`).toContain('--json');
    }
  }, 240_000);

  it('exits 2 for a wrong command line and 1 for work that failed', async () => {
    expect((await runCli([])).code).toBe(2);
    const unknown = await runCli(['lsit']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "list"?');
    expect((await runCli(['help', 'nope'])).code).toBe(2);
    expect((await runCli(['list', '--db', db, '--limt', '3'])).code).toBe(2);
    expect((await runCli(['list', '--db', db, '--limit', 'zero'])).code).toBe(2);
    expect((await runCli(['finetune'])).code).toBe(2);
    expect((await runCli(['provisioned'])).code).toBe(2);
    expect((await runCli(['list', '--db', path.join(dir, 'none.db')])).code).toBe(1);
  });
});

describe('localkb list', () => {
  it('lists every document id with its source, title and chunk count, as text and JSON', async () => {
    const json = await runCli(['list', '--db', db, '--json']);
    expect(json.code).toBe(0);
    const listing = JSON.parse(json.stdout);
    const stats = JSON.parse((await runCli(['stats', '--db', db, '--json'])).stdout);
    expect(listing.total).toBe(stats.documents);
    expect(listing.documents).toHaveLength(stats.documents);
    const chunkSum = listing.documents.reduce((sum: number, d: { chunks: number }) => sum + d.chunks, 0);
    expect(chunkSum).toBe(stats.chunks);
    for (const document of listing.documents) {
      expect(document.source).toMatch(/^file:\/\//);
      expect(document.chunks).toBeGreaterThan(0);
    }
    expect(listing.documents.some((d: { title?: string }) => d.title)).toBe(true);

    const text = await runCli(['list', '--db', db]);
    expect(text.code).toBe(0);
    for (const document of listing.documents) expect(text.stdout).toContain(document.id);
    expect(text.stdout).toContain(`${stats.documents} documents`);
  });

  it('pages through a store, pointing at the next page', async () => {
    const all = JSON.parse((await runCli(['list', '--db', db, '--json'])).stdout).documents;
    const page = await runCli(['list', '--db', db, '--limit', '2', '--offset', '2']);
    expect(page.code).toBe(0);
    expect(page.stdout).toContain(all[2].id);
    expect(page.stdout).toContain(all[3].id);
    expect(page.stdout).not.toContain(all[0].id);
    expect(page.stdout).toContain(`documents 3–4 of ${all.length}; next page: --offset 4`);
    const pageJson = JSON.parse(
      (await runCli(['list', '--db', db, '--limit', '2', '--offset', '2', '--json'])).stdout,
    );
    expect(pageJson.documents.map((d: { id: string }) => d.id)).toEqual([all[2].id, all[3].id]);
  });
});

describe('localkb delete --json', () => {
  it('reports what it deleted and which ids were not there, exiting 1 for the missing', async () => {
    const copy = path.join(dir, 'delete.db');
    expect((await runCli(['ingest', CORPUS, '--db', copy, '--embedder', 'none', '--quiet'])).code).toBe(0);
    const before = JSON.parse((await runCli(['list', '--db', copy, '--json'])).stdout).documents;
    const victim = before[0].id as string;
    const result = await runCli(['delete', victim, 'no-such-doc.md', '--db', copy, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ deleted: [victim], notFound: ['no-such-doc.md'] });
    expect(result.stderr).toContain(`localkb list --db ${copy} shows the ids`);
    const after = JSON.parse((await runCli(['list', '--db', copy, '--json'])).stdout);
    expect(after.total).toBe(before.length - 1);
  });
});

/** Starts a long-running command with --json, reads the one JSON line it prints when ready, then stops it. */
async function readyLine(args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { cwd: REPO_ROOT });
  try {
    return await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.on('exit', (code) => reject(new Error(`localkb ${args[0]} exited ${code}: ${err}`)));
    });
  } finally {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('long-running commands with --json', () => {
  it('serve and emulator print one JSON line saying where they listen', async () => {
    const serving = await readyLine(['serve', '--db', db, '--json']);
    expect(serving).toMatchObject({ db, embedderId: 'none', signed: false });
    expect(serving.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serving.knowledgeBaseId).toMatch(/^[0-9A-Z]{10}$/);
    const emulating = await readyLine(['emulator', '--json']);
    expect(emulating.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulating.environment).toEqual({
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulating.endpoint,
      AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME: emulating.endpoint,
      AWS_ENDPOINT_URL_BEDROCK_AGENT: emulating.endpoint,
    });
  });
});

describe('localkb stats on a managed knowledge base', () => {
  let emulator: BedrockEmulator;
  beforeAll(async () => {
    emulator = await startBedrockEmulator({ transitionMs: 1 });
  });
  afterAll(async () => emulator.close());

  it('leaves out the chunk count Bedrock does not report instead of printing NaN', async () => {
    const managed = await openManaged(emulator, 'cli-stats');
    try {
      await managed.kb.ingest([{ id: 'a', text: 'The Bell Rock light stands on a reef off Arbroath.' }]);
      const { credentials, region } = emulator.clientConfig();
      const env = {
        AWS_ENDPOINT_URL_BEDROCK_AGENT: emulator.endpoint,
        AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME: emulator.endpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      };
      const text = await runCli(['stats', '--knowledge-base-id', managed.knowledgeBaseId], { env });
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^documents +1$/m);
      expect(text.stdout).not.toMatch(/NaN|undefined/);
      expect(text.stdout).not.toMatch(/^chunks/m);
      const json = await runCli(['stats', '--knowledge-base-id', managed.knowledgeBaseId, '--json'], { env });
      expect(JSON.parse(json.stdout)).not.toHaveProperty('chunks');
    } finally {
      await managed.close();
    }
  });
});
