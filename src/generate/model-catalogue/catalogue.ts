import { kbError } from '../../errors.js';
import { FOUNDATION_MODELS } from './foundation-models.js';
import { PROFILE_DESTINATIONS, PROFILE_MODELS } from './inference-profiles.js';
import type {
  FoundationModelEntry,
  InferenceProfileEntry,
  InferenceType,
  ModelCustomization,
  ModelModality,
  ModelResolution,
  ProfileGeography,
} from './types.js';

/** A model a caller adds: modelId, modelName and providerName are needed; the rest defaults like a text model. */
export type FoundationModelInput = Pick<FoundationModelEntry, 'modelId'> & Partial<FoundationModelEntry>;

export interface ModelCatalogueOptions {
  /** Models to add, or to replace when their modelId is already listed. */
  models?: readonly FoundationModelInput[];
  /** Whether the built-in models are listed. Default true. */
  builtIn?: boolean;
}

export interface FoundationModelFilter {
  /** Provider name (`Anthropic`) or model-id prefix (`anthropic`), case-insensitive. */
  byProvider?: string;
  byOutputModality?: string;
  byInferenceType?: string;
  byCustomizationType?: string;
}

const ARN = /^arn:aws[\w-]*:bedrock:([\w-]*):(\d*):([\w-]+)\/(.+)$/;
const MODEL_ID = /^[a-z0-9-]+\.[a-z0-9][\w.:-]*$/;

/** The geography whose `<geo>.` profiles a region sees: us-east-1 → us, eu-west-1 → eu, ap-south-1 → apac. */
export function profileGeographyOf(region: string): ProfileGeography | undefined {
  if (region.startsWith('us-gov-')) return 'us-gov';
  if (region.startsWith('us-')) return 'us';
  if (region.startsWith('eu-')) return 'eu';
  if (region.startsWith('ap-')) return 'apac';
  return undefined;
}

export function foundationModelArn(region: string, modelId: string): string {
  return `arn:aws:bedrock:${region}::foundation-model/${modelId}`;
}

/** Whether Bedrock serves the model on demand by its own id (as opposed to only through a profile). */
export function isOnDemand(model: FoundationModelEntry): boolean {
  return model.inferenceTypesSupported.includes('ON_DEMAND');
}

/** Whether Bedrock serves the model only through an inference profile (Claude 3.7 Sonnet, Claude Sonnet 4…). */
export function isProfileOnly(model: FoundationModelEntry): boolean {
  return !isOnDemand(model) && model.inferenceTypesSupported.includes('INFERENCE_PROFILE');
}

function completeEntry(input: FoundationModelInput): FoundationModelEntry {
  if (typeof input?.modelId !== 'string' || !MODEL_ID.test(input.modelId)) {
    throw kbError(
      'INVALID_OPTION',
      `A catalogue model needs a modelId like "provider.model-v1:0", got ${JSON.stringify(input?.modelId)}.`,
      { input: 'models' },
    );
  }
  const provider = input.modelId.slice(0, input.modelId.indexOf('.'));
  const out = input.outputModalities ?? ['TEXT'];
  const text = out.includes('TEXT');
  return {
    modelId: input.modelId,
    modelName: input.modelName ?? input.modelId,
    providerName: input.providerName ?? provider,
    inputModalities: input.inputModalities ?? ['TEXT'],
    outputModalities: out,
    responseStreamingSupported: input.responseStreamingSupported ?? text,
    customizationsSupported: input.customizationsSupported ?? [],
    inferenceTypesSupported: input.inferenceTypesSupported ?? ['ON_DEMAND'],
    lifecycleStatus: input.lifecycleStatus ?? 'ACTIVE',
    converse: input.converse ?? text,
    systemPrompt: input.systemPrompt ?? text,
  };
}

function providerLabel(model: FoundationModelEntry): string {
  return model.providerName;
}

/**
 * The models and inference profiles Bedrock offers, with the rules bedrock-runtime applies to a model
 * identifier: unknown ids are invalid, profile-only models need a profile, profiles exist per geography.
 * Custom and provisioned models are added as they are created (the emulator's control plane does so).
 */
export class ModelCatalogue {
  readonly #models = new Map<string, FoundationModelEntry>();
  readonly #applicationProfiles = new Map<string, InferenceProfileEntry>();
  /** Custom and provisioned model ARNs → the foundation model id behind them. */
  readonly #derived = new Map<
    string,
    { kind: 'custom-model' | 'provisioned-model'; modelId: string; ready: () => boolean }
  >();

  constructor(options: ModelCatalogueOptions = {}) {
    if (options.builtIn !== false)
      for (const model of FOUNDATION_MODELS) this.#models.set(model.modelId, model);
    for (const input of options.models ?? []) this.addFoundationModel(input);
  }

  addFoundationModel(input: FoundationModelInput): FoundationModelEntry {
    const entry = completeEntry(input);
    this.#models.set(entry.modelId, entry);
    return entry;
  }

  /**
   * Registers a custom or provisioned model ARN that answers as `baseModelIdOrArn` (a model id or a known ARN).
   * Custom models answer only through provisioned throughput; a provisioned one answers while `ready()` holds.
   */
  addDerivedModel(
    arn: string,
    kind: 'custom-model' | 'provisioned-model',
    baseModelIdOrArn: string,
    ready: () => boolean = () => true,
  ): void {
    const base = this.#derived.get(baseModelIdOrArn)?.modelId ?? this.#modelIdOf(baseModelIdOrArn);
    if (base === undefined || !this.#models.has(base)) {
      throw kbError('UNKNOWN_MODEL', `"${baseModelIdOrArn}" is not a model in the catalogue.`, {
        input: baseModelIdOrArn,
      });
    }
    this.#derived.set(arn, { kind, modelId: base, ready });
  }

  /** The foundation model behind a registered custom or provisioned model ARN. */
  derivedModel(arn: string): FoundationModelEntry | undefined {
    const derived = this.#derived.get(arn);
    return derived && this.#models.get(derived.modelId);
  }

  removeDerivedModel(arn: string): void {
    this.#derived.delete(arn);
  }

  addApplicationProfile(entry: InferenceProfileEntry & { inferenceProfileArn: string }): void {
    this.#applicationProfiles.set(entry.inferenceProfileArn, entry);
  }

  /** Foundation models, in catalogue order, narrowed the way ListFoundationModels' filters do. */
  foundationModels(filter: FoundationModelFilter = {}): FoundationModelEntry[] {
    const provider = filter.byProvider?.toLowerCase();
    return [...this.#models.values()].filter(
      (model) =>
        (provider === undefined ||
          providerLabel(model).toLowerCase() === provider ||
          model.modelId.startsWith(`${provider}.`)) &&
        (filter.byOutputModality === undefined ||
          model.outputModalities.includes(filter.byOutputModality as ModelModality)) &&
        (filter.byInferenceType === undefined ||
          model.inferenceTypesSupported.includes(filter.byInferenceType as InferenceType)) &&
        (filter.byCustomizationType === undefined ||
          model.customizationsSupported.includes(filter.byCustomizationType as ModelCustomization)),
    );
  }

  /** A foundation model by id or foundation-model ARN. */
  foundationModel(modelIdOrArn: string): FoundationModelEntry | undefined {
    const id = this.#modelIdOf(modelIdOrArn);
    return id === undefined ? undefined : this.#models.get(id);
  }

  /** The system-defined profiles a region offers (its geography's and the global ones), then application ones. */
  inferenceProfiles(region: string): InferenceProfileEntry[] {
    const geography = profileGeographyOf(region);
    const geographies: ProfileGeography[] = geography ? [geography, 'global'] : ['global'];
    const profiles: InferenceProfileEntry[] = [];
    for (const geo of geographies) {
      for (const modelId of PROFILE_MODELS[geo]) {
        const model = this.#models.get(modelId);
        if (!model) continue;
        const destinations = PROFILE_DESTINATIONS[geo].length > 0 ? [...PROFILE_DESTINATIONS[geo]] : [region];
        const label = geo === 'global' ? 'Global' : geo.toUpperCase();
        profiles.push({
          inferenceProfileId: `${geo}.${modelId}`,
          inferenceProfileName: `${label} ${model.providerName} ${model.modelName}`,
          description:
            geo === 'global'
              ? `Routes requests to ${model.providerName} ${model.modelName} in any commercial AWS Region.`
              : `Routes requests to ${model.providerName} ${model.modelName} in ${destinations.join(', ')}.`,
          modelId,
          destinationRegions: destinations,
          type: 'SYSTEM_DEFINED',
        });
      }
    }
    return [...profiles, ...this.#applicationProfiles.values()];
  }

  /** An inference profile by id or ARN, as the region sees it. */
  inferenceProfile(idOrArn: string, region: string): InferenceProfileEntry | undefined {
    const application = this.#applicationProfiles.get(idOrArn);
    if (application) return application;
    const arn = ARN.exec(idOrArn);
    const id = arn ? (arn[3] === 'inference-profile' ? arn[4] : undefined) : idOrArn;
    if (id === undefined) return undefined;
    return this.inferenceProfiles(region).find((profile) => profile.inferenceProfileId === id);
  }

  /**
   * What bedrock-runtime does with a model identifier: a foundation model id or ARN (on demand only when the
   * model is offered so), an inference profile id or ARN of the region's geography, or a custom / provisioned
   * model ARN that was registered.
   */
  resolve(identifier: string, region: string): ModelResolution {
    const derived = this.#derived.get(identifier);
    if (derived) {
      const model = this.#models.get(derived.modelId);
      if (model && derived.kind === 'custom-model')
        return { ok: false, reason: 'needs-provisioned', modelId: identifier };
      if (model && !derived.ready()) return { ok: false, reason: 'not-in-service', modelId: identifier };
      if (model) return { ok: true, kind: derived.kind, model };
    }
    const arn = ARN.exec(identifier);
    if (arn) {
      const [, , , resourceType, resource] = arn as unknown as [string, string, string, string, string];
      if (resourceType === 'foundation-model') return this.#resolveFoundation(resource);
      if (resourceType === 'inference-profile' || resourceType === 'application-inference-profile') {
        return this.#resolveProfile(identifier, region);
      }
      if (resourceType === 'custom-model' || resourceType === 'provisioned-model') {
        return { ok: false, reason: 'not-found' };
      }
      return { ok: false, reason: 'invalid' };
    }
    if (identifier.startsWith('arn:')) return { ok: false, reason: 'invalid' };
    const profile = this.#resolveProfile(identifier, region);
    if (profile.ok) return profile;
    return this.#resolveFoundation(identifier);
  }

  #resolveFoundation(modelId: string): ModelResolution {
    const model = this.#models.get(modelId);
    if (!model) return { ok: false, reason: 'invalid' };
    if (!isOnDemand(model)) return { ok: false, reason: 'needs-profile', modelId };
    return { ok: true, kind: 'foundation-model', model };
  }

  #resolveProfile(idOrArn: string, region: string): ModelResolution {
    const profile = this.inferenceProfile(idOrArn, region);
    const model = profile && this.#models.get(profile.modelId);
    if (!profile || !model) return { ok: false, reason: 'invalid' };
    return { ok: true, kind: 'inference-profile', model, profile };
  }

  #modelIdOf(modelIdOrArn: string): string | undefined {
    const arn = ARN.exec(modelIdOrArn);
    if (!arn) return modelIdOrArn.startsWith('arn:') ? undefined : modelIdOrArn;
    return arn[3] === 'foundation-model' ? arn[4] : undefined;
  }
}

/** The ValidationException message bedrock-runtime sends for an unusable model identifier. */
export function modelIdentifierMessage(
  resolution: Extract<ModelResolution, { ok: false }>,
  identifier: string,
) {
  if (resolution.reason === 'needs-provisioned') {
    return (
      `Invocation of model ID ${identifier} with on-demand throughput isn't supported. ` +
      'Retry your request with the ARN of a Provisioned Throughput that hosts this custom model.'
    );
  }
  if (resolution.reason === 'not-in-service') {
    return `The Provisioned Throughput ${identifier} is not InService yet; call it once GetProvisionedModelThroughput says InService.`;
  }
  if (resolution.reason === 'needs-profile') {
    return (
      `Invocation of model ID ${resolution.modelId ?? identifier} with on-demand throughput isn't supported. ` +
      'Retry your request with the ID or ARN of an inference profile that contains this model.'
    );
  }
  return 'The provided model identifier is invalid.';
}
