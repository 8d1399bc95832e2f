import { kbError } from '../../errors.js';
import type { RetrievalFilter } from '../../types.js';
import { integerOption, parseCommandArgs, stringOption } from '../args.js';
import { formatResults } from '../format.js';
import { KB_OPTIONS, MODEL_HELP, openKnowledgeBase } from '../open-kb.js';
import { RERANK_HELP, RERANK_OPTIONS, retrievalExtras } from '../retrieval-options.js';

const HELP = `Usage: localkb query "<text>" (--db <file> | --knowledge-base-id <id>) [options]

Options:
  --db <file>             the local knowledge base
  --knowledge-base-id <id> a managed Amazon Bedrock Knowledge Base instead (standard AWS configuration)
  -k, --k <n>             number of results (default 5)
  --search-type <type>    semantic, bm25 or hybrid (any case; default hybrid, or bm25 for a BM25-only store)
  --filter '<json>'       a Bedrock Knowledge Base metadata filter, e.g. '{"equals":{"key":"topic","value":"bees"}}'
${MODEL_HELP}
${RERANK_HELP}
  --json                  print the results as JSON`;

export const QUERY_OPTIONS = {
  ...KB_OPTIONS,
  k: { type: 'string', short: 'k' },
  'search-type': { type: 'string' },
  filter: { type: 'string' },
  json: { type: 'boolean' },
  ...RERANK_OPTIONS,
} as const;

export function parseFilterOption(raw: string | undefined): RetrievalFilter | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as RetrievalFilter;
  } catch (error) {
    throw kbError('INVALID_FILTER', `--filter is not valid JSON: ${(error as Error).message}`, {
      input: raw,
      cause: error,
    });
  }
}

export async function queryCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('query', argv, QUERY_OPTIONS);
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const text = args.positionals.join(' ').trim();
  if (!text)
    throw kbError(
      'INVALID_QUERY',
      'localkb query: give the text to search for, e.g. localkb query "how were lighthouses lit" --db kb.db',
    );
  const k = integerOption('query', args, 'k', 5, { max: 1000 });
  const filter = parseFilterOption(stringOption(args, 'filter'));
  const searchType = stringOption(args, 'search-type') as 'semantic' | undefined;
  const kb = await openKnowledgeBase('query', args);
  try {
    const results = await kb.retrieve(text, {
      ...retrievalExtras('query', args, kb),
      k,
      ...(filter ? { filter } : {}),
      ...(searchType ? { searchType } : {}),
    });
    if (args.values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else process.stdout.write(formatResults(results));
    return 0;
  } finally {
    await kb.close();
  }
}
