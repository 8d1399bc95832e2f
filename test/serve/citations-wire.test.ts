/**
 * RetrieveAndGenerate(Stream) answers as Bedrock writes them, through the unmodified SDK client: output.text is
 * plain text without `[n]` markers, citations beside it, each Span ending at its part's last character (a
 * 518-character part is {0, 517}). Served by `localkb serve` (extractive and Bedrock generators) and by the
 * emulator's own knowledge bases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BedrockAgentRuntimeClient,
  type Citation,
  RetrieveAndGenerateCommand,
  RetrieveAndGenerateStreamCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockConverseGenerator } from '../../src/generate/index.js';
import { BedrockKnowledgeBase } from '../../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type KnowledgeBaseServer, startKnowledgeBaseServer } from '../../src/serve/index.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { CORPUS } from '../kb-contract/corpus.js';

const MODEL_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
const MARKER = /\[\s*\d+(?:\s*,\s*\d+)*\s*\]/;
/**
 * A model answer whose markers the stream cuts apart: the emulator streams word by word, so `[ 3 ]` and
 * `[1, 2]` arrive in pieces.
 */
const SCRIPTED =
  'Honey bees dance to tell their hive where flowers are [1, 2]. Salmon return to their home river [ 3 ] . ' +
  'Owls hunt at night [4][1]; the rest is uncited.';

let dir: string;
let emulator: BedrockEmulator;
let extractiveKb: LocalKnowledgeBase;
let bedrockKb: LocalKnowledgeBase;
let extractive: KnowledgeBaseServer;
let bedrock: KnowledgeBaseServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-citations-'));
  const db = path.join(dir, 'served.db');
  extractiveKb = await LocalKnowledgeBase.open(db, { embedder: 'none' });
  await extractiveKb.ingest(CORPUS);
  emulator = await startBedrockEmulator({ transitionMs: 1, knowledgeBases: { FIELDNOTES: db } });
  emulator.respondTo(/claude/, { text: SCRIPTED });
  const generator = new BedrockConverseGenerator({
    modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
    clientConfig: { ...emulator.clientConfig(), maxAttempts: 1 },
  });
  bedrockKb = await LocalKnowledgeBase.open(db, { generation: { generator } });
  extractive = await startKnowledgeBaseServer({ knowledgeBase: extractiveKb, knowledgeBaseId: 'EXTRACTIVE' });
  bedrock = await startKnowledgeBaseServer({ knowledgeBase: bedrockKb, knowledgeBaseId: 'BEDROCKGEN' });
});

afterAll(async () => {
  await extractive.close();
  await bedrock.close();
  await bedrockKb.close();
  await extractiveKb.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Target {
  name: string;
  endpoint: () => string;
  knowledgeBaseId: string;
  credentials: () => { accessKeyId: string; secretAccessKey: string } | undefined;
}

const TARGETS: Target[] = [
  {
    name: 'serve, extractive generator',
    endpoint: () => extractive.endpoint,
    knowledgeBaseId: 'EXTRACTIVE',
    credentials: () => undefined,
  },
  {
    name: 'serve, Bedrock generator',
    endpoint: () => bedrock.endpoint,
    knowledgeBaseId: 'BEDROCKGEN',
    credentials: () => undefined,
  },
  {
    name: 'emulator knowledge base',
    endpoint: () => emulator.endpoint,
    knowledgeBaseId: 'FIELDNOTES',
    credentials: () => emulator.clientConfig().credentials,
  },
];

function clientFor(target: Target) {
  return new BedrockAgentRuntimeClient({
    endpoint: target.endpoint(),
    region: 'us-east-1',
    credentials: target.credentials() ?? { accessKeyId: 'AKIDSERVE', secretAccessKey: 'serve-secret' },
    maxAttempts: 1,
  });
}

const request = (target: Target, text: string) => ({
  input: { text },
  retrieveAndGenerateConfiguration: {
    type: 'KNOWLEDGE_BASE' as const,
    knowledgeBaseConfiguration: { knowledgeBaseId: target.knowledgeBaseId, modelArn: MODEL_ARN },
  },
});

/** Every citation's part is output.text[start..end], end inclusive, with at least one reference. */
function expectBedrockCitations(text: string, citations: Citation[]) {
  expect(citations.length).toBeGreaterThan(0);
  for (const citation of citations) {
    const part = citation.generatedResponsePart?.textResponsePart;
    const span = part?.span;
    expect(span?.end).toBe((span?.start ?? 0) + (part?.text?.length ?? 0) - 1);
    expect(text.slice(span!.start!, span!.end! + 1)).toBe(part?.text);
    expect(citation.retrievedReferences?.length).toBeGreaterThan(0);
  }
}

describe.each(TARGETS)('$name', (target) => {
  it('answers RetrieveAndGenerate with plain text and citations beside it', async () => {
    const client = clientFor(target);
    const response = await client.send(
      new RetrieveAndGenerateCommand(request(target, 'Why do honey bees dance?')),
    );
    const text = response.output?.text ?? '';
    expect(text).toContain('Honey bees dance to tell their hive where flowers are.');
    expect(text).not.toMatch(MARKER);
    expectBedrockCitations(text, response.citations ?? []);
    expect(response.citations?.[0]?.generatedResponsePart?.textResponsePart?.text).toMatch(
      /^Honey bees dance to tell their hive where flowers are\.$/,
    );
    client.destroy();
  });

  it('streams the same plain text, markers cut across chunks removed, each citation after its text', async () => {
    const client = clientFor(target);
    const whole = await client.send(
      new RetrieveAndGenerateCommand(request(target, 'Why do honey bees dance?')),
    );
    const response = await client.send(
      new RetrieveAndGenerateStreamCommand(request(target, 'Why do honey bees dance?')),
    );
    let text = '';
    const citations: Citation[] = [];
    for await (const event of response.stream ?? []) {
      if (event.output) text += event.output.text;
      if (event.citation) {
        const part = event.citation.generatedResponsePart?.textResponsePart;
        expect(part?.span?.end).toBeLessThan(text.length);
        citations.push({
          generatedResponsePart: event.citation.generatedResponsePart!,
          retrievedReferences: event.citation.retrievedReferences!,
        });
      }
    }
    expect(text).toBe(whole.output?.text);
    expectBedrockCitations(text, citations);
    expect(citations.map((c) => c.generatedResponsePart?.textResponsePart)).toEqual(
      whole.citations?.map((c) => c.generatedResponsePart?.textResponsePart),
    );
    client.destroy();
  });
});

describe('a Bedrock model’s markers', () => {
  it('become citations of the sources they name, numbered in order of first use when kept', async () => {
    const client = clientFor(TARGETS[1]!);
    const response = await client.send(
      new RetrieveAndGenerateCommand(request(TARGETS[1]!, 'bees salmon owls')),
    );
    expect(response.output?.text).toBe(
      'Honey bees dance to tell their hive where flowers are. Salmon return to their home river. ' +
        'Owls hunt at night; the rest is uncited.',
    );
    expect(
      response.citations?.map((c) => [
        c.generatedResponsePart?.textResponsePart?.text,
        c.generatedResponsePart?.textResponsePart?.span,
        c.retrievedReferences?.length,
      ]),
    ).toEqual([
      ['Honey bees dance to tell their hive where flowers are.', { start: 0, end: 53 }, 2],
      ['Salmon return to their home river.', { start: 55, end: 88 }, 1],
      ['Owls hunt at night;', { start: 90, end: 108 }, 2],
    ]);
    client.destroy();

    // The library keeps markers only when asked, numbering cited chunks by first use.
    const retrieved = await bedrockKb.retrieve('bees salmon owls', { k: 5 });
    const marked = await bedrockKb.retrieveAndGenerate('bees salmon owls', { citationMarkers: true });
    expect(marked.text).toBe(
      'Honey bees dance to tell their hive where flowers are. [1, 2] Salmon return to their home river. [3] ' +
        'Owls hunt at night; [4, 1] the rest is uncited.',
    );
    for (const citation of marked.citations) {
      expect(marked.text.slice(citation.span.start, citation.span.end)).toBe(citation.text);
    }
    expect(marked.citations[2]!.references.map((r) => r.chunkId)).toEqual(
      [retrieved[3]!, retrieved[0]!].map((r) => r.chunkId),
    );
  });

  it('reach BedrockKnowledgeBase as the same answer LocalKnowledgeBase gives', async () => {
    const managed = new BedrockKnowledgeBase({
      knowledgeBaseId: 'BEDROCKGEN',
      clientConfig: {
        endpoint: bedrock.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDSERVE', secretAccessKey: 'serve-secret' },
        maxAttempts: 1,
      },
    });
    for (const citationMarkers of [false, true]) {
      const local = await bedrockKb.retrieveAndGenerate('bees salmon owls', { citationMarkers });
      const remote = await managed.retrieveAndGenerate('bees salmon owls', { citationMarkers });
      expect(remote.text).toBe(local.text);
      expect(remote.citations.map((c) => [c.span, c.text])).toEqual(
        local.citations.map((c) => [c.span, c.text]),
      );
      let streamed = '';
      for await (const event of managed.retrieveAndGenerateStream('bees salmon owls', { citationMarkers })) {
        if (event.type === 'text') streamed += event.text;
        if (event.type === 'done') expect(event.answer.text).toBe(streamed);
      }
      expect(streamed).toBe(local.text);
    }
    await managed.close();
  });
});
