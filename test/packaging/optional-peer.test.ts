import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  importOptionalPeer,
  isOptionalPeerInstalled,
  OPTIONAL_PEERS,
  type OptionalPeer,
} from '../../src/optional-peer.js';
import { REPO_ROOT } from '../helpers/models.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
// Scripts outside the repository, where none of our node_modules resolve, run by plain Node (with tsx for our
// sources): their imports fail exactly as in an app that did not install the peer.
const outside = mkdtempSync(path.join(tmpdir(), 'localkb-peer-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

interface ImportFailure {
  code?: string;
  input?: string;
  message: string;
}

/** Runs `body` (which sets `error`) as a script outside the repository and returns that error. */
function errorOfScript(name: string, body: string): ImportFailure {
  const script = path.join(outside, `${name.replace(/\W/g, '_')}.mts`);
  writeFileSync(
    script,
    `${body}\nprocess.stdout.write(JSON.stringify({ code: error?.code, input: error?.input, message: String(error?.message) }));\n`,
  );
  const out = execFileSync(process.execPath, ['--import', tsx, script], { cwd: outside, encoding: 'utf8' });
  return JSON.parse(out);
}

/** The error importOptionalPeer throws when `load` imports `specifier` from outside the repository. */
function errorImporting(
  specifier: string,
  feature: string,
  peer: OptionalPeer = '@huggingface/transformers',
) {
  return errorOfScript(
    specifier,
    `import { importOptionalPeer } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'src/optional-peer.ts')).href)};
const error = await importOptionalPeer(${JSON.stringify(peer)}, ${JSON.stringify(feature)}, () => import(${JSON.stringify(specifier)})).catch((e) => e);`,
  );
}

describe('optional peer dependencies', () => {
  it('lists each optional peer in package.json as an optional peer with the same range, and as a devDependency', () => {
    for (const [name, range] of Object.entries(OPTIONAL_PEERS)) {
      expect(pkg.peerDependencies?.[name], name).toBe(range);
      expect(pkg.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies?.[name], name).toBeDefined();
      expect(pkg.dependencies?.[name], name).toBeUndefined();
    }
  });

  it('turns a missing optional peer into DEPENDENCY_MISSING naming the npm install command', async () => {
    const error = errorImporting(
      '@huggingface/transformers',
      'TransformersEmbedder (Xenova/all-MiniLM-L6-v2)',
    );
    expect(error).toMatchObject({ code: 'DEPENDENCY_MISSING', input: '@huggingface/transformers' });
    expect(error.message).toContain(
      `npm install @huggingface/transformers@${OPTIONAL_PEERS['@huggingface/transformers']}`,
    );
    expect(error.message).toContain('TransformersEmbedder (Xenova/all-MiniLM-L6-v2)');
  });

  it.each(Object.keys(OPTIONAL_PEERS) as OptionalPeer[])(
    'names the npm install command of %s when it is missing',
    (peer) => {
      const error = errorImporting(peer, 'a feature', peer);
      expect(error).toMatchObject({ code: 'DEPENDENCY_MISSING', input: peer });
      expect(error.message).toContain(`npm install ${peer}@${OPTIONAL_PEERS[peer]}`);
    },
  );

  it.each([
    ['langchain', '@langchain/core'],
    ['llamaindex', '@llamaindex/core'],
  ] as const)('fails to import localkb/%s without %s, naming its npm install command', (adapter, peer) => {
    // A copy of the sources where no node_modules resolve, as in an app that installed localkb alone.
    const copy = path.join(outside, `src-${adapter}`);
    cpSync(path.join(REPO_ROOT, 'src'), copy, { recursive: true });
    writeFileSync(path.join(copy, 'package.json'), '{ "type": "module" }\n');
    const error = errorOfScript(
      adapter,
      `const error = await import(${JSON.stringify(pathToFileURL(path.join(copy, `integrations/${adapter}.ts`)).href)}).then(() => undefined, (e) => e);`,
    );
    expect(error).toMatchObject({ code: 'DEPENDENCY_MISSING', input: peer });
    expect(error.message).toContain(`localkb/${adapter} needs ${peer}`);
    expect(error.message).toContain(`npm install ${peer}@${OPTIONAL_PEERS[peer]}`);
  });

  it('names the missing package when the peer is installed but one of its own dependencies is not', async () => {
    const error = errorImporting('onnxruntime-node', 'CrossEncoderReranker');
    expect(error).toMatchObject({ code: 'DEPENDENCY_MISSING' });
    expect(error.message).toMatch(/cannot load its dependency onnxruntime-node/);
  });

  it('passes other import failures through unchanged', async () => {
    const failure = new TypeError('boom');
    await expect(
      importOptionalPeer('@huggingface/transformers', 'x', () => Promise.reject(failure)),
    ).rejects.toBe(failure);
  });

  it('sees the peer installed in this repository', () => {
    expect(isOptionalPeerInstalled('@huggingface/transformers')).toBe(true);
  });
});
