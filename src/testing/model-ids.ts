import {
  type FoundationModelEntry,
  type ModelCatalogue,
  modelIdentifierMessage,
} from '../generate/model-catalogue/index.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';

const PROFILE_PREFIX = /^(us|us-gov|eu|apac|ca|jp|au|global)\./;

export interface ResolvedModelId {
  /** The id as the client sent it, percent-decoded. */
  requested: string;
  /** The foundation model behind it, e.g. `anthropic.claude-3-haiku-20240307-v1:0`. */
  baseModelId: string;
  /** Its catalogue entry: modalities, streaming, Converse and system-prompt support. */
  model: FoundationModelEntry;
}

/** What the emulator resolves model identifiers against. */
export interface ModelDirectory {
  catalogue: ModelCatalogue;
  region: string;
  /** Opaque ids or ARNs a user added (provisioned models, application profiles) → a foundation model id. */
  aliases: ReadonlyMap<string, string>;
}

/**
 * Maps what Bedrock accepts as a modelId — a foundation model id, an inference profile id of the region's
 * geography, or a foundation-model / inference-profile / provisioned-model / custom-model ARN the catalogue holds —
 * to the foundation model whose body format applies, refusing the rest with Bedrock's own messages.
 */
export function resolveModelId(requested: string, directory: ModelDirectory): ResolvedModelId {
  const aliased = directory.aliases.get(requested);
  if (aliased !== undefined) {
    const model = directory.catalogue.foundationModel(aliased.replace(PROFILE_PREFIX, ''));
    if (model) return { requested, baseModelId: model.modelId, model };
  }
  const resolution = directory.catalogue.resolve(requested, directory.region);
  if (resolution.ok) return { requested, baseModelId: resolution.model.modelId, model: resolution.model };
  if (resolution.reason === 'not-found') {
    throw new AwsServiceError(
      'ResourceNotFoundException',
      `Model ${requested} not found. (localkb emulator: create it through the bedrock control plane, or add it with ` +
        'emulator.aliasModel(arn, baseModelId).)',
    );
  }
  throw new AwsServiceError('ValidationException', modelIdentifierMessage(resolution, requested));
}
