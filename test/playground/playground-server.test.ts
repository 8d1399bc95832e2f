import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockConverseGenerator, ExtractiveGenerator } from '../../src/generate/index.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type Playground, startPlayground } from '../../src/playground/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { REPO_ROOT } from '../helpers/models.js';
import { testClientConfig } from '../kb-contract/implementations.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const PACKAGE_JSON = readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8');

let dir: string;
let db: string;
let kb: LocalKnowledgeBase;
let emulator: BedrockEmulator;
let playground: Playground;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => any;
}

/** A raw HTTP/1.1 request: the path goes out exactly as written (fetch would normalise `..` away). */
function request(
  method: string,
  rawPath: string,
  { body, headers = {}, port }: { body?: unknown; headers?: Record<string, string>; port?: number } = {},
): Promise<Reply> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: port ?? playground.port,
        method,
        path: rawPath,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const post = (rawPath: string, body: unknown) => request('POST', rawPath, { body });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-playground-'));
  db = path.join(dir, 'kb.db');
  kb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await kb.ingest([CORPUS]);
  emulator = await startBedrockEmulator({ knowledgeBases: { KBPLAY0001: kb } });
  playground = await startPlayground({
    knowledgeBase: kb,
    description: 'test store',
    generators: {
      extractive: { create: () => new ExtractiveGenerator() },
      bedrock: {
        create: (model) =>
          new BedrockConverseGenerator({
            modelId: model ?? 'anthropic.claude-3-haiku-20240307-v1:0',
            clientConfig: emulator.clientConfig(),
          }),
        models: ['anthropic.claude-3-haiku-20240307-v1:0'],
      },
    },
  });
});

afterAll(async () => {
  await playground?.close();
  await emulator?.close();
  await kb?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the playground page and its files', () => {
  it('serves the page at each view path with a policy that loads nothing from elsewhere', async () => {
    for (const view of ['/', '/search', '/ask', '/prompts', '/eval', '/store', '/document']) {
      const reply = await request('GET', `${view}?q=x`);
      expect(reply.status, view).toBe(200);
      expect(reply.headers['content-type']).toContain('text/html');
      expect(reply.text).toContain('<script type="module" src="/assets/app.js">');
    }
    const policy = (await request('GET', '/')).headers['content-security-policy'];
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("connect-src 'self'");
  });

  it('serves its own scripts and styles, and no other file however the path is spelled', async () => {
    expect((await request('GET', '/assets/app.js')).headers['content-type']).toContain('text/javascript');
    expect((await request('GET', '/assets/app.css')).status).toBe(200);
    for (const attempt of [
      '/assets/../package.json',
      '/assets/../../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/app.js/../../../package.json',
      '/..%5c..%5cpackage.json',
      '/assets/....//....//package.json',
      '//etc/passwd',
      '/assets//etc/passwd',
      '/assets/%2fetc%2fpasswd',
      '/assets/app.js%00.json',
      '/package.json',
      '/src/playground/playground-server.ts',
      `/${path.relative('/', db)}`,
    ]) {
      const reply = await request('GET', attempt);
      expect(reply.status, attempt).toBe(404);
      expect(reply.text, attempt).not.toContain('"devDependencies"');
      expect(reply.text, attempt).not.toContain('root:');
    }
    expect(PACKAGE_JSON).toContain('"devDependencies"');
  });

  it('reads documents only from the store, never from the path a document id spells', async () => {
    for (const id of ['../../package.json', path.join(REPO_ROOT, 'package.json'), '/etc/passwd']) {
      const reply = await request('GET', `/api/document?id=${encodeURIComponent(id)}`);
      expect(reply.status, id).toBe(404);
      expect(reply.json().error.code).toBe('DOCUMENT_NOT_FOUND');
      expect(reply.text).not.toContain('"devDependencies"');
    }
    const stored = await request('GET', '/api/document?id=eddystone.md');
    expect(stored.status).toBe(200);
    expect(stored.json()).toMatchObject({ id: 'eddystone.md', format: 'markdown' });
    expect(stored.json().text).toContain('Eddystone');
  });

  it('refuses requests that name another host or come from another origin', async () => {
    const rebound = await request('GET', '/api/info', { headers: { host: 'attacker.example:80' } });
    expect(rebound.status).toBe(421);
    const crossSite = await request('DELETE', '/api/documents?id=eddystone.md', {
      headers: { origin: 'https://attacker.example' },
    });
    expect(crossSite.status).toBe(403);
    expect((await request('GET', '/api/document?id=eddystone.md')).status).toBe(200);
  });
});

describe('the playground API checks every request', () => {
  it('refuses an unknown field by name', async () => {
    const reply = await post('/api/retrieve', { query: 'lamps', numberOfResults: 3 });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'INVALID_OPTION', input: 'body.numberOfResults' });
  });

  it('refuses values of the wrong type or range, naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ query: '' }, 'body.query'],
      [{ query: 'lamps', k: 0 }, 'body.k'],
      [{ query: 'lamps', k: 2.5 }, 'body.k'],
      [{ query: 'lamps', k: 101 }, 'body.k'],
      [{ query: 'lamps', searchType: 'fuzzy' }, 'body.searchType'],
      [{ query: 'lamps', rerank: 'yes' }, 'body.rerank'],
      [[1, 2], 'body'],
    ];
    for (const [body, input] of cases) {
      const reply = await post('/api/retrieve', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.json().error.input, JSON.stringify(body)).toBe(input);
    }
  });

  it('refuses a body that is not JSON, or not sent as JSON', async () => {
    const broken = await request('POST', '/api/retrieve', {
      body: '{"query": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.json().error.message).toContain('not valid JSON');
    const form = await request('POST', '/api/retrieve', {
      body: 'query=lamps',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
  });

  it('refuses a body larger than its limit before reading it', async () => {
    const reply = await request('POST', '/api/eval-report', {
      body: '{}',
      headers: { 'content-length': String(64 * 2 ** 20) },
    }).catch((error: Error) => ({ status: -1, text: error.message }) as Reply);
    // Either the 413 arrives, or the server hangs up on the rest of the declared body; it never reads 64 MiB.
    expect([413, -1]).toContain(reply.status);
  });

  it('answers an unknown API path or method with 404', async () => {
    expect((await request('GET', '/api/nothing')).status).toBe(404);
    expect((await request('PUT', '/api/retrieve', { body: {} })).status).toBe(404);
  });

  it('reports a reranker the playground was not started with as an error, not a silent no-op', async () => {
    const reply = await post('/api/retrieve', { query: 'lamps', rerank: true });
    expect(reply.status).toBe(400);
    expect(reply.json().error.message).toContain('--rerank');
  });
});

describe('search', () => {
  it('returns results with the query words marked the way BM25 matched them', async () => {
    const reply = await post('/api/retrieve', { query: 'who kept the lamps lit', searchType: 'bm25', k: 3 });
    expect(reply.status).toBe(200);
    const { results, latencyMs } = reply.json();
    expect(results).toHaveLength(3);
    expect(latencyMs).toBeGreaterThan(0);
    const marked = results.flatMap((r: { content: { text: string }; highlights: [number, number][] }) =>
      r.highlights.map(([s, e]) => r.content.text.slice(s, e).toLowerCase()),
    );
    expect(marked.length).toBeGreaterThan(0);
    for (const word of marked) expect(['kept', 'lamp', 'lamps', 'lit', 'who']).toContain(word);
  });

  it("checks a filter as it is typed with the library's own messages", async () => {
    const valid = await post('/api/filter', { text: '{"equals": {"key": "topic", "value": "history"}}' });
    expect(valid.json()).toEqual({ valid: true, filter: { equals: { key: 'topic', value: 'history' } } });
    const noValue = (await post('/api/filter', { text: '{"equals": {"key": "topic"}}' })).json();
    expect(noValue.valid).toBe(false);
    expect(noValue.error.code).toBe('INVALID_FILTER');
    expect(noValue.error.message).toContain('filter.equals.value');
    const notJson = (await post('/api/filter', { text: '{"equals": ' })).json();
    expect(notJson).toMatchObject({ valid: false, error: { code: 'INVALID_FILTER' } });
    expect((await post('/api/filter', { text: '  ' })).json()).toEqual({ valid: true, filter: null });
  });

  it('applies a filter and refuses a malformed one with INVALID_FILTER', async () => {
    const filter = { startsWith: { key: 'x-amz-bedrock-kb-source-uri', value: 'file:///nowhere/' } };
    const none = await post('/api/retrieve', { query: 'lamps', filter });
    expect(none.json().results).toEqual([]);
    const bad = await post('/api/retrieve', { query: 'lamps', filter: { equals: { key: 'topic' } } });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('INVALID_FILTER');
  });
});

describe('answers', () => {
  async function events(body: unknown) {
    const reply = await post('/api/ask', body);
    return {
      reply,
      events: reply.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    };
  }

  it('streams the sources, the answer text, its citations and a last event with usage and latency', async () => {
    const { reply, events: list } = await events({
      question: 'Who kept the lamps lit?',
      generator: 'extractive',
    });
    expect(reply.headers['content-type']).toContain('application/x-ndjson');
    expect(list[0].type).toBe('sources');
    expect(list.some((e) => e.type === 'text')).toBe(true);
    const done = list.at(-1);
    expect(done.type).toBe('done');
    expect(done.answer.citations.length).toBeGreaterThan(0);
    expect(done.latency.totalMs).toBeGreaterThan(0);
    expect(done.latency.retrieveMs).toBeGreaterThan(0);
    const streamed = list
      .filter((e) => e.type === 'text')
      .map((e) => e.text)
      .join('');
    expect(streamed.length).toBeGreaterThan(0);
  });

  it('prices a Bedrock answer from its token usage', async () => {
    const { events: list } = await events({
      question: 'When was the Eddystone lighthouse automated?',
      generator: 'bedrock',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
    });
    const done = list.at(-1);
    expect(done.type).toBe('done');
    expect(done.answer.usage.inputTokens).toBeGreaterThan(0);
    expect(done.answer.cost.totalCost).toBeGreaterThan(0);
    expect(done.latency.firstTokenMs).toBeGreaterThan(0);
  });

  it('refuses a generator it was not given, naming the ones it has', async () => {
    const reply = await post('/api/ask', { question: 'x', generator: 'gpt' });
    expect(reply.status).toBe(400);
    expect(reply.json().error.message).toContain('extractive, bedrock');
  });

  it('answers two variants on one retrieved context, and shows a failing side as its error', async () => {
    const reply = await post('/api/compare', {
      question: 'How were lighthouses lit?',
      k: 3,
      variants: [
        { label: 'A', generator: 'extractive' },
        { label: 'B', generator: 'bedrock', model: 'anthropic.claude-3-haiku-20240307-v1:0' },
        { label: 'C', generator: 'bedrock', model: 'no-such-vendor.model-v1' },
      ],
    });
    expect(reply.status).toBe(200);
    const { context, answers } = reply.json();
    expect(context).toHaveLength(3);
    expect(answers.map((a: { label: string }) => a.label)).toEqual(['A', 'B', 'C']);
    expect(answers[0].text.length).toBeGreaterThan(0);
    expect(answers[1].usage.inputTokens).toBeGreaterThan(0);
    expect(answers[2].error.code).toBeDefined();
    const cited = answers
      .slice(0, 2)
      .flatMap((a: { citations: { references: { chunkId: string }[] }[] }) =>
        a.citations.flatMap((c) => c.references.map((r) => r.chunkId)),
      );
    const contextIds = context.map((r: { chunkId: string }) => r.chunkId);
    for (const id of cited) expect(contextIds).toContain(id);
  });
});

describe('the prompt lab', () => {
  it('numbers versions saved under one name and keeps them in the store across reopening', async () => {
    const template = 'Answer briefly.\n$search_results$\nQuestion: $query$';
    const first = (await post('/api/prompts', { name: 'brief', template })).json();
    const second = (await post('/api/prompts', { name: 'brief', template: `${template}\n` })).json();
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(Date.parse(second.createdAt)).toBeGreaterThan(0);
    const reopened = await LocalKnowledgeBase.open(db, { embedder: 'none' });
    try {
      const names = reopened
        .promptLibrary()
        .listVersions()
        .map((v) => `${v.name} v${v.version}`);
      expect(names).toEqual(expect.arrayContaining(['brief v1', 'brief v2']));
    } finally {
      await reopened.close();
    }
  });

  it("refuses a template without $search_results$ with the library's message", async () => {
    const reply = await post('/api/prompts', { name: 'broken', template: 'Just answer: $query$' });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatchObject({ code: 'INVALID_OPTION', input: 'body.template' });
    expect(reply.json().error.message).toContain('$search_results$');
  });

  it('runs a version over a question set and keeps the results', async () => {
    const version = (
      await post('/api/prompts', { name: 'set', template: '$search_results$\n\nAnswer: $query$' })
    ).json();
    const run = (
      await post('/api/runs', {
        promptVersionId: version.id,
        generator: 'extractive',
        questions: ['Who kept the lamps lit?', 'When was the Eddystone lighthouse automated?'],
        k: 3,
      })
    ).json();
    expect(run.results).toHaveLength(2);
    expect(run.results[0].sources).toHaveLength(3);
    expect(run.settings).toMatchObject({
      generator: 'extractive',
      promptVersion: { name: 'set', version: 1 },
    });
    const listed = (await request('GET', '/api/runs')).json().runs;
    expect(listed[0]).toMatchObject({ id: run.id, questions: 2 });
    expect((await request('GET', `/api/runs/${run.id}`)).json().results).toEqual(run.results);
    expect((await request('GET', '/api/runs/abc')).status).toBe(400);
  });
});

describe('evaluation files', () => {
  it('reads a localkb eval --output report into bars, a recall curve and per-query rows', async () => {
    const report = {
      name: 'bm25',
      dataset: 'scifact',
      split: 'test',
      searchType: 'bm25',
      metrics: { 'ndcg@10': 0.68, 'recall@10': 0.81, 'recall@100': 0.93 },
      recallAtK: { '10': 0.81, '1': 0.53, '100': 0.93 },
      perQuery: [{ id: '1', query: 'a claim', 'ndcg@10': 0.5, 'recall@10': 1, 'recall@100': 1 }],
    };
    const { runs } = (await post('/api/eval-report', { file: 'run.json', report })).json();
    expect(runs).toHaveLength(1);
    expect(runs[0].recallCurve.map((p: { k: number }) => p.k)).toEqual([1, 10, 100]);
    expect(runs[0].perQuery[0]).toEqual({
      id: '1',
      query: 'a claim',
      metrics: { 'ndcg@10': 0.5, 'recall@10': 1, 'recall@100': 1 },
    });
  });

  it('names the file and field of a malformed report', async () => {
    const reply = await post('/api/eval-report', { file: 'bad.json', report: { metrics: { 'ndcg@10': 3 } } });
    expect(reply.status).toBe(400);
    expect(reply.json().error.input).toBe('bad.json:metrics.ndcg@10');
  });
});

describe('the store view', () => {
  it('reports documents, chunks, embedder, index and disk size, and lists the documents', async () => {
    const store = (await request('GET', '/api/store')).json();
    expect(store.kind).toBe('local');
    expect(store.stats).toMatchObject({ documents: 6, embedderId: 'none' });
    expect(store.stats.storeBytes).toBeGreaterThan(0);
    const listing = (await request('GET', '/api/documents')).json();
    expect(listing.listed).toBe(true);
    expect(listing.documents.map((d: { id: string }) => d.id)).toContain('ancient-lights.md');
    expect(listing.documents[0].text).toBeUndefined();
  });

  it('lists documents a page at a time', async () => {
    const all = (await request('GET', '/api/documents')).json();
    const page = (await request('GET', '/api/documents?offset=2&limit=3')).json();
    expect(page).toMatchObject({ total: all.total, offset: 2 });
    expect(page.documents).toEqual(all.documents.slice(2, 5));
    expect((await request('GET', '/api/documents?limit=0')).json().error.input).toBe('limit');
    expect((await request('GET', '/api/documents?offset=-1')).status).toBe(400);
  });

  it('deletes a document, and says so when the id is not there', async () => {
    const gone = await request('DELETE', '/api/documents?id=ancient-lights.md');
    expect(gone.json()).toEqual({ deleted: true });
    expect((await request('GET', '/api/document?id=ancient-lights.md')).status).toBe(404);
    const again = await request('DELETE', '/api/documents?id=ancient-lights.md');
    expect(again.status).toBe(404);
    expect(again.json().error.code).toBe('DOCUMENT_NOT_FOUND');
    expect((await request('DELETE', '/api/documents')).status).toBe(400);
  });
});

describe('startPlayground', () => {
  it('listens on loopback only', async () => {
    await expect(startPlayground({ knowledgeBase: kb, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'host',
    });
  });

  it('refuses an unknown option by name', async () => {
    await expect(
      startPlayground({ knowledgeBase: kb, generator: 'bedrock' } as unknown as Parameters<
        typeof startPlayground
      >[0]),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', input: 'generator' });
  });
});

describe('a managed knowledge base', () => {
  let managed: BedrockKnowledgeBase;
  let page: Playground;
  const ask = (body: unknown) => request('POST', '/api/ask', { body, port: page.port });

  beforeAll(async () => {
    managed = new BedrockKnowledgeBase({
      knowledgeBaseId: 'KBPLAY0001',
      clientConfig: testClientConfig(emulator),
    });
    page = await startPlayground({ knowledgeBase: managed, description: 'KBPLAY0001' });
  });
  afterAll(async () => {
    await page?.close();
    await managed?.close();
  });

  it('searches and answers through the same interface, Bedrock answering itself', async () => {
    const info = (await request('GET', '/api/info', { port: page.port })).json();
    expect(info).toMatchObject({ kind: 'managed', documents: false, promptsPersistent: false });
    expect(info.generators.map((g: { name: string }) => g.name)).toEqual(['knowledge-base', 'extractive']);
    const found = await request('POST', '/api/retrieve', {
      body: { query: 'Eddystone', k: 2 },
      port: page.port,
    });
    expect(found.json().results).toHaveLength(2);
    const events = (
      await ask({
        question: 'Who built the Eddystone lighthouse?',
        generator: 'knowledge-base',
        model: HAIKU,
      })
    ).text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e) => e.type)).toContain('sources');
    expect(events.at(-1)).toMatchObject({ type: 'done', generator: 'knowledge-base' });
  });

  it('says it cannot hand back whole documents, and keeps prompt versions in memory', async () => {
    const reply = await request('GET', '/api/document?id=eddystone.md', { port: page.port });
    expect(reply.status).toBe(404);
    expect(reply.json().error.message).toContain('managed knowledge base');
    const saved = await request('POST', '/api/prompts', {
      body: { name: 'managed', template: '$search_results$' },
      port: page.port,
    });
    expect(saved.json().version).toBe(1);
    expect((await request('GET', '/api/documents', { port: page.port })).json()).toMatchObject({
      listed: false,
      documents: [],
    });
  });
});
