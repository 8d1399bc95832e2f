/**
 * The bedrock control plane's model catalogue operations (ListFoundationModels, GetFoundationModel,
 * ListInferenceProfiles, GetInferenceProfile), answered from the same ModelCatalogue bedrock-runtime refuses from.
 * Shapes: the `bedrock` service model (FoundationModelSummary, FoundationModelDetails, InferenceProfileSummary).
 */
import {
  type FoundationModelEntry,
  foundationModelArn,
  type InferenceProfileEntry,
  type ModelCatalogue,
} from '../generate/model-catalogue/index.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import type { WireRoute } from '../serve/wire/operation.js';
import { constraintError, enumQuery, jsonOperation, pageOf, queryOf } from './control-plane-wire.js';
import { EMULATOR_ACCOUNT_ID } from './knowledge-base-registry.js';

/** When the emulator's system-defined profiles say they were created (a fixed date, as real ones have). */
const PROFILES_CREATED_AT = '2024-08-27T00:00:00.000Z';

export function foundationModelJson(model: FoundationModelEntry, region: string) {
  return {
    modelArn: foundationModelArn(region, model.modelId),
    modelId: model.modelId,
    modelName: model.modelName,
    providerName: model.providerName,
    inputModalities: model.inputModalities,
    outputModalities: model.outputModalities,
    responseStreamingSupported: model.responseStreamingSupported,
    customizationsSupported: model.customizationsSupported,
    inferenceTypesSupported: model.inferenceTypesSupported,
    modelLifecycle: { status: model.lifecycleStatus },
  };
}

export function inferenceProfileJson(profile: InferenceProfileEntry, region: string) {
  return {
    inferenceProfileName: profile.inferenceProfileName,
    description: profile.description,
    createdAt: PROFILES_CREATED_AT,
    updatedAt: PROFILES_CREATED_AT,
    inferenceProfileArn:
      profile.inferenceProfileArn ??
      `arn:aws:bedrock:${region}:${EMULATOR_ACCOUNT_ID}:inference-profile/${profile.inferenceProfileId}`,
    models: profile.destinationRegions.map((destination) => ({
      modelArn: foundationModelArn(destination, profile.modelId),
    })),
    inferenceProfileId: profile.inferenceProfileId,
    status: 'ACTIVE',
    type: profile.type,
  };
}

const PROVIDER = /^[A-Za-z0-9- ]{1,63}$/;

export function foundationModelRoutes(catalogue: ModelCatalogue, region: string): WireRoute[] {
  return [
    [
      'GET',
      '/foundation-models',
      'ListFoundationModels',
      jsonOperation(200, (call) => {
        const query = queryOf(call.request);
        const byProvider = query.get('byProvider') ?? undefined;
        if (byProvider !== undefined && !PROVIDER.test(byProvider)) {
          throw constraintError(
            byProvider,
            'byProvider',
            'Member must satisfy regular expression pattern: [A-Za-z0-9- ]{1,63}',
          );
        }
        const byOutputModality = enumQuery(query, 'byOutputModality', ['TEXT', 'IMAGE', 'EMBEDDING']);
        const byInferenceType = enumQuery(query, 'byInferenceType', ['ON_DEMAND', 'PROVISIONED']);
        const byCustomizationType = enumQuery(query, 'byCustomizationType', [
          'FINE_TUNING',
          'CONTINUED_PRE_TRAINING',
          'DISTILLATION',
        ]);
        const models = catalogue.foundationModels({
          ...(byProvider === undefined ? {} : { byProvider }),
          ...(byOutputModality === undefined ? {} : { byOutputModality }),
          ...(byInferenceType === undefined ? {} : { byInferenceType }),
          ...(byCustomizationType === undefined ? {} : { byCustomizationType }),
        });
        return { modelSummaries: models.map((model) => foundationModelJson(model, region)) };
      }),
    ],
    [
      'GET',
      '/foundation-models/{modelIdentifier}',
      'GetFoundationModel',
      jsonOperation(
        200,
        (call) => {
          const model = catalogue.foundationModel(call.params.modelIdentifier!);
          if (!model) {
            throw new AwsServiceError(
              'ResourceNotFoundException',
              'Could not resolve the foundation model from the provided model identifier.',
            );
          }
          return { modelDetails: foundationModelJson(model, region) };
        },
        (params) => params.modelIdentifier,
      ),
    ],
    [
      'GET',
      '/inference-profiles',
      'ListInferenceProfiles',
      jsonOperation(200, (call) => {
        const query = queryOf(call.request);
        const type = enumQuery(query, 'type', ['SYSTEM_DEFINED', 'APPLICATION']);
        const profiles = catalogue
          .inferenceProfiles(region)
          .filter((profile) => type === undefined || profile.type === type);
        const { items, nextToken } = pageOf(profiles, query);
        return {
          inferenceProfileSummaries: items.map((profile) => inferenceProfileJson(profile, region)),
          ...(nextToken === undefined ? {} : { nextToken }),
        };
      }),
    ],
    [
      'GET',
      '/inference-profiles/{inferenceProfileIdentifier}',
      'GetInferenceProfile',
      jsonOperation(
        200,
        (call) => {
          const identifier = call.params.inferenceProfileIdentifier!;
          const profile = catalogue.inferenceProfile(identifier, region);
          if (!profile) {
            throw new AwsServiceError(
              'ResourceNotFoundException',
              `Inference profile ${identifier} not found. Check the ID or ARN and the Region and try again.`,
            );
          }
          return inferenceProfileJson(profile, region);
        },
        (params) => params.inferenceProfileIdentifier,
      ),
    ],
  ];
}
