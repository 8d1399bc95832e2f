/**
 * localkb/llamaindex run inside LlamaIndex.TS: the retriever and the LLM adapter in a RetrieverQueryEngine, over a
 * local and a managed knowledge base, answering with Bedrock Converse on the emulator or the extractive generator.
 */
import { PromptTemplate } from '@llamaindex/core/prompts';
import { RetrieverQueryEngine } from '@llamaindex/core/query-engine';
import { getResponseSynthesizer } from '@llamaindex/core/response-synthesizers';
import { MetadataMode, NodeRelationship, TextNode } from '@llamaindex/core/schema';
import { describe, expect, it } from 'vitest';
import { BedrockConverseGenerator, ExtractiveGenerator } from '../../src/generate/index.js';
import { LocalKbLLM, LocalKbRetriever } from '../../src/integrations/llamaindex.js';
import type { KnowledgeBase } from '../../src/kb/types.js';
import { MODEL, testClientConfig } from '../kb-contract/implementations.js';
import { knowledgeBases, useCorpus, useEmulator } from './knowledge-bases.js';

const emulatorOf = useEmulator();

/** A question-answering prompt in localkb's source format, which both the emulator's model and the extractive one read. */
const textQATemplate = new PromptTemplate({
  templateVars: ['context', 'query'],
  template:
    'Answer from the source, citing it as [1].\n<source id="1">\n{context}\n</source>\n<question>{query}</question>',
});

describe.each(knowledgeBases(emulatorOf, 'llamaindex'))('LocalKbRetriever over %s', (_name, open) => {
  const knowledgeBase = useCorpus(open);

  it('returns NodeWithScore: a TextNode per chunk with its id, document, metadata and score', async () => {
    const retriever = new LocalKbRetriever({ knowledgeBase: knowledgeBase(), k: 2 });
    const nodes = await retriever.retrieve('why do salmon return to the river');
    const results = await knowledgeBase().retrieve('why do salmon return to the river', { k: 2 });
    expect(nodes.map((n) => n.score)).toEqual(results.map((r) => r.score));
    const top = nodes[0]!;
    expect(top.node).toBeInstanceOf(TextNode);
    const node = top.node as TextNode;
    expect(node.id_).toBe(results[0]?.chunkId);
    expect(node.text).toBe(results[0]?.content.text);
    expect(node.relationships[NodeRelationship.SOURCE]).toMatchObject({ nodeId: results[0]?.documentId });
    expect(node.metadata).toMatchObject({ topic: 'fish', source: results[0]?.location.uri });
    // The model reads the text with the source but not the ids and scores.
    const forTheModel = node.getContent(MetadataMode.LLM);
    expect(forTheModel).toContain('Salmon return');
    expect(forTheModel).toContain(`source: ${results[0]?.location.uri}`);
    expect(forTheModel).not.toContain('chunkId');
  });

  it('answers in a RetrieverQueryEngine with Bedrock Converse (emulated) through LocalKbLLM', async () => {
    const llm = new LocalKbLLM({
      generator: new BedrockConverseGenerator({
        modelId: MODEL,
        clientConfig: testClientConfig(emulatorOf()),
      }),
    });
    const engine = new RetrieverQueryEngine(
      new LocalKbRetriever({ knowledgeBase: knowledgeBase(), k: 1 }),
      getResponseSynthesizer('compact', { llm, textQATemplate }),
    );
    emulatorOf().reset();
    const response = await engine.query({ query: 'How do owls hunt in the dark?' });
    const converse = emulatorOf().requests.filter((r) => r.operation === 'Converse');
    expect(converse).toHaveLength(1);
    const prompt = JSON.stringify(converse[0]?.body);
    expect(prompt).toContain('Barn owls hunt by sound alone in the dark.');
    expect(prompt).toContain('<question>How do owls hunt in the dark?</question>');
    // The emulator's model quotes the first sentence of the numbered source it was shown (here the node's
    // metadata line, which LlamaIndex puts before the text) and cites it.
    expect(response.message.content).toMatch(/^author: Ms\. \[1\]$/);
    expect(response.sourceNodes?.map((n) => (n.node as TextNode).text)).toEqual([
      (await knowledgeBase().retrieve('How do owls hunt in the dark?', { k: 1 }))[0]?.content.text,
    ]);
  });

  it('streams an extractive answer from the retrieved text with the default metadata mode', async () => {
    const llm = new LocalKbLLM({ generator: new ExtractiveGenerator() });
    const engine = new RetrieverQueryEngine(
      new LocalKbRetriever({ knowledgeBase: knowledgeBase(), k: 2 }),
      getResponseSynthesizer('compact', { llm, textQATemplate }),
    );
    let text = '';
    for await (const chunk of await engine.query({ query: 'How long do swifts fly?', stream: true })) {
      text += chunk.delta;
    }
    expect(text).toContain('Common swifts sleep while flying for months at a time.');
  });
});

describe('LocalKbRetriever and LocalKbLLM options', () => {
  it('refuse unknown options, naming the close valid one', () => {
    const knowledgeBase = { retrieve: async () => [] } as unknown as KnowledgeBase;
    expect(() => new LocalKbRetriever({ knowledgeBase, topK: 3 } as never)).toThrow(/topK.*\bk\b/);
    expect(() => new LocalKbLLM({ generator: new ExtractiveGenerator(), model: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('refuse a missing knowledge base or generator', () => {
    expect(() => new LocalKbRetriever({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => new LocalKbLLM({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
