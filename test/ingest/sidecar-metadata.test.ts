import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile, parseSidecarMetadata } from '../../src/ingest/index.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/corpus');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'localkb-sidecar-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withSidecar(name: string, sidecar: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, '# Doc\n\nText.');
  await writeFile(`${file}.metadata.json`, sidecar);
  return file;
}

describe('metadata sidecars', () => {
  it('adds plain string, number, boolean and string-list attributes to the document metadata', async () => {
    const file = await withSidecar(
      'plain.md',
      JSON.stringify({ metadataAttributes: { team: 'ops', year: 2024, public: false, tags: ['a', 'b'] } }),
    );
    const doc = await loadFile(file);
    expect(doc.metadata).toMatchObject({
      team: 'ops',
      year: 2024,
      public: false,
      tags: ['a', 'b'],
      'x-localkb-title': 'Doc',
    });
  });

  it("accepts Bedrock's typed attribute form for every type", () => {
    const metadata = parseSidecarMetadata(
      JSON.stringify({
        metadataAttributes: {
          s: { value: { type: 'STRING', stringValue: 'text' }, includeForEmbedding: true },
          n: { value: { type: 'NUMBER', numberValue: 3.5 }, includeForEmbedding: false },
          b: { value: { type: 'BOOLEAN', booleanValue: true } },
          l: { value: { type: 'STRING_LIST', stringListValue: ['x', 'y'] } },
        },
      }),
      'typed.json',
    );
    expect(metadata).toEqual({ s: 'text', n: 3.5, b: true, l: ['x', 'y'] });
  });

  it('lets sidecar attributes win over caller metadata and the derived title', async () => {
    const file = await withSidecar(
      'wins.md',
      '{"metadataAttributes": {"title": "From sidecar", "team": "sidecar"}}',
    );
    const doc = await loadFile(file, { metadata: { team: 'caller', extra: 1 } });
    expect(doc.metadata).toMatchObject({ title: 'From sidecar', team: 'sidecar', extra: 1 });
  });

  it.each([
    ['invalid JSON', '{"metadataAttributes": {', 'invalid JSON'],
    ['a top-level array', '[1, 2]', 'top level'],
    ['no metadataAttributes', '{"attributes": {}}', 'metadataAttributes'],
    ['an object value', '{"metadataAttributes": {"owner": {"name": "x"}}}', '"owner"'],
    ['a list of numbers', '{"metadataAttributes": {"ids": [1, 2]}}', '"ids"'],
    [
      'a typed value named like an Object property',
      '{"metadataAttributes": {"c": {"value": {"type": "constructor"}}}}',
      '"c"',
    ],
    [
      'an unknown typed value',
      '{"metadataAttributes": {"d": {"value": {"type": "DATE", "stringValue": "x"}}}}',
      '"d"',
    ],
    [
      'a typed value of the wrong type',
      '{"metadataAttributes": {"n": {"value": {"type": "NUMBER", "numberValue": "7"}}}}',
      '"n"',
    ],
  ])('rejects a sidecar with %s as INVALID_METADATA naming the sidecar', async (_case, json, detail) => {
    const file = await withSidecar(`bad-${_case.replace(/\W+/g, '-')}.md`, json);
    const sidecar = `${file}.metadata.json`;
    const error = await loadFile(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_METADATA', input: sidecar });
    expect((error as Error).message).toContain(sidecar);
    expect((error as Error).message).toContain(detail);
  });

  it('reads the demo corpus sidecar, including its typed attribute', async () => {
    const doc = await loadFile(path.join(corpus, 'eddystone.md'), { root: corpus });
    expect(doc.metadata).toMatchObject({
      'x-localkb-title': 'The Eddystone Lighthouses',
      topic: 'engineering',
      firstLit: 1698,
      stillActive: true,
      era: '1698-1882',
    });
    expect(doc.metadata.engineers).toContain('John Smeaton');
  });
});
