/**
 * npm run bench:extractive — does the extractive answer answer? Side by side on one retrieval per question: the
 * previous ExtractiveGenerator (bench/baselines) and the current one, over bench/data/demo-questions.json (questions
 * about examples/corpus with the words an answer must contain). Prints JSON, then a table:
 *   top sentence answers    the first quoted sentence contains an answer
 *   some sentence answers   any quoted sentence does
 *   retrieved holds answer  one of the k retrieved passages does (what any sentence choice can reach)
 *   repeated sentences      answers quoting two near-identical sentences
 *   citations 1..n          answers whose markers number the sources 1, 2, … in order of first use
 *
 *   npx tsx bench/extractive.ts [--embedder none|use] [-k 5] [--questions bench/data/demo-questions-heldout.json]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PROMPT_TEMPLATE,
  ExtractiveGenerator,
  formatSources,
  parseCitationMarkers,
  renderPromptTemplate,
} from '../src/generate/index.js';
import type { Generator } from '../src/generate/types.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import { citationsOf } from '../src/kb/rag-answerer.js';
import { lexicalTerms } from '../src/retrieve/index.js';
import type { RetrievalResult } from '../src/types.js';
import { PreviousExtractiveGenerator } from './baselines/previous-extractive-generator.js';
import { printTable, repoRoot } from './shared-data.js';

const { values } = parseArgs({
  options: {
    embedder: { type: 'string', default: 'none' },
    k: { type: 'string', short: 'k', default: '5' },
    questions: { type: 'string', default: 'bench/data/demo-questions.json' },
  },
});
const k = Number(values.k);
const { questions } = JSON.parse(readFileSync(path.resolve(repoRoot, values.questions), 'utf8')) as {
  questions: { question: string; answers: string[] }[];
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-extractive-'));
const holds = (text: string, answers: string[]) =>
  answers.some((a) => text.toLowerCase().includes(a.toLowerCase()));

interface Tally {
  top: number;
  any: number;
  repeated: number;
  ordered: number;
  examples: { question: string; answer: string }[];
}

try {
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'demo.db'), {
    embedder: values.embedder as 'none' | 'use',
    offline: true,
  });
  await kb.ingest([path.join(repoRoot, 'examples/corpus')]);
  const generators: [string, Generator][] = [
    ['previous', new PreviousExtractiveGenerator()],
    ['current', new ExtractiveGenerator()],
  ];
  const tallies = new Map<string, Tally>(
    generators.map(([name]) => [name, { top: 0, any: 0, repeated: 0, ordered: 0, examples: [] }]),
  );
  let retrievable = 0;
  for (const { question, answers } of questions) {
    const results = await kb.retrieve(question, { k });
    if (results.some((r) => holds(r.content.text, answers))) retrievable++;
    for (const [name, generator] of generators) {
      const tally = tallies.get(name)!;
      const { text: raw } = await answerWith(generator, question, results);
      // What a user reads: the previous answerer passed the generator's markers through; the current renumbers.
      const text = name === 'current' ? citationsOf(raw, results).text : raw;
      const sentences = parseCitationMarkers(text).map((m) => text.slice(m.span.start, m.span.end));
      if (sentences[0] !== undefined && holds(sentences[0], answers)) tally.top++;
      if (sentences.some((s) => holds(s, answers))) tally.any++;
      if (hasRepeat(sentences)) tally.repeated++;
      if (numberedInOrder(text)) tally.ordered++;
      if (tally.examples.length < 3) tally.examples.push({ question, answer: text });
    }
  }
  const n = questions.length;
  const rows = generators.map(([name]) => {
    const t = tallies.get(name)!;
    return {
      generator: name,
      'top sentence answers': `${t.top}/${n}`,
      'some sentence answers': `${t.any}/${n}`,
      'retrieved holds answer': `${retrievable}/${n}`,
      'repeated sentences': `${t.repeated}/${n}`,
      'citations 1..n': `${t.ordered}/${n}`,
    };
  });
  const report = {
    corpus: 'examples/corpus',
    questionSet: values.questions,
    questions: n,
    embedder: kb.embedder?.id ?? 'none',
    k,
    retrievable,
    generators: Object.fromEntries([...tallies].map(([name, t]) => [name, { ...t, topRate: t.top / n }])),
  };
  await kb.close();
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${printTable(rows)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The generator's answer to the prompt the knowledge base would send it for these results. */
function answerWith(generator: Generator, question: string, results: RetrievalResult[]) {
  const prompt = renderPromptTemplate(DEFAULT_PROMPT_TEMPLATE, {
    query: question,
    searchResults: formatSources(results),
  });
  return generator.generate([{ role: 'user', content: prompt }]);
}

function hasRepeat(sentences: string[]): boolean {
  const sets = sentences.map((s) => new Set(lexicalTerms(s)));
  return sets.some((a, i) =>
    sets.slice(i + 1).some((b) => {
      const shared = [...a].filter((t) => b.has(t)).length;
      return shared / Math.max(1, Math.min(a.size, b.size)) >= 0.8;
    }),
  );
}

function numberedInOrder(text: string): boolean {
  const seen: number[] = [];
  for (const marker of parseCitationMarkers(text))
    for (const id of marker.sourceIds) if (!seen.includes(id)) seen.push(id);
  return seen.every((id, i) => id === i + 1);
}
