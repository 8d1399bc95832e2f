/**
 * The example apps in examples/, run against the built package as an app sees it: `localkb` resolves through
 * node_modules/localkb (a link to this repository) and its `exports` map to dist/, which this file builds first.
 * test:install (scripts/test-install.ts) runs the same apps again in a fresh app that installed the packed tarball.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/models.js';

const run = promisify(execFile);
const examples = path.join(REPO_ROOT, 'examples');
const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

function node(args: string[], cwd: string) {
  // No inherited NODE_OPTIONS (vitest's loaders): the examples run in plain Node as an app would.
  const env = { ...process.env, NODE_OPTIONS: '' };
  return run(process.execPath, args, { cwd, env, timeout: 240_000 });
}

beforeAll(async () => {
  await node([path.join(REPO_ROOT, 'scripts/build.mjs')], REPO_ROOT);
  for (const example of ['typescript-app', 'commonjs-script', 'offline-test']) {
    const modules = path.join(examples, example, 'node_modules');
    rmSync(path.join(modules, 'localkb'), { recursive: true, force: true });
    mkdirSync(modules, { recursive: true });
    symlinkSync(REPO_ROOT, path.join(modules, 'localkb'), 'dir');
  }
}, 300_000);

describe('the example apps, against the built package', () => {
  it('compiles the TypeScript app in strict mode without skipLibCheck and answers its question with citations', async () => {
    const cwd = path.join(examples, 'typescript-app');
    await node([tsc, '-p', '.'], cwd);
    const { stdout } = await node(['dist/main.js'], cwd);
    expect(stdout).toMatch(/^ingested 2 documents/m);
    expect(stdout).toMatch(/^answer: .*Sostratus of Cnidus.*\[1\]/m);
    expect(stdout).toMatch(/^citations: [1-9]/m);
  }, 300_000);

  it('runs the CommonJS script, which require()s localkb and catches a LocalKbError by class', async () => {
    const { stdout } = await node(['index.js'], path.join(examples, 'commonjs-script'));
    expect(stdout).toMatch(/^\d\.\d{3} {2}fresnel {2}Fresnel lenses/m);
    expect(stdout).not.toMatch(/smeaton/);
    expect(stdout).toMatch(/^rejected: INVALID_FILTER$/m);
  }, 120_000);

  it("passes the offline app test that drives the real AWS SDK client through localkb/testing's emulator", async () => {
    const { stdout } = await node(['--test'], path.join(examples, 'offline-test'));
    expect(stdout).toMatch(/^# pass 2$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  }, 120_000);
});
