/** Plain data of the model catalogue, shaped after the bedrock control plane's FoundationModelSummary. */

/** ModelModality; AWS also returns VIDEO, SPEECH and AUDIO, which the SDK passes through as strings. */
export type ModelModality = 'TEXT' | 'IMAGE' | 'EMBEDDING' | 'VIDEO' | 'SPEECH' | 'AUDIO';
export type ModelCustomization = 'FINE_TUNING' | 'CONTINUED_PRE_TRAINING' | 'DISTILLATION';
/** `INFERENCE_PROFILE` alone marks a model Bedrock serves only through an inference profile. */
export type InferenceType = 'ON_DEMAND' | 'INFERENCE_PROFILE' | 'PROVISIONED';
export type ModelLifecycleStatus = 'ACTIVE' | 'LEGACY';

export interface FoundationModelEntry {
  modelId: string;
  modelName: string;
  providerName: string;
  inputModalities: ModelModality[];
  outputModalities: ModelModality[];
  responseStreamingSupported: boolean;
  customizationsSupported: ModelCustomization[];
  inferenceTypesSupported: InferenceType[];
  lifecycleStatus: ModelLifecycleStatus;
  /** Whether the Converse API takes the model (chat models; no embedding or image models). */
  converse: boolean;
  /** Whether the model accepts a system prompt through Converse. */
  systemPrompt: boolean;
}

/** Geography prefix of a cross-region (system-defined) inference profile id: `us.`, `eu.`, `apac.`, `global.`… */
export type ProfileGeography = 'us' | 'eu' | 'apac' | 'global' | 'us-gov';

export interface InferenceProfileEntry {
  /** e.g. `us.anthropic.claude-3-7-sonnet-20250219-v1:0`, or the id part of an application profile's ARN. */
  inferenceProfileId: string;
  inferenceProfileName: string;
  description: string;
  /** The foundation model every request through the profile reaches. */
  modelId: string;
  /** Regions the profile routes to; each contributes one `models[].modelArn`. */
  destinationRegions: string[];
  type: 'SYSTEM_DEFINED' | 'APPLICATION';
  /** Set for APPLICATION profiles: their full ARN. */
  inferenceProfileArn?: string;
}

/** What a model identifier given to bedrock-runtime resolves to. */
export type ModelResolution =
  | {
      ok: true;
      kind: 'foundation-model' | 'inference-profile' | 'custom-model' | 'provisioned-model';
      /** The foundation model whose request format and features apply. */
      model: FoundationModelEntry;
      profile?: InferenceProfileEntry;
    }
  | {
      ok: false;
      /** `invalid`: nothing by that id; `needs-profile`: a foundation model not offered on demand;
       * `not-found`: a well-formed ARN of a custom or provisioned model the catalogue does not hold;
       * `needs-provisioned`: a custom model, which answers only through provisioned throughput;
       * `not-in-service`: a provisioned throughput that is still being created or updated. */
      reason: 'invalid' | 'needs-profile' | 'not-found' | 'needs-provisioned' | 'not-in-service';
      modelId?: string;
    };
