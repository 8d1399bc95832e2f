/** Evaluation harness: BEIR datasets, trec_eval-exact retrieval metrics, answer quality checks and reports. */

export {
  type CitationCheckOptions,
  type CitationReport,
  type ClaimVerdict,
  type ClaimVerdictLabel,
  checkAnswerCitations,
  type FaithfulnessInput,
  type FaithfulnessPrompt,
  type FaithfulnessPromptOptions,
  type FaithfulnessResult,
  faithfulnessPrompt,
  type InvalidSpan,
  judgeFaithfulness,
  parseFaithfulnessVerdict,
  type UnretrievedReference,
} from './answer-quality.js';
export {
  type BeirDataset,
  type BeirDocument,
  type BeirQuery,
  beirDocumentText,
  beirDocumentToInput,
  countJudgments,
  type LoadBeirOptions,
  loadBeirDataset,
  readBeirCorpus,
  readBeirQrels,
  readBeirQueries,
} from './beir.js';
export {
  BEIR_DEFAULT_CUTOFFS,
  compareCodePoints,
  type EvaluateRunOptions,
  evaluateQuery,
  evaluateRun,
  type Qrels,
  type Run,
  type RunEvaluation,
  rankLikeBeirMrr,
  rankLikeTrecEval,
  type ScoredDocument,
} from './metrics.js';
export {
  DEFAULT_REPORT_METRICS,
  formatMetricsJson,
  formatMetricsTable,
  loadReferenceScores,
  type MetricsReportOptions,
  type MetricsRow,
  type ReferenceScore,
  selectReferenceScores,
} from './report.js';
export { RECALL_CUTOFFS, type RetrievalReport, retrievalReport } from './run-report.js';
export {
  type ClassifiedSentence,
  type ClassifyOptions,
  classifySentences,
  type SkipReason,
  splitSentences,
  type TextSegment,
} from './sentences.js';
export {
  type PairedTestOptions,
  type PairedTestResult,
  type PerQueryScores,
  pairedRandomizationTest,
  perQueryMetric,
} from './significance.js';
