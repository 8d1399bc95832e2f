/**
 * The playground in a real browser: Debian's chromium driven by playwright-core. One browser for the file; each
 * view gets a screenshot in tmp/test-output/playground/ (LOCALKB_UPDATE_SCREENSHOTS=1 also refreshes docs/playground/).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetrieval } from '../../src/eval/evaluate-knowledge-base.js';
import { evaluateRun, RECALL_CUTOFFS, retrievalReport } from '../../src/eval/index.js';
import { BedrockConverseGenerator, ExtractiveGenerator } from '../../src/generate/index.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type Playground, startPlayground } from '../../src/playground/index.js';
import { BedrockReranker } from '../../src/retrieve/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { REPO_ROOT, TINY_EMBEDDER_PATH } from '../helpers/models.js';

const CHROMIUM = process.env.LOCALKB_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(
    `test/playground/browser.test.ts skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set LOCALKB_CHROMIUM).`,
  );
}
const SHOTS = path.join(REPO_ROOT, 'tmp/test-output/playground');
const DOCS_SHOTS = path.join(REPO_ROOT, 'docs/playground');
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';

let dir: string;
let kb: LocalKnowledgeBase;
let emulator: BedrockEmulator;
let playground: Playground;
let context: BrowserContext;
let page: Page;
let evalFiles: string[];
const requested: string[] = [];
const pageErrors: string[] = [];

async function screenshot(name: string): Promise<void> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.LOCALKB_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    copyFileSync(file, path.join(DOCS_SHOTS, `${name}.png`));
  }
}

/** Two real retrieval runs over the example corpus, written the way `localkb eval --output` writes them. */
async function writeEvalFiles(): Promise<string[]> {
  const queries = new Map([
    ['q1', 'Who designed the first Eddystone lighthouse?'],
    ['q2', 'What did a lighthouse keeper do at sunset?'],
    ['q3', 'How does a Fresnel lens work?'],
    ['q4', 'Where was the Pharos of Alexandria?'],
    ['q5', 'How can sailors tell one lighthouse from another at night?'],
    ['q6', 'When were lighthouses automated?'],
  ]);
  const relevant: Record<string, string> = {
    q1: 'eddystone.md',
    q2: 'lighthouse-keepers.html',
    q3: 'lamps-and-lenses.md',
    q4: 'ancient-lights.md',
    q5: 'reading-a-light.html',
    q6: 'lighthouse-timeline.pdf',
  };
  const qrels = new Map(Object.entries(relevant).map(([q, doc]) => [q, new Map([[doc, 1]])]));
  const files: string[] = [];
  for (const searchType of ['bm25', 'semantic'] as const) {
    const run = await runRetrieval(kb, queries, { searchType, depth: 10 });
    const evaluation = evaluateRun(run, qrels, { k: RECALL_CUTOFFS });
    const file = path.join(dir, `examples-${searchType}.json`);
    const report = {
      name: searchType,
      dataset: 'examples',
      split: 'test',
      searchType,
      ...retrievalReport(evaluation, queries),
    };
    writeFileSync(file, JSON.stringify(report, null, 2));
    files.push(file);
  }
  return files;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-browser-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), {
    embedder: 'minilm',
    modelPath: TINY_EMBEDDER_PATH,
    offline: true,
  });
  await kb.ingest([path.join(REPO_ROOT, 'examples/corpus')]);
  evalFiles = await writeEvalFiles();
  emulator = await startBedrockEmulator();
  playground = await startPlayground({
    knowledgeBase: kb,
    description: 'examples/corpus (tiny test embedder)',
    generators: {
      extractive: { create: () => new ExtractiveGenerator(), description: 'offline, no model' },
      bedrock: {
        create: (model) =>
          new BedrockConverseGenerator({ modelId: model ?? HAIKU, clientConfig: emulator.clientConfig() }),
        models: [HAIKU, 'amazon.nova-lite-v1:0'],
        description: 'Amazon Bedrock (emulator)',
      },
    },
    reranker: new BedrockReranker({ modelId: 'amazon.rerank-v1:0', clientConfig: emulator.clientConfig() }),
  });
  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('request', (request) => requested.push(request.url()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
});

afterAll(async () => {
  await context?.close();
  await playground?.close();
  await emulator?.close();
  await kb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!HAVE_CHROMIUM)('the playground in chromium', () => {
  it('searches as typed, marks the query words and keeps the search in the URL', async () => {
    await page.goto(`${playground.url}search`);
    await page.fill('input[name=q]', 'when was the Eddystone lighthouse first lit');
    await page.selectOption('select[name=type]', 'hybrid');
    await page.fill('input[name=k]', '4');
    await page.press('input[name=q]', 'Enter');
    await page.waitForSelector('.result');
    expect(await page.locator('.result').count()).toBe(4);
    expect(await page.locator('.result mark').count()).toBeGreaterThan(0);
    // Hybrid results show what each side made of them.
    const sides = await page.locator('.result .side').allTextContents();
    expect(sides.some((side) => /^semantic (#\d+|#—) · 0\.\d{3}$/.test(side))).toBe(true);
    expect(sides.some((side) => /^bm25 (#\d+|#—) · [01]\.\d{3}$/.test(side))).toBe(true);
    for (const score of await page.locator('.result .score b').allTextContents()) {
      expect(Number(score)).toBeGreaterThanOrEqual(0);
      expect(Number(score)).toBeLessThanOrEqual(1);
    }
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      q: 'when was the Eddystone lighthouse first lit',
      type: 'hybrid',
      k: '4',
    });
    const first = await page.locator('.result .chunk').first().textContent();
    await page.reload();
    await page.waitForSelector('.result');
    expect(await page.locator('.result .chunk').first().textContent()).toBe(first);
    expect(await page.inputValue('input[name=q]')).toBe('when was the Eddystone lighthouse first lit');
  });

  it("checks the filter as it is typed with the library's message, then filters by it", async () => {
    await page.fill('textarea[name=filter]', '{"equals": {"key": "topic"}}');
    await expect.poll(() => page.textContent('#filter-status')).toContain('INVALID_FILTER');
    expect(await page.textContent('#filter-status')).toContain('filter.equals.value');
    await page.fill('textarea[name=filter]', '{"equals": {"key": "topic", "value": "engineering"}}');
    await expect.poll(() => page.textContent('#filter-status')).toContain('valid');
    await page.check('input[name=rerank]');
    await page.click('form button[type=submit]');
    await expect.poll(() => page.textContent('.summary')).toContain('reranked');
    const sources = await page.locator('.result .source').allTextContents();
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).toContain('eddystone.md');
    expect(new URL(page.url()).searchParams.get('filter')).toContain('engineering');
    await screenshot('search');
  });

  it("opens the whole document at a result's chunk", async () => {
    const chunk = (await page.locator('.result .chunk').first().textContent()) ?? '';
    await page.locator('.result a.open').first().click();
    await page.waitForSelector('#chunk');
    expect(new URL(page.url()).pathname).toBe('/document');
    expect(await page.textContent('#chunk')).toBe(chunk);
    expect(await page.textContent('h1')).toBe('The Eddystone Lighthouses');
  });

  it('streams an answer and opens a citation at its source span', async () => {
    await page.goto(
      `${playground.url}ask?${new URLSearchParams({ q: 'Who built the first Eddystone lighthouse?', generator: 'bedrock', model: HAIKU })}`,
    );
    await page.waitForSelector('#answer .cite');
    await expect.poll(() => page.textContent('.metrics')).toContain('tokens in');
    expect(await page.textContent('.metrics')).toMatch(/cost \$\d/);
    await page.locator('#answer .cite').first().click();
    await page.waitForSelector('#citation .reference');
    await screenshot('ask');
    const reference = (await page.locator('#citation .reference .chunk').first().textContent()) ?? '';
    await page.locator('#citation .reference a.open').first().click();
    await page.waitForSelector('#chunk');
    expect(await page.textContent('#chunk')).toBe(reference);
  });

  it('saves prompt versions and compares two on the same question and context', async () => {
    await page.goto(`${playground.url}prompts`);
    await page.fill('input[name=version-name]', 'default');
    await page.click('#save-version');
    await page.waitForSelector('#versions');
    await page.fill(
      'textarea[name=template]',
      'Answer in one sentence, citing sources as [n].\n\n$search_results$\n\nQuestion: $query$',
    );
    await page.fill('input[name=version-name]', 'one sentence');
    await page.click('#save-version');
    await expect.poll(() => page.locator('#versions tbody tr').count()).toBe(2);
    expect(await page.locator('#versions').textContent()).toContain('one sentence');

    await page.fill('input[name=compare-question]', 'How were lighthouses lit before electricity?');
    const options = await page.locator('select[name=a-prompt] option').allTextContents();
    expect(options).toEqual(['editor (unsaved)', 'default v1', 'one sentence v1']);
    await page.selectOption('select[name=a-prompt]', { label: 'default v1' });
    await page.selectOption('select[name=b-prompt]', { label: 'one sentence v1' });
    await page.selectOption('select[name=b-generator]', 'bedrock');
    await page.click('#run-compare');
    await page.waitForSelector('#compare [data-side=B] .metrics');
    for (const side of ['A', 'B']) {
      expect((await page.textContent(`#compare [data-side=${side}] .answer`))?.length).toBeGreaterThan(10);
    }
    expect(await page.textContent('#compare [data-side=B] h3')).toContain('one sentence v1');
    expect(await page.textContent('#compare .summary')).toContain('same');

    await page.fill('textarea[name=questions]', 'Who kept the lamps lit?\nWhere was the Pharos?');
    await page.selectOption('select[name=set-prompt]', { label: 'one sentence v1' });
    await page.click('#run-set');
    await page.waitForSelector('#run-result tbody tr');
    expect(await page.locator('#run-result tbody tr').count()).toBe(2);
    await expect.poll(() => page.locator('#runs tbody tr').count()).toBe(1);
    await screenshot('prompts');
  });

  it('draws loaded eval files and opens a worst query in the search view', async () => {
    await page.goto(`${playground.url}eval`);
    await page.setInputFiles('input[name=eval-files]', evalFiles);
    await expect.poll(() => page.locator('svg.chart').count()).toBe(3);
    expect(await page.locator('.chip').count()).toBe(2);
    expect(await page.textContent('#eval-charts')).toMatch(/better on \d+, worse on \d+/);
    await screenshot('eval');
    const worst = page.locator('#worst-queries a').first();
    const query = await worst.textContent();
    await worst.click();
    await page.waitForSelector('.result');
    expect(new URL(page.url()).pathname).toBe('/search');
    expect(await page.inputValue('input[name=q]')).toBe(query);
  });

  it('shows what the store holds and deletes a document', async () => {
    await page.goto(`${playground.url}store`);
    await page.waitForSelector('#documents tbody tr');
    expect(await page.locator('#documents tbody tr').count()).toBe(6);
    expect(await page.textContent('.stats')).toContain('in step');
    await screenshot('store');
    await page.locator('#documents tr[data-document-id="ancient-lights.md"] button').click();
    await expect.poll(() => page.locator('#documents tbody tr').count()).toBe(5);
    expect((await kb.stats()).documents).toBe(5);
  });

  it('loads nothing from anywhere but the playground, and throws no script errors', () => {
    const origin = new URL(playground.url).origin;
    expect(requested.length).toBeGreaterThan(0);
    for (const url of requested) expect(new URL(url).origin).toBe(origin);
    expect(pageErrors).toEqual([]);
  });
});
