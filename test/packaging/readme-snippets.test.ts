/**
 * Every JavaScript snippet of README.md and src/testing/README.md, run as written against the built package: once
 * as index.js of a default `npm init -y` project (CommonJS, as npm 11 writes it) and once in an ES module project
 * ("type": "module"). `localkb` resolves through node_modules/localkb to a build of this repository made here (in
 * tmp/, apart from examples.test.ts's dist/), and the other packages a snippet loads link to this repository's.
 * Snippets run in order in one project folder holding docs/ (the example corpus), as a reader following the README
 * would; Bedrock calls go to the emulator through the SDK's standard AWS_ENDPOINT_URL.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { REPO_ROOT } from '../helpers/models.js';

const run = promisify(execFile);

interface Snippet {
  source: string;
  line: number;
  code: string;
}

/** The ```js blocks of a Markdown file (```ts ones too: a snippet must be plain JavaScript to run as written). */
function snippetsOf(file: string): Snippet[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const snippets: Snippet[] = [];
  for (const match of text.matchAll(/^```(?:js|javascript|ts|typescript|mjs|cjs)\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, match.index).split('\n').length + 1;
    snippets.push({ source: file, line, code: match[1]! });
  }
  return snippets;
}

const SNIPPETS = ['README.md', 'src/testing/README.md'].flatMap(snippetsOf);

/** The packages a snippet loads, by import(), import … from or require(). */
function packagesOf(code: string): string[] {
  const names = new Set<string>();
  for (const [, specifier] of code.matchAll(/(?:import\(|from |require\()\s*['"]([^'"]+)['"]/g)) {
    if (specifier!.startsWith('node:') || specifier!.startsWith('.')) continue;
    const parts = specifier!.split('/');
    names.add(specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...names];
}

const root = mkdtempSync(path.join(tmpdir(), 'localkb-readme-'));
const packageDir = path.join(REPO_ROOT, 'tmp', `readme-package-${process.pid}`);
const project = path.join(root, 'project');
let emulator: BedrockEmulator;

/** A project folder for scripts of one module kind, its node_modules linking what the snippets load. */
function moduleProject(kind: 'commonjs' | 'module'): string {
  const dir = path.join(root, kind);
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  // What `npm init -y` writes (npm 11 says "type": "commonjs"), or an ES module project.
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: `readme-${kind}`, version: '1.0.0', main: 'index.js', type: kind }, null, 2)}\n`,
  );
  const linked = new Set(SNIPPETS.flatMap((snippet) => packagesOf(snippet.code)));
  for (const name of linked) {
    const target = name === 'localkb' ? packageDir : path.join(REPO_ROOT, 'node_modules', name);
    mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(target, path.join(dir, 'node_modules', name), 'dir');
  }
  return dir;
}

beforeAll(async () => {
  // The package as published: package.json and a fresh dist (tsc, no source maps), inside the repository so its
  // own dependencies resolve from this repository's node_modules.
  rmSync(packageDir, { recursive: true, force: true });
  mkdirSync(packageDir, { recursive: true });
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(packageDir, 'package.json'));
  const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  await run(
    process.execPath,
    [tsc, '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(packageDir, 'dist')],
    { cwd: REPO_ROOT, timeout: 280_000 },
  );
  moduleProject('commonjs');
  moduleProject('module');
  mkdirSync(project);
  cpSync(path.join(REPO_ROOT, 'examples/corpus'), path.join(project, 'docs'), { recursive: true });
  emulator = await startBedrockEmulator();
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(packageDir, { recursive: true, force: true });
});

describe('the README snippets, run as written', () => {
  it('finds the snippets', () => {
    expect(SNIPPETS.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(SNIPPETS)('$source:$line', (snippet) => {
    it.each(['commonjs', 'module'] as const)(
      'runs in a %s project',
      async (kind) => {
        const script = path.join(
          root,
          kind,
          `snippet-${snippet.source.replace(/\W/g, '_')}-${snippet.line}.js`,
        );
        writeFileSync(script, snippet.code);
        const env = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: root,
          AWS_ENDPOINT_URL: emulator.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDREADME',
          AWS_SECRET_ACCESS_KEY: 'readme-secret',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        };
        const outcome = await run(process.execPath, [script], { cwd: project, env, timeout: 120_000 }).then(
          ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
          (error: { code?: number; stdout?: string; stderr?: string }) => ({
            code: error.code ?? 1,
            stdout: error.stdout ?? '',
            stderr: error.stderr ?? '',
          }),
        );
        expect(outcome.stderr, `${snippet.source}:${snippet.line} in ${kind}\n${outcome.stdout}`).not.toMatch(
          /Error|Cannot use import|is not defined/,
        );
        expect(outcome.code).toBe(0);
      },
      180_000,
    );
  });
});
