import { kbError } from '../errors.js';
import { BedrockKnowledgeBase } from '../kb/bedrock-knowledge-base.js';
import type { EmbedderChoice } from '../kb/embedder-choice.js';
import { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from '../kb/local-knowledge-base.js';
import type { KnowledgeBase } from '../kb/types.js';
import { type OptionSpec, type ParsedArgs, stringOption } from './args.js';
import { indexRebuildReporter } from './progress.js';

export const KB_OPTIONS: OptionSpec = {
  db: { type: 'string' },
  // A managed Amazon Bedrock Knowledge Base instead of --db; region, credentials and endpoints come from the
  // standard AWS configuration (AWS_REGION, AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME, AWS_ENDPOINT_URL_BEDROCK_AGENT…).
  'knowledge-base-id': { type: 'string' },
  // The CUSTOM data source ingest and delete use on a managed knowledge base (default: its only CUSTOM one).
  'data-source-id': { type: 'string' },
  embedder: { type: 'string' },
  'model-path': { type: 'string' },
  'cache-dir': { type: 'string' },
  offline: { type: 'boolean' },
};

/** The flags that choose and find a local model, for commands that take them without the rest of KB_OPTIONS. */
export const MODEL_OPTIONS: OptionSpec = {
  embedder: KB_OPTIONS.embedder!,
  'model-path': KB_OPTIONS['model-path']!,
  'cache-dir': KB_OPTIONS['cache-dir']!,
  offline: KB_OPTIONS.offline!,
};

/** How the model flags read in every help text. */
export const MODEL_HELP = `  --embedder <name>        auto (default), minilm, use, or none (BM25 only)
  --model-path <dir>       a local transformers.js model folder (or LOCALKB_MODEL_PATH)
  --cache-dir <dir>        where to look for cached models (or LOCALKB_CACHE_DIR; default the standard caches)
  --offline                never touch the network when loading models`;

const EMBEDDERS = ['auto', 'minilm', 'use', 'none'];

function embedderChoice(command: string, args: ParsedArgs): EmbedderChoice | undefined {
  const value = stringOption(args, 'embedder');
  if (value === undefined) return undefined;
  if (!EMBEDDERS.includes(value)) {
    throw kbError(
      'INVALID_OPTION',
      `localkb ${command}: --embedder must be one of ${EMBEDDERS.join(', ')}, got "${value}".`,
      { input: '--embedder' },
    );
  }
  return value as EmbedderChoice;
}

export function localOptionsFrom(command: string, args: ParsedArgs): LocalKnowledgeBaseOptions {
  const embedder = embedderChoice(command, args);
  const modelPath = stringOption(args, 'model-path');
  const cacheDir = stringOption(args, 'cache-dir');
  return {
    ...(embedder ? { embedder } : {}),
    ...(modelPath ? { modelPath } : {}),
    ...(cacheDir ? { cacheDir } : {}),
    ...(args.values.offline ? { offline: true } : {}),
  };
}

/**
 * The knowledge base a command works on: `--db <file>` for a local one, `--knowledge-base-id <id>` for a managed
 * Amazon Bedrock Knowledge Base (which generates with Bedrock itself, so `extra.generation` does not apply).
 */
export async function openKnowledgeBase(
  command: string,
  args: ParsedArgs,
  extra: LocalKnowledgeBaseOptions = {},
): Promise<KnowledgeBase & { describe(): string }> {
  const db = stringOption(args, 'db');
  const knowledgeBaseId = stringOption(args, 'knowledge-base-id');
  if (db && knowledgeBaseId) {
    throw kbError(
      'INVALID_OPTION',
      `localkb ${command}: give either --db <file> (a local knowledge base) or --knowledge-base-id <id> (a managed one), not both.`,
      { input: '--knowledge-base-id' },
    );
  }
  if (knowledgeBaseId) {
    const dataSourceId = stringOption(args, 'data-source-id');
    const managed = new BedrockKnowledgeBase({ knowledgeBaseId, ...(dataSourceId ? { dataSourceId } : {}) });
    return Object.assign(managed, { describe: () => `Bedrock knowledge base ${knowledgeBaseId}` });
  }
  if (!db) {
    throw kbError(
      'INVALID_OPTION',
      `localkb ${command}: pass --db <file> (a local knowledge base) or --knowledge-base-id <id> (a managed Bedrock one).`,
      { input: '--db' },
    );
  }
  const kb = await LocalKnowledgeBase.open(db, {
    onIndexRebuild: indexRebuildReporter(),
    // Only ingest makes a store; every other command reads one and must not create it from a mistyped path.
    mustExist: command !== 'ingest',
    ...localOptionsFrom(command, args),
    ...extra,
  });
  announceEmbedderNotice(command, kb);
  return Object.assign(kb, {
    describe: () => `${db} (embedder ${kb.embedder?.id ?? 'none (BM25 only)'})`,
  });
}

/** Says once, on stderr, when 'auto' settled for the weak bundled embedder (the ingest summary repeats it). */
export function announceEmbedderNotice(command: string, kb: LocalKnowledgeBase): void {
  if (kb.embedderNotice) process.stderr.write(`localkb ${command}: note: ${kb.embedderNotice}\n`);
}
