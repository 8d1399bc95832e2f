export {
  BedrockConverseGenerator,
  type BedrockConverseGeneratorOptions,
  DEFAULT_CONVERSE_MODEL_ID,
} from './bedrock-converse-generator.js';
export {
  BedrockImageGenerator,
  type BedrockImageGeneratorOptions,
  DEFAULT_IMAGE_MODEL_ID,
  type ImageGenerateOptions,
  type ImageGeneration,
  type ImageModelFamily,
} from './bedrock-image-generator.js';
export { BedrockInvokeGenerator, type BedrockInvokeGeneratorOptions } from './bedrock-invoke-generator.js';
export type { BedrockClientOptions } from './bedrock-runtime.js';
export {
  Budget,
  type BudgetLimits,
  budgetedGenerator,
  type CallEstimate,
  DryRunGenerator,
  estimateCall,
  estimatePromptTokens,
} from './budget.js';
export { type CachedGeneratorOptions, cachedGenerator } from './cached-generator.js';
export {
  type CitationFilterEvent,
  type CitationMarker,
  CitationMarkerFilter,
  type CitedPart,
  parseCitationMarkers,
  stripCitationMarkers,
} from './citation-markers.js';
export {
  ExtractiveGenerator,
  type ExtractiveGeneratorOptions,
  extractiveTerms,
  NO_ANSWER_TEXT,
} from './extractive-generator.js';
export {
  baseModelId,
  INVOKE_ADAPTERS,
  type InvokeAdapter,
  llama2Prompt,
  llama3Prompt,
  MODEL_FAMILIES,
  type ModelFamily,
  mistralPrompt,
  modelFamilyOf,
} from './invoke-families/index.js';
export {
  CATALOGUE_AS_OF,
  CATALOGUE_SOURCE,
  type FoundationModelEntry,
  type FoundationModelFilter,
  type FoundationModelInput,
  type InferenceProfileEntry,
  type InferenceType,
  isOnDemand,
  isProfileOnly,
  ModelCatalogue,
  type ModelCatalogueOptions,
  type ModelCustomization,
  type ModelLifecycleStatus,
  type ModelModality,
  type ModelResolution,
  type ProfileGeography,
  profileGeographyOf,
} from './model-catalogue/index.js';
export {
  OpenAICompatibleGenerator,
  type OpenAICompatibleGeneratorOptions,
} from './openai-compatible-generator.js';
export {
  CITATION_INSTRUCTIONS,
  DEFAULT_PROMPT_TEMPLATE,
  type PromptTemplateValues,
  renderPromptTemplate,
} from './prompt-template.js';
export { formatSources, type ParsedSource, parseSources } from './sources.js';
export type {
  ChatMessage,
  GenerateOptions,
  Generation,
  GenerationEvent,
  Generator,
  GuardrailOptions,
  StopReason,
} from './types.js';
