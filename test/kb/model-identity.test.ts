/**
 * A store records the real identity of a --model-path model (config name, architecture, a hash of its weights) and
 * refuses another model with the same embedder id on reopen; stores made before identities were kept record theirs
 * on first open.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/index.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, TINY_EMBEDDER_OTHER_WEIGHTS_PATH, TINY_EMBEDDER_PATH } from '../helpers/models.js';

const A = TINY_EMBEDDER_PATH;
const B = TINY_EMBEDDER_OTHER_WEIGHTS_PATH;
const DOCS = [
  { id: 'bell-rock', text: 'The Bell Rock lighthouse stands on a reef off Arbroath.' },
  { id: 'pharos', text: 'The Pharos of Alexandria was built by Sostratus of Cnidus.' },
];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-model-identity-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const open = (dbPath: string, modelPath: string) =>
  LocalKnowledgeBase.open(dbPath, { embedder: 'minilm', modelPath, offline: true, embedWorkers: 0 });

async function openError(dbPath: string, modelPath: string) {
  try {
    await (await open(dbPath, modelPath)).close();
  } catch (error) {
    return error as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error(`opening ${dbPath} with ${modelPath} did not fail`);
}

describe('model identity of a --model-path store', () => {
  it('the two generated models share name, shape and embedder id but not weights', async () => {
    const a = new TransformersEmbedder({ modelPath: A, model: 'Xenova/all-MiniLM-L6-v2', offline: true });
    const b = new TransformersEmbedder({ modelPath: B, model: 'Xenova/all-MiniLM-L6-v2', offline: true });
    await a.init();
    await b.init();
    expect(a.id).toBe(b.id);
    expect(a.dimensions).toBe(b.dimensions);
    expect(a.modelIdentity).toEqual({
      name: 'localkb-generated/tiny',
      architecture: 'BertModel',
      dtype: 'q8',
      weights: sha256(path.join(A, 'onnx/model_quantized.onnx')),
    });
    expect(b.modelIdentity?.weights).toBe(sha256(path.join(B, 'onnx/model_quantized.onnx')));
    expect(b.modelIdentity?.weights).not.toBe(a.modelIdentity?.weights);
    await a.close();
    await b.close();
  });

  it('records the identity, refuses the other model on reopen naming both, and loses nothing', async () => {
    const dbPath = path.join(dir, 'a.db');
    const kb = await open(dbPath, A);
    await kb.ingest(DOCS);
    const stats = await kb.stats();
    expect(stats.embedderModel).toMatch(
      /^localkb-generated\/tiny \(BertModel, q8, weights sha256 [0-9a-f]{12}\)$/,
    );
    await kb.close();

    const error = await openError(dbPath, B);
    expect(error.code).toBe('EMBEDDER_MISMATCH');
    const hashA = sha256(path.join(A, 'onnx/model_quantized.onnx'));
    const hashB = sha256(path.join(B, 'onnx/model_quantized.onnx'));
    expect(error.message).toContain(hashA.slice(0, 12));
    expect(error.message).toContain(hashB.slice(0, 12));
    expect(error.message).toContain('--model-path');
    expect(error.message).toContain('new --db');
    expect(error.details).toMatchObject({ recorded: { weights: hashA }, given: { weights: hashB } });

    const again = await open(dbPath, A);
    expect((await again.stats()).documents).toBe(2);
    expect((await again.retrieve('Sostratus Pharos', { k: 1 }))[0]?.content.text).toContain('Sostratus');
    await again.close();
  });

  it('a store made before identities were kept records the model of its first open, then holds to it', async () => {
    const dbPath = path.join(dir, 'legacy.db');
    const kb = await open(dbPath, A);
    await kb.ingest(DOCS);
    await kb.close();
    // What a store written by an earlier localkb looks like: no identity setting.
    const db = new Database(dbPath);
    db.prepare("DELETE FROM settings WHERE key = 'embedder.model'").run();
    db.close();

    const reopened = await open(dbPath, A);
    expect((await reopened.stats()).embedderModel).toContain('localkb-generated/tiny');
    await reopened.close();
    expect((await openError(dbPath, B)).code).toBe('EMBEDDER_MISMATCH');
  });
});

describe('the CLI with --model-path', () => {
  it('refuses a query with a different model folder, exit 1, naming both models', async () => {
    const dbPath = path.join(dir, 'cli.db');
    const corpus = path.join(REPO_ROOT, 'examples/corpus');
    const made = await runCli([
      'ingest',
      corpus,
      '--db',
      dbPath,
      '--embedder',
      'minilm',
      '--model-path',
      A,
      '--offline',
      '--quiet',
    ]);
    expect(made.code).toBe(0);
    const wrong = await runCli(['query', 'granite tower', '--db', dbPath, '--model-path', B, '--offline']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[EMBEDDER_MISMATCH]');
    expect(wrong.stderr).toContain(sha256(path.join(A, 'onnx/model_quantized.onnx')).slice(0, 12));
    expect(wrong.stderr).toContain(sha256(path.join(B, 'onnx/model_quantized.onnx')).slice(0, 12));
    const right = await runCli([
      'query',
      'granite tower',
      '--db',
      dbPath,
      '--model-path',
      A,
      '--offline',
      '--json',
    ]);
    expect(right.code).toBe(0);
    expect(JSON.parse(right.stdout).length).toBeGreaterThan(0);
  });
});
