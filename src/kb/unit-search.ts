/**
 * Each retriever sees the unit it is good at: the embedder reads passages, BM25 ranks sections (a parent chunk, or
 * a leaf that is its own section). Both sides are brought to one unit — passages, sections or documents — before
 * they are fused, and each ranked section or document then hands back its best passage.
 */
import {
  bm25Ceiling,
  bm25Score,
  fts5Idf,
  fuseHybrid,
  type HybridCandidate,
  type HybridOptions,
  lexicalScores,
  semanticScore,
  weightedQueryTerms,
} from '../retrieve/index.js';
import { exactSearch } from '../store/exact-search.js';
import type { ChunkLink, ScoredId, SqliteStore } from '../store/sqlite-store.js';

/** What one search ranks: passages (dense alone, at passage level), sections, or whole documents. */
export type RankUnit = 'passage' | 'section' | 'document';

/** A unit as both sides see it: ranks and [0, 1] scores (HybridCandidate), raw scores, and what scored it. */
export interface UnitCandidate extends HybridCandidate {
  semanticRaw?: number;
  bm25Raw?: number;
  /** The passage with the best cosine, and the section with the best BM25 score, when known. */
  densePassage?: number;
  bm25Section?: number;
}

export interface SidesInput {
  store: SqliteStore;
  unit: RankUnit;
  /** Most units kept per side. */
  pool: number;
  dense: readonly ScoredId[];
  sparse: readonly ScoredId[];
  /** What the query can score on BM25 (see bm25Ceiling). */
  ceiling: number;
  allowed: { has(id: number): boolean } | undefined;
  /** When given, units found by one side only are scored on the other too (weighted fusion needs both scores). */
  fill?: { vector?: Float32Array; match?: string };
}

function unitKey(link: ChunkLink, unit: RankUnit): string {
  if (unit === 'passage') return `p${link.id}`;
  if (unit === 'section') return `s${link.sectionId}`;
  return `d${link.documentRowId}`;
}

const unitId = (key: string) => Number(key.slice(1));

/**
 * Both sides' units, the dense side's first: each unit at its best hit, at most `pool` per side, ranked within its
 * side; with `fill`, the other side's score of every unit too.
 */
export function collectSides(input: SidesInput): UnitCandidate[] {
  const { store, unit, pool, ceiling } = input;
  // A passage is its own unit, and a BM25 hit is a section: only the other cases need each hit's place looked up
  // (the index and FTS5 hold only live chunks; a chunk deleted meanwhile drops out when it is fetched).
  const links = store.chunkLinks([
    ...(unit === 'passage' ? [] : input.dense.map((d) => d.id)),
    ...(unit === 'document' ? input.sparse.map((s) => s.id) : []),
  ]);
  const candidates = new Map<string, UnitCandidate>();
  let rank = 0;
  for (const hit of input.dense) {
    if (rank >= pool) break;
    const link = unit === 'passage' ? undefined : links.get(hit.id);
    if (!link && unit !== 'passage') continue;
    const key = link ? unitKey(link, unit) : `p${hit.id}`;
    if (candidates.has(key)) continue;
    candidates.set(key, {
      id: key,
      semanticRank: ++rank,
      semantic: semanticScore(hit.score),
      semanticRaw: hit.score,
      densePassage: hit.id,
    });
  }
  rank = 0;
  for (const hit of input.sparse) {
    if (rank >= pool) break;
    const link = unit === 'document' ? links.get(hit.id) : undefined;
    if (!link && unit === 'document') continue;
    const key = link ? unitKey(link, unit) : `s${hit.id}`;
    const candidate = candidates.get(key) ?? { id: key };
    if (candidate.bm25Rank !== undefined) continue;
    Object.assign(candidate, {
      bm25Rank: ++rank,
      bm25: bm25Score(hit.score, ceiling),
      bm25Raw: hit.score,
      bm25Section: hit.id,
    });
    candidates.set(key, candidate);
  }
  if (input.fill) fillOtherSide([...candidates.values()], input);
  return [...candidates.values()];
}

/** Scores units one side missed on that side: exact cosines of their passages, BM25 of their sections. */
function fillOtherSide(candidates: UnitCandidate[], input: SidesInput): void {
  const { store, unit, allowed, fill } = input;
  const permitted = (ids: readonly number[]) =>
    allowed === undefined ? ids : ids.filter((id) => allowed.has(id));
  const vector = fill?.vector;
  const noDense = candidates.filter((c) => c.semanticRaw === undefined);
  if (vector && noDense.length > 0) {
    const passages = unitChunks(store, noDense, unit, 'passages');
    const all = [...passages.values()].flatMap((ids) => permitted(ids));
    const cosines = new Map(
      all.length === 0
        ? []
        : exactSearch(store, vector, all.length, { candidateIds: all }).map((s) => [s.id, s.score]),
    );
    for (const candidate of noDense) {
      for (const id of permitted(passages.get(candidate.id) ?? [])) {
        const cosine = cosines.get(id);
        if (cosine !== undefined && (candidate.semanticRaw === undefined || cosine > candidate.semanticRaw)) {
          candidate.semanticRaw = cosine;
          candidate.semantic = semanticScore(cosine);
          candidate.densePassage = id;
        }
      }
    }
  }
  const match = fill?.match;
  const noBm25 = candidates.filter((c) => c.bm25Raw === undefined);
  if (match && noBm25.length > 0) {
    const sections = unitChunks(store, noBm25, unit, 'sections');
    const all = [...new Set([...sections.values()].flatMap((ids) => permitted(ids)))];
    const scores = new Map(
      all.length === 0
        ? []
        : store.bm25Search(match, all.length, { candidateIds: all }).map((s) => [s.id, s.score]),
    );
    for (const candidate of noBm25) {
      candidate.bm25Raw = 0;
      candidate.bm25 = 0;
      for (const id of permitted(sections.get(candidate.id) ?? [])) {
        const raw = scores.get(id);
        if (raw !== undefined && raw > candidate.bm25Raw) {
          candidate.bm25Raw = raw;
          candidate.bm25 = bm25Score(raw, input.ceiling);
          candidate.bm25Section = id;
        }
      }
    }
  }
}

/** The passages or sections of each candidate unit, by unit key. */
function unitChunks(
  store: SqliteStore,
  candidates: readonly UnitCandidate[],
  unit: RankUnit,
  kind: 'passages' | 'sections',
): Map<string, number[]> {
  const result = new Map<string, number[]>();
  if (unit === 'document') {
    const byDocument = store.chunksOfDocuments(
      candidates.map((c) => unitId(c.id)),
      kind,
    );
    for (const c of candidates) result.set(c.id, byDocument.get(unitId(c.id)) ?? []);
  } else if (kind === 'passages') {
    const bySection = store.passagesOfSections(candidates.map((c) => unitId(c.id)));
    for (const c of candidates) result.set(c.id, bySection.get(unitId(c.id)) ?? []);
  } else {
    for (const c of candidates) result.set(c.id, [unitId(c.id)]);
  }
  return result;
}

/** The inputs for choosing each ranked unit's passage. */
export interface PassageChoice {
  store: SqliteStore;
  query: string;
  unit: RankUnit;
  allowed: { has(id: number): boolean } | undefined;
  /** The query vector, when the search had a dense side. */
  vector?: Float32Array;
  /** FTS5's idf of a query word over the sections, for the lexical choice. */
  idf?: (word: string) => number;
  hybrid: HybridOptions;
}

/**
 * The passage each unit hands back: the unit itself at passage level; otherwise the best passage of the unit's
 * section (for a document: the section BM25 ranked best, else the one of its best dense passage), ranked inside it
 * by the search's own fusion of cosine and a lexical BM25 over those passages.
 */
export function choosePassages(units: readonly UnitCandidate[], choice: PassageChoice): Map<string, number> {
  const chosen = new Map<string, number>();
  if (choice.unit === 'passage') {
    for (const u of units) chosen.set(u.id, unitId(u.id));
    return chosen;
  }
  const { store, allowed } = choice;
  const sectionOf = new Map<string, number>();
  const densePassages = units.flatMap((u) =>
    choice.unit === 'document' && u.bm25Section === undefined && u.densePassage !== undefined
      ? [u.densePassage]
      : [],
  );
  const denseLinks = store.chunkLinks(densePassages);
  for (const u of units) {
    if (choice.unit === 'section') sectionOf.set(u.id, unitId(u.id));
    else if (u.bm25Section !== undefined) sectionOf.set(u.id, u.bm25Section);
    else if (u.densePassage !== undefined) {
      const section = denseLinks.get(u.densePassage)?.sectionId;
      if (section !== undefined) sectionOf.set(u.id, section);
    }
  }
  const passagesOf = store.passagesOfSections([...new Set(sectionOf.values())]);
  const candidates = new Map<string, number[]>();
  for (const u of units) {
    const ids = (passagesOf.get(sectionOf.get(u.id) ?? -1) ?? []).filter(
      (id) => allowed === undefined || allowed.has(id),
    );
    if (ids.length === 0 && u.densePassage !== undefined) ids.push(u.densePassage);
    candidates.set(u.id, ids);
  }
  const several = [...new Set([...candidates.values()].filter((ids) => ids.length > 1).flat())];
  if (several.length === 0) {
    for (const [key, ids] of candidates) if (ids[0] !== undefined) chosen.set(key, ids[0]);
    return chosen;
  }
  const vector = choice.vector;
  const cosines = new Map(
    vector
      ? exactSearch(store, vector, several.length, { candidateIds: several }).map((s) => [s.id, s.score])
      : [],
  );
  const texts = new Map(store.getChunks(several).map((chunk) => [chunk.id, chunk.text]));
  const terms = weightedQueryTerms(choice.query, choice.idf);
  const lexicalCeiling = terms.reduce((sum, t) => sum + t.weight * 2.2, 0);
  for (const [key, ids] of candidates) {
    if (ids.length <= 1) {
      if (ids[0] !== undefined) chosen.set(key, ids[0]);
      continue;
    }
    const lexical = lexicalScores(
      terms,
      ids.map((id) => texts.get(id) ?? ''),
    );
    const byLexical = rankOf(lexical);
    const byCosine = rankOf(ids.map((id) => cosines.get(id) ?? Number.NEGATIVE_INFINITY));
    const fused = fuseHybrid(
      ids.map((id, i) => {
        const cosine = cosines.get(id);
        return {
          id: String(id),
          bm25Rank: byLexical[i]!,
          bm25: lexicalCeiling > 0 ? lexical[i]! / lexicalCeiling : 0,
          ...(cosine !== undefined ? { semanticRank: byCosine[i]!, semantic: semanticScore(cosine) } : {}),
        };
      }),
      cosines.size > 0 ? choice.hybrid : { method: 'rrf', weights: { semantic: 0, bm25: 1 } },
    );
    chosen.set(key, Number(fused[0]!.id));
  }
  return chosen;
}

/** 1-based rank of each score among the others, best first, ties in input order. */
function rankOf(scores: readonly number[]): number[] {
  const order = scores.map((score, i) => ({ score, i })).sort((a, b) => b.score - a.score || a.i - b.i);
  const ranks = new Array<number>(scores.length);
  order.forEach((entry, position) => {
    ranks[entry.i] = position + 1;
  });
  return ranks;
}

/** FTS5's idf of each query phrase over the sections, and the BM25 ceiling of the query. */
export function sectionStatistics(
  store: SqliteStore,
  phrases: readonly string[],
): { idfOf: (word: string) => number; ceiling: number } {
  const unique = [...new Set(phrases)];
  const stats = store.bm25Statistics(unique);
  const byPhrase = new Map(unique.map((phrase, i) => [phrase, stats.matching[i]!]));
  const byWord = new Map(
    unique.map((phrase, i) => [
      phrase.slice(1, -1).replaceAll('""', '"').toLowerCase(),
      fts5Idf(stats.sections, stats.matching[i]!),
    ]),
  );
  return {
    idfOf: (word) => byWord.get(word.toLowerCase()) ?? fts5Idf(stats.sections, 0),
    ceiling: bm25Ceiling(
      stats.sections,
      phrases.map((phrase) => byPhrase.get(phrase)!),
    ),
  };
}
