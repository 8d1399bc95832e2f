/**
 * npm run bench:compare — the same corpus and questions (BEIR SciFact test: 5,183 documents, 300 queries) against
 * a LocalKnowledgeBase and a managed Bedrock Knowledge Base reached through BedrockKnowledgeBase and the real AWS
 * SDK. Offline the managed side is our wire emulator serving the same store file; with --knowledge-base-id it is
 * real AWS (region, credentials and endpoints from the standard AWS configuration). One table per run: recall@5,
 * recall@10, nDCG@10, sequential latency p50/p99, QPS at concurrency 4 and cost per 1,000 queries, then how far
 * the two sides' top-10 lists agree.
 *
 *   npx tsx bench/compare.ts [--embedder none|use] [--local-search bm25|hybrid|semantic]
 *     [--managed-search default|hybrid|semantic] [--db <existing store>] [--keep <dir>] [--limit <queries>]
 *     [--concurrency 4] [--embedding-model amazon.titan-embed-text-v2:0]
 *     [--knowledge-base-id <id> [--ingest --data-source-id <id>]] [--serve]
 *
 * --serve adds a third side: the same local store behind `localkb serve` (startKnowledgeBaseServer, in this
 * process) reached by BedrockKnowledgeBase over kept-alive HTTP/1.1 connections — what the wire, the SDK and the
 * server add to an in-process retrieve. At k=5 it also times, in the same rotation, the SDK client against an
 * instant canned answer (the client's own floor), serve's own time per request, and serve through a client with
 * the SDK's default handler (h2c with a new session per request, what `new BedrockAgentRuntimeClient()` does).
 *
 * --embedder none (default) is BM25-only on both sides: offline the comparison then isolates what the SDK, the
 * wire and the adapter add. Bedrock has no BM25 search type; a Retrieve without overrideSearchType runs the
 * knowledge base's default, which for the emulator's BM25-only store is BM25 (SEMANTIC and HYBRID are refused
 * there, and the run probes that). --embedder use compares hybrid (or --*-search semantic) over one USE store.
 * --db reuses a finished store read-only: it is snapshotted with SQLite's backup API into a temporary folder, so a
 * process still writing the original is never disturbed (a partial snapshot is refused).
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BedrockAgentRuntimeClient } from '@aws-sdk/client-bedrock-agent-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Database from 'better-sqlite3';
import { approximateBedrockTokenCount } from '../src/embed/bedrock-embedders.js';
import { documentsOf } from '../src/eval/evaluate-knowledge-base.js';
import { beirDocumentToInput, loadBeirDataset } from '../src/eval/index.js';
import { evaluateRun, type ScoredDocument } from '../src/eval/metrics.js';
import {
  BedrockKnowledgeBase,
  type BedrockRetrieveOptions,
  MAX_BEDROCK_RESULTS,
} from '../src/kb/bedrock-knowledge-base.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import type { KnowledgeBase, RetrieveOptions } from '../src/kb/types.js';
import { BEDROCK_PRICING, estimateCost, PRICING_AS_OF } from '../src/observe/pricing.js';
import { startKnowledgeBaseServer } from '../src/serve/index.js';
import { startWireServer } from '../src/serve/wire/index.js';
import { startBedrockEmulator } from '../src/testing/index.js';
import type { DocumentInput } from '../src/types.js';
import { percentile, printTable, requireSharedData } from './shared-data.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

function usageError(message: string): never {
  process.stderr.write(`bench/compare.ts: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    embedder: { type: 'string', default: 'none' },
    'local-search': { type: 'string' },
    'managed-search': { type: 'string' },
    db: { type: 'string' },
    keep: { type: 'string' },
    limit: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'embedding-model': { type: 'string', default: 'amazon.titan-embed-text-v2:0' },
    'knowledge-base-id': { type: 'string' },
    'data-source-id': { type: 'string' },
    ingest: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});

if (values.embedder !== 'none' && values.embedder !== 'use') {
  usageError(`--embedder must be none or use, got "${values.embedder}".`);
}
const embedder: 'none' | 'use' = values.embedder;
const localSearch = (values['local-search'] ?? (embedder === 'none' ? 'bm25' : 'hybrid')) as string;
if (!['bm25', 'hybrid', 'semantic'].includes(localSearch)) {
  usageError(`--local-search must be bm25, hybrid or semantic, got "${localSearch}".`);
}
if (embedder === 'none' && localSearch !== 'bm25') {
  usageError(
    `--local-search ${localSearch} needs vectors; with --embedder none use bm25 (or --embedder use).`,
  );
}
// Bedrock's overrideSearchType is SEMANTIC or HYBRID; 'default' sends none and lets the knowledge base choose.
const managedSearch = (values['managed-search'] ?? (embedder === 'none' ? 'default' : 'hybrid')) as string;
if (!['default', 'hybrid', 'semantic'].includes(managedSearch)) {
  usageError(
    `--managed-search must be default, hybrid or semantic (Bedrock has no BM25 search type), got "${managedSearch}".`,
  );
}
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  usageError(`--concurrency must be a positive integer, got "${values.concurrency}".`);
}
const limit = values.limit === undefined ? undefined : Number(values.limit);
if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
  usageError(`--limit must be a positive integer, got "${values.limit}".`);
}
const knowledgeBaseId = values['knowledge-base-id'];
if (values.ingest && (!knowledgeBaseId || !values['data-source-id'])) {
  usageError(
    '--ingest writes into a real knowledge base: pass --knowledge-base-id and --data-source-id too.',
  );
}
if (values['data-source-id'] && !knowledgeBaseId) {
  usageError('--data-source-id names a data source of a real knowledge base; pass --knowledge-base-id too.');
}
if (values.db && !existsSync(values.db)) usageError(`--db ${values.db} does not exist.`);
const embeddingModel = values['embedding-model'];

/** Documents kept per query; Bedrock's Retrieve returns at most 100 results (numberOfResults ≤ 100). */
const DEPTH = MAX_BEDROCK_RESULTS;
/** Queries run once per side before timing: JIT, SQLite page cache, model load, keep-alive connections. */
const WARMUP_QUERIES = 5;
const EMULATED_KB_ID = 'LOCALKB001';

const scifact = requireSharedData('scifact');
const test = await loadBeirDataset(scifact, { split: 'test' });
const queries = [...test.queries.entries()].slice(0, limit ?? test.queries.size);
const documents: DocumentInput[] = [];
for await (const document of test.corpus) documents.push(beirDocumentToInput(document));

const workDir = values.keep ?? mkdtempSync(path.join(os.tmpdir(), 'localkb-bench-compare-'));
mkdirSync(workDir, { recursive: true });
// Also on a refusal or a failed AWS call: the temporary stores never outlive the run.
process.on('exit', () => {
  if (!values.keep) rmSync(workDir, { recursive: true, force: true });
});
const loadAtStart = os.loadavg();

/** A finished store copied consistently (SQLite backup API, read-only source) so its writer is never disturbed. */
async function snapshotStore(source: string): Promise<string> {
  const target = path.join(workDir, `snapshot-${path.basename(source)}`);
  rmSync(target, { force: true });
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(target);
  } finally {
    db.close();
  }
  // The HNSW file is a cache: a copy that does not match the snapshot is rebuilt from SQLite on open.
  for (const suffix of ['.hnsw', '.hnsw.json']) {
    if (existsSync(`${source}${suffix}`)) copyFileSync(`${source}${suffix}`, `${target}${suffix}`);
  }
  return target;
}

async function openLocalStore(): Promise<{ kb: LocalKnowledgeBase; storePath: string; built: boolean }> {
  if (values.db) {
    log(`snapshotting ${values.db} …`);
    const storePath = await snapshotStore(path.resolve(values.db));
    const kb = await LocalKnowledgeBase.open(storePath, { embedder, offline: true });
    const stored = (await kb.stats()).documents;
    if (stored !== documents.length) {
      await kb.close();
      usageError(
        `--db ${values.db} holds ${stored} of the corpus's ${documents.length} documents; is it still being built? ` +
          'Wait for it to finish, or leave out --db to build a store here.',
      );
    }
    return { kb, storePath, built: false };
  }
  const storePath = path.join(workDir, `compare-${embedder}.db`);
  // BEIR judges whole documents: a BM25-only store keeps each one whole, as bench/quality.ts's bm25 row does.
  const kb = await LocalKnowledgeBase.open(storePath, {
    embedder,
    offline: true,
    ...(embedder === 'none' ? { chunking: { chunkSize: 8192, chunkOverlap: 0 } } : {}),
  });
  const built = (await kb.stats()).documents === 0;
  if (built) {
    log(`ingesting ${documents.length} documents into ${storePath} (${kb.embedder?.id ?? 'BM25-only'}) …`);
    const started = performance.now();
    await kb.ingest(documents);
    log(`  ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return { kb, storePath, built };
}

const local = await openLocalStore();
const localEmbedderId = local.kb.embedder?.id ?? 'none';

interface Side {
  label: string;
  kb: Pick<KnowledgeBase, 'retrieve'>;
  options: RetrieveOptions | BedrockRetrieveOptions;
  ran: string;
}

const localSide: Side = {
  label: `local ${localSearch}`,
  kb: local.kb,
  options: { searchType: localSearch as RetrieveOptions['searchType'] },
  ran: `LocalKnowledgeBase.retrieve in-process, searchType ${localSearch} (${describeLocalSearch(localSearch)})`,
};

function describeLocalSearch(searchType: string): string {
  if (searchType === 'bm25') return 'SQLite FTS5 BM25';
  if (searchType === 'semantic') return `${localEmbedderId} vectors, HNSW`;
  return `${localEmbedderId} HNSW + FTS5 BM25, fused as the store is configured (RRF k=60 unless tuned)`;
}

const managedOptions: BedrockRetrieveOptions =
  managedSearch === 'default' ? {} : { searchType: managedSearch.toUpperCase() as 'HYBRID' | 'SEMANTIC' };
const emulator = knowledgeBaseId
  ? undefined
  : await startBedrockEmulator({ knowledgeBases: { [EMULATED_KB_ID]: local.storePath } });
const managedKb = emulator
  ? new BedrockKnowledgeBase({ knowledgeBaseId: EMULATED_KB_ID, clientConfig: emulator.clientConfig() })
  : new BedrockKnowledgeBase({
      knowledgeBaseId: knowledgeBaseId!,
      ...(values['data-source-id'] ? { dataSourceId: values['data-source-id'] } : {}),
    });
const overrideWords =
  managedSearch === 'default'
    ? 'no overrideSearchType, i.e. the knowledge base default'
    : `overrideSearchType ${managedSearch.toUpperCase()}`;
const emulatedSearch = managedSearch === 'default' ? (local.kb.embedder ? 'hybrid' : 'bm25') : managedSearch;
const managedSide: Side = {
  label: emulator ? `managed (emulator) ${emulatedSearch}` : `managed (AWS) ${managedSearch}`,
  kb: managedKb,
  options: managedOptions,
  ran: emulator
    ? `BedrockKnowledgeBase → Retrieve (${overrideWords}) over HTTP to the emulator on 127.0.0.1, in this process → ` +
      `a second LocalKnowledgeBase on the same store file, searchType ${emulatedSearch} (${describeLocalSearch(emulatedSearch)})`
    : `BedrockKnowledgeBase → Retrieve (${overrideWords}) on knowledge base ${knowledgeBaseId} in AWS`,
};

// The local store behind localkb serve, on kept-alive HTTP/1.1 (where a Nagle stall would show as ~40 ms).
const served = values.serve ? await startKnowledgeBaseServer({ knowledgeBase: local.kb }) : undefined;
const servedKb = served
  ? new BedrockKnowledgeBase({
      knowledgeBaseId: served.knowledgeBaseId,
      clientConfig: {
        endpoint: served.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
        requestHandler: new NodeHttpHandler({
          httpAgent: new http.Agent({ keepAlive: true, maxSockets: 8 }),
        }),
      },
    })
  : undefined;
const serveSide: Side | undefined =
  served && servedKb
    ? {
        label: `serve HTTP/1.1 ${localSearch === 'bm25' ? 'bm25' : localSearch}`,
        kb: servedKb,
        options: managedOptions,
        ran:
          `BedrockKnowledgeBase → Retrieve (${overrideWords}) over kept-alive HTTP/1.1 to startKnowledgeBaseServer ` +
          'on 127.0.0.1, in this process → the same LocalKnowledgeBase object as the local side',
      }
    : undefined;

if (values.ingest) {
  log(`ingesting ${documents.length} documents into ${knowledgeBaseId} / ${values['data-source-id']} …`);
  const summary = await managedKb.ingest(documents, {
    onProgress: ({ files }) => {
      if (files % 500 < 25 || files === documents.length) log(`  ${files} / ${documents.length} indexed`);
    },
  });
  log(
    `  added ${summary.documentsAdded}, updated ${summary.documentsUpdated}, failed ${summary.skipped.length}, ` +
      `${(summary.durationMs / 1000).toFixed(0)} s`,
  );
}

// What a BM25-only emulated knowledge base answers when asked for a search type Bedrock has: checked, not assumed.
let vectorSearchProbe: string | undefined;
if (emulator && !local.kb.embedder) {
  const probeQuery = queries[0]?.[1] ?? 'probe';
  try {
    await managedKb.retrieve(probeQuery, { k: 1, searchType: 'HYBRID' });
    vectorSearchProbe = 'HYBRID on the BM25-only emulated store was answered (unexpected)';
  } catch (error) {
    vectorSearchProbe = `HYBRID on the BM25-only emulated store is refused: ${(error as Error).message}`;
  }
}

/** Bedrock names S3 documents by URI; BEIR by id: an S3 object named `<id>.txt` is document `<id>`. */
function beirIdOf(documentId: string): string {
  if (!/^s3:\/\//i.test(documentId)) return documentId;
  return path.posix.basename(documentId).replace(/\.[^.]+$/, '');
}

async function retrieveDocuments(side: Side, text: string): Promise<ScoredDocument[]> {
  const results = await side.kb.retrieve(text, { ...side.options, k: DEPTH });
  return documentsOf(
    results.map((result) => ({ documentId: beirIdOf(result.documentId), score: result.score })),
    DEPTH,
  );
}

interface SequentialRun {
  run: Map<string, ScoredDocument[]>;
  latenciesMs: number[];
}

async function warmUp(side: Side): Promise<void> {
  for (const [, text] of queries.slice(0, WARMUP_QUERIES)) await retrieveDocuments(side, text);
}

/**
 * Every side query by query, rotating which goes first: background load on a shared machine then falls on
 * all alike, and none always finds the SQLite pages another just read.
 */
async function runSequentialInterleaved(sides: Side[]): Promise<SequentialRun[]> {
  const outcome: SequentialRun[] = sides.map(() => ({ run: new Map(), latenciesMs: [] }));
  for (let i = 0; i < queries.length; i++) {
    const [queryId, text] = queries[i]!;
    const order = sides.map((_, k) => (i + k) % sides.length);
    for (const which of order) {
      const started = performance.now();
      const documentsFound = await retrieveDocuments(sides[which]!, text);
      outcome[which]!.latenciesMs.push(performance.now() - started);
      outcome[which]!.run.set(queryId, documentsFound);
    }
    if ((i + 1) % 50 === 0) log(`  sequential ${i + 1} / ${queries.length}`);
  }
  return outcome;
}

interface ConcurrentRun {
  seconds: number;
  qps: number;
  latenciesMs: number[];
  run: Map<string, ScoredDocument[]>;
}

async function runConcurrent(side: Side): Promise<ConcurrentRun> {
  const run = new Map<string, ScoredDocument[]>();
  const latenciesMs: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < queries.length) {
      const [queryId, text] = queries[next++]!;
      const started = performance.now();
      run.set(queryId, await retrieveDocuments(side, text));
      latenciesMs.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, qps: queries.length / seconds, latenciesMs, run };
}

function latencySummary(latenciesMs: number[]) {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(sorted.length, 1);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Retrieval order, top `n` document ids (the run's own order, not trec_eval's tie order). */
function topIds(run: ReadonlyMap<string, readonly ScoredDocument[]>, queryId: string, n: number): string[] {
  return (run.get(queryId) ?? []).slice(0, n).map((document) => document.docId);
}

function agreement(a: Map<string, ScoredDocument[]>, b: Map<string, ScoredDocument[]>, n: number) {
  let jaccardSum = 0;
  let identicalOrder = 0;
  for (const [queryId] of queries) {
    const left = topIds(a, queryId, n);
    const right = topIds(b, queryId, n);
    const union = new Set([...left, ...right]);
    const shared = left.filter((id) => right.includes(id)).length;
    jaccardSum += union.size === 0 ? 1 : shared / union.size;
    if (left.length === right.length && left.every((id, index) => right[index] === id)) identicalOrder++;
  }
  return { meanJaccard: jaccardSum / queries.length, identicalOrder, queries: queries.length };
}

log(
  `${queries.length} queries, depth ${DEPTH}; warming up (${WARMUP_QUERIES} queries per side), then sequential …`,
);
const sides: Side[] = [localSide, managedSide, ...(serveSide ? [serveSide] : [])];
for (const side of sides) await warmUp(side);
const sequential = await runSequentialInterleaved(sides);
const [localSequential, managedSequential] = sequential as [SequentialRun, SequentialRun];
log(`concurrency ${concurrency} …`);
const concurrent: ConcurrentRun[] = [];
for (const side of sides) concurrent.push(await runConcurrent(side));
const [localConcurrent, managedConcurrent] = concurrent as [ConcurrentRun, ConcurrentRun];

// Query-embedding cost of a managed knowledge base: Bedrock bills the embedding model per input token.
const queryTokens = queries.map(([, text]) => approximateBedrockTokenCount(text));
const meanQueryTokens = queryTokens.reduce((sum, tokens) => sum + tokens, 0) / queryTokens.length;
const managedCostPer1k = estimateCost(embeddingModel, {
  inputTokens: meanQueryTokens * 1000,
  outputTokens: 0,
});

function sideReport(side: Side, sequential: SequentialRun, concurrent: ConcurrentRun, costPer1k?: number) {
  const evaluation = evaluateRun(sequential.run, test.qrels, { k: [5, 10, 100] });
  return {
    side: side.label,
    ran: side.ran,
    'recall@5': evaluation.mean['recall@5'] ?? Number.NaN,
    'recall@10': evaluation.mean['recall@10'] ?? Number.NaN,
    'ndcg@10': evaluation.mean['ndcg@10'] ?? Number.NaN,
    'recall@100': evaluation.mean['recall@100'] ?? Number.NaN,
    evaluatedQueries: evaluation.evaluatedQueries,
    sequentialLatencyMs: latencySummary(sequential.latenciesMs),
    concurrent: {
      concurrency,
      qps: concurrent.qps,
      seconds: concurrent.seconds,
      latencyMs: latencySummary(concurrent.latenciesMs),
      // Retrieval is deterministic: the concurrent pass must return what the sequential one did.
      top10SameAsSequential: agreement(sequential.run, concurrent.run, 10).identicalOrder,
    },
    costPer1kQueriesUsd: costPer1k ?? null,
  };
}

const localReport = sideReport(localSide, localSequential, localConcurrent, 0);
const managedReport = sideReport(
  managedSide,
  managedSequential,
  managedConcurrent,
  managedCostPer1k?.totalCost,
);
const top10Agreement = agreement(localSequential.run, managedSequential.run, 10);
const serveReport = serveSide ? sideReport(serveSide, sequential[2]!, concurrent[2]!, 0) : undefined;

/**
 * What serve adds to an in-process retrieve at Retrieve's default numberOfResults (5), where the wire and not
 * the size of 100 results dominates: local and serve interleaved query by query, after the runs above. Two more
 * sides in the same rotation split that difference: the same BedrockKnowledgeBase client against a server that
 * answers every Retrieve at once with one canned response of the same shape (the floor the AWS SDK client and
 * loopback HTTP set, which no server can beat), and serve's own time from request to response (Node's
 * http.server diagnostics channels), of which the retrieve is the in-process part.
 */
async function serveLatencyAtDefaultK(side: Side): Promise<{
  local: number[];
  serve: number[];
  clientFloor: number[];
  server: number[];
  sdkDefault: number[];
}> {
  const latencies = {
    local: [] as number[],
    serve: [] as number[],
    clientFloor: [] as number[],
    server: [] as number[],
    sdkDefault: [] as number[],
  };
  const sample = await side.kb.retrieve(queries[0]![1], { ...side.options, k: 5 });
  const cannedBody = JSON.stringify({
    retrievalResults: sample.map((result) => ({
      content: result.content,
      location: result.location,
      metadata: result.metadata,
      score: result.score,
    })),
  });
  const canned = await startWireServer({
    handler: (_request, response) => response.send(200, { 'content-type': 'application/json' }, cannedBody),
  });
  const floorKb = new BedrockKnowledgeBase({
    knowledgeBaseId: 'CANNED0001',
    clientConfig: {
      endpoint: canned.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
      requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 8 }) }),
    },
  });
  // What an app gets from `new BedrockAgentRuntimeClient()` with no handler: the SDK's default for this service
  // is HTTP/2 with disableConcurrentStreams, i.e. a new connection and h2 session for every request.
  const sdkDefaultKb = new BedrockKnowledgeBase({
    knowledgeBaseId: served!.knowledgeBaseId,
    agentRuntimeClient: new BedrockAgentRuntimeClient({
      endpoint: served!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    }),
  });
  let requestStarted = 0;
  let serverMs = 0;
  const onStart = () => {
    requestStarted = performance.now();
  };
  const onFinish = () => {
    serverMs = performance.now() - requestStarted;
  };
  diagnosticsChannel.subscribe('http.server.request.start', onStart);
  diagnosticsChannel.subscribe('http.server.response.finish', onFinish);
  try {
    for (let i = 0; i < queries.length; i++) {
      const text = queries[i]![1];
      const order: Array<
        ['local' | 'serve' | 'clientFloor' | 'sdkDefault', Pick<KnowledgeBase, 'retrieve'>, Side['options']]
      > = [
        ['local', localSide.kb, localSide.options],
        ['serve', side.kb, side.options],
        ['clientFloor', floorKb, side.options],
        ['sdkDefault', sdkDefaultKb, side.options],
      ];
      for (let turn = 0; turn < i % order.length; turn++) order.push(order.shift()!);
      for (const [which, kb, options] of order) {
        const started = performance.now();
        await kb.retrieve(text, { ...options, k: 5 });
        latencies[which].push(performance.now() - started);
        if (which === 'serve') latencies.server.push(serverMs);
      }
    }
  } finally {
    diagnosticsChannel.unsubscribe('http.server.request.start', onStart);
    diagnosticsChannel.unsubscribe('http.server.response.finish', onFinish);
    await floorKb.close();
    await sdkDefaultKb.close();
    await canned.close();
  }
  return latencies;
}
const atDefaultK = serveSide ? await serveLatencyAtDefaultK(serveSide) : undefined;
const serveOverhead =
  serveReport && atDefaultK
    ? (() => {
        const p50 = (values: number[]) => latencySummary(values).p50;
        const localP50Ms = p50(atDefaultK.local);
        return {
          depth100P50DifferenceMs: serveReport.sequentialLatencyMs.p50 - localReport.sequentialLatencyMs.p50,
          k5: {
            localP50Ms,
            serveP50Ms: p50(atDefaultK.serve),
            p50DifferenceMs: p50(atDefaultK.serve) - localP50Ms,
            /** The SDK client and loopback HTTP alone: the same client against an instant canned answer. */
            clientFloorP50Ms: p50(atDefaultK.clientFloor),
            /** Serve's own time per request, request start to response finish, retrieve included. */
            serverP50Ms: p50(atDefaultK.server),
            /** What serve itself adds: its own time beyond an in-process retrieve. */
            serverAddsP50Ms: p50(atDefaultK.server) - localP50Ms,
            /** serve through a client built with the SDK's defaults (h2c, a new session per request). */
            sdkDefaultClientP50Ms: p50(atDefaultK.sdkDefault),
          },
          top10SameAsLocal: agreement(localSequential.run, sequential[2]!.run, 10).identicalOrder,
        };
      })()
    : undefined;

const costNotes = {
  local:
    '$0 model cost: no API is called. Not included: the machine that runs it (CPU time, memory, disk) and, with ' +
    '--embedder use, embedding each query on this CPU (its time is inside the latency).',
  managed:
    managedCostPer1k === undefined
      ? `${embeddingModel} has no price in BEDROCK_PRICING (as of ${PRICING_AS_OF}); pass a listed model with --embedding-model.`
      : `Query embedding with ${embeddingModel} at $${BEDROCK_PRICING[embeddingModel]?.inputPer1k ?? '?'} per 1k input ` +
        `tokens (us-east-1 on-demand, as of ${PRICING_AS_OF}): ${meanQueryTokens.toFixed(1)} tokens per query on ` +
        'average, estimated with approximateBedrockTokenCount (1 token per 3 ASCII characters plus 1 per other ' +
        'character, deliberately above the ~4 characters per token of English; the Titan tokenizer is not public). ' +
        'Not included: the vector store’s own charges (e.g. OpenSearch Serverless OCU-hours, Aurora, Pinecone), ' +
        'reranking, ingestion-time embedding, data transfer.' +
        (emulator
          ? local.kb.embedder
            ? ` Offline the emulated knowledge base embeds queries with the store's own ${localEmbedderId} on this ` +
              'CPU, not with the priced model; the figure is what a real knowledge base would bill.'
            : ' Offline the emulator embeds nothing (BM25); the figure is what a real knowledge base would bill.'
          : ''),
};

const report = {
  dataset: 'scifact',
  split: 'test',
  corpusDocuments: documents.length,
  queries: queries.length,
  depth: DEPTH,
  mode: emulator ? 'offline (Bedrock emulator)' : `AWS (knowledge base ${knowledgeBaseId})`,
  embedder: embedder,
  store: {
    path: values.db ? path.resolve(values.db) : local.storePath,
    ...(values.db ? { snapshot: local.storePath } : {}),
    builtThisRun: local.built,
    embedderId: localEmbedderId,
  },
  embeddingModelForCost: embeddingModel,
  method: {
    latency:
      `performance.now() around each retrieve (k=${DEPTH}), both sides interleaved query by query, after ` +
      `${WARMUP_QUERIES} warm-up queries per side; then each side alone with ${concurrency} queries in flight (QPS).` +
      (emulator ? ' The emulator answers in this process, so client and server share one Node thread.' : ''),
    machine: `${os.cpus().length} CPUs, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at start`,
  },
  sides: [localReport, managedReport, ...(serveReport ? [serveReport] : [])],
  top10Agreement,
  ...(serveOverhead ? { serveOverhead } : {}),
  ...(vectorSearchProbe ? { vectorSearchProbe } : {}),
  ...(managedKb.throttledAttempts > 0 ? { managedThrottledAttempts: managedKb.throttledAttempts } : {}),
  costNotes,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);

const dollars = (value: number | null) =>
  value === null ? 'n/a' : value === 0 ? '$0' : `$${value.toPrecision(2)}`;
const tableRow = (r: typeof localReport) => ({
  side: r.side,
  'recall@5': r['recall@5'].toFixed(4),
  'recall@10': r['recall@10'].toFixed(4),
  'nDCG@10': r['ndcg@10'].toFixed(4),
  'p50 ms': r.sequentialLatencyMs.p50.toFixed(2),
  'p99 ms': r.sequentialLatencyMs.p99.toFixed(2),
  [`QPS @${concurrency}`]: r.concurrent.qps.toFixed(0),
  '$ / 1k queries': dollars(r.costPer1kQueriesUsd),
});
process.stdout.write(
  `SciFact test, ${queries.length} queries, ${documents.length} documents, depth ${DEPTH} — ${report.mode}\n`,
);
const reports = [localReport, managedReport, ...(serveReport ? [serveReport] : [])];
process.stdout.write(`${printTable(reports.map(tableRow))}\n\n`);
for (const r of reports) process.stdout.write(`ran  ${r.side}: ${r.ran}\n`);
if (serveOverhead) {
  process.stdout.write(
    `serve over kept-alive HTTP/1.1 vs in-process, p50: k=5 ${serveOverhead.k5.serveP50Ms.toFixed(2)} vs ` +
      `${serveOverhead.k5.localP50Ms.toFixed(2)} ms (+${serveOverhead.k5.p50DifferenceMs.toFixed(2)} ms); ` +
      `k=100 +${serveOverhead.depth100P50DifferenceMs.toFixed(2)} ms; identical top-10 on ` +
      `${serveOverhead.top10SameAsLocal} / ${queries.length} queries\n` +
      `serve at k=5, split: the server's own time ${serveOverhead.k5.serverP50Ms.toFixed(2)} ms ` +
      `(+${serveOverhead.k5.serverAddsP50Ms.toFixed(2)} ms over in-process retrieve); the SDK client and loopback ` +
      `against an instant canned answer ${serveOverhead.k5.clientFloorP50Ms.toFixed(2)} ms; serve through a client ` +
      `with the SDK's default handler (h2c, a new session per request) ${serveOverhead.k5.sdkDefaultClientP50Ms.toFixed(2)} ms\n`,
  );
}
process.stdout.write(
  `top-10 agreement: mean Jaccard ${top10Agreement.meanJaccard.toFixed(4)}, identical order on ` +
    `${top10Agreement.identicalOrder} / ${top10Agreement.queries} queries\n`,
);
if (vectorSearchProbe) process.stdout.write(`probe  ${vectorSearchProbe}\n`);
process.stdout.write(`cost  local: ${costNotes.local}\ncost  managed: ${costNotes.managed}\n`);
process.stdout.write(`time  ${report.method.latency} ${report.method.machine}.\n`);

await servedKb?.close();
await served?.close();
await managedKb.close();
await emulator?.close();
await local.kb.close();
