import { kbError } from '../../errors.js';
import { LocalKnowledgeBase } from '../../kb/local-knowledge-base.js';
import { startKnowledgeBaseServer } from '../../serve/index.js';
import { integerOption, keyPairOption, parseCommandArgs, stringOption } from '../args.js';
import { localOptionsFrom, MODEL_OPTIONS } from '../open-kb.js';
import { indexRebuildReporter } from '../progress.js';
import { RERANK_OPTIONS, rerankerFrom } from '../retrieval-options.js';
import { generatorFrom } from './ask.js';

const HELP = `Usage: localkb serve --db <file> [options]

Serves a local knowledge base over the bedrock-agent-runtime wire protocol (Retrieve, RetrieveAndGenerate,
RetrieveAndGenerateStream), so code written for a managed Bedrock Knowledge Base runs against it unchanged:
  AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=<endpoint> AWS_REGION=us-east-1 your-app
Stop it with Ctrl-C.

Options:
  --db <file>                 the local knowledge base
  --port <n>                  port (default 0: any free port, printed)
  --host <address>            address to listen on (default 127.0.0.1; others need keys)
  --knowledge-base-id <id>    the knowledge base id clients name: 10 letters or digits (default: one derived
                              from the store's path, printed at start; other ids get ResourceNotFoundException)
  --access-key-id <id>        with --secret-access-key: requests must be SigV4-signed with this key pair
  --secret-access-key <key>
  --region <region>           the region signatures must be scoped to (default AWS_REGION, else us-east-1)
  --generator <name>          who writes RetrieveAndGenerate answers: extractive (default, no model) or bedrock
  --model <id>                the Bedrock model for --generator bedrock; without it, the model each request names
  --rerank cross-encoder      answer Retrieve's rerankingConfiguration and the Rerank operation with the local
                              cross-encoder (Xenova/ms-marco-MiniLM-L-6-v2), whichever Bedrock rerank model the
                              request names (amazon.rerank-v1:0, cohere.rerank-v3-5:0); or a Bedrock rerank model
                              id to rerank through Bedrock's Rerank API
  --rerank-model-path <d>     local folder of the cross-encoder (or LOCALKB_RERANK_MODEL_PATH)
  --embedder, --model-path, --cache-dir, --offline   as for localkb query
  --json                      print where it listens as one JSON line: { endpoint, knowledgeBaseId, region, db }`;

export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('serve', argv, {
    db: { type: 'string' },
    ...MODEL_OPTIONS,
    port: { type: 'string' },
    host: { type: 'string' },
    'knowledge-base-id': { type: 'string' },
    'access-key-id': { type: 'string' },
    'secret-access-key': { type: 'string' },
    region: { type: 'string' },
    generator: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean' },
    rerank: RERANK_OPTIONS.rerank!,
    'rerank-model-path': RERANK_OPTIONS['rerank-model-path']!,
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const db = stringOption(args, 'db');
  if (!db) {
    throw kbError('INVALID_OPTION', 'localkb serve: pass --db <file> (the local knowledge base to serve).', {
      input: '--db',
    });
  }
  const credentials = keyPairOption('serve', args);
  const region = stringOption(args, 'region');
  const generatorName = stringOption(args, 'generator') ?? 'extractive';
  if (generatorName !== 'extractive' && generatorName !== 'bedrock') {
    throw kbError(
      'INVALID_OPTION',
      `localkb serve: --generator must be extractive or bedrock, got "${generatorName}".`,
      {
        input: '--generator',
      },
    );
  }
  const model = stringOption(args, 'model');
  if (model && generatorName !== 'bedrock') {
    throw kbError(
      'INVALID_OPTION',
      'localkb serve: --model chooses the Bedrock model; add --generator bedrock.',
      {
        input: '--model',
      },
    );
  }
  const port = integerOption('serve', args, 'port', 0, { min: 0, max: 65535 });
  const knowledgeBaseId = stringOption(args, 'knowledge-base-id');

  const reranker = rerankerFrom(args);
  const kb = await LocalKnowledgeBase.open(db, {
    onIndexRebuild: indexRebuildReporter(),
    mustExist: true,
    ...localOptionsFrom('serve', args),
    generation: { generator: generatorFrom(generatorName, model, undefined) },
  });
  let server: Awaited<ReturnType<typeof startKnowledgeBaseServer>>;
  try {
    server = await startKnowledgeBaseServer({
      knowledgeBase: kb,
      host: stringOption(args, 'host') ?? '127.0.0.1',
      port,
      ...(knowledgeBaseId ? { knowledgeBaseId } : {}),
      ...(credentials ? { credentials } : {}),
      ...(region === undefined ? {} : { region }),
      ...(reranker ? { reranker } : {}),
      // A pinned --model writes every answer; otherwise the Bedrock generator calls the model each request names.
      ...(model ? { generationModel: 'generator' as const } : {}),
    });
  } catch (error) {
    await kb.close();
    await reranker?.close?.();
    throw error;
  }
  if (args.values.json) {
    const { endpoint, region } = server;
    const ready = { endpoint, knowledgeBaseId: server.knowledgeBaseId, region, db };
    process.stdout.write(
      `${JSON.stringify({ ...ready, embedderId: kb.embedder?.id ?? 'none', signed: credentials !== undefined })}\n`,
    );
  } else {
    process.stdout.write(
      `Serving ${db} (embedder ${kb.embedder?.id ?? 'none (BM25 only)'}) as knowledge base ${server.knowledgeBaseId}\n`,
    );
    process.stdout.write(`bedrock-agent-runtime endpoint: ${server.endpoint}\n`);
    process.stdout.write(`  export AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=${server.endpoint}\n`);
    if (credentials) {
      process.stdout.write(
        `  requests must be SigV4-signed with the given key pair for region ${server.region}\n`,
      );
    }
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await kb.close();
  await reranker?.close?.();
  return 0;
}
