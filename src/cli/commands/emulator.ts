import { startBedrockEmulator } from '../../testing/index.js';
import { integerOption, keyPairOption, parseCommandArgs, stringOption } from '../args.js';

const HELP = `Usage: localkb emulator [--port N] [--host 127.0.0.1] [--db <file> [--knowledge-base-id ID]]
                        [--access-key-id ID --secret-access-key KEY]

Starts the offline Amazon Bedrock emulator (bedrock-runtime, bedrock-agent-runtime, bedrock-agent) and prints its
endpoint. Point any AWS SDK at it, e.g.
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME=<endpoint> AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=<endpoint> AWS_REGION=us-east-1 your-app
With --db, that local knowledge base is served as knowledge base ID (default LOCALKB001), so Retrieve and
RetrieveAndGenerate return real results from it.
With keys given, requests must be SigV4-signed with them; listening beyond 127.0.0.1 (--host) needs them.
With --json, where it listens is printed as one JSON line: { endpoint, environment, knowledgeBaseId }.
Stop it with Ctrl-C.`;

export async function emulatorCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('emulator', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'knowledge-base-id': { type: 'string' },
    'access-key-id': { type: 'string' },
    'secret-access-key': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const credentials = keyPairOption('emulator', args);
  const db = stringOption(args, 'db');
  const knowledgeBaseId = stringOption(args, 'knowledge-base-id') ?? 'LOCALKB001';
  const emulator = await startBedrockEmulator({
    ...(db ? { knowledgeBases: { [knowledgeBaseId]: db } } : {}),
    port: integerOption('emulator', args, 'port', 0, { min: 0, max: 65535 }),
    host: stringOption(args, 'host') ?? '127.0.0.1',
    ...(credentials ? { credentials } : {}),
  });
  const environment = Object.fromEntries(
    ['BEDROCK_RUNTIME', 'BEDROCK_AGENT_RUNTIME', 'BEDROCK_AGENT'].map((service) => [
      `AWS_ENDPOINT_URL_${service}`,
      emulator.endpoint,
    ]),
  );
  if (args.values.json) {
    const served = db ? { knowledgeBaseId, db } : {};
    process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint, environment, ...served })}\n`);
  } else {
    process.stdout.write(`Bedrock emulator listening on ${emulator.endpoint}\n`);
    for (const [name, value] of Object.entries(environment))
      process.stdout.write(`  export ${name}=${value}\n`);
    if (db) process.stdout.write(`knowledge base ${knowledgeBaseId} serves ${db}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}
