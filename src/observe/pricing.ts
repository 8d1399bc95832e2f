import type { CostEstimate, TokenUsage } from '../types.js';

/** USD per 1,000 tokens. Embedding models have no output price. */
export interface ModelPrice {
  inputPer1k: number;
  outputPer1k: number;
}

export type PricingTable = Readonly<Record<string, ModelPrice>>;

export type { CostEstimate } from '../types.js';

/** When the prices below were taken from the Amazon Bedrock pricing page. Prices change: override them. */
export const PRICING_AS_OF = '2025-06';

/**
 * On-demand prices in us-east-1 for common Bedrock models. Other regions, batch, provisioned throughput,
 * prompt caching and image models are priced differently and are not in this table; pass your own to
 * `estimateCost` or `createPricingTable` when you need them. A model that is not listed has no estimate.
 */
export const BEDROCK_PRICING: PricingTable = {
  'anthropic.claude-3-haiku-20240307-v1:0': { inputPer1k: 0.00025, outputPer1k: 0.00125 },
  'anthropic.claude-3-sonnet-20240229-v1:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-3-opus-20240229-v1:0': { inputPer1k: 0.015, outputPer1k: 0.075 },
  'anthropic.claude-3-5-haiku-20241022-v1:0': { inputPer1k: 0.0008, outputPer1k: 0.004 },
  'anthropic.claude-3-5-sonnet-20240620-v1:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-3-5-sonnet-20241022-v2:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-3-7-sonnet-20250219-v1:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-sonnet-4-20250514-v1:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-opus-4-20250514-v1:0': { inputPer1k: 0.015, outputPer1k: 0.075 },
  'anthropic.claude-v2': { inputPer1k: 0.008, outputPer1k: 0.024 },
  'anthropic.claude-v2:1': { inputPer1k: 0.008, outputPer1k: 0.024 },
  'anthropic.claude-instant-v1': { inputPer1k: 0.0008, outputPer1k: 0.0024 },
  'amazon.nova-micro-v1:0': { inputPer1k: 0.000035, outputPer1k: 0.00014 },
  'amazon.nova-lite-v1:0': { inputPer1k: 0.00006, outputPer1k: 0.00024 },
  'amazon.nova-pro-v1:0': { inputPer1k: 0.0008, outputPer1k: 0.0032 },
  'amazon.titan-text-lite-v1': { inputPer1k: 0.00015, outputPer1k: 0.0002 },
  'amazon.titan-text-express-v1': { inputPer1k: 0.0002, outputPer1k: 0.0006 },
  'amazon.titan-text-premier-v1:0': { inputPer1k: 0.0005, outputPer1k: 0.0015 },
  'amazon.titan-embed-text-v1': { inputPer1k: 0.0001, outputPer1k: 0 },
  'amazon.titan-embed-text-v2:0': { inputPer1k: 0.00002, outputPer1k: 0 },
  'meta.llama2-13b-chat-v1': { inputPer1k: 0.00075, outputPer1k: 0.001 },
  'meta.llama2-70b-chat-v1': { inputPer1k: 0.00195, outputPer1k: 0.00256 },
  'meta.llama3-8b-instruct-v1:0': { inputPer1k: 0.0003, outputPer1k: 0.0006 },
  'meta.llama3-70b-instruct-v1:0': { inputPer1k: 0.00265, outputPer1k: 0.0035 },
  'meta.llama3-1-8b-instruct-v1:0': { inputPer1k: 0.00022, outputPer1k: 0.00022 },
  'meta.llama3-1-70b-instruct-v1:0': { inputPer1k: 0.00072, outputPer1k: 0.00072 },
  'mistral.mistral-7b-instruct-v0:2': { inputPer1k: 0.00015, outputPer1k: 0.0002 },
  'mistral.mixtral-8x7b-instruct-v0:1': { inputPer1k: 0.00045, outputPer1k: 0.0007 },
  'cohere.command-text-v14': { inputPer1k: 0.0015, outputPer1k: 0.002 },
  'cohere.command-light-text-v14': { inputPer1k: 0.0003, outputPer1k: 0.0006 },
  'cohere.command-r-v1:0': { inputPer1k: 0.0005, outputPer1k: 0.0015 },
  'cohere.command-r-plus-v1:0': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'cohere.embed-english-v3': { inputPer1k: 0.0001, outputPer1k: 0 },
  'cohere.embed-multilingual-v3': { inputPer1k: 0.0001, outputPer1k: 0 },
  'ai21.j2-mid-v1': { inputPer1k: 0.0125, outputPer1k: 0.0125 },
  'ai21.j2-ultra-v1': { inputPer1k: 0.0188, outputPer1k: 0.0188 },
};

/** The default table with caller prices added or replaced. */
export function createPricingTable(overrides: Readonly<Record<string, ModelPrice>>): PricingTable {
  return { ...BEDROCK_PRICING, ...overrides };
}

const INFERENCE_PROFILE_PREFIX = /^(us|eu|apac|global|us-gov|ca|jp|au)\./;

/**
 * The base model id a price is listed under: foundation-model and inference-profile ARNs give their model id,
 * geographic profile prefixes (us., eu., apac., global.) and context-window suffixes (`:200k`) are dropped.
 * Custom and provisioned model ARNs have no base id (they are billed differently) and yield undefined.
 */
export function pricingModelId(modelId: string): string | undefined {
  let id = modelId;
  if (id.startsWith('arn:')) {
    const match = /:(foundation-model|inference-profile)\/(.+)$/.exec(id);
    if (!match) return undefined;
    id = match[2]!;
  }
  return id.replace(INFERENCE_PROFILE_PREFIX, '');
}

function findPrice(modelId: string, table: PricingTable): ModelPrice | undefined {
  const exact = table[modelId];
  if (exact) return exact;
  const base = pricingModelId(modelId);
  if (base === undefined) return undefined;
  return table[base] ?? table[base.replace(/:\d+k$/, '')];
}

/**
 * The cost of one call in USD, or undefined when the model has no known price (never a guess).
 * `usage` needs only input and output token counts.
 */
export function estimateCost(
  modelId: string,
  usage: Pick<TokenUsage, 'inputTokens' | 'outputTokens'>,
  table: PricingTable = BEDROCK_PRICING,
): CostEstimate | undefined {
  const price = findPrice(modelId, table);
  if (!price) return undefined;
  const inputCost = (usage.inputTokens / 1000) * price.inputPer1k;
  const outputCost = (usage.outputTokens / 1000) * price.outputPer1k;
  return { currency: 'USD', inputCost, outputCost, totalCost: inputCost + outputCost };
}
