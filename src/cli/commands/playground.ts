import { kbError } from '../../errors.js';
import {
  BedrockConverseGenerator,
  ExtractiveGenerator,
  type Generator,
  OpenAICompatibleGenerator,
} from '../../generate/index.js';
import { BedrockKnowledgeBase } from '../../kb/bedrock-knowledge-base.js';
import type { PlaygroundGenerator } from '../../playground/index.js';
import { startPlayground } from '../../playground/index.js';
import { SqliteStore } from '../../store/sqlite-store.js';
import { integerOption, parseCommandArgs, stringList, stringOption, usageError } from '../args.js';
import { KB_OPTIONS, openKnowledgeBase } from '../open-kb.js';
import { RERANK_OPTIONS, rerankerFrom } from '../retrieval-options.js';

const HELP = `Usage: localkb playground (--db <file> | --knowledge-base-id <id>) [options]

Starts a local web page to see what is retrieved and why, try prompts and models side by side, and read
evaluations as pictures. It prints the page's address; open it in a browser. Stop it with Ctrl-C.
Everything is served from this machine: the page works with no network.

Options:
  --db <file>                the local knowledge base
  --knowledge-base-id <id>   a managed Amazon Bedrock Knowledge Base instead (standard AWS configuration)
  --port <n>                 port (default 0: any free port, printed)
  --host <address>           127.0.0.1 (default), ::1 or localhost; the page has no login, so loopback only
  --generator <name>         offer this generator too: bedrock or openai (repeatable; extractive is always there)
  --model <id>               a Bedrock model to offer (repeatable; the first is the default; implies bedrock)
  --openai-base-url <url>    OpenAI-compatible server for the openai generator (implies openai);
                             default http://127.0.0.1:11434/v1 (Ollama)
  --openai-model <name>      model the openai generator offers (repeatable; default llama3.2)
  --rerank <model>           the reranker the page's switch turns on: cross-encoder (local) or a Bedrock rerank
                             model id (amazon.rerank-v1:0, cohere.rerank-v3-5:0)
  --rerank-model-path <d>    local folder of the cross-encoder
  --json                     print the address as one JSON line: {"url", "knowledgeBase", "generators"}
  --prompt-store <file>      with --knowledge-base-id: a localkb store file that keeps prompt versions and runs
                             (a local knowledge base keeps them in its own store)
  --embedder, --model-path, --cache-dir, --offline, --data-source-id   as for localkb query`;

const DEFAULT_BEDROCK_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const GENERATOR_NAMES = ['extractive', 'bedrock', 'openai'];

export async function playgroundCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('playground', argv, {
    ...KB_OPTIONS,
    // The page's reranker switch; MMR is not offered there, so --mmr is not accepted.
    rerank: RERANK_OPTIONS.rerank!,
    'rerank-model-path': RERANK_OPTIONS['rerank-model-path']!,
    port: { type: 'string' },
    host: { type: 'string' },
    generator: { type: 'string', multiple: true },
    model: { type: 'string', multiple: true },
    'openai-base-url': { type: 'string' },
    'openai-model': { type: 'string', multiple: true },
    'prompt-store': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (args.positionals.length > 0) {
    throw usageError(
      'playground',
      `unexpected argument "${args.positionals[0]}" (it takes none).`,
      args.positionals[0],
    );
  }
  const port = integerOption('playground', args, 'port', 0, { min: 0, max: 65535 });
  const generators = generatorsFrom(args);
  const db = stringOption(args, 'db');
  const promptStorePath = stringOption(args, 'prompt-store');
  if (promptStorePath && db) {
    throw usageError(
      'playground',
      'localkb playground: --prompt-store is for --knowledge-base-id; a local knowledge base keeps prompts in its own store.',
      '--prompt-store',
    );
  }
  const kb = await openKnowledgeBase('playground', args);
  const closers: (() => Promise<void> | void)[] = [() => kb.close()];
  try {
    const rerank = stringOption(args, 'rerank');
    const managed = kb instanceof BedrockKnowledgeBase;
    if (managed && rerank === 'cross-encoder') {
      throw kbError(
        'INVALID_OPTION',
        'localkb playground: a managed knowledge base reranks with a Bedrock rerank model id, not the local cross-encoder.',
        { input: '--rerank' },
      );
    }
    const reranker = managed ? undefined : rerankerFrom(args);
    if (reranker?.close) closers.push(() => reranker.close?.());
    const promptStore = promptStorePath ? SqliteStore.open(promptStorePath) : undefined;
    if (promptStore) closers.push(() => promptStore.close());
    const playground = await startPlayground({
      knowledgeBase: kb,
      description: kb.describe(),
      port,
      host: stringOption(args, 'host') ?? '127.0.0.1',
      generators,
      ...(reranker ? { reranker } : {}),
      ...(managed && rerank ? { rerankModelId: rerank } : {}),
      ...(promptStore ? { prompts: promptStore.promptLibrary() } : {}),
    });
    closers.unshift(() => playground.close());
    if (args.values.json) {
      const started = {
        url: playground.url,
        knowledgeBase: kb.describe(),
        generators: Object.keys(generators),
      };
      process.stdout.write(`${JSON.stringify(started)}\n`);
    } else {
      process.stdout.write(`localkb playground for ${kb.describe()}\n`);
      process.stdout.write(`  ${playground.url}\n`);
      process.stdout.write(`generators: ${Object.keys(generators).join(', ')}. Stop it with Ctrl-C.\n`);
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } finally {
    for (const close of closers) await close();
  }
}

/** Extractive always; Bedrock and OpenAI-compatible ones when asked for, each model's generator made once. */
function generatorsFrom(args: Parameters<typeof stringOption>[0]): Record<string, PlaygroundGenerator> {
  const names = new Set(['extractive', ...stringList(args, 'generator')]);
  const bedrockModels = stringList(args, 'model');
  const openaiModels = stringList(args, 'openai-model');
  const openaiBaseUrl = stringOption(args, 'openai-base-url');
  if (bedrockModels.length > 0) names.add('bedrock');
  if (openaiBaseUrl || openaiModels.length > 0) names.add('openai');
  for (const name of names) {
    if (!GENERATOR_NAMES.includes(name)) {
      throw usageError(
        'playground',
        `localkb playground: --generator must be ${GENERATOR_NAMES.join(', ')}, got "${name}".`,
        '--generator',
      );
    }
  }
  const generators: Record<string, PlaygroundGenerator> = {
    extractive: {
      create: () => new ExtractiveGenerator(),
      description: 'offline: quotes the sources, no model',
    },
  };
  if (names.has('bedrock')) {
    const models = bedrockModels.length > 0 ? bedrockModels : [DEFAULT_BEDROCK_MODEL];
    generators.bedrock = {
      create: once((model) => new BedrockConverseGenerator({ modelId: model ?? models[0]! })),
      models,
      description: 'Amazon Bedrock Converse (standard AWS configuration)',
    };
  }
  if (names.has('openai')) {
    const baseUrl = openaiBaseUrl ?? process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:11434/v1';
    const models = openaiModels.length > 0 ? openaiModels : ['llama3.2'];
    generators.openai = {
      create: once(
        (model) =>
          new OpenAICompatibleGenerator({
            baseUrl,
            model: model ?? models[0]!,
            ...(process.env.OPENAI_API_KEY ? { apiKey: process.env.OPENAI_API_KEY } : {}),
          }),
      ),
      models,
      description: `OpenAI-compatible server at ${baseUrl}`,
    };
  }
  return generators;
}

/** One generator (and its HTTP client) per model for the life of the playground. */
function once(make: (model: string | undefined) => Generator): (model: string | undefined) => Generator {
  const made = new Map<string, Generator>();
  return (model) => {
    const key = model ?? '';
    let generator = made.get(key);
    if (!generator) {
      generator = make(model);
      made.set(key, generator);
    }
    return generator;
  };
}
