import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadOutcome, loadPaths, walkPaths } from '../../src/ingest/index.js';

let root: string;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
const relativePaths = async (paths: string[], options = {}) =>
  (await collect(walkPaths(paths, options))).map((f) =>
    path.relative(root, f.path).split(path.sep).join('/'),
  );

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'localkb-walk-'));
  const files: Record<string, string> = {
    'b.md': '# B\n\nbee',
    'a.txt': 'alpha',
    'docs/guide.html': '<h1>Guide</h1><p>text</p>',
    'docs/guide.html.metadata.json': '{"metadataAttributes": {"kind": "guide"}}',
    'docs/drafts/wip.md': 'draft',
    'docs/notes.MD': 'upper-case extension',
    'docs/data.xyz': 'a,b',
    '.hidden/secret.md': 'hidden folder',
    '.dotfile.md': 'hidden file',
    'node_modules/pkg/readme.md': 'dependency',
    'bad/binary.txt': '\u0000\u0001\u0002',
    'bad/empty.md': '',
    'z/last.txt': 'zulu',
  };
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  await symlink(path.join(root, 'docs'), path.join(root, 'z', 'loop-to-docs'));
  await symlink(root, path.join(root, 'docs', 'loop-to-root'));
  await symlink(path.join(root, 'a.txt'), path.join(root, 'z', 'link-to-a.txt'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('walkPaths', () => {
  it('walks a folder recursively in sorted order, skipping dot-folders, dot-files, node_modules, sidecars and symlinked folders', async () => {
    expect(await relativePaths([root])).toEqual([
      'a.txt',
      'b.md',
      'bad/binary.txt',
      'bad/empty.md',
      'docs/drafts/wip.md',
      'docs/guide.html',
      'docs/notes.MD',
      'z/last.txt',
      // Not z/loop-to-docs/… nor docs/loop-to-root/…: symlinked folders are not followed.
    ]);
  });

  it('uses the walked folder as the root and a given file’s own folder as its root', async () => {
    const walked = await collect(walkPaths([path.join(root, 'docs'), path.join(root, 'z', 'last.txt')]));
    expect(walked.map((f) => f.root)).toEqual([
      path.join(root, 'docs'),
      path.join(root, 'docs'),
      path.join(root, 'docs'),
      path.join(root, 'z'),
    ]);
  });

  it('applies include globs relative to the walked folder', async () => {
    expect(await relativePaths([root], { include: ['docs/**'] })).toEqual(
      ['docs/drafts/wip.md', 'docs/guide.html', 'docs/notes.MD', 'docs/data.xyz'].sort(),
    );
    expect(await relativePaths([root], { include: ['*.txt'] })).toEqual([
      'a.txt',
      'bad/binary.txt',
      'z/last.txt',
    ]);
    // Even a catch-all include never yields a metadata sidecar.
    const everything = await relativePaths([root], { include: ['**/*'] });
    expect(everything).toContain('docs/data.xyz');
    expect(everything).not.toContain('docs/guide.html.metadata.json');
  });

  it('applies exclude globs after the include list', async () => {
    expect(await relativePaths([root], { exclude: ['**/drafts/**', 'bad/**', '*.html'] })).toEqual([
      'a.txt',
      'b.md',
      'docs/notes.MD',
      'z/last.txt',
    ]);
  });

  it('yields each file once when paths overlap or a symlink points at a file already yielded', async () => {
    const paths = await relativePaths([path.join(root, 'a.txt'), root, path.join(root, 'docs')]);
    expect(paths.filter((p) => p === 'a.txt')).toHaveLength(1);
    expect(paths.filter((p) => p === 'docs/guide.html')).toHaveLength(1);
    expect(paths[0]).toBe('a.txt');
    expect(paths).not.toContain('z/link-to-a.txt');
    expect(await relativePaths([path.join(root, 'z')])).toEqual(['z/last.txt', 'z/link-to-a.txt']);
  });

  it('throws FILE_NOT_FOUND for a missing path and INVALID_OPTION for a bad glob list', async () => {
    const missing = path.join(root, 'missing');
    await expect(collect(walkPaths([missing]))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      input: missing,
    });
    expect(() => walkPaths([root], { include: 'docs/**' as never })).toThrow(/include/);
  });
});

describe('loadPaths', () => {
  it('accounts for every file under the paths: loaded, or skipped with a code, carrying on past bad ones', async () => {
    const missing = path.join(root, 'nope.md');
    const outcomes = await collect(loadPaths([root, missing, path.join(root, 'docs', 'data.xyz')]));
    const summary = outcomes.map((o: LoadOutcome) =>
      o.ok ? `ok ${o.document.id}` : `skip ${path.relative(root, o.path)} ${o.error.code}`,
    );
    expect(summary).toEqual([
      'skip .dotfile.md FILE_HIDDEN',
      'skip .hidden FILE_HIDDEN',
      'ok a.txt',
      'ok b.md',
      `skip ${path.join('bad', 'binary.txt')} BINARY_FILE`,
      `skip ${path.join('bad', 'empty.md')} EMPTY_DOCUMENT`,
      `skip ${path.join('docs', 'data.xyz')} UNSUPPORTED_FILE_TYPE`,
      'ok docs/drafts/wip.md',
      'ok docs/guide.html',
      `skip ${path.join('docs', 'loop-to-root')} SYMLINK_SKIPPED`,
      'ok docs/notes.MD',
      'skip node_modules FILE_HIDDEN',
      'ok z/last.txt',
      `skip ${path.join('z', 'link-to-a.txt')} SYMLINK_SKIPPED`,
      `skip ${path.join('z', 'loop-to-docs')} SYMLINK_SKIPPED`,
      'skip nope.md FILE_NOT_FOUND',
      `skip ${path.join('docs', 'data.xyz')} UNSUPPORTED_FILE_TYPE`,
    ]);
  });

  it('gives documents their sidecar metadata and the caller metadata', async () => {
    const outcomes = await collect(loadPaths([path.join(root, 'docs')], { metadata: { batch: 7 } }));
    const guide = outcomes.find((o) => o.ok && o.document.id === 'guide.html');
    expect(guide?.ok && guide.document.metadata).toMatchObject({
      kind: 'guide',
      batch: 7,
      'x-localkb-title': 'Guide',
    });
  });
});
