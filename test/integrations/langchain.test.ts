/**
 * localkb/langchain run inside LangChain: the retriever in an LCEL chain whose model is Bedrock Converse on the
 * emulator (a localkb generator as a Runnable), over a local and a managed knowledge base; the Embeddings against
 * the embedder it wraps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda, RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersEmbedder } from '../../src/embed/transformers-embedder.js';
import { BedrockConverseGenerator } from '../../src/generate/index.js';
import { LocalKbEmbeddings, LocalKbRetriever, LocalKbVectorStore } from '../../src/integrations/langchain.js';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { KnowledgeBase } from '../../src/kb/types.js';
import { TINY_EMBEDDER_PATH } from '../helpers/models.js';
import { MODEL, testClientConfig } from '../kb-contract/implementations.js';
import { knowledgeBases, useCorpus, useEmulator } from './knowledge-bases.js';

const emulatorOf = useEmulator();

/** Numbered sources in localkb's prompt format, which the emulator's model quotes and cites. */
const formatSources = (documents: DocumentInterface[]) =>
  documents.map((document, i) => `<source id="${i + 1}">${document.pageContent}</source>`).join('\n');

describe.each(knowledgeBases(emulatorOf, 'langchain'))('LocalKbRetriever over %s', (_name, open) => {
  const knowledgeBase = useCorpus(open);

  it('returns one Document per retrieved chunk with score, source and chunk ids in the metadata', async () => {
    const retriever = new LocalKbRetriever({ knowledgeBase: knowledgeBase(), k: 2 });
    const documents = await retriever.invoke('why do salmon return to the river');
    const results = await knowledgeBase().retrieve('why do salmon return to the river', { k: 2 });
    expect(documents).toHaveLength(results.length);
    expect(documents.map((d) => d.pageContent)).toEqual(results.map((r) => r.content.text));
    const [top] = documents;
    expect(top?.pageContent).toContain('Salmon return');
    expect(top?.id).toBe(results[0]?.chunkId);
    expect(top?.metadata).toMatchObject({
      score: results[0]?.score,
      documentId: results[0]?.documentId,
      chunkId: results[0]?.chunkId,
      source: results[0]?.location.uri,
      topic: 'fish',
      year: 2020,
    });
  });

  it('passes its filter to the knowledge base', async () => {
    const retriever = new LocalKbRetriever({
      knowledgeBase: knowledgeBase(),
      k: 8,
      filter: { equals: { key: 'topic', value: 'birds' } },
    });
    const documents = await retriever.invoke('field notes');
    expect(documents.map((d) => d.metadata.topic).sort()).toEqual(['birds', 'birds']);
  });

  it('runs in an LCEL chain: retriever | format | prompt | Bedrock model | parser, answering from the retrieved text', async () => {
    const generator = new BedrockConverseGenerator({
      modelId: MODEL,
      clientConfig: testClientConfig(emulatorOf()),
    });
    const model = RunnableLambda.from(async (prompt: { toString(): string }) => {
      const generation = await generator.generate([{ role: 'user', content: prompt.toString() }]);
      return generation.text;
    });
    const chain = RunnableSequence.from([
      {
        context: new LocalKbRetriever({ knowledgeBase: knowledgeBase(), k: 1 }).pipe(formatSources),
        question: new RunnablePassthrough(),
      },
      ChatPromptTemplate.fromTemplate(
        'Answer from the sources, citing them as [n].\n{context}\n\nQuestion: {question}',
      ),
      model,
      new StringOutputParser(),
    ]);
    emulatorOf().reset();
    const answer = await chain.invoke('How do owls hunt in the dark?');
    // The emulator's model quotes the first sentence of each numbered source it was shown.
    expect(answer).toBe('Barn owls hunt by sound alone in the dark. [1]');
    const converse = emulatorOf().requests.filter((r) => r.operation === 'Converse');
    expect(converse).toHaveLength(1);
    expect(JSON.stringify(converse[0]?.body)).toContain('Question: How do owls hunt in the dark?');
  });
});

describe('LocalKbRetriever options', () => {
  it('refuses an unknown option, naming the close valid one', () => {
    const knowledgeBase = { retrieve: async () => [] } as unknown as KnowledgeBase;
    expect(() => new LocalKbRetriever({ knowledgeBase, topK: 3 } as never)).toThrow(/topK.*\bk\b/);
  });

  it('refuses a missing knowledge base', () => {
    expect(() => new LocalKbRetriever({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});

describe('LocalKbEmbeddings', () => {
  const embedder = new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true });
  afterAll(async () => {
    await embedder.close();
  });

  it("returns the wrapped embedder's vectors as number arrays, documents and queries alike", async () => {
    const embeddings = new LocalKbEmbeddings({ embedder });
    const texts = ['lighthouse lamps', 'fresnel lenses'];
    const vectors = await embeddings.embedDocuments(texts);
    const expected = await embedder.embedDocuments(texts);
    expect(vectors).toHaveLength(2);
    vectors.forEach((vector, i) => {
      expect(Array.isArray(vector)).toBe(true);
      expect(vector).toHaveLength(embedder.dimensions);
      expect(vector).toEqual(Array.from(expected[i]!));
    });
    expect(await embeddings.embedQuery('lighthouse lamps')).toEqual(
      Array.from(await embedder.embedQuery('lighthouse lamps')),
    );
  });
});

describe('LocalKbVectorStore', () => {
  let dir: string;
  let kb: LocalKnowledgeBase;
  let store: LocalKbVectorStore;
  const texts = [
    'Fresnel lenses bend the lamp light into a beam.',
    'Keepers trimmed the wicks every night.',
    'The Pharos stood on an island off Alexandria.',
  ];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-vectorstore-'));
    kb = await LocalKnowledgeBase.open(path.join(dir, 'store.db'), {
      embedder: new TransformersEmbedder({ modelPath: TINY_EMBEDDER_PATH, offline: true }),
      embedWorkers: 0,
    });
    store = new LocalKbVectorStore({ knowledgeBase: kb });
  });
  afterAll(async () => {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds documents through ingest and finds each as its own nearest neighbour, with their metadata', async () => {
    const ids = await store.addDocuments(
      texts.map(
        (text, i) =>
          new Document({
            pageContent: text,
            metadata: { topic: i === 2 ? 'history' : 'lights', loc: { line: i } },
          }),
      ),
      { ids: ['lens', 'wick', 'pharos'] },
    );
    expect(ids).toEqual(['lens', 'wick', 'pharos']);
    for (const [i, text] of texts.entries()) {
      const [[document, score] = []] = await store.similaritySearchWithScore(text, 1);
      expect(document?.metadata.documentId).toBe(ids[i]);
      expect(document?.pageContent).toBe(text);
      expect(score).toBeCloseTo(1, 3);
    }
    const [pharos] = await store.similaritySearch(texts[2]!, 1);
    // A nested value LangChain loaders add (loc) is kept as JSON text, as localkb metadata holds only scalars.
    expect(pharos?.metadata).toMatchObject({ topic: 'history', loc: '{"line":2}' });
  });

  it("filters with localkb's metadata filters", async () => {
    const found = await store.similaritySearch(texts[0]!, 3, { equals: { key: 'topic', value: 'history' } });
    expect(found.map((d) => d.metadata.documentId)).toEqual(['pharos']);
  });

  it('stores documents with the vectors given and searches by vector', async () => {
    const embeddings = new LocalKbEmbeddings({ embedder: kb.embedder! });
    const added = ['Foghorns sound in thick weather.', 'Lightships mark shoals where no tower can stand.'];
    const vectors = await embeddings.embedDocuments(added);
    const ids = await store.addVectors(
      vectors,
      added.map((text) => new Document({ pageContent: text, metadata: { topic: 'signals' } })),
      { ids: ['foghorn', 'lightship'] },
    );
    const [[nearest, score] = []] = await store.similaritySearchVectorWithScore(vectors[1]!, 1);
    expect(nearest?.metadata.documentId).toBe(ids[1]);
    expect(nearest?.pageContent).toBe(added[1]);
    expect(score).toBeCloseTo(1, 5);
    expect((await kb.stats()).documents).toBe(5);
  });

  it('runs as a retriever in an LCEL chain', async () => {
    const chain = store.asRetriever({ k: 1 }).pipe(formatSources);
    expect(await chain.invoke(texts[1]!)).toBe(`<source id="1">${texts[1]}</source>`);
  });

  it('deletes documents by id', async () => {
    await store.delete({ ids: ['wick'] });
    const found = await store.similaritySearch(texts[1]!, 5);
    expect(found.map((d) => d.metadata.documentId)).not.toContain('wick');
    expect(found.length).toBeGreaterThan(0);
  });

  it("refuses a vector of another dimension than the store's embedder", async () => {
    await expect(store.similaritySearchVectorWithScore([1, 0, 0], 1)).rejects.toMatchObject({
      code: 'DIMENSION_MISMATCH',
    });
    await expect(
      store.addVectors([[1, 0, 0]], [new Document({ pageContent: 'x' })], { ids: ['x'] }),
    ).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
  });

  it('refuses a BM25-only knowledge base', async () => {
    const bm25 = await LocalKnowledgeBase.open(path.join(dir, 'bm25.db'), { embedder: 'none' });
    try {
      expect(() => new LocalKbVectorStore({ knowledgeBase: bm25 })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    } finally {
      await bm25.close();
    }
  });
});
