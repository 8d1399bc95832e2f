/**
 * The swap: one suite, two implementations of KnowledgeBase, identical expectations. `local` is
 * LocalKnowledgeBase; `managed` is BedrockKnowledgeBase talking to the emulator's bedrock-agent and
 * bedrock-agent-runtime over the wire, where the knowledge base is itself a local one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import type { AnswerStreamEvent, KnowledgeBase } from '../../src/kb/types.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import type { RetrievalFilter } from '../../src/types.js';
import { ALL_IDS, CORPUS } from './corpus.js';
import { type Implementation, openLocal, openManaged } from './implementations.js';

let emulator: BedrockEmulator;
let folder: string;

beforeAll(async () => {
  emulator = await startBedrockEmulator({ transitionMs: 1 });
  folder = mkdtempSync(path.join(os.tmpdir(), 'localkb-contract-files-'));
  writeFileSync(path.join(folder, 'guide.md'), '# Pond guide\n\nDragonflies patrol the pond edge at noon.\n');
  writeFileSync(
    path.join(folder, 'guide.md.metadata.json'),
    JSON.stringify({
      metadataAttributes: { audience: 'beginners', level: { value: { type: 'NUMBER', numberValue: 1 } } },
    }),
  );
  writeFileSync(path.join(folder, 'log.txt'), 'Newts breed in the pond every spring.\n');
  writeFileSync(path.join(folder, 'empty.txt'), '');
});

afterAll(async () => {
  await emulator.close();
  rmSync(folder, { recursive: true, force: true });
});

const idsOf = (results: { documentId: string }[]) => results.map((result) => result.documentId).sort();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const IMPLEMENTATIONS: Array<[string, () => Promise<Implementation>]> = [
  ['LocalKnowledgeBase', () => openLocal(emulator)],
  ['BedrockKnowledgeBase (managed, through the emulator)', () => openManaged(emulator, 'contract')],
];

describe.each(IMPLEMENTATIONS)('%s', (_name, open) => {
  let implementation: Implementation;
  let kb: KnowledgeBase;

  beforeAll(async () => {
    implementation = await open();
    kb = implementation.kb;
  });
  afterAll(async () => {
    await implementation?.close();
  });

  describe('ingest', () => {
    it('ingests documents with metadata and reports each one added', async () => {
      const summary = await kb.ingest(CORPUS);
      expect(summary).toMatchObject({ filesSeen: 8, documentsAdded: 8, documentsUpdated: 0, skipped: [] });
      expect((await kb.stats()).documents).toBe(8);
    });

    it('reports a changed document as updated', async () => {
      const changed = { ...CORPUS[7]!, text: `${CORPUS[7]!.text} Bears wait at the falls.` };
      const summary = await kb.ingest([changed]);
      expect(summary).toMatchObject({ documentsAdded: 0, documentsUpdated: 1 });
      const [top] = await kb.retrieve('bears falls', { k: 1 });
      expect(top?.content.text).toContain('Bears wait at the falls.');
    });

    it('ingests files with their sidecar metadata and skips an empty file', async () => {
      const summary = await kb.ingest([folder]);
      expect(summary.filesSeen).toBe(3);
      expect(summary.documentsAdded).toBe(2);
      expect(summary.skipped).toEqual([expect.objectContaining({ code: 'EMPTY_DOCUMENT' })]);
      const results = await kb.retrieve('pond', {
        k: 5,
        filter: { equals: { key: 'audience', value: 'beginners' } },
      });
      expect(idsOf(results)).toEqual(['guide.md']);
      expect(results[0]!.metadata.level).toBe(1);
    });
  });

  describe('retrieve', () => {
    it('returns the best k chunks, best first, in Bedrock result shape', async () => {
      const results = await kb.retrieve('why do honey bees dance', { k: 2 });
      expect(results.length).toBeGreaterThanOrEqual(1);
      expect(results.length).toBeLessThanOrEqual(2);
      const [top] = results;
      expect(top!.documentId).toBe('bees');
      expect(top!.content).toEqual({ type: 'TEXT', text: CORPUS[0]!.text });
      expect(top!.location.uri).toBe('bees');
      expect(top!.metadata).toMatchObject({
        topic: 'insects',
        year: 2019,
        tags: ['pollination', 'behaviour'],
        draft: false,
        'x-amz-bedrock-kb-source-uri': 'bees',
        'x-amz-bedrock-kb-chunk-id': top!.chunkId,
      });
      expect(top!.chunkId).not.toBe('');
      for (let i = 1; i < results.length; i++)
        expect(results[i]!.score).toBeLessThanOrEqual(results[i - 1]!.score);
    });

    it('returns every matching document when k is larger than the matches', async () => {
      expect(idsOf(await kb.retrieve('field notes', { k: 20 }))).toEqual(ALL_IDS);
    });

    const FILTERS: Array<[string, RetrievalFilter, string[]]> = [
      ['equals', { equals: { key: 'topic', value: 'insects' } }, ['ants', 'bees']],
      ['equals on a boolean', { equals: { key: 'draft', value: true } }, ['ants', 'orchids']],
      [
        'notEquals (documents without the key match too)',
        { notEquals: { key: 'topic', value: 'insects' } },
        ['moss', 'oaks', 'orchids', 'owls', 'salmon', 'swifts'],
      ],
      ['greaterThan', { greaterThan: { key: 'year', value: 2019 } }, ['ants', 'salmon', 'swifts']],
      [
        'greaterThanOrEquals',
        { greaterThanOrEquals: { key: 'year', value: 2019 } },
        ['ants', 'bees', 'salmon', 'swifts'],
      ],
      ['lessThan', { lessThan: { key: 'year', value: 2012 } }, ['oaks']],
      ['lessThanOrEquals', { lessThanOrEquals: { key: 'year', value: 2012 } }, ['moss', 'oaks']],
      ['in', { in: { key: 'topic', value: ['birds', 'fish'] } }, ['owls', 'salmon', 'swifts']],
      [
        'notIn (documents without the key do not match)',
        { notIn: { key: 'topic', value: ['birds', 'fish'] } },
        ['ants', 'bees', 'oaks', 'orchids'],
      ],
      ['startsWith', { startsWith: { key: 'author', value: 'Dr.' } }, ['ants', 'bees', 'orchids', 'swifts']],
      ['listContains', { listContains: { key: 'tags', value: 'pollination' } }, ['bees', 'oaks', 'orchids']],
      ['stringContains', { stringContains: { key: 'author', value: 'in' } }, ['orchids', 'salmon']],
      [
        'andAll of orAll and conditions',
        {
          andAll: [
            {
              orAll: [
                { equals: { key: 'topic', value: 'insects' } },
                { listContains: { key: 'tags', value: 'migration' } },
              ],
            },
            { greaterThanOrEquals: { key: 'year', value: 2020 } },
            { notEquals: { key: 'draft', value: true } },
          ],
        },
        ['salmon', 'swifts'],
      ],
      [
        'orAll of andAll groups',
        {
          orAll: [
            {
              andAll: [
                { startsWith: { key: 'author', value: 'Dr.' } },
                { lessThan: { key: 'year', value: 2019 } },
              ],
            },
            {
              andAll: [
                { equals: { key: 'topic', value: 'plants' } },
                { stringContains: { key: 'author', value: 'Rack' } },
              ],
            },
          ],
        },
        ['oaks', 'orchids'],
      ],
    ];

    it.each(FILTERS)('filters with %s', async (_operator, filter, expected) => {
      expect(idsOf(await kb.retrieve('field notes', { k: 20, filter }))).toEqual(expected);
    });

    it('refuses a malformed filter with INVALID_FILTER before searching', async () => {
      const error = await rejection(
        kb.retrieve('field notes', { filter: { equals: { key: 'topic' } } as never }),
      );
      expect(isLocalKbError(error, 'INVALID_FILTER')).toBe(true);
    });

    it('refuses an empty query with INVALID_QUERY and a k of 0 with INVALID_OPTION', async () => {
      expect(isLocalKbError(await rejection(kb.retrieve('  ')), 'INVALID_QUERY')).toBe(true);
      expect(isLocalKbError(await rejection(kb.retrieve('bees', { k: 0 })), 'INVALID_OPTION')).toBe(true);
    });
  });

  describe('retrieveAndGenerate', () => {
    it('answers from the retrieved chunks and cites them by span', async () => {
      const answer = await kb.retrieveAndGenerate('Why do honey bees dance?', { k: 3 });
      expect(answer.text).toContain('Honey bees dance to tell their hive where flowers are.');
      expect(answer.citations.length).toBeGreaterThanOrEqual(1);
      for (const citation of answer.citations) {
        expect(answer.text.slice(citation.span.start, citation.span.end)).toBe(citation.text);
        expect(citation.references.length).toBeGreaterThanOrEqual(1);
        for (const reference of citation.references) {
          expect(answer.retrievalResults.map((r) => r.chunkId)).toContain(reference.chunkId);
        }
      }
      const first = answer.citations[0]!;
      expect(first.text).toBe('Honey bees dance to tell their hive where flowers are.');
      expect(first.references[0]).toMatchObject({
        documentId: 'bees',
        content: { type: 'TEXT', text: CORPUS[0]!.text },
        metadata: { topic: 'insects' },
      });
      expect(answer.sessionId).not.toBe('');
    });

    it('keeps the session id a caller continues with', async () => {
      const first = await kb.retrieveAndGenerate('Where do salmon spawn?');
      const second = await kb.retrieveAndGenerate('And barn owls?', { sessionId: first.sessionId });
      expect(second.sessionId).toBe(first.sessionId);
    });

    it('refuses a session id it never issued with SESSION_NOT_FOUND', async () => {
      const error = await rejection(
        kb.retrieveAndGenerate('Where do salmon spawn?', { sessionId: 'my-own-session-0001' }),
      );
      expect(isLocalKbError(error, 'SESSION_NOT_FOUND')).toBe(true);
      expect((error as Error).message).toBe(
        'Session with Id my-own-session-0001 is not valid. Please check and try again.',
      );
    });

    it('applies the filter to what the answer may cite', async () => {
      const answer = await kb.retrieveAndGenerate('What do these field notes record?', {
        k: 5,
        filter: { equals: { key: 'topic', value: 'birds' } },
      });
      const cited = new Set(answer.citations.flatMap((c) => c.references.map((r) => r.documentId)));
      expect([...cited].sort()).toEqual(['owls', 'swifts']);
    });

    it('streams text, then citations, then the whole answer, matching the answer without streaming', async () => {
      const question = 'Why do honey bees dance?';
      const events: AnswerStreamEvent[] = [];
      for await (const event of kb.retrieveAndGenerateStream(question, { k: 3 })) events.push(event);
      const done = events.at(-1);
      expect(done?.type).toBe('done');
      if (done?.type !== 'done') return;
      expect(events[0]).toEqual({ type: 'session', sessionId: done.answer.sessionId });
      const streamedText = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
      expect(events.filter((e) => e.type === 'text').length).toBeGreaterThan(1);
      expect(streamedText).toBe(done.answer.text);
      expect(events.flatMap((e) => (e.type === 'citation' ? [e.citation] : []))).toEqual(
        done.answer.citations,
      );
      const unstreamed = await kb.retrieveAndGenerate(question, { k: 3 });
      expect(done.answer.text).toBe(unstreamed.text);
      expect(done.answer.citations.map((c) => [c.span, c.text])).toEqual(
        unstreamed.citations.map((c) => [c.span, c.text]),
      );
    });
  });

  describe('delete', () => {
    it('deletes a document so it is no longer retrieved, and says whether it existed', async () => {
      expect(idsOf(await kb.retrieve('salmon river', { k: 5 }))).toContain('salmon');
      expect(await kb.delete('salmon')).toBe(true);
      expect(idsOf(await kb.retrieve('field notes', { k: 20 }))).toEqual(
        ALL_IDS.filter((id) => id !== 'salmon'),
      );
      expect(await kb.delete('salmon')).toBe(false);
      expect((await kb.stats()).documents).toBe(9);
    });
  });
});

describe('both implementations', () => {
  it('return the same chunks with the same scores for the same query', async () => {
    const local = await openLocal(emulator);
    const managed = await openManaged(emulator, 'contract-compare');
    try {
      await local.kb.ingest(CORPUS);
      await managed.kb.ingest(CORPUS);
      const fromLocal = await local.kb.retrieve('bees flowers pollination', { k: 5 });
      const fromManaged = await managed.kb.retrieve('bees flowers pollination', { k: 5 });
      const shape = (r: (typeof fromLocal)[number]) => [r.documentId, r.chunkId, r.score, r.content.text];
      expect(fromManaged.map(shape)).toEqual(fromLocal.map(shape));
      expect(fromManaged.length).toBeGreaterThan(1);
      const retrieves = emulator.requests.filter((r) => r.operation === 'Retrieve');
      expect(retrieves.some((r) => r.knowledgeBaseId === managed.knowledgeBaseId && r.status === 200)).toBe(
        true,
      );
    } finally {
      await local.close();
      await managed.close();
    }
  });
});
