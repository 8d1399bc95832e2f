import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStaticAssets, PLAYGROUND_ASSET_NAMES } from '../../src/playground/static-assets.js';
import { REPO_ROOT } from '../helpers/models.js';

const COPY = path.join(REPO_ROOT, 'scripts/copy-playground-assets.mjs');
const out = mkdtempSync(path.join(tmpdir(), 'localkb-assets-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the playground page files in a build', () => {
  it('are copied beside the compiled server, where it looks for them', () => {
    execFileSync(process.execPath, [COPY, out]);
    const assets = loadStaticAssets(path.join(out, 'playground/assets'));
    expect([...assets.keys()].sort()).toEqual([...PLAYGROUND_ASSET_NAMES].sort());
  });

  it('are in the npm tarball', () => {
    execFileSync(process.execPath, [COPY]);
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }),
    );
    const files = packed.files.map((file: { path: string }) => file.path);
    for (const name of PLAYGROUND_ASSET_NAMES) expect(files).toContain(`dist/playground/assets/${name}`);
  });

  it('say which file is missing and how to fix it', () => {
    expect(() => loadStaticAssets(path.join(out, 'nowhere'))).toThrow(
      expect.objectContaining({
        code: 'FILE_NOT_FOUND',
        message: expect.stringContaining('reinstall localkb'),
      }),
    );
  });
});
