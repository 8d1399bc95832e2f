/**
 * What Bedrock requires of a fine-tuning dataset, per base model family. Record formats follow the Amazon Bedrock
 * User Guide, "Prepare your training datasets for fine-tuning and continued pre-training" (model-customization-prepare)
 * and "Fine-tuning Amazon Nova models"; record counts, token and file limits follow its "Model requirements for
 * training and validation datasets" table and the "Sum of training and validation records" quotas, read in 2025 and
 * rounded to what the pages stated. Training prices (USD per 1,000 tokens trained, us-east-1) are from the Amazon
 * Bedrock pricing page, 2025-06. Quotas and prices change: pass your own limits to validateTrainingData.
 */

/** The record shape a family trains on. */
export type TrainingRecordFormat =
  /** `{"prompt": "…", "completion": "…"}` (Titan Text, Cohere Command, Llama 2 and 3.1). */
  | 'prompt-completion'
  /** `{"input": "…"}` (continued pre-training of Titan Text). */
  | 'continued-pretraining'
  /** `{"system"?: "…", "messages": [{"role": "user", "content": "…"}, …]}` (Claude 3 Haiku). */
  | 'claude-messages'
  /** `{"schemaVersion": "bedrock-conversation-2024", "system"?: [{"text"}], "messages": [{role, content: [{text}]}]}`. */
  | 'bedrock-conversation'
  /** `{"image-ref": "s3://…", "caption": "…"}` (Titan Image Generator, Titan Multimodal Embeddings). */
  | 'image-caption';

export interface TrainingLimits {
  format: TrainingRecordFormat;
  /** Fewest training records a job accepts. */
  minRecords: number;
  maxRecords: number;
  maxValidationRecords: number;
  /** Most tokens in one record (prompt and completion, or every turn with the system prompt). */
  maxTokensPerRecord: number;
  /** Largest training file, in bytes. */
  maxFileBytes: number;
  /** Epochs Bedrock trains for when `epochCount` is not given. */
  defaultEpochs: number;
  /** USD per 1,000 tokens trained (records' tokens × epochs); undefined when unknown. */
  pricePer1kTokens?: number;
  /** Monthly storage of the custom model, USD. */
  storagePerMonth?: number;
}

const GB = 1024 ** 3;

const TEXT: Omit<TrainingLimits, 'maxTokensPerRecord' | 'defaultEpochs'> = {
  format: 'prompt-completion',
  minRecords: 1,
  maxRecords: 10_000,
  maxValidationRecords: 1_000,
  maxFileBytes: 1 * GB,
  storagePerMonth: 1.95,
};

/** Limits by base model id prefix; the first matching entry applies. */
export const TRAINING_LIMITS: ReadonlyArray<[RegExp, TrainingLimits]> = [
  [
    /^amazon\.titan-text-express/,
    { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 5, pricePer1kTokens: 0.008 },
  ],
  [
    /^amazon\.titan-text-lite/,
    { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 5, pricePer1kTokens: 0.0004 },
  ],
  [
    /^amazon\.titan-text-premier/,
    { ...TEXT, maxRecords: 20_000, maxTokensPerRecord: 4_096, defaultEpochs: 2, pricePer1kTokens: 0.002 },
  ],
  [
    /^cohere\.command-light/,
    { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 1, pricePer1kTokens: 0.001 },
  ],
  [/^cohere\.command/, { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 1, pricePer1kTokens: 0.004 }],
  [/^meta\.llama2-13b/, { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 5, pricePer1kTokens: 0.00149 }],
  [/^meta\.llama2-70b/, { ...TEXT, maxTokensPerRecord: 4_096, defaultEpochs: 5, pricePer1kTokens: 0.00799 }],
  [
    /^meta\.llama3-1-8b/,
    { ...TEXT, maxTokensPerRecord: 16_000, defaultEpochs: 5, pricePer1kTokens: 0.00149 },
  ],
  [
    /^meta\.llama3-1-70b/,
    { ...TEXT, maxTokensPerRecord: 16_000, defaultEpochs: 5, pricePer1kTokens: 0.00799 },
  ],
  [
    /^meta\.llama3-2-/,
    {
      ...TEXT,
      format: 'bedrock-conversation',
      maxTokensPerRecord: 16_000,
      defaultEpochs: 5,
      pricePer1kTokens: 0.00149,
    },
  ],
  [
    /^anthropic\.claude-3-haiku/,
    {
      ...TEXT,
      format: 'claude-messages',
      maxTokensPerRecord: 32_000,
      maxFileBytes: 10 * GB,
      defaultEpochs: 2,
      pricePer1kTokens: 0.004,
    },
  ],
  [
    /^amazon\.nova-(micro|lite|pro)/,
    {
      ...TEXT,
      format: 'bedrock-conversation',
      minRecords: 8,
      maxRecords: 20_000,
      maxTokensPerRecord: 32_000,
      maxFileBytes: 10 * GB,
      defaultEpochs: 2,
    },
  ],
  [
    /^amazon\.(titan-image-generator|titan-embed-image)/,
    { ...TEXT, format: 'image-caption', minRecords: 5, maxTokensPerRecord: 128, defaultEpochs: 1 },
  ],
];

const NOVA_PRICES: Record<string, number> = { micro: 0.001, lite: 0.002, pro: 0.008 };

/** The limits for fine-tuning `baseModelId`, or undefined when Bedrock does not fine-tune it. */
export function trainingLimitsFor(
  baseModelId: string,
  continuedPretraining = false,
): TrainingLimits | undefined {
  const found = TRAINING_LIMITS.find(([pattern]) => pattern.test(baseModelId))?.[1];
  if (!found) return undefined;
  const nova = /^amazon\.nova-(micro|lite|pro)/.exec(baseModelId)?.[1];
  const limits = nova ? { ...found, pricePer1kTokens: NOVA_PRICES[nova]! } : found;
  if (!continuedPretraining) return limits;
  return {
    ...limits,
    format: 'continued-pretraining',
    maxRecords: 100_000,
    maxFileBytes: 10 * GB,
    defaultEpochs: 1,
  };
}
