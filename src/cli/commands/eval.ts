import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { kbError } from '../../errors.js';
import { runRetrieval, tuneHybridWeights } from '../../eval/evaluate-knowledge-base.js';
import {
  beirDocumentToInput,
  checkAnswerCitations,
  formatMetricsTable,
  judgeFaithfulness,
  loadBeirDataset,
  loadReferenceScores,
  type ReferenceScore,
} from '../../eval/index.js';
import { evaluateRun } from '../../eval/metrics.js';
import { RECALL_CUTOFFS, retrievalReport } from '../../eval/run-report.js';
import { BedrockConverseGenerator } from '../../generate/index.js';
import { LocalKnowledgeBase } from '../../kb/local-knowledge-base.js';
import type { RetrieveOptions } from '../../kb/types.js';
import type { DocumentInput } from '../../types.js';
import { integerOption, parseCommandArgs, stringOption } from '../args.js';
import { announceEmbedderNotice, localOptionsFrom, MODEL_HELP, MODEL_OPTIONS } from '../open-kb.js';
import { indexRebuildReporter, ProgressLine } from '../progress.js';
import { rerankerFrom } from '../retrieval-options.js';
import { generatorFrom } from './ask.js';

const HELP = `Usage: localkb eval --beir <dir> --db <file> [options]

Evaluates retrieval on a BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv). The corpus is
ingested into <file> when that store is empty (one BEIR document = one document, title kept).

Options:
  --beir <dir>             the dataset folder
  --split <name>           qrels split to evaluate (default test)
  --db <file>              the store to evaluate (created and filled when empty)
${MODEL_HELP}
  --search-type <type>     semantic, bm25 or hybrid
  --rerank <name>          cross-encoder (local ms-marco-MiniLM-L-6-v2) or a Bedrock rerank model id
  --rerank-model-path <d>  local folder of the cross-encoder model
  --rerank-depth <n>       candidates reranked per query (default 100)
  --tune                   pick hybrid fusion weights on the train split, keep them in the store, then evaluate
  --tune-split <name>      split used by --tune (default train)
  --answers <n>            also generate answers for the first n queries and score their citations
  --generator <name>       extractive (default), bedrock or openai, for --answers
  --judge-model <id>       a Bedrock model that judges faithfulness of the answers
  --output <file>          write the report as JSON to <file>: metrics, recall@k, per-query scores
                           (load it in localkb playground's evaluation view)
  --json                   print the metrics as JSON`;

export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs('eval', argv, {
    beir: { type: 'string' },
    split: { type: 'string' },
    db: { type: 'string' },
    ...MODEL_OPTIONS,
    'search-type': { type: 'string' },
    rerank: { type: 'string' },
    'rerank-model-path': { type: 'string' },
    'rerank-depth': { type: 'string' },
    tune: { type: 'boolean' },
    'tune-split': { type: 'string' },
    answers: { type: 'string' },
    generator: { type: 'string' },
    model: { type: 'string' },
    'judge-model': { type: 'string' },
    output: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (args.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const beir = stringOption(args, 'beir');
  const db = stringOption(args, 'db');
  if (!beir || !db) {
    throw kbError('INVALID_OPTION', 'localkb eval: pass --beir <dataset folder> and --db <file>.', {
      input: beir ? '--db' : '--beir',
    });
  }
  const split = stringOption(args, 'split') ?? 'test';
  const searchType = stringOption(args, 'search-type') as RetrieveOptions['searchType'];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dataset = await loadBeirDataset(beir, { split });
  const datasetName = path.basename(path.resolve(beir)).toLowerCase();

  // The store is laid out as any other (sections for BM25, passages for the embedder); queries rank whole
  // documents, as BEIR judges them. The generator only writes answers for --answers; retrieval metrics never call it.
  const generator = generatorFrom(
    stringOption(args, 'generator') ?? 'extractive',
    stringOption(args, 'model'),
    undefined,
  );
  const kb = await LocalKnowledgeBase.open(db, {
    onIndexRebuild: indexRebuildReporter(),
    ...localOptionsFrom('eval', args),
    generation: { generator },
  });
  announceEmbedderNotice('eval', kb);
  const timings: Record<string, number> = {};
  try {
    const before = await kb.stats();
    if (before.documents === 0) {
      const started = Date.now();
      const documents: DocumentInput[] = [];
      for await (const document of dataset.corpus) documents.push(beirDocumentToInput(document));
      const progress = new ProgressLine();
      log(
        `ingesting ${documents.length} documents from ${beir} with ${kb.embedder?.id ?? 'no embedder (BM25 only)'}`,
      );
      await kb.ingest(documents, {
        onProgress: (p) => progress.ingest(p, 'ingest'),
      });
      progress.done();
      timings.ingestSeconds = (Date.now() - started) / 1000;
    }

    let tuning: Awaited<ReturnType<typeof tuneHybridWeights>> | undefined;
    if (args.values.tune) {
      const tuneSplit = stringOption(args, 'tune-split') ?? 'train';
      if (tuneSplit === split) {
        throw kbError(
          'INVALID_OPTION',
          `--tune-split must differ from --split (${split}): never tune on the queries you report.`,
          {
            input: '--tune-split',
          },
        );
      }
      if (!kb.embedder) {
        throw kbError(
          'INVALID_OPTION',
          '--tune picks hybrid weights, which needs a store with an embedder (not --embedder none).',
          {
            input: '--tune',
          },
        );
      }
      const started = Date.now();
      const train = await loadBeirDataset(beir, { split: tuneSplit });
      log(`tuning hybrid fusion on ${train.queries.size} ${tuneSplit} queries …`);
      tuning = await tuneHybridWeights(kb, train.queries, train.qrels);
      kb.setHybridDefaults({ method: tuning.best.method, weights: tuning.best.weights });
      timings.tuneSeconds = (Date.now() - started) / 1000;
      log(
        `tuned: ${tuning.best.method} with semantic ${tuning.best.weights.semantic} / bm25 ${tuning.best.weights.bm25} ` +
          `(${tuning.metric} ${tuning.best.score.toFixed(4)} on ${tuneSplit}); kept in ${db}`,
      );
    }

    const reranker = rerankerFrom(args);
    const started = Date.now();
    const progress = new ProgressLine();
    const run = await runRetrieval(kb, dataset.queries, {
      level: 'document',
      ...(searchType ? { searchType } : {}),
      ...(reranker ? { reranker } : {}),
      onProgress: (done, total) => progress.count(done, total, 'queries'),
    } as Parameters<typeof runRetrieval>[2]);
    progress.done();
    timings.querySeconds = (Date.now() - started) / 1000;
    const evaluation = evaluateRun(run, dataset.qrels, { k: RECALL_CUTOFFS });
    const retrieval = retrievalReport(evaluation, dataset.queries);
    const answers = await scoreAnswers(kb, generator.modelId, dataset.queries, args, searchType);
    const stats = await kb.stats();
    // A BM25-only store has one way to search: "bm25", not "bm25 bm25".
    const name = [
      kb.embedder ? `${kb.embedder.id} ${searchType ?? 'hybrid'}` : 'bm25',
      reranker ? `rerank ${stringOption(args, 'rerank')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const report = {
      name,
      dataset: datasetName,
      split,
      queries: evaluation.evaluatedQueries,
      store: path.resolve(db),
      embedder: kb.embedder?.id ?? 'none',
      searchType: searchType ?? (kb.embedder ? 'hybrid' : 'bm25'),
      rerank: stringOption(args, 'rerank') ?? null,
      ...retrieval,
      ...(tuning ? { tuning: { ...tuning.best, metric: tuning.metric, queries: tuning.queries } } : {}),
      ...(answers ? { answers } : {}),
      timings,
      documents: stats.documents,
      chunks: stats.chunks,
    };
    let references: ReferenceScore[] = [];
    try {
      references = await loadReferenceScores(path.resolve(beir, '../reference-scores'));
    } catch {
      // Published numbers are shown when the dataset sits beside reference-scores/ (as in ../shared/data).
    }
    if (args.values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(
        `${formatMetricsTable([{ name, metrics: retrieval.metrics, queries: evaluation.evaluatedQueries }], {
          references,
          dataset: datasetName,
          title: `${datasetName} ${split}`,
        })}\n`,
      );
      if (answers) process.stdout.write(`answers: ${JSON.stringify(answers)}\n`);
    }
    const output = stringOption(args, 'output');
    if (output) writeFileSync(output, `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    await kb.close();
  }
}

async function scoreAnswers(
  kb: LocalKnowledgeBase,
  generatorId: string,
  queries: ReadonlyMap<string, string>,
  args: Parameters<typeof stringOption>[0],
  searchType: RetrieveOptions['searchType'],
) {
  const count = integerOption('eval', args, 'answers', 0, { min: 0, max: 100_000 });
  if (count === 0) return undefined;
  const judgeModel = stringOption(args, 'judge-model');
  const judge = judgeModel ? new BedrockConverseGenerator({ modelId: judgeModel }) : undefined;
  let passed = 0;
  let coverage = 0;
  let precision = 0;
  let faithfulness = 0;
  const questions = [...queries.values()].slice(0, count);
  for (const question of questions) {
    const answer = await kb.retrieveAndGenerate(question, {
      k: 5,
      ...(searchType ? { searchType } : {}),
    });
    const report = checkAnswerCitations(answer);
    if (report.passed) passed++;
    coverage += report.claimCoverage;
    precision += report.citationPrecision;
    if (judge) {
      const verdict = await judgeFaithfulness({ answer, question }, async (prompt) => {
        const generation = await judge.generate([{ role: 'user', content: prompt }], {
          maxTokens: 1024,
          temperature: 0,
        });
        return generation.text;
      });
      faithfulness += verdict.score;
    }
  }
  const n = questions.length;
  return {
    answers: n,
    generator: generatorId,
    citationsPassed: passed / n,
    claimCoverage: coverage / n,
    citationPrecision: precision / n,
    ...(judge ? { faithfulness: faithfulness / n, judge: judgeModel } : {}),
  };
}
