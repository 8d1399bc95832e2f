/**
 * The example apps in examples/, run against the built package as an app sees it: `localkb` resolves through
 * node_modules/localkb (a link to this repository) and its `exports` map to dist/, which this file builds first.
 * test:install (scripts/test-install.ts) runs the same apps again in a fresh app that installed the packed tarball.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
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
    // plain text, as Bedrock answers; the citations are beside it
    expect(stdout).toMatch(/^answer: .*Sostratus of Cnidus/m);
    expect(stdout).not.toMatch(/^answer: .*\[1\]/m);
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

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function shipsTypes(pkg: string): boolean {
  const dir = path.join(REPO_ROOT, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return (
    Boolean(manifest.types || manifest.typings) ||
    JSON.stringify(manifest.exports ?? {}).includes('"types"') ||
    existsSync(path.join(dir, 'index.d.ts'))
  );
}

describe('the published declarations', () => {
  it('reach only packages an app gets with localkb, each shipping its own types', () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    const installed = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    const entries = Object.values(manifest.exports as Record<string, { types?: string }>).flatMap(
      (e) => e.types ?? [],
    );
    // Walk the declarations TypeScript reads from each export, as an app's compiler would.
    const pending = entries.map((entry) => path.join(REPO_ROOT, entry));
    const seen = new Set<string>();
    const problems: string[] = [];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from |import\()['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.')) {
          pending.push(path.resolve(path.dirname(file), specifier!.replace(/\.js$/, '.d.ts')));
          continue;
        }
        if (specifier!.startsWith('node:') || builtinModules.includes(specifier!)) continue;
        const pkg = packageOf(specifier!);
        const where = path.relative(REPO_ROOT, file);
        if (!installed.has(pkg)) problems.push(`${where}: ${pkg} is not a dependency or peer`);
        else if (!shipsTypes(pkg))
          problems.push(`${where}: ${pkg} ships no types (an app lacks its @types package)`);
      }
    }
    expect(seen.size).toBeGreaterThan(entries.length);
    expect(problems).toEqual([]);
  });
});
