import type { FoundationModelEntry, ModelCustomization, ModelModality } from './types.js';

/**
 * Amazon Bedrock's foundation models as ListFoundationModels describes them in us-east-1.
 *
 * Sources (read 2026-02): the Amazon Bedrock User Guide pages "Supported foundation models in Amazon Bedrock"
 * (models-supported, now "models at a glance"), "Supported Regions and models for inference profiles"
 * (inference-profiles-support), "Supported models and model features" for the Converse API
 * (conversation-inference-supported-models-features: system prompts), and ListFoundationModels output captured in
 * January 2026 (`inferenceTypesSupported: ["INFERENCE_PROFILE"]` marks the models AWS serves only through an
 * inference profile). Models past end of life that localkb's generators still speak (Claude 2, Llama 2, Jurassic-2,
 * Cohere Command) are kept with lifecycle LEGACY so existing code keeps working offline. Other regions differ; add
 * or override entries through the catalogue's options.
 */
export const CATALOGUE_SOURCE =
  'Amazon Bedrock User Guide (models-supported, inference-profiles-support, conversation-inference-supported-models-features) and ListFoundationModels output, us-east-1';
export const CATALOGUE_AS_OF = '2026-02';

interface Spec {
  in?: ModelModality[];
  out?: ModelModality[];
  stream?: boolean;
  custom?: ModelCustomization[];
  /** 'od' on demand, 'ip' inference profile only, 'both', or 'none' (provisioned throughput only). */
  access?: 'od' | 'ip' | 'both' | 'none';
  provisioned?: boolean;
  legacy?: boolean;
  converse?: boolean;
  system?: boolean;
}

const T: ModelModality[] = ['TEXT'];
const TI: ModelModality[] = ['TEXT', 'IMAGE'];
const TIV: ModelModality[] = ['TEXT', 'IMAGE', 'VIDEO'];
const E: ModelModality[] = ['EMBEDDING'];
const I: ModelModality[] = ['IMAGE'];

function model(
  modelId: string,
  modelName: string,
  providerName: string,
  spec: Spec = {},
): FoundationModelEntry {
  const out = spec.out ?? T;
  const generatesText = out.includes('TEXT');
  const access = spec.access ?? 'od';
  const inferenceTypesSupported: FoundationModelEntry['inferenceTypesSupported'] = [];
  if (access === 'od' || access === 'both') inferenceTypesSupported.push('ON_DEMAND');
  if (access === 'ip' || access === 'both') inferenceTypesSupported.push('INFERENCE_PROFILE');
  if (spec.provisioned) inferenceTypesSupported.push('PROVISIONED');
  return {
    modelId,
    modelName,
    providerName,
    inputModalities: spec.in ?? T,
    outputModalities: out,
    responseStreamingSupported: spec.stream ?? generatesText,
    customizationsSupported: spec.custom ?? [],
    inferenceTypesSupported,
    lifecycleStatus: spec.legacy ? 'LEGACY' : 'ACTIVE',
    converse: spec.converse ?? generatesText,
    systemPrompt: spec.system ?? generatesText,
  };
}

const CLAUDE = (id: string, name: string, spec: Spec = {}) =>
  model(`anthropic.${id}`, name, 'Anthropic', { in: TI, access: 'ip', ...spec });

export const FOUNDATION_MODELS: readonly FoundationModelEntry[] = [
  // AI21 Labs
  model('ai21.jamba-1-5-large-v1:0', 'Jamba 1.5 Large', 'AI21 Labs'),
  model('ai21.jamba-1-5-mini-v1:0', 'Jamba 1.5 Mini', 'AI21 Labs'),
  model('ai21.jamba-instruct-v1:0', 'Jamba-Instruct', 'AI21 Labs', { legacy: true }),
  model('ai21.j2-mid-v1', 'Jurassic-2 Mid', 'AI21 Labs', { stream: false, legacy: true, system: false }),
  model('ai21.j2-ultra-v1', 'Jurassic-2 Ultra', 'AI21 Labs', { stream: false, legacy: true, system: false }),
  // Amazon
  model('amazon.nova-micro-v1:0', 'Nova Micro', 'Amazon', {
    access: 'both',
    custom: ['FINE_TUNING', 'DISTILLATION'],
  }),
  model('amazon.nova-lite-v1:0', 'Nova Lite', 'Amazon', {
    in: TIV,
    access: 'both',
    custom: ['FINE_TUNING', 'DISTILLATION'],
  }),
  model('amazon.nova-pro-v1:0', 'Nova Pro', 'Amazon', {
    in: TIV,
    access: 'both',
    custom: ['FINE_TUNING', 'DISTILLATION'],
  }),
  model('amazon.nova-premier-v1:0', 'Nova Premier', 'Amazon', { in: TIV, access: 'ip' }),
  model('amazon.nova-2-lite-v1:0', 'Nova 2 Lite', 'Amazon', { in: TIV, access: 'ip' }),
  model('amazon.nova-canvas-v1:0', 'Nova Canvas', 'Amazon', {
    in: TI,
    out: I,
    custom: ['FINE_TUNING'],
    provisioned: true,
  }),
  model('amazon.nova-reel-v1:1', 'Nova Reel', 'Amazon', { in: TI, out: ['VIDEO'], converse: false }),
  model('amazon.nova-sonic-v1:0', 'Nova Sonic', 'Amazon', {
    in: ['SPEECH'],
    out: ['SPEECH', 'TEXT'],
    converse: false,
    system: false,
  }),
  model('amazon.nova-2-multimodal-embeddings-v1:0', 'Amazon Nova Multimodal Embeddings', 'Amazon', {
    in: ['TEXT', 'IMAGE', 'AUDIO', 'VIDEO'],
    out: E,
  }),
  model('amazon.titan-text-express-v1', 'Titan Text G1 - Express', 'Amazon', {
    custom: ['FINE_TUNING', 'CONTINUED_PRE_TRAINING'],
    system: false,
  }),
  model('amazon.titan-text-lite-v1', 'Titan Text G1 - Lite', 'Amazon', {
    custom: ['FINE_TUNING', 'CONTINUED_PRE_TRAINING'],
    system: false,
  }),
  model('amazon.titan-text-premier-v1:0', 'Titan Text G1 - Premier', 'Amazon', {
    custom: ['FINE_TUNING'],
    system: false,
  }),
  model('amazon.titan-tg1-large', 'Titan Text Large', 'Amazon', { system: false }),
  model('amazon.titan-embed-text-v1', 'Titan Embeddings G1 - Text', 'Amazon', { out: E }),
  model('amazon.titan-embed-g1-text-02', 'Titan Text Embeddings v2', 'Amazon', { out: E }),
  model('amazon.titan-embed-text-v2:0', 'Titan Text Embeddings V2', 'Amazon', { out: E }),
  model('amazon.titan-embed-image-v1', 'Titan Multimodal Embeddings G1', 'Amazon', {
    in: TI,
    out: E,
    custom: ['FINE_TUNING'],
  }),
  model('amazon.titan-image-generator-v1', 'Titan Image Generator G1', 'Amazon', {
    in: TI,
    out: I,
    custom: ['FINE_TUNING'],
    provisioned: true,
    legacy: true,
  }),
  model('amazon.titan-image-generator-v2:0', 'Titan Image Generator G1 v2', 'Amazon', {
    in: TI,
    out: I,
    custom: ['FINE_TUNING'],
    provisioned: true,
  }),
  model('amazon.rerank-v1:0', 'Rerank 1.0', 'Amazon', { stream: false, converse: false, system: false }),
  // Anthropic
  CLAUDE('claude-3-haiku-20240307-v1:0', 'Claude 3 Haiku', { access: 'both', custom: ['FINE_TUNING'] }),
  CLAUDE('claude-3-sonnet-20240229-v1:0', 'Claude 3 Sonnet', { access: 'both', legacy: true }),
  CLAUDE('claude-3-opus-20240229-v1:0', 'Claude 3 Opus', { legacy: true }),
  CLAUDE('claude-3-5-sonnet-20240620-v1:0', 'Claude 3.5 Sonnet', { access: 'both', legacy: true }),
  CLAUDE('claude-3-5-sonnet-20241022-v2:0', 'Claude 3.5 Sonnet v2', { legacy: true }),
  CLAUDE('claude-3-5-haiku-20241022-v1:0', 'Claude 3.5 Haiku', { in: T }),
  CLAUDE('claude-3-7-sonnet-20250219-v1:0', 'Claude 3.7 Sonnet'),
  CLAUDE('claude-sonnet-4-20250514-v1:0', 'Claude Sonnet 4'),
  CLAUDE('claude-opus-4-20250514-v1:0', 'Claude Opus 4'),
  CLAUDE('claude-opus-4-1-20250805-v1:0', 'Claude Opus 4.1'),
  CLAUDE('claude-sonnet-4-5-20250929-v1:0', 'Claude Sonnet 4.5'),
  CLAUDE('claude-haiku-4-5-20251001-v1:0', 'Claude Haiku 4.5'),
  CLAUDE('claude-opus-4-5-20251101-v1:0', 'Claude Opus 4.5'),
  CLAUDE('claude-v2:1', 'Claude', { in: T, access: 'od', legacy: true }),
  CLAUDE('claude-v2', 'Claude', { in: T, access: 'od', legacy: true }),
  CLAUDE('claude-instant-v1', 'Claude Instant', { in: T, access: 'od', legacy: true }),
  // Cohere
  model('cohere.command-r-v1:0', 'Command R', 'Cohere'),
  model('cohere.command-r-plus-v1:0', 'Command R+', 'Cohere'),
  model('cohere.command-text-v14', 'Command', 'Cohere', {
    custom: ['FINE_TUNING'],
    legacy: true,
    system: false,
  }),
  model('cohere.command-light-text-v14', 'Command Light', 'Cohere', {
    custom: ['FINE_TUNING'],
    legacy: true,
    system: false,
  }),
  model('cohere.embed-english-v3', 'Embed English', 'Cohere', { out: E }),
  model('cohere.embed-multilingual-v3', 'Embed Multilingual', 'Cohere', { out: E }),
  model('cohere.embed-v4:0', 'Embed v4', 'Cohere', { in: TI, out: E, access: 'both' }),
  model('cohere.rerank-v3-5:0', 'Rerank 3.5', 'Cohere', { stream: false, converse: false, system: false }),
  // DeepSeek
  model('deepseek.r1-v1:0', 'DeepSeek-R1', 'DeepSeek', { access: 'ip' }),
  // Meta
  model('meta.llama3-8b-instruct-v1:0', 'Llama 3 8B Instruct', 'Meta'),
  model('meta.llama3-70b-instruct-v1:0', 'Llama 3 70B Instruct', 'Meta'),
  model('meta.llama3-1-8b-instruct-v1:0', 'Llama 3.1 8B Instruct', 'Meta', {
    access: 'ip',
    custom: ['FINE_TUNING', 'DISTILLATION'],
  }),
  model('meta.llama3-1-70b-instruct-v1:0', 'Llama 3.1 70B Instruct', 'Meta', {
    access: 'ip',
    custom: ['FINE_TUNING', 'DISTILLATION'],
  }),
  model('meta.llama3-2-1b-instruct-v1:0', 'Llama 3.2 1B Instruct', 'Meta', {
    access: 'ip',
    custom: ['FINE_TUNING'],
  }),
  model('meta.llama3-2-3b-instruct-v1:0', 'Llama 3.2 3B Instruct', 'Meta', {
    access: 'ip',
    custom: ['FINE_TUNING'],
  }),
  model('meta.llama3-2-11b-instruct-v1:0', 'Llama 3.2 11B Instruct', 'Meta', {
    in: TI,
    access: 'ip',
    custom: ['FINE_TUNING'],
  }),
  model('meta.llama3-2-90b-instruct-v1:0', 'Llama 3.2 90B Instruct', 'Meta', {
    in: TI,
    access: 'ip',
    custom: ['FINE_TUNING'],
  }),
  model('meta.llama3-3-70b-instruct-v1:0', 'Llama 3.3 70B Instruct', 'Meta', { access: 'ip' }),
  model('meta.llama4-scout-17b-instruct-v1:0', 'Llama 4 Scout 17B Instruct', 'Meta', {
    in: TI,
    access: 'ip',
  }),
  model('meta.llama4-maverick-17b-instruct-v1:0', 'Llama 4 Maverick 17B Instruct', 'Meta', {
    in: TI,
    access: 'ip',
  }),
  model('meta.llama2-13b-chat-v1', 'Llama 2 Chat 13B', 'Meta', { custom: ['FINE_TUNING'], legacy: true }),
  model('meta.llama2-70b-chat-v1', 'Llama 2 Chat 70B', 'Meta', { custom: ['FINE_TUNING'], legacy: true }),
  // Mistral AI
  model('mistral.mistral-7b-instruct-v0:2', 'Mistral 7B Instruct', 'Mistral AI', { system: false }),
  model('mistral.mixtral-8x7b-instruct-v0:1', 'Mixtral 8x7B Instruct', 'Mistral AI', { system: false }),
  model('mistral.mistral-large-2402-v1:0', 'Mistral Large (24.02)', 'Mistral AI'),
  model('mistral.mistral-large-2407-v1:0', 'Mistral Large (24.07)', 'Mistral AI'),
  model('mistral.mistral-small-2402-v1:0', 'Mistral Small (24.02)', 'Mistral AI'),
  model('mistral.pixtral-large-2502-v1:0', 'Pixtral Large (25.02)', 'Mistral AI', { in: TI, access: 'ip' }),
  // OpenAI
  model('openai.gpt-oss-120b-1:0', 'gpt-oss-120b', 'OpenAI'),
  model('openai.gpt-oss-20b-1:0', 'gpt-oss-20b', 'OpenAI'),
  // Qwen
  model('qwen.qwen3-32b-v1:0', 'Qwen3 32B (dense)', 'Qwen'),
  model('qwen.qwen3-coder-30b-a3b-v1:0', 'Qwen3-Coder-30B-A3B-Instruct', 'Qwen'),
  // Stability AI
  model('stability.stable-diffusion-xl-v1', 'SDXL 1.0', 'Stability AI', {
    in: TI,
    out: I,
    provisioned: true,
    legacy: true,
  }),
  model('stability.sd3-5-large-v1:0', 'Stable Diffusion 3.5 Large', 'Stability AI', { in: TI, out: I }),
  model('stability.stable-image-core-v1:1', 'Stable Image Core 1.0', 'Stability AI', { out: I }),
  model('stability.stable-image-ultra-v1:1', 'Stable Image Ultra 1.0', 'Stability AI', { out: I }),
  // Context-length variants Bedrock offers for Provisioned Throughput only
  model('amazon.titan-text-express-v1:0:8k', 'Titan Text G1 - Express', 'Amazon', {
    access: 'none',
    provisioned: true,
    custom: ['FINE_TUNING', 'CONTINUED_PRE_TRAINING'],
    system: false,
  }),
  model('amazon.titan-embed-text-v2:0:8k', 'Titan Text Embeddings V2', 'Amazon', {
    out: E,
    access: 'none',
    provisioned: true,
  }),
  model('amazon.nova-micro-v1:0:128k', 'Nova Micro', 'Amazon', { access: 'none', provisioned: true }),
  model('amazon.nova-lite-v1:0:300k', 'Nova Lite', 'Amazon', { in: TIV, access: 'none', provisioned: true }),
  model('amazon.nova-pro-v1:0:300k', 'Nova Pro', 'Amazon', { in: TIV, access: 'none', provisioned: true }),
  CLAUDE('claude-3-haiku-20240307-v1:0:48k', 'Claude 3 Haiku', { access: 'none', provisioned: true }),
  CLAUDE('claude-3-haiku-20240307-v1:0:200k', 'Claude 3 Haiku', { access: 'none', provisioned: true }),
  model('cohere.embed-english-v3:0:512', 'Embed English', 'Cohere', {
    out: E,
    access: 'none',
    provisioned: true,
  }),
  // Writer
  model('writer.palmyra-x4-v1:0', 'Palmyra X4', 'Writer', { access: 'ip' }),
  model('writer.palmyra-x5-v1:0', 'Palmyra X5', 'Writer', { access: 'ip' }),
];
