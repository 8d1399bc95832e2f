import { kbError } from '../../errors.js';
import type { InvokeAdapter } from './adapter.js';
import { ai21Jurassic } from './ai21-jurassic.js';
import { anthropicMessages } from './anthropic-messages.js';
import { anthropicText } from './anthropic-text.js';
import { cohereCommand, cohereCommandR } from './cohere-command.js';
import { llama2, llama3 } from './llama.js';
import { mistral } from './mistral.js';
import { titanText } from './titan-text.js';

export type { InvokeAdapter, ParsedChunk, ParsedResponse } from './adapter.js';
export { BodyShapeError } from './adapter.js';
export { llama2Prompt, llama3Prompt } from './llama.js';
export { mistralPrompt } from './mistral.js';

export const INVOKE_ADAPTERS = {
  'anthropic-messages': anthropicMessages,
  'anthropic-text': anthropicText,
  'titan-text': titanText,
  llama2,
  llama3,
  'cohere-command': cohereCommand,
  'cohere-command-r': cohereCommandR,
  'ai21-jurassic': ai21Jurassic,
  mistral,
} as const satisfies Record<string, InvokeAdapter>;

export type ModelFamily = keyof typeof INVOKE_ADAPTERS;

export const MODEL_FAMILIES = Object.keys(INVOKE_ADAPTERS) as ModelFamily[];

const PROFILE_PREFIX = /^(us|eu|apac|global|us-gov|ca|jp|au)\./;

/**
 * The foundation model id behind a model id, inference profile id or ARN: `us.meta.llama3-…` and
 * `arn:…:inference-profile/eu.anthropic.claude-…` give the model id, as do foundation-model ARNs and custom-model
 * ARNs that embed their base model. Provisioned and application-profile ARNs do not name one: undefined.
 */
export function baseModelId(modelId: string): string | undefined {
  let id = modelId;
  if (id.startsWith('arn:')) {
    const match = /:(foundation-model|inference-profile|custom-model)\/([^/]+)/.exec(id);
    if (!match) return undefined;
    id = match[2]!;
  }
  return id.replace(PROFILE_PREFIX, '');
}

const FAMILY_PATTERNS: [RegExp, ModelFamily][] = [
  [/^anthropic\.claude-(v2|instant)/, 'anthropic-text'],
  [/^anthropic\.claude/, 'anthropic-messages'],
  [/^amazon\.titan-(text|tg1)/, 'titan-text'],
  [/^meta\.llama2/, 'llama2'],
  [/^meta\.llama3/, 'llama3'],
  [/^cohere\.command-r/, 'cohere-command-r'],
  [/^cohere\.command/, 'cohere-command'],
  [/^ai21\.j2/, 'ai21-jurassic'],
  [/^mistral\./, 'mistral'],
];

/** The family whose native body format a model speaks; UNKNOWN_MODEL (listing the families) when none fits. */
export function modelFamilyOf(modelId: string): ModelFamily {
  const base = baseModelId(modelId);
  const found = base === undefined ? undefined : FAMILY_PATTERNS.find(([pattern]) => pattern.test(base));
  if (found) return found[1];
  throw kbError(
    'UNKNOWN_MODEL',
    `Cannot tell the InvokeModel body format of "${modelId}". Supported families: ${MODEL_FAMILIES.join(', ')}. ` +
      'Pass { family } for provisioned or application-profile ARNs, or use BedrockConverseGenerator, which ' +
      'works with any chat model.',
    { input: modelId, details: { supportedFamilies: MODEL_FAMILIES } },
  );
}

export function invokeAdapter(family: string): InvokeAdapter {
  const adapter = (INVOKE_ADAPTERS as Record<string, InvokeAdapter>)[family];
  if (!adapter) {
    throw kbError(
      'UNKNOWN_MODEL',
      `Unknown model family "${family}"; use one of ${MODEL_FAMILIES.join(', ')}.`,
      {
        input: family,
        details: { supportedFamilies: MODEL_FAMILIES },
      },
    );
  }
  return adapter;
}
