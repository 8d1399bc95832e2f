/**
 * The Amazon Bedrock Knowledge Base metadata filter language (RetrievalFilter): validation, compilation to a
 * parameterised SQLite expression over a JSON metadata column, and the same semantics evaluated in JavaScript.
 *
 * Semantics (after Bedrock's RetrievalFilter documentation), for an attribute `key` with stored value `v`:
 * - equals / notEquals: `v` and the filter value have the same JSON type (string, number, boolean) and are equal.
 *   A list attribute never equals a scalar (use listContains). notEquals is the exact negation of equals, so it also
 *   matches documents that lack the key — Bedrock documents this explicitly.
 * - greaterThan(OrEquals) / lessThan(OrEquals): numbers compare numerically with numbers; strings compare with
 *   strings by Unicode code point (SQLite's BINARY order, so ISO dates compare chronologically). Mixed types never
 *   match.
 * - in: `v` is a string or number equal (same type) to a member of the filter's list.
 * - notIn: the document HAS the key and `in` does not hold. Bedrock documents notIn as "contains a metadata attribute
 *   whose name matches the key and whose value isn't in the list" — unlike notEquals, a missing key does not match.
 * - startsWith: `v` is a string that starts with the filter value.
 * - listContains: `v` is a list with a member equal (same type) to the filter value.
 * - stringContains: `v` is a string containing the filter value as a substring, or a list with such a member.
 * - andAll / orAll: at least 2 member filters (Bedrock's minimum), nested freely up to MAX_FILTER_DEPTH levels.
 * String matching is case-sensitive and exact (no Unicode normalisation).
 */
import { kbError } from '../errors.js';
import type { FilterAttribute, Metadata, RetrievalFilter } from '../types.js';

/** Operators that compare one attribute with one value. */
export const ATTRIBUTE_OPERATORS = [
  'equals',
  'notEquals',
  'greaterThan',
  'greaterThanOrEquals',
  'lessThan',
  'lessThanOrEquals',
  'in',
  'notIn',
  'startsWith',
  'listContains',
  'stringContains',
] as const;
/** Operators that combine member filters. */
export const LOGICAL_OPERATORS = ['andAll', 'orAll'] as const;

export type AttributeOperator = (typeof ATTRIBUTE_OPERATORS)[number];
export type LogicalOperator = (typeof LOGICAL_OPERATORS)[number];
export type FilterOperator = AttributeOperator | LogicalOperator;

/** Deepest allowed nesting of andAll/orAll (a lone condition has depth 1); keeps SQL and recursion bounded. */
export const MAX_FILTER_DEPTH = 10;
/** Most attribute conditions in one filter; keeps the compiled SQL within SQLite's bound-parameter limit. */
export const MAX_FILTER_CONDITIONS = 1000;
/** Bedrock's FilterAttribute.key length limit. */
export const MAX_FILTER_KEY_LENGTH = 100;

const ALL_OPERATORS: readonly string[] = [...ATTRIBUTE_OPERATORS, ...LOGICAL_OPERATORS];

/** Which filter values each operator accepts, and how to say so in an error. */
const VALUE_RULES: Record<AttributeOperator, { accepts: (value: unknown) => boolean; expected: string }> = {
  equals: { accepts: isScalar, expected: 'a string, number or boolean' },
  notEquals: { accepts: isScalar, expected: 'a string, number or boolean' },
  greaterThan: { accepts: isComparable, expected: 'a number or string' },
  greaterThanOrEquals: { accepts: isComparable, expected: 'a number or string' },
  lessThan: { accepts: isComparable, expected: 'a number or string' },
  lessThanOrEquals: { accepts: isComparable, expected: 'a number or string' },
  in: { accepts: isNonEmptyComparableList, expected: 'a non-empty array of strings or numbers' },
  notIn: { accepts: isNonEmptyComparableList, expected: 'a non-empty array of strings or numbers' },
  startsWith: { accepts: isString, expected: 'a string' },
  listContains: { accepts: isComparable, expected: 'a string or number' },
  stringContains: { accepts: isString, expected: 'a string' },
};

/**
 * Half of a surrogate pair on its own (e.g. a string cut in the middle of an emoji) is not text: SQLite would
 * compare its UTF-8 replacement while JavaScript compares the code unit, so the two paths could disagree.
 */
const NOT_WELL_FORMED =
  'holds half of a surrogate pair (a string cut inside a character such as an emoji); pass whole characters';
function hasLoneSurrogate(value: unknown): boolean {
  return typeof value === 'string' && /\p{Surrogate}/u.test(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
function isComparable(value: unknown): value is string | number {
  return isString(value) || isFiniteNumber(value);
}
function isScalar(value: unknown): value is string | number | boolean {
  return isComparable(value) || typeof value === 'boolean';
}
function isNonEmptyComparableList(value: unknown): value is (string | number)[] {
  return Array.isArray(value) && value.length > 0 && value.every(isComparable);
}
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function invalid(path: string, problem: string): never {
  throw kbError(
    'INVALID_FILTER',
    `${path}: ${problem}. A filter is one Bedrock RetrievalFilter operator, e.g. { equals: { key: 'year', value: 2024 } } or { andAll: [filter, filter] }.`,
    { input: path },
  );
}

/**
 * Checks that `filter` is a well-formed RetrievalFilter and returns a clean copy of it.
 * Throws INVALID_FILTER naming the offending part by its path, e.g. `filter.andAll[1].in.value: expected …`.
 */
export function validateFilter(filter: unknown): RetrievalFilter {
  const counter = { conditions: 0 };
  return validateNode(filter, 'filter', 1, counter);
}

function validateNode(
  node: unknown,
  path: string,
  depth: number,
  counter: { conditions: number },
): RetrievalFilter {
  if (!isPlainObject(node)) invalid(path, `expected a filter object, got ${describe(node)}`);
  const operators = Object.keys(node);
  if (operators.length !== 1) {
    invalid(
      path,
      operators.length === 0
        ? 'expected exactly one operator, got an empty object'
        : `expected exactly one operator, got ${operators.length} (${operators.join(', ')}); combine conditions with andAll or orAll`,
    );
  }
  const operator = operators[0]!;
  if (!ALL_OPERATORS.includes(operator)) {
    invalid(path, `unknown operator "${operator}"; expected one of ${ALL_OPERATORS.join(', ')}`);
  }
  const operand = node[operator];
  const operandPath = `${path}.${operator}`;

  if (operator === 'andAll' || operator === 'orAll') {
    if (depth >= MAX_FILTER_DEPTH) {
      invalid(
        operandPath,
        `filters may nest at most ${MAX_FILTER_DEPTH} levels deep; flatten the expression`,
      );
    }
    if (!Array.isArray(operand))
      invalid(operandPath, `expected an array of filters, got ${describe(operand)}`);
    if (operand.length < 2) {
      invalid(
        operandPath,
        `expected at least 2 filters (Bedrock's minimum), got ${operand.length}; use the single filter directly`,
      );
    }
    const members = operand.map((member, i) =>
      validateNode(member, `${operandPath}[${i}]`, depth + 1, counter),
    );
    return (operator === 'andAll' ? { andAll: members } : { orAll: members }) as RetrievalFilter;
  }

  counter.conditions += 1;
  if (counter.conditions > MAX_FILTER_CONDITIONS) {
    invalid(path, `a filter may hold at most ${MAX_FILTER_CONDITIONS} conditions`);
  }
  const attribute = validateAttribute(operator as AttributeOperator, operand, operandPath);
  return { [operator]: attribute } as RetrievalFilter;
}

function validateAttribute(operator: AttributeOperator, operand: unknown, path: string): FilterAttribute {
  if (!isPlainObject(operand)) invalid(path, `expected { key, value }, got ${describe(operand)}`);
  for (const field of Object.keys(operand)) {
    if (field !== 'key' && field !== 'value')
      invalid(`${path}.${field}`, 'unexpected field; expected only key and value');
  }
  const { key, value } = operand;
  if (key === undefined) invalid(`${path}.key`, 'missing key; name the metadata attribute to compare');
  if (typeof key !== 'string') invalid(`${path}.key`, `expected a string, got ${describe(key)}`);
  if (key.length === 0) invalid(`${path}.key`, 'expected a non-empty string');
  if (key.length > MAX_FILTER_KEY_LENGTH) {
    invalid(
      `${path}.key`,
      `expected at most ${MAX_FILTER_KEY_LENGTH} characters (Bedrock's limit), got ${key.length}`,
    );
  }
  if (value === undefined) invalid(`${path}.value`, 'missing value');
  const rule = VALUE_RULES[operator];
  if (!rule.accepts(value)) invalid(`${path}.value`, `expected ${rule.expected}, got ${describe(value)}`);
  if (hasLoneSurrogate(key)) invalid(`${path}.key`, NOT_WELL_FORMED);
  if ((Array.isArray(value) ? value : [value]).some(hasLoneSurrogate))
    invalid(`${path}.value`, NOT_WELL_FORMED);
  return { key, value: Array.isArray(value) ? [...value] : value } as FilterAttribute;
}

export interface CompiledFilter {
  /** A boolean SQL expression; every key and value is a `?` placeholder. */
  sql: string;
  /** Values for the placeholders, in order. Only strings and numbers. */
  params: (string | number)[];
}

/** SQLite JSON path for a top-level key. Quoted labels end at the first `"`, so quotes become \u0022 escapes. */
export function jsonPathForKey(key: string): string {
  return `$."${key.replaceAll('\\', '\\\\').replaceAll('"', '\\u0022')}"`;
}

/**
 * Compiles a filter into a parameterised SQLite boolean expression over a JSON metadata column
 * (`json_extract`, `json_type`, `json_each`). The filter is validated first. Keys and values are always bound
 * parameters, never spliced into the SQL. `column` is trusted SQL (the caller's column reference).
 */
export function compileFilterToSql(filter: RetrievalFilter, column = 'c.metadata'): CompiledFilter {
  const params: (string | number)[] = [];
  const sql = compileNode(validateFilter(filter), column, params);
  return { sql, params };
}

function compileNode(filter: RetrievalFilter, column: string, params: (string | number)[]): string {
  if ('andAll' in filter)
    return `(${filter.andAll.map((f) => compileNode(f, column, params)).join(' AND ')})`;
  if ('orAll' in filter) return `(${filter.orAll.map((f) => compileNode(f, column, params)).join(' OR ')})`;
  const [operator, attribute] = Object.entries(filter)[0] as [AttributeOperator, FilterAttribute];
  const path = jsonPathForKey(attribute.key);
  const value = attribute.value;
  // Each helper pushes its parameters in the order its placeholders appear.
  // A missing key has no JSON type; '' keeps every type test (including IN lists) true or false, never NULL.
  const type = () => {
    params.push(path);
    return `ifnull(json_type(${column}, ?), '')`;
  };
  const extract = () => {
    params.push(path);
    return `json_extract(${column}, ?)`;
  };
  const bind = (v: string | number) => {
    params.push(v);
    return '?';
  };
  // Every condition below is 0 or 1, never NULL (values are read only once their type is known), so NOT is exact.
  const equals = (v: string | number | boolean): string => {
    if (typeof v === 'boolean') return `(${type()} = ${bind(v ? 'true' : 'false')})`;
    if (typeof v === 'string') return `(${type()} = 'text' AND ${extract()} = ${bind(v)})`;
    return `(${type()} IN ('integer', 'real') AND ${extract()} = ${bind(v)})`;
  };
  const compare = (op: string, v: string | number): string =>
    typeof v === 'string'
      ? `(${type()} = 'text' AND ${extract()} ${op} ${bind(v)})`
      : `(${type()} IN ('integer', 'real') AND ${extract()} ${op} ${bind(v)})`;
  const inList = (list: (string | number)[]): string =>
    `(${type()} IN ('text', 'integer', 'real') AND ${extract()} IN (SELECT value FROM json_each(${bind(JSON.stringify(list))})))`;
  const anyListMember = (condition: (member: string) => string, requireList: boolean): string => {
    const guard = requireList ? `${type()} = 'array'` : `${type()} IN ('text', 'array')`;
    params.push(path);
    return `(${guard} AND EXISTS (SELECT 1 FROM json_each(${column}, ?) AS kb_filter_member WHERE ${condition('kb_filter_member')}))`;
  };

  switch (operator) {
    case 'equals':
      return equals(value as string | number | boolean);
    case 'notEquals':
      return `(NOT ${equals(value as string | number | boolean)})`;
    case 'greaterThan':
      return compare('>', value as string | number);
    case 'greaterThanOrEquals':
      return compare('>=', value as string | number);
    case 'lessThan':
      return compare('<', value as string | number);
    case 'lessThanOrEquals':
      return compare('<=', value as string | number);
    case 'in':
      return inList(value as (string | number)[]);
    case 'notIn':
      return `(${type()} <> '' AND NOT ${inList(value as (string | number)[])})`;
    case 'startsWith':
      // instr, not substr(…, length(?)): SQLite's length() stops at a NUL, so a prefix holding one was cut short.
      return `(${type()} = 'text' AND instr(${extract()}, ${bind(value as string)}) = 1)`;
    case 'listContains': {
      const v = value as string | number;
      return anyListMember(
        (m) =>
          `${m}.type ${typeof v === 'string' ? "= 'text'" : "IN ('integer', 'real')"} AND ${m}.value = ${bind(v)}`,
        true,
      );
    }
    case 'stringContains':
      return anyListMember(
        (m) => `${m}.type = 'text' AND instr(${m}.value, ${bind(value as string)}) > 0`,
        false,
      );
  }
}

/**
 * Evaluates a filter against one metadata object with exactly the semantics of `compileFilterToSql`
 * (used by the HNSW filter callback and the Bedrock emulator). The filter is trusted: validate it first.
 */
export function matchesFilter(
  filter: RetrievalFilter,
  metadata: Readonly<Metadata> | Readonly<Record<string, unknown>>,
): boolean {
  if ('andAll' in filter) return filter.andAll.every((f) => matchesFilter(f, metadata));
  if ('orAll' in filter) return filter.orAll.some((f) => matchesFilter(f, metadata));
  const [operator, attribute] = Object.entries(filter)[0] as [AttributeOperator, FilterAttribute];
  const present = Object.hasOwn(metadata, attribute.key);
  const v: unknown = present ? (metadata as Readonly<Record<string, unknown>>)[attribute.key] : undefined;
  const target = attribute.value;
  switch (operator) {
    case 'equals':
      return scalarEquals(v, target);
    case 'notEquals':
      return !scalarEquals(v, target);
    case 'greaterThan':
      return compareSameType(v, target, (c) => c > 0);
    case 'greaterThanOrEquals':
      return compareSameType(v, target, (c) => c >= 0);
    case 'lessThan':
      return compareSameType(v, target, (c) => c < 0);
    case 'lessThanOrEquals':
      return compareSameType(v, target, (c) => c <= 0);
    case 'in':
      return inList(v, target as (string | number)[]);
    case 'notIn':
      return present && !inList(v, target as (string | number)[]);
    case 'startsWith':
      return typeof v === 'string' && v.startsWith(target as string);
    case 'listContains':
      return Array.isArray(v) && v.some((member) => isComparable(member) && member === target);
    case 'stringContains': {
      const needle = target as string;
      if (typeof v === 'string') return v.includes(needle);
      return Array.isArray(v) && v.some((member) => typeof member === 'string' && member.includes(needle));
    }
  }
}

function scalarEquals(v: unknown, target: unknown): boolean {
  return isScalar(v) && typeof v === typeof target && v === target;
}

function inList(v: unknown, list: (string | number)[]): boolean {
  return isComparable(v) && list.some((member) => member === v);
}

function compareSameType(v: unknown, target: unknown, test: (comparison: number) => boolean): boolean {
  if (typeof v === 'number' && typeof target === 'number' && Number.isFinite(v)) {
    return test(v === target ? 0 : v < target ? -1 : 1);
  }
  if (typeof v === 'string' && typeof target === 'string') return test(compareByCodePoint(v, target));
  return false;
}

/**
 * Orders strings by Unicode code point, as SQLite's BINARY collation orders UTF-8 text. JavaScript's `<` compares
 * UTF-16 code units instead, which puts astral characters (surrogate pairs) before U+E000–U+FFFF.
 */
export function compareByCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrderKey(x) - codePointOrderKey(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–U+DFFF) stand for code points above U+FFFF, so they sort after U+E000–U+FFFF. */
function codePointOrderKey(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
