import { startBedrockEmulator } from '../../testing/index.js';
import { integerOption, parseCommandArgs, stringOption } from '../args.js';

const HELP = `Usage: localkb emulator [--port N] [--host 127.0.0.1] [--access-key-id ID --secret-access-key KEY]

Starts the offline Amazon Bedrock emulator and prints its endpoint. Point any AWS SDK at it, e.g.
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME=<endpoint> AWS_REGION=us-east-1 your-app
With keys given, requests must be SigV4-signed with them. Stop it with Ctrl-C.`;

export async function emulatorCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('emulator', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'access-key-id': { type: 'string' },
    'secret-access-key': { type: 'string' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const accessKeyId = stringOption(args, 'access-key-id');
  const secretAccessKey = stringOption(args, 'secret-access-key');
  const emulator = await startBedrockEmulator({
    port: integerOption('emulator', args, 'port', 0, { min: 0, max: 65535 }),
    host: stringOption(args, 'host') ?? '127.0.0.1',
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  });
  process.stdout.write(`Bedrock emulator listening on ${emulator.endpoint}\n`);
  process.stdout.write(`  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=${emulator.endpoint}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}
