import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BedrockConverseGenerator,
  BedrockKnowledgeBase,
  BedrockKnowledgeBaseAdmin,
  BedrockReranker,
  CohereEmbedder,
  createEmbedder,
  ExtractiveGenerator,
  evaluateRun,
  type LocalKbError,
  LocalKnowledgeBase,
  loadPaths,
  OpenAICompatibleGenerator,
  runRetrieval,
  startKnowledgeBaseServer,
  TitanEmbedder,
  TransformersEmbedder,
  UniversalSentenceEncoderEmbedder,
} from '../../src/index.js';
import { checkOptions, closestName, declareOptions } from '../../src/options.js';
import { startBedrockEmulator } from '../../src/testing/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function caught(run: () => unknown): LocalKbError {
  try {
    run();
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a throw');
}

async function rejected(run: () => Promise<unknown>): Promise<LocalKbError> {
  try {
    await run();
  } catch (error) {
    return error as LocalKbError;
  }
  throw new Error('expected a rejection');
}

async function bm25Store(name: string) {
  const kb = await LocalKnowledgeBase.open(path.join(dir, name), { embedder: 'none' });
  await kb.ingest([{ id: 'bees', text: 'Honey bees dance to tell the hive where flowers are.' }]);
  return kb;
}

describe('declareOptions and checkOptions', () => {
  const FOO = declareOptions<{ k?: number; name?: string; nested?: { depth?: number } }>('foo', {
    k: 'integer',
    name: 'string',
    nested: declareOptions<{ depth?: number }>('nested', { depth: 'integer' }),
  });

  it('names an unknown key and the closest valid one', () => {
    const error = caught(() => checkOptions(FOO, { nmae: 'x' } as never));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toMatch(
      /^foo: unknown option "nmae"; did you mean "name"\? Valid options: k, name, nested\.$/,
    );
    expect(error.input).toBe('nmae');
    expect(error.details).toMatchObject({ suggestion: 'name' });
  });

  it('maps names from other APIs to localkb names', () => {
    expect(caught(() => checkOptions(FOO, { topK: 3 } as never)).message).toContain('did you mean "k"?');
    const bedrock = caught(() => checkOptions(FOO, { numberOfResults: 3 } as never)).message;
    expect(bedrock).toContain(`did you mean "k"? (localkb's k is Bedrock's numberOfResults)`);
  });

  it('checks nested option objects and names the nested path', () => {
    expect(caught(() => checkOptions(FOO, { nested: { deph: 1 } } as never)).message).toContain(
      'unknown option "nested.deph"; did you mean "nested.depth"?',
    );
  });

  it('refuses a value of the wrong basic type, naming what it got', () => {
    expect(caught(() => checkOptions(FOO, { k: '3' } as never)).message).toBe(
      'foo: option "k" must be an integer, got the string "3".',
    );
    expect(caught(() => checkOptions(FOO, 'k=3' as never)).message).toContain('must be an object');
  });

  it('treats undefined values as absent and accepts no options at all', () => {
    expect(checkOptions(FOO, { k: undefined })).toEqual({ k: undefined });
    expect(checkOptions(FOO, undefined)).toEqual({});
  });

  it('suggests nothing when no name is close', () => {
    expect(closestName('zebra', ['k', 'filter', 'searchType'])).toBeUndefined();
    expect(closestName('search_type', ['k', 'filter', 'searchType'])).toBe('searchType');
  });
});

describe('every public entry point refuses unknown options', () => {
  it('LocalKnowledgeBase.open refuses a misspelled option before touching the file', async () => {
    const file = path.join(dir, 'never.db');
    const error = await rejected(() => LocalKnowledgeBase.open(file, { embeder: 'use' } as never));
    expect(error.message).toContain('unknown option "embeder"; did you mean "embedder"?');
    const nested = await rejected(() =>
      LocalKnowledgeBase.open(file, { chunking: { chunksize: 100 } } as never),
    );
    expect(nested.message).toContain('did you mean "chunking.chunkSize"?');
  });

  it('LocalKnowledgeBase.open refuses an embedder name it does not know', async () => {
    const error = await rejected(() =>
      LocalKnowledgeBase.open(path.join(dir, 'never.db'), { embedder: 'minlm' as never }),
    );
    expect(error.message).toContain('did you mean "minilm"?');
  });

  it('retrieve refuses topK and numberOfResults with a pointer to k', async () => {
    const kb = await bm25Store('retrieve.db');
    try {
      expect((await rejected(() => kb.retrieve('bees', { topK: 3 } as never))).message).toContain(
        'retrieve: unknown option "topK"; did you mean "k"?',
      );
      expect((await rejected(() => kb.retrieve('bees', { numberOfResults: 3 } as never))).message).toContain(
        "Bedrock's numberOfResults",
      );
      expect((await kb.retrieve('bees', { k: 1 })).length).toBe(1);
    } finally {
      await kb.close();
    }
  });

  it('retrieveAndGenerate, its stream and ingest refuse unknown options', async () => {
    const kb = await bm25Store('generate.db');
    try {
      expect(
        (await rejected(() => kb.retrieveAndGenerate('bees?', { temperature: 0 } as never))).message,
      ).toContain('did you mean "inferenceConfig"?');
      const stream = kb.retrieveAndGenerateStream('bees?', { sesionId: 'x' } as never);
      expect((await rejected(() => stream[Symbol.asyncIterator]().next())).message).toContain(
        'did you mean "sessionId"?',
      );
      expect((await rejected(() => kb.ingest([], { purne: true } as never))).message).toContain(
        'did you mean "prune"?',
      );
    } finally {
      await kb.close();
    }
  });

  it('embedders, generators and rerankers refuse unknown options when constructed', () => {
    const cases: [() => unknown, string][] = [
      [
        () => new TransformersEmbedder({ modelpath: '/x' } as never),
        'TransformersEmbedder: unknown option "modelpath"; did you mean "modelPath"?',
      ],
      [() => new UniversalSentenceEncoderEmbedder({ batch: 2 } as never), 'did you mean "batchSize"?'],
      [() => new TitanEmbedder({ dimension: 256 } as never), 'did you mean "dimensions"?'],
      [() => new CohereEmbedder({ region: 'us-east-1' } as never), 'did you mean "clientConfig"?'],
      [() => createEmbedder('minilm', { dtpye: 'q8' } as never), 'did you mean "dtype"?'],
      [() => new BedrockConverseGenerator({ model: 'x' } as never), 'did you mean "modelId"?'],
      [() => new ExtractiveGenerator({ maxSentence: 2 } as never), 'did you mean "maxSentences"?'],
      [
        () => new OpenAICompatibleGenerator({ baseURL: 'http://127.0.0.1:1/v1', model: 'm' } as never),
        'did you mean "baseUrl"?',
      ],
      [() => new BedrockReranker({ modelID: 'x' } as never), 'did you mean "modelId"?'],
      [
        () => new BedrockKnowledgeBase({ knowledgeBaseId: 'ABC', modelArn: 'x' } as never),
        'did you mean "modelId"?',
      ],
      [() => new BedrockKnowledgeBaseAdmin({ timeout: 5 } as never), 'did you mean "timeoutMs"?'],
      [() => loadPaths([], { includes: ['*.md'] } as never), 'did you mean "include"?'],
      [() => evaluateRun(new Map(), new Map(), { cutoffs: [10] } as never), 'unknown option "cutoffs"'],
    ];
    for (const [run, message] of cases) expect(caught(run).message).toContain(message);
  });

  it('generators refuse unknown per-call options', async () => {
    const error = await rejected(() =>
      new ExtractiveGenerator().generate([{ role: 'user', content: 'q' }], { max_tokens: 5 } as never),
    );
    expect(error.message).toContain('generate: unknown option "max_tokens"; did you mean "maxTokens"?');
  });

  it('the servers and the eval harness refuse unknown options', async () => {
    expect((await rejected(() => startBedrockEmulator({ prot: 1 } as never))).message).toContain(
      'did you mean "port"?',
    );
    const kb = await bm25Store('server.db');
    try {
      const server = await rejected(() =>
        startKnowledgeBaseServer({ knowledgeBase: kb, hots: '127.0.0.1' } as never),
      );
      expect(server.message).toContain('did you mean "host"?');
      const run = await rejected(() => runRetrieval(kb, new Map([['q', 'bees']]), { deph: 10 } as never));
      expect(run.message).toContain('did you mean "depth"?');
    } finally {
      await kb.close();
    }
  });
});
