/** `localkb playground`: prints its address, serves the page and its API for the store, stops on SIGTERM. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { REPO_ROOT } from '../helpers/models.js';

const MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');
let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-playground-cli-'));
  db = path.join(dir, 'kb.db');
  const kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await kb.ingest([path.join(REPO_ROOT, 'examples/corpus')]);
  await kb.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failing(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'playground', ...args], {
      cwd: REPO_ROOT,
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('localkb playground', () => {
  it('prints the page address (as JSON with --json), serves the store there and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'playground', '--db', db, '--port', '0', '--json'],
      {
        cwd: REPO_ROOT,
      },
    );
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('exit', (code) => reject(new Error(`localkb playground exited with ${code}: ${output}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('localkb playground');
    const info = (await (await fetch(`${url}api/info`)).json()) as { description: string };
    expect(info).toMatchObject({ kind: 'local', searchTypes: ['bm25'] });
    expect(info.description).toContain(db);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses to listen beyond loopback', async () => {
    const result = await failing(['--db', db, '--host', '0.0.0.0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('loopback only');
    expect(result.stderr).toContain('[INVALID_OPTION]');
  });

  it('refuses a store path with nothing there instead of creating an empty store', async () => {
    const missing = path.join(dir, 'typo.db');
    const result = await failing(['--db', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[STORE_NOT_FOUND]');
    const again = await failing(['--db', db, '--generator', 'gpt4']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--generator must be extractive, bedrock, openai');
  });
});
