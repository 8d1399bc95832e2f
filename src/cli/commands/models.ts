import { createBedrockControlClient } from '../../generate/bedrock-control/control-client.js';
import {
  catalogueListing,
  listBedrockModels,
  type ModelListing,
} from '../../generate/bedrock-control/model-listing.js';
import { CATALOGUE_AS_OF } from '../../generate/model-catalogue/foundation-models.js';
import { parseCommandArgs, stringOption } from '../args.js';

const HELP = `Usage: localkb models [--provider <name>] [--json] [--offline]

Lists Bedrock's foundation models (modalities, streaming, on-demand or profile-only) and the inference profiles
that contain them, from ListFoundationModels and ListInferenceProfiles in your region.

Options:
  --provider <name>  only this provider's models (Anthropic, amazon, meta…)
  --json             print { models, inferenceProfiles } as JSON
  --offline          list localkb's bundled catalogue instead of calling AWS (us-east-1 as of ${CATALOGUE_AS_OF})

Bedrock uses the standard AWS configuration: region, credentials, AWS_ENDPOINT_URL_BEDROCK.`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatModelListing(listing: ModelListing): string {
  const models = table([
    ['MODEL ID', 'PROVIDER', 'INPUT → OUTPUT', 'STREAM', 'ACCESS', 'STATUS'],
    ...listing.models.map((model) => [
      model.modelId,
      model.providerName,
      `${model.inputModalities.join(',')} → ${model.outputModalities.join(',')}`,
      model.responseStreamingSupported ? 'yes' : 'no',
      model.access,
      model.lifecycleStatus,
    ]),
  ]);
  const profiles = table([
    ['INFERENCE PROFILE', 'MODEL'],
    ...listing.inferenceProfiles.map((profile) => [profile.inferenceProfileId, profile.modelIds.join(', ')]),
  ]);
  return (
    `${models}\n\n${listing.models.length} models. Call profile-only models through an inference profile:\n\n` +
    `${profiles}\n`
  );
}

export async function modelsCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('models', argv, {
    provider: { type: 'string' },
    json: { type: 'boolean' },
    offline: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const provider = stringOption(args, 'provider');
  const options = provider ? { provider } : {};
  let listing: ModelListing;
  if (args.values.offline) {
    listing = catalogueListing(process.env.AWS_REGION ?? 'us-east-1', options);
  } else {
    const client = createBedrockControlClient();
    try {
      listing = await listBedrockModels(client, options);
    } finally {
      client.destroy();
    }
  }
  process.stdout.write(
    args.values.json ? `${JSON.stringify(listing, null, 2)}\n` : formatModelListing(listing),
  );
  return 0;
}
