import type { ProfileGeography } from './types.js';

/**
 * Cross-region (system-defined) inference profiles by geography: the foundation models each geography's `<geo>.`
 * profile exists for, and the regions it routes to. Source: "Supported Regions and models for inference profiles"
 * (Amazon Bedrock User Guide, inference-profiles-support), read 2026-02. A region sees the profiles of its own
 * geography plus the global ones.
 */
export const PROFILE_DESTINATIONS: Readonly<Record<ProfileGeography, readonly string[]>> = {
  us: ['us-east-1', 'us-east-2', 'us-west-2'],
  'us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  eu: ['eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-3'],
  apac: ['ap-northeast-1', 'ap-northeast-2', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2'],
  // Global profiles route to any commercial region.
  global: [],
};

const CLAUDE_4 = [
  'anthropic.claude-sonnet-4-20250514-v1:0',
  'anthropic.claude-sonnet-4-5-20250929-v1:0',
  'anthropic.claude-haiku-4-5-20251001-v1:0',
];
const NOVA = ['amazon.nova-micro-v1:0', 'amazon.nova-lite-v1:0', 'amazon.nova-pro-v1:0'];

export const PROFILE_MODELS: Readonly<Record<ProfileGeography, readonly string[]>> = {
  us: [
    ...NOVA,
    'amazon.nova-premier-v1:0',
    'amazon.nova-2-lite-v1:0',
    'anthropic.claude-3-haiku-20240307-v1:0',
    'anthropic.claude-3-sonnet-20240229-v1:0',
    'anthropic.claude-3-opus-20240229-v1:0',
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v2:0',
    'anthropic.claude-3-5-haiku-20241022-v1:0',
    'anthropic.claude-3-7-sonnet-20250219-v1:0',
    ...CLAUDE_4,
    'anthropic.claude-opus-4-20250514-v1:0',
    'anthropic.claude-opus-4-1-20250805-v1:0',
    'anthropic.claude-opus-4-5-20251101-v1:0',
    'cohere.embed-v4:0',
    'deepseek.r1-v1:0',
    'meta.llama3-1-8b-instruct-v1:0',
    'meta.llama3-1-70b-instruct-v1:0',
    'meta.llama3-2-1b-instruct-v1:0',
    'meta.llama3-2-3b-instruct-v1:0',
    'meta.llama3-2-11b-instruct-v1:0',
    'meta.llama3-2-90b-instruct-v1:0',
    'meta.llama3-3-70b-instruct-v1:0',
    'meta.llama4-scout-17b-instruct-v1:0',
    'meta.llama4-maverick-17b-instruct-v1:0',
    'mistral.pixtral-large-2502-v1:0',
    'writer.palmyra-x4-v1:0',
    'writer.palmyra-x5-v1:0',
  ],
  'us-gov': ['anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-5-sonnet-20240620-v1:0'],
  eu: [
    ...NOVA,
    'anthropic.claude-3-haiku-20240307-v1:0',
    'anthropic.claude-3-sonnet-20240229-v1:0',
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'anthropic.claude-3-7-sonnet-20250219-v1:0',
    ...CLAUDE_4,
    'cohere.embed-v4:0',
    'meta.llama3-2-1b-instruct-v1:0',
    'meta.llama3-2-3b-instruct-v1:0',
    'mistral.pixtral-large-2502-v1:0',
  ],
  apac: [
    ...NOVA,
    'anthropic.claude-3-haiku-20240307-v1:0',
    'anthropic.claude-3-sonnet-20240229-v1:0',
    'anthropic.claude-3-5-sonnet-20240620-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v2:0',
    'anthropic.claude-3-7-sonnet-20250219-v1:0',
    ...CLAUDE_4,
  ],
  global: [
    ...CLAUDE_4,
    'anthropic.claude-opus-4-5-20251101-v1:0',
    'amazon.nova-2-lite-v1:0',
    'cohere.embed-v4:0',
  ],
};
