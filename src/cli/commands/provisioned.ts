import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateProvisionedModelThroughputCommand,
  DeleteProvisionedModelThroughputCommand,
  GetProvisionedModelThroughputCommand,
  ListProvisionedModelThroughputsCommand,
  UpdateProvisionedModelThroughputCommand,
} from '@aws-sdk/client-bedrock';
import { kbError } from '../../errors.js';
import {
  controlPlaneError,
  createBedrockControlClient,
} from '../../generate/bedrock-control/control-client.js';
import { integerOption, parseCommandArgs, requiredString, stringOption } from '../args.js';

const HELP = `Usage: localkb provisioned <create|get|list|update|delete> [options]

  create --name <name> --model <model id or custom model ARN> --model-units <n> [--commitment OneMonth|SixMonths]
  get <name or ARN> [--wait] [--interval <s>]   --wait polls until the throughput is InService
  list
  update <name or ARN> [--name <new name>] [--model <custom model ARN>]
  delete <name or ARN>

Every action takes --json (its result as JSON).

The provisioned model ARN works as a model id: localkb ask --generator bedrock --model <ARN>.
Bedrock uses the standard AWS configuration: region, credentials, AWS_ENDPOINT_URL_BEDROCK.`;

/** `localkb <command> <action> --help`: the command's help, after the flags were checked. */
function printHelp(): number {
  process.stdout.write(`${HELP}\n`);
  return 0;
}

async function send<T>(operation: string, input: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw controlPlaneError(error, operation, input);
  }
}

function identifierOf(command: string, positionals: string[]): string {
  const identifier = positionals[0];
  if (!identifier)
    throw kbError('INVALID_OPTION', `localkb ${command}: give the throughput's name or ARN.`, {
      input: 'id',
    });
  return identifier;
}

export async function provisionedCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    // No action is a wrong command line (exit 2, help on stderr); asking for help is not.
    (action === undefined ? process.stderr : process.stdout).write(`${HELP}\n`);
    return action === undefined ? 2 : 0;
  }
  const command = `provisioned ${action}`;
  const client = createBedrockControlClient();
  try {
    switch (action) {
      case 'create': {
        const args = parseCommandArgs(command, rest, {
          name: { type: 'string' },
          model: { type: 'string' },
          'model-units': { type: 'string' },
          commitment: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const commitment = stringOption(args, 'commitment');
        if (commitment !== undefined && commitment !== 'OneMonth' && commitment !== 'SixMonths') {
          throw kbError(
            'INVALID_OPTION',
            `--commitment must be OneMonth or SixMonths (omit it for no commitment), got "${commitment}".`,
            {
              input: '--commitment',
            },
          );
        }
        const name = requiredString(command, args, 'name');
        requiredString(command, args, 'model-units');
        const modelUnits = integerOption(command, args, 'model-units', 1, { min: 1, max: 1000 });
        const { provisionedModelArn } = await send('CreateProvisionedModelThroughput', name, () =>
          client.send(
            new CreateProvisionedModelThroughputCommand({
              provisionedModelName: name,
              modelId: requiredString(command, args, 'model'),
              modelUnits,
              ...(commitment ? { commitmentDuration: commitment } : {}),
            }),
          ),
        );
        process.stdout.write(
          args.values.json ? `${JSON.stringify({ provisionedModelArn })}\n` : `${provisionedModelArn}\n`,
        );
        return 0;
      }
      case 'get': {
        const args = parseCommandArgs(command, rest, {
          wait: { type: 'boolean' },
          interval: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const provisionedModelId = identifierOf(command, args.positionals);
        const interval = integerOption(command, args, 'interval', 30, { min: 1, max: 3600 });
        const get = () =>
          send('GetProvisionedModelThroughput', provisionedModelId, () =>
            client.send(new GetProvisionedModelThroughputCommand({ provisionedModelId })),
          );
        let throughput = await get();
        while (args.values.wait && (throughput.status === 'Creating' || throughput.status === 'Updating')) {
          process.stderr.write(`${throughput.provisionedModelName}: ${throughput.status}\n`);
          await sleep(interval * 1000);
          throughput = await get();
        }
        const { $metadata: _, ...details } = throughput;
        if (args.values.json) process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
        else {
          process.stdout.write(
            `${details.provisionedModelName}: ${details.status}, ${details.modelUnits}/${details.desiredModelUnits} model units, ` +
              `${details.commitmentDuration ?? 'no commitment'}\n${details.provisionedModelArn}\nmodel: ${details.modelArn}\n`,
          );
        }
        return throughput.status === 'Failed' ? 1 : 0;
      }
      case 'list': {
        const args = parseCommandArgs(command, rest, { json: { type: 'boolean' } });
        if (args.values.help) return printHelp();
        const all = [];
        let nextToken: string | undefined;
        do {
          const page = await send('ListProvisionedModelThroughputs', 'all', () =>
            client.send(new ListProvisionedModelThroughputsCommand({ nextToken })),
          );
          all.push(...(page.provisionedModelSummaries ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        if (args.values.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        else {
          for (const item of all) {
            process.stdout.write(
              `${item.provisionedModelName}  ${item.status}  ${item.modelUnits} MU  ${item.provisionedModelArn}\n`,
            );
          }
        }
        return 0;
      }
      case 'update': {
        const args = parseCommandArgs(command, rest, {
          name: { type: 'string' },
          model: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const provisionedModelId = identifierOf(command, args.positionals);
        const name = stringOption(args, 'name');
        const model = stringOption(args, 'model');
        if (!name && !model) {
          throw kbError('INVALID_OPTION', `localkb ${command}: give --name and/or --model to change.`, {
            input: '--name',
          });
        }
        await send('UpdateProvisionedModelThroughput', provisionedModelId, () =>
          client.send(
            new UpdateProvisionedModelThroughputCommand({
              provisionedModelId,
              ...(name ? { desiredProvisionedModelName: name } : {}),
              ...(model ? { desiredModelId: model } : {}),
            }),
          ),
        );
        process.stdout.write(
          args.values.json
            ? `${JSON.stringify({ provisionedModelId, status: 'Updating' })}\n`
            : `Updating ${provisionedModelId}\n`,
        );
        return 0;
      }
      case 'delete': {
        const args = parseCommandArgs(command, rest, { json: { type: 'boolean' } });
        if (args.values.help) return printHelp();
        const provisionedModelId = identifierOf(command, args.positionals);
        await send('DeleteProvisionedModelThroughput', provisionedModelId, () =>
          client.send(new DeleteProvisionedModelThroughputCommand({ provisionedModelId })),
        );
        process.stdout.write(
          args.values.json
            ? `${JSON.stringify({ provisionedModelId, deleted: true })}\n`
            : `Deleted ${provisionedModelId}\n`,
        );
        return 0;
      }
      default:
        throw kbError(
          'INVALID_OPTION',
          `localkb provisioned: unknown action "${action}"; use create, get, list, update or delete.`,
          {
            input: action,
          },
        );
    }
  } finally {
    client.destroy();
  }
}
