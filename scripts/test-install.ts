/**
 * npm run test:install — the real install, as a user's app gets it: `npm pack`, then a fresh app in a temporary
 * folder (no allowScripts, no environment variables but PATH and HOME) installs the tarball. It measures install time
 * and node_modules size, runs the examples there (CommonJS, ESM offline test with localkb/testing, strict
 * TypeScript) and `npx localkb demo`, checks that MiniLM without transformers.js and the LangChain/LlamaIndex
 * adapters without their frameworks name their npm install commands, then adds @huggingface/transformers (core +
 * MiniLM) and embeds with a generated model, and @langchain/core and retrieves through the LangChain adapter.
 * Prints JSON and a table.
 *
 *   npx tsx scripts/test-install.ts [--keep] [--probe-onnxruntime-default]
 *
 * --probe-onnxruntime-default first installs @huggingface/transformers with no workaround, to observe what
 * onnxruntime-node's postinstall does in such an app (it tries to download CUDA libraries; here it fails).
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { printTable, repoRoot } from '../bench/shared-data.js';
import { ensureGeneratedModel, TINY_EMBEDDER_PATH } from '../test/helpers/models.js';

const { values } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    'probe-onnxruntime-default': { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`[test:install] ${line}\n`);
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const transformersRange: string = pkg.peerDependencies['@huggingface/transformers'];

/** What a user's shell has: PATH and HOME (npm's cache), none of npm's npm_* variables or our test settings. */
const userEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? tmpdir(),
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}
function sh(
  file: string,
  args: string[],
  cwd: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
) {
  const start = performance.now();
  return new Promise<Outcome>((resolve) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: options.env ?? userEnv,
        timeout: options.timeoutMs ?? 1_200_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({
          code: typeof code === 'number' ? code : 1,
          stdout,
          stderr,
          seconds: (performance.now() - start) / 1000,
        });
      },
    );
  });
}
async function must(what: string, file: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  log(`${what}: ${file} ${args.join(' ')}`);
  const outcome = await sh(file, args, cwd, env ? { env } : {});
  if (outcome.code !== 0) {
    process.stderr.write(`${outcome.stdout}\n${outcome.stderr}\n`);
    throw new Error(`${what} failed (exit ${outcome.code})`);
  }
  return outcome;
}

function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) total += folderBytes(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}
const mb = (bytes: number) => Number((bytes / 1e6).toFixed(1));
/** The largest packages in node_modules, scoped ones counted per package. */
function largestPackages(modules: string, count: number): Array<[string, number]> {
  const sizes: Array<[string, number]> = [];
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue;
    const full = path.join(modules, name);
    if (name.startsWith('@')) {
      for (const sub of readdirSync(full)) sizes.push([`${name}/${sub}`, folderBytes(path.join(full, sub))]);
    } else sizes.push([name, folderBytes(full)]);
  }
  return sizes.sort((a, b) => b[1] - a[1]).slice(0, count);
}

function freshApp(root: string, name: string): string {
  const app = path.join(root, name);
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify({ name, version: '1.0.0', private: true }, null, 2)}\n`,
  );
  return app;
}

const checks: Array<{ check: string; result: string }> = [];
function check(name: string, ok: boolean, detail = '') {
  checks.push({ check: name, result: ok ? `ok${detail ? ` (${detail})` : ''}` : `FAILED ${detail}` });
  log(`${ok ? 'ok' : 'FAILED'}: ${name} ${detail}`);
}

const root = mkdtempSync(path.join(tmpdir(), 'localkb-install-'));
const npm = 'npm';
const figures: Record<string, number | string> = {};
try {
  // 1. The tarball, as `npm publish` would upload it.
  const packed = await must('pack', npm, ['pack', '--pack-destination', root, '--json'], repoRoot, {
    ...userEnv,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  }>;
  const tarball = path.join(root, info!.filename);
  figures['tarball MB'] = mb(info!.size);
  figures['tarball files'] = info!.files.length;
  const files = info!.files.map((f) => f.path);
  check('the tarball ships no source maps', !files.some((f) => f.endsWith('.map')));
  check(
    'the tarball ships LICENSE, CHANGELOG.md and the READMEs the types point to',
    ['LICENSE', 'CHANGELOG.md', 'README.md', 'dist/testing/README.md', 'dist/eval/README.md'].every((f) =>
      files.includes(f),
    ),
  );

  // 2. Core install: the tarball alone, as `npm install localkb` would.
  const app = freshApp(root, 'app');
  const core = await must('core install', npm, ['install', '--no-audit', '--no-fund', tarball], app);
  figures['core install s'] = Number(core.seconds.toFixed(1));
  const modules = path.join(app, 'node_modules');
  figures['core node_modules MB'] = mb(folderBytes(modules));
  const installed = (name: string) => {
    try {
      statSync(path.join(modules, name));
      return true;
    } catch {
      return false;
    }
  };
  check(
    'the core install pulls neither transformers.js nor onnxruntime',
    !installed('@huggingface/transformers') &&
      !installed('onnxruntime-node') &&
      !installed('onnxruntime-web'),
  );
  check('the core install pulls no canvas', !installed('@napi-rs/canvas') && !installed('canvas'));
  const largestCore = largestPackages(modules, 8);

  // The same install again with a warm cache, split into fetching/unpacking and compiling the native modules.
  const warm = freshApp(root, 'warm');
  const fetched = await must(
    'warm install without scripts',
    npm,
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
    warm,
  );
  const compiled = await must('native builds', npm, ['rebuild', 'better-sqlite3', 'hnswlib-node'], warm);
  figures['warm install s, without native builds'] = Number(fetched.seconds.toFixed(1));
  figures['native builds s (better-sqlite3, hnswlib-node)'] = Number(compiled.seconds.toFixed(1));
  rmSync(warm, { recursive: true, force: true });

  // 3. The examples, copied into the app (their package.json set "type"; `localkb` resolves from the app).
  for (const example of ['commonjs-script', 'offline-test', 'typescript-app']) {
    cpSync(path.join(repoRoot, 'examples', example), path.join(app, example), {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|dist)$/.test(source),
    });
  }
  const cjs = await sh(process.execPath, ['index.js'], path.join(app, 'commonjs-script'));
  check(
    'CommonJS: require("localkb") runs the script',
    cjs.code === 0 && /rejected: INVALID_FILTER/.test(cjs.stdout),
    cjs.code === 0 ? '' : cjs.stderr.slice(-400),
  );
  const esm = await sh(process.execPath, ['--test'], path.join(app, 'offline-test'));
  check(
    'ESM: the offline test with localkb/testing passes',
    esm.code === 0 && /# pass 2/.test(esm.stdout),
    esm.code === 0 ? '' : esm.stdout.slice(-600),
  );
  const requireTesting = await sh(
    process.execPath,
    [
      '-e',
      "const t = require('localkb/testing'); if (typeof t.startBedrockEmulator !== 'function') process.exit(1)",
    ],
    app,
  );
  check('CommonJS: require("localkb/testing")', requireTesting.code === 0, requireTesting.stderr.slice(-300));
  const demo = await sh(npm, ['exec', '--', 'localkb', 'demo'], app);
  check(
    'npx localkb demo answers offline',
    demo.code === 0 && /\[1\]/.test(demo.stdout),
    demo.code === 0 ? '' : demo.stderr.slice(-400),
  );
  const miniLm = await sh(
    process.execPath,
    [
      '-e',
      "const { TransformersEmbedder } = require('localkb'); new TransformersEmbedder().embedDocuments(['x']).then(() => process.exit(3), (e) => { console.log(e.code + ' ' + e.message); });",
    ],
    app,
  );
  check(
    'core only: MiniLM fails with DEPENDENCY_MISSING naming the install command',
    miniLm.stdout.startsWith('DEPENDENCY_MISSING') &&
      miniLm.stdout.includes(`npm install @huggingface/transformers@${transformersRange}`),
    miniLm.stdout.trim().slice(0, 200),
  );

  for (const [adapter, peer] of [
    ['langchain', '@langchain/core'],
    ['llamaindex', '@llamaindex/core'],
  ] as const) {
    const absent = await sh(
      process.execPath,
      [
        '-e',
        `import('localkb/${adapter}').then(() => process.exit(3), (e) => { console.log(e.code + ' ' + e.message); });`,
      ],
      app,
    );
    check(
      `core only: localkb/${adapter} fails with DEPENDENCY_MISSING naming the install command`,
      absent.stdout.startsWith('DEPENDENCY_MISSING') &&
        absent.stdout.includes(`npm install ${peer}@${pkg.peerDependencies[peer]}`),
      absent.stdout.trim().slice(0, 200),
    );
  }

  // TypeScript: the user's own compiler and Node types, strict, without skipLibCheck.
  const tsDeps = await must(
    'typescript for the app',
    npm,
    ['install', '--no-audit', '--no-fund', '-D', 'typescript@^5.9.3', '@types/node@^20.19.43'],
    app,
  );
  figures['typescript + @types/node install s'] = Number(tsDeps.seconds.toFixed(1));
  const tsc = await sh(
    process.execPath,
    [path.join(modules, 'typescript/bin/tsc'), '-p', 'typescript-app'],
    app,
  );
  check(
    'TypeScript: the strict app compiles against the installed types',
    tsc.code === 0,
    tsc.stdout.slice(-800),
  );
  if (tsc.code === 0) {
    const ts = await sh(process.execPath, ['typescript-app/dist/main.js'], app);
    check(
      'TypeScript: the compiled app answers with citations',
      ts.code === 0 && /citations: [1-9]/.test(ts.stdout),
      ts.stderr.slice(-400),
    );
  }
  const cjsTypes = path.join(app, 'cjs-types');
  mkdirSync(cjsTypes);
  writeFileSync(path.join(cjsTypes, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(
    path.join(cjsTypes, 'main.ts'),
    "import { LocalKnowledgeBase, type RetrievalResult } from 'localkb';\nimport { startBedrockEmulator } from 'localkb/testing';\nexport const types: [typeof LocalKnowledgeBase.open, typeof startBedrockEmulator, RetrievalResult[]] | undefined = undefined;\n",
  );
  writeFileSync(
    path.join(cjsTypes, 'tsconfig.json'),
    `${JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], noEmit: true }, files: ['main.ts'] }, null, 2)}\n`,
  );
  const cjsTsc = await sh(
    process.execPath,
    [path.join(modules, 'typescript/bin/tsc'), '-p', 'cjs-types'],
    app,
  );
  check(
    'TypeScript: a CommonJS module gets the types of localkb and localkb/testing',
    cjsTsc.code === 0,
    cjsTsc.stdout.slice(-800),
  );

  // 4. Core + MiniLM: the optional peer, as its DEPENDENCY_MISSING message says to install it.
  if (values['probe-onnxruntime-default']) {
    const probe = freshApp(root, 'probe');
    const plain = await sh(
      npm,
      ['install', '--no-audit', '--no-fund', `@huggingface/transformers@${transformersRange}`],
      probe,
      { timeoutMs: 900_000 },
    );
    figures['transformers install, no workaround: exit'] = plain.code;
    figures['transformers install, no workaround: s'] = Number(plain.seconds.toFixed(1));
    log(
      `without a workaround: exit ${plain.code} after ${plain.seconds.toFixed(0)} s\n${plain.stderr
        .split('\n')
        .filter((l) => /onnxruntime|error/i.test(l))
        .slice(0, 12)
        .join('\n')}`,
    );
    rmSync(probe, { recursive: true, force: true });
  }
  const withPeer = await must(
    'core + MiniLM install',
    npm,
    ['install', '--no-audit', '--no-fund', `@huggingface/transformers@${transformersRange}`],
    app,
    { ...userEnv, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  );
  figures['transformers install s (ONNXRUNTIME_NODE_INSTALL=skip)'] = Number(withPeer.seconds.toFixed(1));
  const tsBytes = folderBytes(path.join(modules, 'typescript')) + folderBytes(path.join(modules, '@types'));
  figures['core + MiniLM node_modules MB'] = mb(folderBytes(modules) - tsBytes);
  ensureGeneratedModel(TINY_EMBEDDER_PATH, 'tiny');
  const embed = await sh(
    process.execPath,
    [
      '-e',
      `const { TransformersEmbedder } = require('localkb'); new TransformersEmbedder({ modelPath: ${JSON.stringify(TINY_EMBEDDER_PATH)}, offline: true }).embedDocuments(['lighthouse lamps']).then((v) => console.log(v[0].length), (e) => { console.error(e); process.exit(1); });`,
    ],
    app,
  );
  check(
    'core + MiniLM: TransformersEmbedder embeds with a local model',
    embed.code === 0 && embed.stdout.trim() === '32',
    embed.stderr.slice(-400),
  );
  const largestWithPeer = largestPackages(modules, 6);

  // 5. LangChain: the adapter's peer, installed as its DEPENDENCY_MISSING message says, then a retriever over a store.
  const langchainRange: string = pkg.peerDependencies['@langchain/core'];
  const beforeLangChain = folderBytes(modules);
  const withLangChain = await must(
    'LangChain install',
    npm,
    ['install', '--no-audit', '--no-fund', `@langchain/core@${langchainRange}`],
    app,
  );
  figures['@langchain/core install s'] = Number(withLangChain.seconds.toFixed(1));
  figures['@langchain/core adds MB'] = mb(folderBytes(modules) - beforeLangChain);
  const langchain = await sh(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { LocalKnowledgeBase } from 'localkb'; import { LocalKbRetriever } from 'localkb/langchain';
const kb = await LocalKnowledgeBase.open(process.argv[1], { embedder: 'none' });
await kb.ingest([{ id: 'a', text: 'Fresnel lenses focus the lamp of a lighthouse.' }]);
const [document] = await new LocalKbRetriever({ knowledgeBase: kb, k: 1 }).invoke('fresnel lens');
console.log(document.metadata.documentId + ' ' + document.pageContent);
await kb.close();`,
      path.join(root, 'langchain.db'),
    ],
    app,
  );
  check(
    'with @langchain/core: LocalKbRetriever retrieves from a store',
    langchain.code === 0 && langchain.stdout.trim() === 'a Fresnel lenses focus the lamp of a lighthouse.',
    langchain.stderr.slice(-400),
  );

  console.log(
    JSON.stringify({ figures, checks, largestCore, largestWithPeer, node: process.version }, null, 1),
  );
  console.log(`\n${printTable(Object.entries(figures).map(([figure, value]) => ({ figure, value })))}`);
  console.log(
    `\n${printTable(largestCore.map(([name, bytes]) => ({ 'largest in the core install': name, MB: mb(bytes) })))}`,
  );
  console.log(`\n${printTable(checks)}`);
  const failed = checks.filter((c) => c.result.startsWith('FAILED')).length;
  console.log(`\n${checks.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
} finally {
  if (values.keep) log(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
