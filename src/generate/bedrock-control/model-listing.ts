import {
  type BedrockClient,
  type FoundationModelSummary,
  type InferenceProfileSummary,
  ListFoundationModelsCommand,
  ListInferenceProfilesCommand,
} from '@aws-sdk/client-bedrock';
import { ModelCatalogue } from '../model-catalogue/catalogue.js';
import type { FoundationModelEntry, InferenceProfileEntry } from '../model-catalogue/types.js';
import { controlPlaneError } from './control-client.js';

/** One foundation model as `localkb models` shows it. */
export interface ListedModel {
  modelId: string;
  modelName: string;
  providerName: string;
  inputModalities: string[];
  outputModalities: string[];
  responseStreamingSupported: boolean;
  inferenceTypesSupported: string[];
  /** 'on-demand' (callable by its own id), 'profile-only' (only through an inference profile), 'provisioned'. */
  access: 'on-demand' | 'profile-only' | 'provisioned';
  lifecycleStatus: string;
  customizationsSupported: string[];
}

export interface ListedProfile {
  inferenceProfileId: string;
  inferenceProfileName: string;
  type: string;
  /** The foundation model ids the profile routes to. */
  modelIds: string[];
}

export interface ModelListing {
  models: ListedModel[];
  inferenceProfiles: ListedProfile[];
}

function accessOf(types: readonly string[]): ListedModel['access'] {
  if (types.includes('ON_DEMAND')) return 'on-demand';
  if (types.includes('INFERENCE_PROFILE')) return 'profile-only';
  return 'provisioned';
}

function listedModel(summary: FoundationModelSummary | FoundationModelEntry): ListedModel {
  const types = summary.inferenceTypesSupported ?? [];
  const lifecycle =
    'lifecycleStatus' in summary ? summary.lifecycleStatus : (summary.modelLifecycle?.status ?? 'ACTIVE');
  return {
    modelId: summary.modelId ?? '',
    modelName: summary.modelName ?? '',
    providerName: summary.providerName ?? '',
    inputModalities: [...(summary.inputModalities ?? [])],
    outputModalities: [...(summary.outputModalities ?? [])],
    responseStreamingSupported: summary.responseStreamingSupported === true,
    inferenceTypesSupported: [...types],
    access: accessOf(types),
    lifecycleStatus: lifecycle,
    customizationsSupported: [...(summary.customizationsSupported ?? [])],
  };
}

function modelIdOfArn(arn: string): string {
  return arn.slice(arn.indexOf('/') + 1);
}

function listedProfile(summary: InferenceProfileSummary | InferenceProfileEntry): ListedProfile {
  const modelIds =
    'modelId' in summary
      ? [summary.modelId]
      : [...new Set((summary.models ?? []).map((model) => modelIdOfArn(model.modelArn ?? '')))];
  return {
    inferenceProfileId: summary.inferenceProfileId ?? '',
    inferenceProfileName: summary.inferenceProfileName ?? '',
    type: summary.type ?? 'SYSTEM_DEFINED',
    modelIds,
  };
}

function byProvider<T extends { providerName?: string; modelId?: string }>(provider: string | undefined) {
  const wanted = provider?.toLowerCase();
  return (item: T) =>
    wanted === undefined ||
    item.providerName?.toLowerCase() === wanted ||
    (item.modelId ?? '').startsWith(`${wanted}.`);
}

/** Foundation models and inference profiles of the client's region (ListFoundationModels, ListInferenceProfiles). */
export async function listBedrockModels(
  client: BedrockClient,
  options: { provider?: string } = {},
): Promise<ModelListing> {
  let summaries: FoundationModelSummary[];
  try {
    const response = await client.send(
      new ListFoundationModelsCommand(options.provider ? { byProvider: options.provider } : {}),
    );
    summaries = response.modelSummaries ?? [];
  } catch (error) {
    throw controlPlaneError(error, 'ListFoundationModels', options.provider ?? 'all providers');
  }
  const models = summaries.map(listedModel);
  const profiles: ListedProfile[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(new ListInferenceProfilesCommand({ maxResults: 1000, nextToken }));
      profiles.push(...(page.inferenceProfileSummaries ?? []).map(listedProfile));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    throw controlPlaneError(error, 'ListInferenceProfiles', 'inference profiles');
  }
  const providerOf = new Map(models.map((model) => [model.modelId, model.providerName]));
  const wanted = byProvider<{ providerName?: string; modelId?: string }>(options.provider);
  return {
    models,
    inferenceProfiles: profiles.filter((profile) =>
      profile.modelIds.some((modelId) => wanted({ modelId, providerName: providerOf.get(modelId) ?? '' })),
    ),
  };
}

/** The same listing from the bundled catalogue, without calling AWS (`localkb models --offline`). */
export function catalogueListing(region: string, options: { provider?: string } = {}): ModelListing {
  const catalogue = new ModelCatalogue();
  const models = catalogue.foundationModels(options.provider ? { byProvider: options.provider } : {});
  const wanted = new Set(models.map((model) => model.modelId));
  return {
    models: models.map(listedModel),
    inferenceProfiles: catalogue
      .inferenceProfiles(region)
      .filter((profile) => wanted.has(profile.modelId))
      .map(listedProfile),
  };
}
