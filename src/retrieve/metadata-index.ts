/**
 * Bedrock metadata filters answered from memory: an inverted index of metadata key → value → chunk ids, kept in
 * step with the store by its owner (`add` / `remove`), evaluated into a bitset over chunk ids. A filter costs
 * time in proportion to the chunks it names and the distinct values it has to look at, never a JSON scan of
 * every chunk. Semantics are exactly those of `matchesFilter` and `compileFilterToSql` (tests compare all three).
 */
import type { FilterAttribute, RetrievalFilter } from '../types.js';
import { type AttributeOperator, compareByCodePoint } from './filter.js';

/** A set of chunk ids as a bitset: `has` is one array read, which is what HNSW's filter callback needs. */
export class ChunkIdSet {
  private constructor(
    private words: Uint32Array,
    private count: number | undefined,
  ) {}

  static empty(capacityIds: number): ChunkIdSet {
    return new ChunkIdSet(new Uint32Array((capacityIds >>> 5) + 1), 0);
  }

  static of(ids: Iterable<number>): ChunkIdSet {
    const set = ChunkIdSet.empty(0);
    for (const id of ids) set.add(id);
    return set;
  }

  has(id: number): boolean {
    const word = id >>> 5;
    return word < this.words.length && (this.words[word]! & (1 << (id & 31))) !== 0;
  }

  add(id: number): void {
    const word = id >>> 5;
    if (word >= this.words.length) this.growTo(word);
    this.words[word]! |= 1 << (id & 31);
    this.count = undefined;
  }

  delete(id: number): void {
    const word = id >>> 5;
    if (word >= this.words.length) return;
    this.words[word]! &= ~(1 << (id & 31));
    this.count = undefined;
  }

  get size(): number {
    if (this.count === undefined) {
      let count = 0;
      for (const word of this.words) count += popcount(word);
      this.count = count;
    }
    return this.count;
  }

  /** The ids in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w]!;
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word);
        yield w * 32 + bit;
        word &= word - 1;
      }
    }
  }

  /** A new set: this ∩ other. */
  and(other: ChunkIdSet): ChunkIdSet {
    const length = Math.min(this.words.length, other.words.length);
    const words = new Uint32Array(length);
    for (let i = 0; i < length; i++) words[i] = this.words[i]! & other.words[i]!;
    return new ChunkIdSet(words, undefined);
  }

  /** A new set: this ∪ other. */
  or(other: ChunkIdSet): ChunkIdSet {
    const [long, short] = this.words.length >= other.words.length ? [this, other] : [other, this];
    const words = long.words.slice();
    for (let i = 0; i < short.words.length; i++) words[i]! |= short.words[i]!;
    return new ChunkIdSet(words, undefined);
  }

  /** A new set: this ∖ other. */
  minus(other: ChunkIdSet): ChunkIdSet {
    const words = this.words.slice();
    const length = Math.min(words.length, other.words.length);
    for (let i = 0; i < length; i++) words[i]! &= ~other.words[i]!;
    return new ChunkIdSet(words, undefined);
  }

  copy(): ChunkIdSet {
    return new ChunkIdSet(this.words.slice(), this.count);
  }

  private growTo(word: number): void {
    const words = new Uint32Array(Math.max(word + 1, this.words.length * 2));
    words.set(this.words);
    this.words = words;
  }
}

function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Chunk ids of one value, appended as chunks arrive; ids of removed chunks stay until the next compaction. */
class Postings {
  ids = new Uint32Array(4);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Uint32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }

  addTo(set: ChunkIdSet): void {
    for (let i = 0; i < this.length; i++) set.add(this.ids[i]!);
  }

  keepOnly(alive: ChunkIdSet): void {
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      const id = this.ids[i]!;
      if (alive.has(id)) this.ids[kept++] = id;
    }
    this.length = kept;
  }
}

interface ValuePostings<V> {
  value: V;
  postings: Postings;
}

/** Everything indexed under one metadata key. */
class KeyIndex {
  /** Chunks that have the key, whatever its type (notIn needs the key to be present). */
  readonly present = new Postings();
  readonly strings = new Map<string, ValuePostings<string>>();
  readonly numbers = new Map<number, ValuePostings<number>>();
  readonly booleans = new Map<boolean, ValuePostings<boolean>>();
  /** Members of list values, by type. */
  readonly memberStrings = new Map<string, ValuePostings<string>>();
  readonly memberNumbers = new Map<number, ValuePostings<number>>();
  private sortedStrings: ValuePostings<string>[] | undefined;
  private sortedNumbers: ValuePostings<number>[] | undefined;

  add(id: number, value: unknown): void {
    this.present.push(id);
    if (typeof value === 'string') {
      if (addTo(this.strings, value, id)) this.sortedStrings = undefined;
    } else if (typeof value === 'number') {
      if (addTo(this.numbers, value, id)) this.sortedNumbers = undefined;
    } else if (typeof value === 'boolean') {
      addTo(this.booleans, value, id);
    } else if (Array.isArray(value)) {
      // A member listed twice is one membership.
      for (const member of new Set(value)) {
        if (typeof member === 'string') addTo(this.memberStrings, member, id);
        else if (typeof member === 'number') addTo(this.memberNumbers, member, id);
      }
    }
  }

  /** String values in code point order (SQLite's BINARY order of UTF-8), built on first use after a change. */
  stringsInOrder(): ValuePostings<string>[] {
    this.sortedStrings ??= [...this.strings.values()].sort((a, b) => compareByCodePoint(a.value, b.value));
    return this.sortedStrings;
  }

  numbersInOrder(): ValuePostings<number>[] {
    this.sortedNumbers ??= [...this.numbers.values()].sort((a, b) => a.value - b.value);
    return this.sortedNumbers;
  }

  allPostings(): Postings[] {
    const maps = [this.strings, this.numbers, this.booleans, this.memberStrings, this.memberNumbers] as const;
    return [this.present, ...maps.flatMap((map) => [...map.values()].map((entry) => entry.postings))];
  }
}

/** Adds `id` under `value`; true when the value is new to the map. */
function addTo<V>(map: Map<V, ValuePostings<V>>, value: V, id: number): boolean {
  const entry = map.get(value);
  if (entry) {
    entry.postings.push(id);
    return false;
  }
  const postings = new Postings();
  postings.push(id);
  map.set(value, { value, postings });
  return true;
}

export class MetadataIndex {
  private readonly keys = new Map<string, KeyIndex>();
  private alive = ChunkIdSet.empty(1024);
  /** Ids ever removed: one coming back must not inherit the values its old postings hold. */
  private removed = ChunkIdSet.empty(1024);
  private live = 0;
  private dead = 0;

  /** Chunks indexed now. */
  get size(): number {
    return this.live;
  }

  has(id: number): boolean {
    return this.alive.has(id);
  }

  /** The indexed chunk ids, ascending. */
  ids(): Iterable<number> {
    return this.alive;
  }

  /** Indexes a chunk's metadata (the document's, with the chunk's own laid over it). */
  add(id: number, metadata: Readonly<Record<string, unknown>>): void {
    if (this.alive.has(id)) this.remove(id);
    if (this.removed.has(id)) {
      this.compact();
      this.removed.delete(id);
    }
    this.alive.add(id);
    this.live++;
    for (const key of Object.keys(metadata)) {
      let index = this.keys.get(key);
      if (!index) {
        index = new KeyIndex();
        this.keys.set(key, index);
      }
      index.add(id, metadata[key]);
    }
  }

  remove(id: number): void {
    if (!this.alive.has(id)) return;
    this.alive.delete(id);
    this.removed.add(id);
    this.live--;
    this.dead++;
    // Postings are cleaned in bulk once removed chunks outnumber the live ones.
    if (this.dead > Math.max(1024, this.live)) this.compact();
  }

  /** Every chunk the filter accepts. The filter is trusted: validate it first (`validateFilter`). */
  matching(filter: RetrievalFilter): ChunkIdSet {
    return this.evaluate(filter).and(this.alive);
  }

  private evaluate(filter: RetrievalFilter): ChunkIdSet {
    if ('andAll' in filter) {
      return filter.andAll.map((f) => this.evaluate(f)).reduce((a, b) => a.and(b));
    }
    if ('orAll' in filter) {
      return filter.orAll.map((f) => this.evaluate(f)).reduce((a, b) => a.or(b));
    }
    const [operator, attribute] = Object.entries(filter)[0] as [AttributeOperator, FilterAttribute];
    const index = this.keys.get(attribute.key);
    const target = attribute.value;
    const result = ChunkIdSet.empty(0);
    const union = (entries: Iterable<ValuePostings<unknown> | undefined>) => {
      for (const entry of entries) entry?.postings.addTo(result);
      return result;
    };
    switch (operator) {
      case 'equals':
        return index ? union([scalarEntry(index, target)]) : result;
      case 'notEquals':
        return this.alive.minus(index ? union([scalarEntry(index, target)]) : result);
      case 'greaterThan':
        return index ? union(range(index, target as string | number, (c) => c > 0)) : result;
      case 'greaterThanOrEquals':
        return index ? union(range(index, target as string | number, (c) => c >= 0)) : result;
      case 'lessThan':
        return index ? union(range(index, target as string | number, (c) => c < 0)) : result;
      case 'lessThanOrEquals':
        return index ? union(range(index, target as string | number, (c) => c <= 0)) : result;
      case 'in':
        return index ? union((target as (string | number)[]).map((v) => comparableEntry(index, v))) : result;
      case 'notIn': {
        if (!index) return result;
        const present = ChunkIdSet.empty(0);
        index.present.addTo(present);
        return present.minus(union((target as (string | number)[]).map((v) => comparableEntry(index, v))));
      }
      case 'startsWith':
        return index ? union(withPrefix(index, target as string)) : result;
      case 'listContains':
        if (!index) return result;
        return union([
          typeof target === 'string'
            ? index.memberStrings.get(target)
            : index.memberNumbers.get(target as number),
        ]);
      case 'stringContains': {
        if (!index) return result;
        const needle = target as string;
        const holders = [...index.strings.values(), ...index.memberStrings.values()];
        return union(holders.filter((entry) => entry.value.includes(needle)));
      }
    }
  }

  /** Drops removed chunks from every posting list. */
  private compact(): void {
    for (const index of this.keys.values())
      for (const postings of index.allPostings()) postings.keepOnly(this.alive);
    this.removed = ChunkIdSet.empty(1024);
    this.dead = 0;
  }
}

function scalarEntry(index: KeyIndex, value: unknown): ValuePostings<unknown> | undefined {
  if (typeof value === 'string') return index.strings.get(value);
  if (typeof value === 'number') return index.numbers.get(value);
  if (typeof value === 'boolean') return index.booleans.get(value);
  return undefined;
}

function comparableEntry(index: KeyIndex, value: string | number): ValuePostings<unknown> | undefined {
  return typeof value === 'string' ? index.strings.get(value) : index.numbers.get(value);
}

/** Values of the target's type whose comparison with it passes `test`: a contiguous run of the sorted values. */
function range(
  index: KeyIndex,
  target: string | number,
  test: (comparison: number) => boolean,
): ValuePostings<unknown>[] {
  if (typeof target === 'number') {
    return index
      .numbersInOrder()
      .filter((entry) => test(entry.value === target ? 0 : entry.value < target ? -1 : 1));
  }
  const sorted = index.stringsInOrder();
  const at = lowerBound(sorted, target);
  const equal = at < sorted.length && sorted[at]!.value === target ? 1 : 0;
  if (test(1) && !test(-1)) return sorted.slice(test(0) ? at : at + equal);
  return sorted.slice(0, test(0) ? at + equal : at);
}

/** Strings starting with `prefix` sit together in code point order, from the prefix itself onwards. */
function withPrefix(index: KeyIndex, prefix: string): ValuePostings<string>[] {
  const sorted = index.stringsInOrder();
  const matches: ValuePostings<string>[] = [];
  for (let i = lowerBound(sorted, prefix); i < sorted.length && sorted[i]!.value.startsWith(prefix); i++) {
    matches.push(sorted[i]!);
  }
  return matches;
}

/** First position whose value is not below `target` in code point order. */
function lowerBound(sorted: readonly ValuePostings<string>[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareByCodePoint(sorted[middle]!.value, target) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
