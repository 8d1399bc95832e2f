/**
 * SciFact for the quality benches: both splits and the corpus in the order the embedding cache is warmed — every
 * document judged in the test or train qrels first, then the rest in a seeded shuffle. Embedding SciFact with USE
 * takes hours on a shared 2-core machine, so a bench can be run on the first `limit` documents: every query then
 * still has all its judged documents, and only unjudged distractors are missing (the report says how many).
 */
import { type BeirDataset, beirDocumentToInput, loadBeirDataset } from '../src/eval/index.js';
import { seededRandom } from '../src/seeded-random.js';
import type { DocumentInput } from '../src/types.js';

export interface ScifactSplits {
  test: BeirDataset;
  train: BeirDataset;
  /** Judged documents first, then the rest shuffled; cut to `limit` when one was given. */
  documents: DocumentInput[];
  /** Documents in the whole corpus, and how many of them are judged in either split. */
  corpusSize: number;
  judged: number;
}

/** `limit`: the first N documents of the order (never fewer than the judged ones); `ids`: only these documents. */
export async function loadScifact(
  dir: string,
  { limit, ids }: { limit?: number; ids?: ReadonlySet<string> } = {},
): Promise<ScifactSplits> {
  const test = await loadBeirDataset(dir, { split: 'test' });
  const train = await loadBeirDataset(dir, { split: 'train' });
  const judgedIds = new Set<string>();
  for (const qrels of [test.qrels, train.qrels]) {
    for (const docs of qrels.values()) for (const id of docs.keys()) judgedIds.add(id);
  }
  const judged: DocumentInput[] = [];
  const rest: DocumentInput[] = [];
  for await (const document of test.corpus) {
    (judgedIds.has(document.id) ? judged : rest).push(beirDocumentToInput(document));
  }
  const random = seededRandom(12);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  const all = [...judged, ...rest];
  const kept = ids ? all.filter((document) => ids.has(document.id!)) : all;
  return {
    test,
    train,
    documents: limit === undefined ? kept : kept.slice(0, Math.max(limit, judged.length)),
    corpusSize: all.length,
    judged: judged.length,
  };
}
