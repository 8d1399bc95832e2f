import type { UsageEvent, UsageListener } from './usage.js';

/** The Amazon Bedrock runtime metrics CloudWatch publishes (namespace AWS/Bedrock), computed locally. */
export interface BedrockMetricsSnapshot {
  /** Successful calls. As in CloudWatch, throttled and failed calls are not counted here. */
  Invocations: number;
  InputTokenCount: number;
  OutputTokenCount: number;
  /** Milliseconds, over successful calls; 0 when there are none. */
  InvocationLatency: { avg: number; p50: number; p99: number };
  InvocationClientErrors: number;
  InvocationServerErrors: number;
  /** Throttled HTTP attempts, including those the SDK retried (as CloudWatch counts them). */
  InvocationThrottles: number;
  /** Calls a response cache answered (not Bedrock invocations, so not in Invocations). */
  CacheHits: number;
}

interface ModelCounters {
  invocations: number;
  inputTokens: number;
  outputTokens: number;
  latencies: number[];
  clientErrors: number;
  serverErrors: number;
  throttles: number;
  cacheHits: number;
}

function emptyCounters(): ModelCounters {
  return {
    invocations: 0,
    inputTokens: 0,
    outputTokens: 0,
    latencies: [],
    clientErrors: 0,
    serverErrors: 0,
    throttles: 0,
    cacheHits: 0,
  };
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function snapshotOf(counters: ModelCounters): BedrockMetricsSnapshot {
  const sorted = [...counters.latencies].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    Invocations: counters.invocations,
    InputTokenCount: counters.inputTokens,
    OutputTokenCount: counters.outputTokens,
    InvocationLatency: {
      avg: sorted.length === 0 ? 0 : sum / sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    },
    InvocationClientErrors: counters.clientErrors,
    InvocationServerErrors: counters.serverErrors,
    InvocationThrottles: counters.throttles,
    CacheHits: counters.cacheHits,
  };
}

/**
 * Aggregates usage events into CloudWatch's Bedrock figures, overall and per model id.
 * Pass `metrics.listener` as `onUsage` to any generator or Bedrock embedder.
 */
export class BedrockMetrics {
  readonly #byModel = new Map<string, ModelCounters>();

  /** A bound listener, so `onUsage: metrics.listener` works without `.bind`. */
  readonly listener: UsageListener = (event) => this.record(event);

  record(event: UsageEvent): void {
    let counters = this.#byModel.get(event.modelId);
    if (!counters) {
      counters = emptyCounters();
      this.#byModel.set(event.modelId, counters);
    }
    if (event.cacheHit) {
      counters.cacheHits += 1;
      return;
    }
    const throttles = event.throttledAttempts ?? (event.errorClass === 'throttle' ? 1 : 0);
    counters.throttles += throttles;
    // Tokens are counted even for failures: a stream that broke midway was still billed for what it produced.
    counters.inputTokens += event.inputTokens;
    counters.outputTokens += event.outputTokens;
    if (event.errorName === 'ABORTED') {
      // The caller cancelled: Bedrock saw no failed invocation, so no error figure moves.
    } else if (event.errorClass === undefined) {
      counters.invocations += 1;
      counters.latencies.push(event.latencyMs);
    } else if (event.errorClass === 'client') {
      counters.clientErrors += 1;
    } else if (event.errorClass === 'server') {
      counters.serverErrors += 1;
    }
  }

  /** Figures for one model id, or summed over all models when `modelId` is omitted. */
  snapshot(modelId?: string): BedrockMetricsSnapshot {
    if (modelId !== undefined) return snapshotOf(this.#byModel.get(modelId) ?? emptyCounters());
    const total = emptyCounters();
    for (const counters of this.#byModel.values()) {
      total.invocations += counters.invocations;
      total.inputTokens += counters.inputTokens;
      total.outputTokens += counters.outputTokens;
      total.latencies.push(...counters.latencies);
      total.clientErrors += counters.clientErrors;
      total.serverErrors += counters.serverErrors;
      total.throttles += counters.throttles;
      total.cacheHits += counters.cacheHits;
    }
    return snapshotOf(total);
  }

  /** Figures per model id. */
  byModel(): Record<string, BedrockMetricsSnapshot> {
    const result: Record<string, BedrockMetricsSnapshot> = {};
    for (const [modelId, counters] of this.#byModel) result[modelId] = snapshotOf(counters);
    return result;
  }

  reset(): void {
    this.#byModel.clear();
  }
}
