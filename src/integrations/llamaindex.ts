/**
 * localkb/llamaindex — LlamaIndex.TS adapters: a retriever over any localkb KnowledgeBase (local or managed) that
 * returns NodeWithScore, and an LLM over a localkb Generator (Bedrock, OpenAI-compatible, extractive), so a
 * RetrieverQueryEngine runs on localkb end to end. `@llamaindex/core` is an optional peer dependency of localkb;
 * without it this module fails to import with DEPENDENCY_MISSING naming the npm install command.
 */
import type {
  ChatResponse,
  ChatResponseChunk,
  LLMChatParamsNonStreaming,
  LLMChatParamsStreaming,
  LLMMetadata,
  ChatMessage as LlamaChatMessage,
} from '@llamaindex/core/llms';
import type { QueryBundle } from '@llamaindex/core/query-engine';
import type { NodeWithScore } from '@llamaindex/core/schema';
import { kbError } from '../errors.js';
import type { ChatMessage, GenerateOptions, Generator } from '../generate/types.js';
import type { RetrieveOverrides } from '../kb/local-retriever.js';
import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { importOptionalPeer } from '../optional-peer.js';
import { checkOptions, declareOptions } from '../options.js';
import { BEDROCK_METADATA_KEYS } from '../types.js';
import { type ResultMetadata, resultMetadata } from './result-metadata.js';
import {
  KNOWLEDGE_BASE_RETRIEVER_SHAPE,
  type KnowledgeBaseRetrieverOptions,
  retrieveOptionsOf,
} from './retriever-options.js';

const [{ BaseRetriever }, { BaseLLM }, { TextNode, NodeRelationship }, { extractText }] =
  await importOptionalPeer('@llamaindex/core', 'localkb/llamaindex', () =>
    Promise.all([
      import('@llamaindex/core/retriever'),
      import('@llamaindex/core/llms'),
      import('@llamaindex/core/schema'),
      import('@llamaindex/core/utils'),
    ]),
  );

export type { ResultMetadata } from './result-metadata.js';

export type LocalKbRetrieverOptions = KnowledgeBaseRetrieverOptions;

const RETRIEVER_OPTIONS = declareOptions<LocalKbRetrieverOptions>(
  'LocalKbRetriever',
  KNOWLEDGE_BASE_RETRIEVER_SHAPE,
);

/** Metadata the model need not read: ids and scores (the source and page stay, for citing). */
const NOT_FOR_THE_LLM = [
  'score',
  'rawScore',
  'documentId',
  'chunkId',
  'sectionChunkId',
  'locationType',
  'start',
  'end',
  BEDROCK_METADATA_KEYS.sourceUri,
  BEDROCK_METADATA_KEYS.chunkId,
  BEDROCK_METADATA_KEYS.dataSourceId,
];

/**
 * A LlamaIndex retriever over a localkb knowledge base: one TextNode per retrieved chunk (its chunk id as id_,
 * its document as the SOURCE relationship, its character range) with the result's score.
 */
export class LocalKbRetriever extends BaseRetriever {
  readonly knowledgeBase: KnowledgeBase;
  readonly retrieveOptions: RetrieveOptions & RetrieveOverrides;

  constructor(options: LocalKbRetrieverOptions) {
    checkOptions(RETRIEVER_OPTIONS, options);
    const retrieveOptions = retrieveOptionsOf('LocalKbRetriever', options);
    super();
    this.knowledgeBase = options.knowledgeBase;
    this.retrieveOptions = retrieveOptions;
  }

  async _retrieve(params: QueryBundle): Promise<NodeWithScore<ResultMetadata>[]> {
    const results = await this.knowledgeBase.retrieve(extractText(params.query), this.retrieveOptions);
    return results.map((result) => {
      const metadata = resultMetadata(result);
      const node = new TextNode<ResultMetadata>({
        id_: result.chunkId,
        text: result.content.text,
        metadata,
        excludedLlmMetadataKeys: Object.keys(metadata).filter((key) => NOT_FOR_THE_LLM.includes(key)),
        excludedEmbedMetadataKeys: Object.keys(metadata),
        relationships: { [NodeRelationship.SOURCE]: { nodeId: result.documentId, metadata } },
        ...(result.location.start !== undefined ? { startCharIdx: result.location.start } : {}),
        ...(result.location.end !== undefined ? { endCharIdx: result.location.end } : {}),
      });
      return { node, score: result.score };
    });
  }
}

export interface LocalKbLLMOptions {
  /** A localkb Generator: BedrockConverseGenerator, BedrockInvokeGenerator, OpenAICompatibleGenerator, ExtractiveGenerator… */
  generator: Generator;
  /** Options of every call (maxTokens, temperature, system…). */
  generateOptions?: Omit<GenerateOptions, 'signal'>;
  /** The model's context window in tokens, which LlamaIndex's synthesizers pack prompts to. Default 8192. */
  contextWindow?: number;
}

const LLM_OPTIONS = declareOptions<LocalKbLLMOptions>('LocalKbLLM', {
  generator: 'object',
  generateOptions: 'object',
  contextWindow: 'integer',
});

/** A LlamaIndex LLM over a localkb Generator: chat and complete, streamed or not. */
export class LocalKbLLM extends BaseLLM {
  readonly generator: Generator;
  readonly generateOptions: Omit<GenerateOptions, 'signal'>;
  private readonly contextWindow: number;

  constructor(options: LocalKbLLMOptions) {
    checkOptions(LLM_OPTIONS, options);
    if (typeof options?.generator?.generate !== 'function') {
      throw kbError(
        'INVALID_OPTION',
        'LocalKbLLM needs generator: a localkb Generator (for example new BedrockConverseGenerator()).',
        { input: 'generator' },
      );
    }
    super();
    this.generator = options.generator;
    this.generateOptions = options.generateOptions ?? {};
    this.contextWindow = options.contextWindow ?? 8192;
  }

  get metadata(): LLMMetadata {
    return {
      model: this.generator.modelId,
      temperature: this.generateOptions.temperature ?? 0,
      topP: this.generateOptions.topP ?? 1,
      maxTokens: this.generateOptions.maxTokens,
      contextWindow: this.contextWindow,
      tokenizer: undefined,
      structuredOutput: false,
    };
  }

  chat(params: LLMChatParamsStreaming): Promise<AsyncIterable<ChatResponseChunk>>;
  chat(params: LLMChatParamsNonStreaming): Promise<ChatResponse>;
  async chat(
    params: LLMChatParamsStreaming | LLMChatParamsNonStreaming,
  ): Promise<AsyncIterable<ChatResponseChunk> | ChatResponse> {
    const messages = params.messages.map(toLocalMessage);
    if (params.stream) return this.streamChat(messages);
    const generation = await this.generator.generate(messages, this.generateOptions);
    return { message: { role: 'assistant', content: generation.text }, raw: generation };
  }

  private async *streamChat(messages: ChatMessage[]): AsyncIterable<ChatResponseChunk> {
    for await (const event of this.generator.stream(messages, this.generateOptions)) {
      if (event.type === 'text') yield { delta: event.text, raw: event };
    }
  }
}

function toLocalMessage(message: LlamaChatMessage): ChatMessage {
  const role =
    message.role === 'assistant' ? 'assistant' : message.role === 'user' ? 'user' : ('system' as const);
  return { role, content: extractText(message.content) };
}
