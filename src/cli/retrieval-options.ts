import { kbError } from '../errors.js';
import { BedrockKnowledgeBase } from '../kb/bedrock-knowledge-base.js';
import type { KnowledgeBase, RetrieveOptions } from '../kb/types.js';
import { BedrockReranker, CrossEncoderReranker, type Reranker } from '../retrieve/index.js';
import { type OptionSpec, type ParsedArgs, stringOption } from './args.js';

export const RERANK_OPTIONS: OptionSpec = {
  rerank: { type: 'string' },
  'rerank-model-path': { type: 'string' },
  mmr: { type: 'string' },
};

export const RERANK_HELP = `  --rerank <model>        cross-encoder (local Xenova/ms-marco-MiniLM-L-6-v2) or a Bedrock rerank model id
                          (amazon.rerank-v1:0, cohere.rerank-v3-5:0)
  --rerank-model-path <d> local folder of the cross-encoder (or LOCALKB_RERANK_MODEL_PATH)
  --mmr <lambda>          diversify results with maximal marginal relevance (1 = relevance only, 0 = diversity)`;

/** A local reranker for --rerank: the cross-encoder on this machine, or Bedrock's Rerank API for a model id. */
export function rerankerFrom(args: ParsedArgs): Reranker | undefined {
  const name = stringOption(args, 'rerank');
  if (name === undefined) return undefined;
  if (name === 'cross-encoder') {
    const modelPath = stringOption(args, 'rerank-model-path');
    const cacheDir = stringOption(args, 'cache-dir');
    return new CrossEncoderReranker({
      ...(modelPath ? { modelPath } : {}),
      ...(cacheDir ? { cacheDir } : {}),
      offline: Boolean(args.values.offline),
    });
  }
  return new BedrockReranker({ modelId: name });
}

/**
 * The per-query extras of --rerank and --mmr. A managed knowledge base reranks inside Retrieve with a Bedrock
 * model; it has no MMR and no local cross-encoder, so those are refused rather than silently ignored.
 */
export function retrievalExtras(
  command: string,
  args: ParsedArgs,
  kb: KnowledgeBase,
): Partial<RetrieveOptions> {
  const rerank = stringOption(args, 'rerank');
  const mmrRaw = stringOption(args, 'mmr');
  const lambda = mmrRaw === undefined ? undefined : Number(mmrRaw);
  if (lambda !== undefined && !(lambda >= 0 && lambda <= 1)) {
    throw kbError(
      'INVALID_OPTION',
      `localkb ${command}: --mmr takes a lambda between 0 and 1, got "${mmrRaw}".`,
      {
        input: '--mmr',
      },
    );
  }
  if (kb instanceof BedrockKnowledgeBase) {
    if (lambda !== undefined || rerank === 'cross-encoder') {
      throw kbError(
        'INVALID_OPTION',
        `localkb ${command}: a managed knowledge base supports --rerank <bedrock rerank model id> only (no --mmr, no local cross-encoder).`,
        { input: lambda !== undefined ? '--mmr' : '--rerank' },
      );
    }
    if (rerank && command !== 'query') {
      throw kbError(
        'INVALID_OPTION',
        `localkb ${command}: a managed knowledge base reranks in localkb query only; RetrieveAndGenerate takes no --rerank.`,
        { input: '--rerank' },
      );
    }
    return rerank ? ({ reranking: { modelId: rerank } } as Partial<RetrieveOptions>) : {};
  }
  const reranker = rerankerFrom(args);
  return {
    ...(reranker ? { reranker } : {}),
    ...(lambda !== undefined ? { mmr: { lambda } } : {}),
  } as Partial<RetrieveOptions>;
}
