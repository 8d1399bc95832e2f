import { AwsServiceError } from '../serve/wire/aws-errors.js';

/** Geography prefixes of cross-region inference profile ids (`us.anthropic.claude-…`). */
const INFERENCE_PROFILE_PREFIXES = ['us-gov', 'us', 'eu', 'apac', 'ca', 'jp', 'au', 'global'];

export interface ResolvedModelId {
  /** The id as the client sent it, percent-decoded. */
  requested: string;
  /** The foundation model behind it, e.g. `anthropic.claude-3-haiku-20240307-v1:0`. */
  baseModelId: string;
}

/**
 * Maps what Bedrock accepts as a modelId — a foundation model id, a cross-region inference profile id, or a
 * foundation-model / inference-profile / provisioned-model / custom-model ARN — to the foundation model id
 * whose body format applies. Opaque ARNs (a provisioned model's random id) resolve through `aliases`.
 */
export function resolveModelId(requested: string, aliases: ReadonlyMap<string, string>): ResolvedModelId {
  const aliased = aliases.get(requested);
  if (aliased !== undefined) return { requested, baseModelId: stripProfilePrefix(aliased) };

  if (requested.startsWith('arn:')) {
    const arn = /^arn:aws[\w-]*:bedrock:[\w-]*:\d*:([\w-]+)\/(.+)$/.exec(requested);
    if (!arn) throw new AwsServiceError('ValidationException', 'The provided model identifier is invalid.');
    const [, resourceType, resource] = arn as unknown as [string, string, string];
    const embedded = findEmbeddedModelId(resource);
    if (embedded) return { requested, baseModelId: embedded };
    if (resourceType === 'foundation-model' || resourceType === 'inference-profile') {
      throw new AwsServiceError('ValidationException', 'The provided model identifier is invalid.');
    }
    throw new AwsServiceError(
      'ResourceNotFoundException',
      `Model ${requested} not found. (localkb emulator: map opaque ARNs with emulator.aliasModel(arn, baseModelId).)`,
    );
  }
  return { requested, baseModelId: stripProfilePrefix(requested) };
}

function stripProfilePrefix(id: string): string {
  const dot = id.indexOf('.');
  if (dot === -1) return id;
  const prefix = id.slice(0, dot);
  return INFERENCE_PROFILE_PREFIXES.includes(prefix) ? id.slice(dot + 1) : id;
}

/**
 * Custom-model ARNs embed their base model (`custom-model/amazon.titan-text-express-v1:0:8k/abc123`), and
 * inference-profile ARNs embed the profile id; take the first path part that looks like `provider.model`.
 */
function findEmbeddedModelId(resource: string): string | undefined {
  for (const part of resource.split('/')) {
    const candidate = stripProfilePrefix(part);
    if (/^[a-z0-9-]+\.[a-z0-9]/.test(candidate)) return candidate;
  }
  return undefined;
}
