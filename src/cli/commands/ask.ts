import { kbError } from '../../errors.js';
import {
  BedrockConverseGenerator,
  DryRunGenerator,
  ExtractiveGenerator,
  type Generator,
  OpenAICompatibleGenerator,
} from '../../generate/index.js';
import type { RetrieveAndGenerateOptions } from '../../kb/types.js';
import { integerOption, parseCommandArgs, stringOption } from '../args.js';
import { formatAnswer } from '../format.js';
import { openKnowledgeBase } from '../open-kb.js';
import { retrievalExtras } from '../retrieval-options.js';
import { parseFilterOption, QUERY_OPTIONS } from './query.js';

const HELP = `Usage: localkb ask "<question>" (--db <file> | --knowledge-base-id <id>) [options]

Retrieves the best chunks and writes an answer that cites them.

Options:
  --db <file>               the local knowledge base
  --knowledge-base-id <id>  a managed Amazon Bedrock Knowledge Base instead (Bedrock writes the answer)
  --generator <name>        extractive (default: no model needed), bedrock, or openai
  --model <id>              Bedrock model id / inference profile / ARN (bedrock), or the model name (openai)
  --openai-base-url <url>   OpenAI-compatible server (Ollama, llama.cpp, LM Studio); default http://127.0.0.1:11434/v1
  --stream                  print the answer as it is generated
  --session-id <id>         continue a conversation
  -k, --k <n>               chunks to retrieve (default 5)
  --search-type, --filter   as for localkb query
  --json                    print the answer as JSON
  --dry-run                 retrieve, build the prompt and print what the model call would send and cost, without
                            calling the model (--db only)
  --max-tokens <n>          the most output tokens to ask for (default: the model's; 4096 assumed for estimates)

Bedrock uses the standard AWS configuration: region, credentials, AWS_ENDPOINT_URL_BEDROCK_RUNTIME.`;

const DEFAULT_BEDROCK_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

export function generatorFrom(
  name: string,
  model: string | undefined,
  baseUrl: string | undefined,
): Generator {
  switch (name) {
    case 'extractive':
      return new ExtractiveGenerator();
    case 'bedrock':
      return new BedrockConverseGenerator({ modelId: model ?? DEFAULT_BEDROCK_MODEL });
    case 'openai':
      return new OpenAICompatibleGenerator({
        baseUrl: baseUrl ?? process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:11434/v1',
        model: model ?? 'llama3.2',
        ...(process.env.OPENAI_API_KEY ? { apiKey: process.env.OPENAI_API_KEY } : {}),
      });
    default:
      throw kbError('INVALID_OPTION', `--generator must be extractive, bedrock or openai, got "${name}".`, {
        input: '--generator',
      });
  }
}

export async function askCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('ask', argv, {
    ...QUERY_OPTIONS,
    generator: { type: 'string' },
    model: { type: 'string' },
    'openai-base-url': { type: 'string' },
    stream: { type: 'boolean' },
    'session-id': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'max-tokens': { type: 'string' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const question = args.positionals.join(' ').trim();
  if (!question)
    throw kbError(
      'INVALID_QUERY',
      'localkb ask: give a question, e.g. localkb ask "who built the Eddystone light?" --db kb.db',
    );
  const model = stringOption(args, 'model');
  const generatorName = stringOption(args, 'generator') ?? (model ? 'bedrock' : 'extractive');
  const dryRun = args.values['dry-run'] === true;
  if (dryRun && stringOption(args, 'knowledge-base-id')) {
    throw kbError(
      'INVALID_OPTION',
      'localkb ask: --dry-run works with --db; a managed knowledge base builds its prompt in Bedrock.',
      {
        input: '--dry-run',
      },
    );
  }
  const realGenerator = generatorFrom(generatorName, model, stringOption(args, 'openai-base-url'));
  const generator = dryRun ? new DryRunGenerator(realGenerator.modelId) : realGenerator;
  const filter = parseFilterOption(stringOption(args, 'filter'));
  const searchType = stringOption(args, 'search-type') as RetrieveAndGenerateOptions['searchType'];
  const sessionId = stringOption(args, 'session-id');
  const options: RetrieveAndGenerateOptions = {
    k: integerOption('ask', args, 'k', 5, { max: 100 }),
    ...(filter ? { filter } : {}),
    ...(searchType ? { searchType } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(model ? { modelId: model } : {}),
    // A terminal reader gets [n] in the text, numbering the sources listed below; --json keeps Bedrock's shape.
    ...(args.values.json ? {} : { citationMarkers: true }),
    ...(stringOption(args, 'max-tokens')
      ? { inferenceConfig: { maxTokens: integerOption('ask', args, 'max-tokens', 1, { max: 1_000_000 }) } }
      : {}),
  };
  const kb = await openKnowledgeBase('ask', args, { generation: { generator } });
  try {
    Object.assign(options, retrievalExtras('ask', args, kb));
    if (generator instanceof DryRunGenerator) {
      await kb.retrieveAndGenerate(question, options);
      const estimates = generator.estimates;
      if (args.values.json)
        process.stdout.write(`${JSON.stringify({ dryRun: true, calls: estimates }, null, 2)}\n`);
      else {
        for (const estimate of estimates) {
          const cost =
            estimate.maxCostUsd === undefined
              ? 'no price known for this model'
              : `at most $${estimate.maxCostUsd.toFixed(6)}`;
          process.stdout.write(
            `Dry run: would call ${estimate.modelId} with ~${estimate.inputTokens} input tokens and up to ` +
              `${estimate.maxOutputTokens} output tokens (${cost}). No model was called.\n`,
          );
        }
        if (estimates.length === 0) process.stdout.write('Dry run: no model call would be made.\n');
      }
      return 0;
    }
    if (args.values.stream) {
      for await (const event of kb.retrieveAndGenerateStream(question, options)) {
        if (event.type === 'text' && !args.values.json) process.stdout.write(event.text);
        if (event.type === 'done') {
          if (args.values.json) process.stdout.write(`${JSON.stringify(event.answer, null, 2)}\n`);
          else process.stdout.write(`\n\n${formatAnswer({ ...event.answer, text: '' }).trimStart()}`);
        }
      }
    } else {
      const answer = await kb.retrieveAndGenerate(question, options);
      process.stdout.write(args.values.json ? `${JSON.stringify(answer, null, 2)}\n` : formatAnswer(answer));
    }
    return 0;
  } finally {
    await kb.close();
  }
}
