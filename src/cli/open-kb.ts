import { kbError } from '../errors.js';
import type { EmbedderChoice } from '../kb/embedder-choice.js';
import { LocalKnowledgeBase, type LocalKnowledgeBaseOptions } from '../kb/local-knowledge-base.js';
import type { KnowledgeBase } from '../kb/types.js';
import { type OptionSpec, type ParsedArgs, stringOption } from './args.js';

export const KB_OPTIONS: OptionSpec = {
  db: { type: 'string' },
  embedder: { type: 'string' },
  'model-path': { type: 'string' },
  offline: { type: 'boolean' },
};

const EMBEDDERS = ['auto', 'minilm', 'use', 'none'];

export function embedderChoice(command: string, args: ParsedArgs): EmbedderChoice | undefined {
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
  return {
    ...(embedder ? { embedder } : {}),
    ...(modelPath ? { modelPath } : {}),
    ...(args.values.offline ? { offline: true } : {}),
  };
}

/** The knowledge base a command works on: `--db <file>` for a local one. */
export async function openKnowledgeBase(
  command: string,
  args: ParsedArgs,
  extra: LocalKnowledgeBaseOptions = {},
): Promise<KnowledgeBase & { describe(): string }> {
  const db = stringOption(args, 'db');
  if (!db) {
    throw kbError('INVALID_OPTION', `localkb ${command}: pass --db <file> (the local knowledge base).`, {
      input: '--db',
    });
  }
  const kb = await LocalKnowledgeBase.open(db, { ...localOptionsFrom(command, args), ...extra });
  return Object.assign(kb, {
    describe: () => `${db} (embedder ${kb.embedder?.id ?? 'none (BM25 only)'})`,
  });
}
