/**
 * Cost and request limits for a generator (and so for a knowledge base, whose answers go through its generator):
 * maximum cost in USD from the pricing table, maximum tokens per call, per minute and per process lifetime, and a
 * maximum number of concurrent requests. A call that would exceed one is refused with BUDGET_EXCEEDED before it
 * is sent; nothing is truncated to fit.
 */
import { kbError } from '../errors.js';
import { BEDROCK_PRICING, estimateCost, type PricingTable } from '../observe/pricing.js';
import type { TokenUsage } from '../types.js';
import type { ChatMessage, GenerateOptions, Generation, GenerationEvent, Generator } from './types.js';

export interface BudgetLimits {
  /** Most USD spent over the budget's lifetime (input and output tokens priced by `pricing`). */
  maxCostUsd?: number;
  /** Most tokens (prompt estimate + maxTokens) one call may use. */
  maxTokensPerCall?: number;
  /** Most tokens used in any sliding 60-second window. */
  maxTokensPerMinute?: number;
  /** Most tokens over the budget's lifetime (the process, unless you keep the Budget elsewhere). */
  maxTokensTotal?: number;
  /** Most calls in flight at once; one more is refused, not queued. */
  maxConcurrentRequests?: number;
  /** Prices for maxCostUsd. Default BEDROCK_PRICING. */
  pricing?: PricingTable;
  /** Output tokens assumed for a call without maxTokens. Default 4096. */
  defaultMaxTokens?: number;
}

const LIMIT_KEYS = [
  'maxCostUsd',
  'maxTokensPerCall',
  'maxTokensPerMinute',
  'maxTokensTotal',
  'maxConcurrentRequests',
  'pricing',
  'defaultMaxTokens',
];

/** What a call is expected to use before it is sent. */
export interface CallEstimate {
  modelId: string;
  inputTokens: number;
  /** The output tokens the call may produce at most (its maxTokens). */
  maxOutputTokens: number;
  /** USD at most, or undefined when the model has no price. */
  maxCostUsd?: number;
}

/** About four characters per token, the rule Bedrock's own estimates use. */
export function estimatePromptTokens(
  messages: readonly ChatMessage[],
  options: GenerateOptions = {},
): number {
  const characters =
    messages.reduce((sum, message) => sum + (message?.content?.length ?? 0), 0) +
    (options.system?.length ?? 0);
  return Math.ceil(characters / 4);
}

export function estimateCall(
  modelId: string,
  messages: readonly ChatMessage[],
  options: GenerateOptions = {},
  pricing: PricingTable = BEDROCK_PRICING,
  defaultMaxTokens = 4096,
): CallEstimate {
  const inputTokens = estimatePromptTokens(messages, options);
  const maxOutputTokens = options.maxTokens ?? defaultMaxTokens;
  const cost = estimateCost(modelId, { inputTokens, outputTokens: maxOutputTokens }, pricing);
  return { modelId, inputTokens, maxOutputTokens, ...(cost ? { maxCostUsd: cost.totalCost } : {}) };
}

/** Counts what calls used and refuses the ones that would go over. Share one Budget between generators to cap them together. */
export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  #spentUsd = 0;
  #tokensTotal = 0;
  #inFlight = 0;
  /** (time, tokens) of recent calls, for the per-minute window. */
  #recent: Array<{ at: number; tokens: number }> = [];
  readonly #now: () => number;

  constructor(limits: BudgetLimits, now: () => number = Date.now) {
    for (const key of Object.keys(limits)) {
      if (!LIMIT_KEYS.includes(key)) {
        throw kbError(
          'INVALID_OPTION',
          `Unknown budget limit "${key}"; expected one of ${LIMIT_KEYS.join(', ')}.`,
          {
            input: key,
          },
        );
      }
    }
    for (const key of LIMIT_KEYS.slice(0, 5) as Array<keyof BudgetLimits>) {
      const value = limits[key];
      if (value !== undefined && (typeof value !== 'number' || !(value >= 0))) {
        throw kbError(
          'INVALID_OPTION',
          `Budget limit ${key} must be a non-negative number, got ${String(value)}.`,
          {
            input: key,
          },
        );
      }
    }
    this.limits = { ...limits };
    this.#now = now;
  }

  /** USD and tokens used so far, and calls in flight. */
  get usage(): { spentUsd: number; tokens: number; tokensLastMinute: number; inFlight: number } {
    return {
      spentUsd: this.#spentUsd,
      tokens: this.#tokensTotal,
      tokensLastMinute: this.#lastMinute(),
      inFlight: this.#inFlight,
    };
  }

  #lastMinute(): number {
    const since = this.#now() - 60_000;
    this.#recent = this.#recent.filter((entry) => entry.at > since);
    return this.#recent.reduce((sum, entry) => sum + entry.tokens, 0);
  }

  #refuse(limit: string, message: string, estimate: CallEstimate): never {
    throw kbError('BUDGET_EXCEEDED', `${message}; the call to ${estimate.modelId} was not sent.`, {
      input: limit,
      details: { limit, estimate, usage: this.usage },
    });
  }

  /** Throws BUDGET_EXCEEDED when the call could go over a limit; otherwise counts it as in flight. */
  admit(estimate: CallEstimate): void {
    const { limits } = this;
    const tokens = estimate.inputTokens + estimate.maxOutputTokens;
    if (limits.maxConcurrentRequests !== undefined && this.#inFlight >= limits.maxConcurrentRequests) {
      this.#refuse(
        'maxConcurrentRequests',
        `${this.#inFlight} requests are in flight, the most maxConcurrentRequests allows`,
        estimate,
      );
    }
    if (limits.maxTokensPerCall !== undefined && tokens > limits.maxTokensPerCall) {
      this.#refuse(
        'maxTokensPerCall',
        `The call may use ~${tokens} tokens (~${estimate.inputTokens} in + ${estimate.maxOutputTokens} maxTokens), over maxTokensPerCall ${limits.maxTokensPerCall}; lower maxTokens or shorten the prompt`,
        estimate,
      );
    }
    if (limits.maxTokensPerMinute !== undefined && this.#lastMinute() + tokens > limits.maxTokensPerMinute) {
      this.#refuse(
        'maxTokensPerMinute',
        `${this.#lastMinute()} tokens were used in the last minute; ~${tokens} more would pass maxTokensPerMinute ${limits.maxTokensPerMinute}`,
        estimate,
      );
    }
    if (limits.maxTokensTotal !== undefined && this.#tokensTotal + tokens > limits.maxTokensTotal) {
      this.#refuse(
        'maxTokensTotal',
        `${this.#tokensTotal} tokens are used; ~${tokens} more would pass maxTokensTotal ${limits.maxTokensTotal}`,
        estimate,
      );
    }
    if (limits.maxCostUsd !== undefined) {
      if (estimate.maxCostUsd === undefined) {
        this.#refuse(
          'maxCostUsd',
          `${estimate.modelId} has no price in the pricing table, so maxCostUsd cannot be kept; add its price`,
          estimate,
        );
      }
      if (this.#spentUsd + estimate.maxCostUsd > limits.maxCostUsd) {
        this.#refuse(
          'maxCostUsd',
          `$${this.#spentUsd.toFixed(6)} is spent; the call may cost up to $${estimate.maxCostUsd.toFixed(6)}, passing maxCostUsd $${limits.maxCostUsd}`,
          estimate,
        );
      }
    }
    this.#inFlight++;
  }

  /** Ends an admitted call, counting the tokens it really used. */
  settle(modelId: string, usage: Pick<TokenUsage, 'inputTokens' | 'outputTokens'> | undefined): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (!usage) return;
    const tokens = usage.inputTokens + usage.outputTokens;
    this.#tokensTotal += tokens;
    this.#recent.push({ at: this.#now(), tokens });
    this.#spentUsd += estimateCost(modelId, usage, this.limits.pricing ?? BEDROCK_PRICING)?.totalCost ?? 0;
  }
}

/** A generator whose calls are checked against `budget` before they are sent and counted after. */
export function budgetedGenerator(generator: Generator, budget: Budget): Generator {
  const estimateFor = (messages: readonly ChatMessage[], options: GenerateOptions = {}) =>
    estimateCall(
      options.modelId ?? generator.modelId,
      messages,
      options,
      budget.limits.pricing,
      budget.limits.defaultMaxTokens,
    );
  return {
    modelId: generator.modelId,
    async generate(messages, options) {
      const estimate = estimateFor(messages, options);
      budget.admit(estimate);
      let generation: Generation | undefined;
      try {
        generation = await generator.generate(messages, options);
        return generation;
      } finally {
        budget.settle(estimate.modelId, generation?.usage);
      }
    },
    async *stream(messages, options): AsyncGenerator<GenerationEvent> {
      const estimate = estimateFor(messages, options);
      budget.admit(estimate);
      let usage: TokenUsage | undefined;
      try {
        for await (const event of generator.stream(messages, options)) {
          if (event.type === 'done') usage = event.generation.usage;
          yield event;
        }
      } finally {
        budget.settle(estimate.modelId, usage);
      }
    },
  };
}

/**
 * A generator that calls no model: it records what each call would send and what it could cost, and answers with
 * empty text (stopReason `dry_run`). `localkb ask --dry-run` shows these estimates.
 */
export class DryRunGenerator implements Generator {
  readonly modelId: string;
  readonly estimates: CallEstimate[] = [];
  readonly #pricing: PricingTable | undefined;

  constructor(modelId: string, pricing?: PricingTable) {
    this.modelId = modelId;
    this.#pricing = pricing;
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    const estimate = estimateCall(options.modelId ?? this.modelId, messages, options, this.#pricing);
    this.estimates.push(estimate);
    return {
      text: '',
      stopReason: 'dry_run',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      latencyMs: 0,
      modelId: estimate.modelId,
    };
  }

  async *stream(
    messages: readonly ChatMessage[],
    options?: GenerateOptions,
  ): AsyncGenerator<GenerationEvent> {
    yield { type: 'done', generation: await this.generate(messages, options) };
  }
}
