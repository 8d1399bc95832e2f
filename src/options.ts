/**
 * Strict options, checked eagerly at every public entry point (better-sqlite3's habit): an unknown key is an
 * INVALID_OPTION error naming the key and the closest valid one, and a value of the wrong basic type is refused
 * before any work starts. A typo must never run silently with defaults.
 *
 * Declare an options interface's keys right beside it:
 *
 *   export interface FooOptions { k?: number; signal?: AbortSignal }
 *   export const FOO_OPTIONS = declareOptions<FooOptions>('foo', { k: 'integer', signal: 'signal' });
 *
 * and check at the entry point: `checkOptions(FOO_OPTIONS, options)`. The declaration's type lists every key of
 * the interface, so adding an option without declaring it does not compile.
 */
import { kbError } from './errors.js';

/** The basic types a value may be checked against: cheap `typeof`-level checks, not schemas. */
export type OptionType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'function'
  | 'object'
  | 'array'
  | 'string[]'
  | 'signal'
  | 'null'
  | 'any';

/** One key's rule: a type, a list of allowed types, or a nested declaration for an options object inside. */
export type OptionRule = OptionType | readonly OptionType[] | OptionsDeclaration<object>;

export type OptionShape<T> = { readonly [K in keyof T]-?: OptionRule };

export interface OptionsDeclaration<T> {
  /** Who takes these options, as users call it: `LocalKnowledgeBase.open`, `retrieve`, `TitanEmbedder`. */
  readonly name: string;
  readonly shape: OptionShape<T>;
  /** Misnamed keys worth a pointed hint, e.g. { numberOfResults: 'k' }. */
  readonly hints: Readonly<Record<string, string>>;
}

/**
 * Names users bring from Bedrock, LangChain, LlamaIndex and friends, mapped to localkb's. A hint applies only when
 * the declaration has the key it points at.
 */
const WELL_KNOWN_NAMES: Record<string, string> = {
  numberOfResults: 'k',
  topK: 'k',
  top_k: 'k',
  similarityTopK: 'k',
  similarity_top_k: 'k',
  limit: 'k',
  n: 'k',
  numResults: 'k',
  maxResults: 'k',
  overrideSearchType: 'searchType',
  search_type: 'searchType',
  where: 'filter',
  filters: 'filter',
  metadataFilter: 'filter',
  retrievalFilter: 'filter',
  model: 'modelId',
  modelArn: 'modelId',
  model_id: 'modelId',
  abortSignal: 'signal',
  textPromptTemplate: 'promptTemplate',
  cacheDir: 'modelPath',
  localModelPath: 'modelPath',
  embeddings: 'embedder',
  embedding: 'embedder',
  embedModel: 'embedder',
  llm: 'generator',
  region: 'clientConfig',
  endpoint: 'clientConfig',
  credentials: 'clientConfig',
};

/** Why a name maps where it does, keyed "given->suggested", for names that come from another API. */
const NOTES: Record<string, string> = {
  'numberOfResults->k': "localkb's k is Bedrock's numberOfResults",
  'overrideSearchType->searchType': "localkb's searchType is Bedrock's overrideSearchType; any case",
  'similarityTopK->k': "LlamaIndex's similarityTopK is localkb's k",
  'modelArn->modelId': 'modelId takes a model id, inference profile id or ARN',
  'textPromptTemplate->promptTemplate': "Bedrock's textPromptTemplate is localkb's promptTemplate",
  'region->clientConfig': 'AWS client settings go in clientConfig, e.g. { clientConfig: { region } }',
  'endpoint->clientConfig': 'AWS client settings go in clientConfig, e.g. { clientConfig: { endpoint } }',
  'credentials->clientConfig':
    'AWS client settings go in clientConfig, e.g. { clientConfig: { credentials } }',
  'maxTokens->inferenceConfig':
    'generation settings go in inferenceConfig, e.g. { inferenceConfig: { maxTokens } }',
  'temperature->inferenceConfig':
    'generation settings go in inferenceConfig, e.g. { inferenceConfig: { temperature } }',
  'title->metadata': "a document's own fields go in metadata, e.g. { id, text, metadata: { title } }",
  'author->metadata': "a document's own fields go in metadata, e.g. { id, text, metadata: { author } }",
  'tags->metadata': "a document's own fields go in metadata, e.g. { id, text, metadata: { tags } }",
  'pageContent->text': "LangChain's pageContent is a document input's text",
  'topP->inferenceConfig': 'generation settings go in inferenceConfig, e.g. { inferenceConfig: { topP } }',
};

export function declareOptions<T>(
  name: string,
  shape: OptionShape<T>,
  hints: Record<string, string> = {},
): OptionsDeclaration<T> {
  return { name, shape, hints };
}

/**
 * Throws INVALID_OPTION for an options value that is not an object, has a key the declaration lacks, or a value
 * of the wrong basic type. Undefined values count as absent. Returns the options (or {} for undefined).
 */
export function checkOptions<T>(declaration: OptionsDeclaration<T>, options: T | undefined): T {
  checkObject(declaration as OptionsDeclaration<object>, options, '');
  return (options ?? {}) as T;
}

function checkObject(declaration: OptionsDeclaration<object>, options: unknown, prefix: string): void {
  const where = prefix === '' ? `${declaration.name} options` : `${declaration.name}: option "${prefix}"`;
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw kbError('INVALID_OPTION', `${where} must be an object, got ${describe(options)}.`, {
      input: prefix || 'options',
    });
  }
  const shape = declaration.shape as Record<string, OptionRule>;
  for (const [key, value] of Object.entries(options)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const rule = shape[key];
    if (rule === undefined) throw unknownOption(declaration, key, path);
    if (value === undefined) continue;
    if (isDeclaration(rule)) {
      checkObject({ ...rule, name: declaration.name }, value, path);
      continue;
    }
    const types = (typeof rule === 'string' ? [rule] : rule) as readonly OptionType[];
    if (!types.some((type) => hasType(value, type))) {
      throw kbError(
        'INVALID_OPTION',
        `${declaration.name}: option "${path}" must be ${types.map(article).join(' or ')}, got ${describe(value)}.`,
        { input: path, details: { option: path, expected: types } },
      );
    }
  }
}

function unknownOption(declaration: OptionsDeclaration<object>, key: string, path: string) {
  const valid = Object.keys(declaration.shape);
  const suggestion = closestName(key, valid, { ...WELL_KNOWN_NAMES, ...declaration.hints });
  const hint = suggestion ? `; did you mean "${pathWith(path, suggestion)}"?` : '.';
  const note = suggestion && NOTES[`${key}->${suggestion}`] ? ` (${NOTES[`${key}->${suggestion}`]})` : '';
  return kbError(
    'INVALID_OPTION',
    `${declaration.name}: unknown option "${path}"${hint}${note} Valid options: ${valid.join(', ')}.`,
    { input: path, details: { option: path, ...(suggestion ? { suggestion } : {}), validOptions: valid } },
  );
}

function pathWith(path: string, key: string): string {
  const dot = path.lastIndexOf('.');
  return dot === -1 ? key : `${path.slice(0, dot + 1)}${key}`;
}

/**
 * The valid name a misspelled one most likely meant: a known alias, the same name in another case or with
 * dashes/underscores, else the nearest by edit distance when it is close enough to be a typo.
 */
export function closestName(
  name: string,
  candidates: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): string | undefined {
  const hinted = hints[name];
  if (hinted !== undefined && candidates.includes(hinted)) return hinted;
  const normal = normalise(name);
  const same = candidates.find((candidate) => normalise(candidate) === normal);
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(normal, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.min(normal.length, 12) / 3));
  if (best !== undefined && bestDistance <= allowed) return best;
  // A prefix or a containing name ("rerank" for "reranker", "model" for "modelPath") is a fair guess too.
  return candidates.find((candidate) => {
    const c = normalise(candidate);
    return normal.length >= 3 && (c.startsWith(normal) || normal.startsWith(c));
  });
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function hasType(value: unknown, type: OptionType): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'null':
      return value === null;
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && !Number.isNaN(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'function':
      return typeof value === 'function';
    case 'array':
      return Array.isArray(value);
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'signal':
      return typeof value === 'object' && value !== null && 'aborted' in value && 'addEventListener' in value;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

function isDeclaration(rule: OptionRule): rule is OptionsDeclaration<object> {
  return typeof rule === 'object' && !Array.isArray(rule) && 'shape' in rule;
}

function article(type: OptionType): string {
  switch (type) {
    case 'integer':
    case 'object':
    case 'array':
      return `an ${type}`;
    case 'string[]':
      return 'a list of strings';
    case 'signal':
      return 'an AbortSignal';
    case 'null':
      return 'null';
    case 'any':
      return 'anything';
    default:
      return `a ${type}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
