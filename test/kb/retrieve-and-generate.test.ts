import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BedrockConverseGenerator, ExtractiveGenerator } from '../../src/generate/index.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { AnswerStreamEvent } from '../../src/kb/types.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { REPO_ROOT } from '../helpers/models.js';

const CORPUS = path.join(REPO_ROOT, 'examples/corpus');
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

let dir: string;
let emulator: BedrockEmulator;
let kb: LocalKnowledgeBase;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-rag-'));
  emulator = await startBedrockEmulator();
  const generator = new BedrockConverseGenerator({
    modelId: MODEL,
    clientConfig: { ...emulator.clientConfig(), maxAttempts: 1 },
  });
  kb = await LocalKnowledgeBase.open(path.join(dir, 'rag.db'), {
    embedder: 'none',
    generation: { generator },
  });
  await kb.ingest([CORPUS]);
});

beforeEach(() => emulator.reset());

afterAll(async () => {
  await kb.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('retrieveAndGenerate', () => {
  it('answers through Bedrock Converse with citations that point at retrieved chunks', async () => {
    const answer = await kb.retrieveAndGenerate('Who built the first Eddystone lighthouse?', { k: 3 });
    const [request] = emulator.requests;
    expect(request?.operation).toBe('Converse');
    expect(request?.modelId).toBe(MODEL);
    // the emulator's default model quotes each numbered source and marks it [n]
    expect(answer.citations.length).toBeGreaterThan(0);
    for (const citation of answer.citations) {
      expect(answer.text.slice(citation.span.start, citation.span.end)).toBe(citation.text);
      for (const reference of citation.references) {
        expect(answer.retrievalResults.map((r) => r.chunkId)).toContain(reference.chunkId);
        expect(citation.text).toContain(
          reference.content.text
            .split(/(?<=\.)\s/)[0]!
            .slice(0, 20)
            .trim(),
        );
      }
    }
    expect(answer.usage?.inputTokens).toBeGreaterThan(0);
    expect(answer.cost?.totalCost).toBeGreaterThan(0);
    expect(answer.sessionId).toMatch(/\S/);
  });

  it('delimits sources from instructions in the prompt it sends', async () => {
    await kb.retrieveAndGenerate('What did keepers do at night?', { k: 2 });
    const body = emulator.requests[0]?.body as { messages: { content: { text: string }[] }[] };
    const prompt = body.messages.at(-1)!.content[0]!.text;
    expect(prompt).toMatch(/<source id="1"[^>]*>[\s\S]+<\/source>/);
    expect(prompt).toContain('What did keepers do at night?');
  });

  it('fills a Bedrock Knowledge Base prompt template', async () => {
    await kb.retrieveAndGenerate('Fresnel lens', {
      k: 2,
      promptTemplate: 'Answer from these results only.\n$search_results$\nQuestion: $query$',
    });
    const body = emulator.requests[0]?.body as { messages: { content: { text: string }[] }[] };
    const prompt = body.messages.at(-1)!.content[0]!.text;
    expect(prompt.startsWith('Answer from these results only.')).toBe(true);
    expect(prompt).toContain('Question: Fresnel lens');
    expect(prompt).not.toContain('$search_results$');
  });

  it('keeps the conversation of a session', async () => {
    const first = await kb.retrieveAndGenerate('Who was Henry Winstanley?', { k: 2 });
    await kb.retrieveAndGenerate('When did his tower fall?', { k: 2, sessionId: first.sessionId });
    const body = emulator.requests[1]?.body as { messages: { role: string; content: { text: string }[] }[] };
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(body.messages[0]!.content[0]!.text).toContain('Who was Henry Winstanley?');
    expect(body.messages[1]!.content[0]!.text).toBe(first.text);
  });

  it('streams text deltas, then citations, then the whole answer', async () => {
    const events: AnswerStreamEvent[] = [];
    for await (const event of kb.retrieveAndGenerateStream('Smeaton granite tower', { k: 2 }))
      events.push(event);
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
    if (done?.type !== 'done') throw new Error('no done event');
    expect(text).toBe(done.answer.text);
    expect(events.filter((e) => e.type === 'citation')).toHaveLength(done.answer.citations.length);
    expect(emulator.requests[0]?.operation).toBe('ConverseStream');
  });

  it('reports a guardrail intervention', async () => {
    emulator.respondTo(MODEL, { text: 'Sorry, I cannot help with that.', guardrailIntervention: true });
    const answer = await kb.retrieveAndGenerate('Lamp oil', {
      k: 1,
      guardrail: { id: 'gr-1', version: '1' },
    });
    expect(answer.guardrailAction).toBe('INTERVENED');
    expect((emulator.requests[0]!.body as { guardrailConfig?: unknown }).guardrailConfig).toMatchObject({
      guardrailIdentifier: 'gr-1',
    });
  });

  it('surfaces a throttled model call as a typed error', async () => {
    emulator.faults.throttle(5);
    await expect(kb.retrieveAndGenerate('Pharos', { k: 1 })).rejects.toMatchObject({ code: 'THROTTLED' });
  });
});

describe('retrieveAndGenerate offline', () => {
  it('answers with the extractive generator and cites the sentence it quotes', async () => {
    const offline = await LocalKnowledgeBase.open(path.join(dir, 'rag.db'), {
      generation: { generator: new ExtractiveGenerator() },
    });
    try {
      const answer = await offline.retrieveAndGenerate('Who designed the Pharos of Alexandria?', { k: 3 });
      expect(answer.text).toContain('Sostratus');
      const cited = answer.citations.find((c) => c.text.includes('Sostratus'));
      expect(cited?.references[0]?.documentId).toBe('ancient-lights.md');
    } finally {
      await offline.close();
    }
  });
});
