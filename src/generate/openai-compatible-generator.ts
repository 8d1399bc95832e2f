import { type TimeoutFacts, timeoutSetting } from '../aws-clients.js';
import { timeoutMessage } from '../aws-errors.js';
import { isLocalKbError, kbError, type LocalKbError } from '../errors.js';
import { type Logger, safeLogger, truncateForLog } from '../observe/logger.js';
import type { UsageListener } from '../observe/usage.js';
import { checkOptions, declareOptions } from '../options.js';
import { type CallReport, reportFailure, reportSuccess, tokenUsage } from './call-report.js';
import { lastUserMessage, toConversation } from './conversation.js';
import {
  type ChatMessage,
  GENERATE_DEFAULTS,
  GENERATE_OPTIONS,
  type GenerateOptions,
  type Generation,
  type GenerationEvent,
  type Generator,
} from './types.js';

export interface OpenAICompatibleGeneratorOptions {
  /** The server's OpenAI API root, e.g. http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8080/v1 (llama.cpp). */
  baseUrl: string;
  /** The model name the server knows, e.g. `llama3.2`. */
  model: string;
  /** Sent as a Bearer token when set; local servers usually need none. */
  apiKey?: string;
  defaults?: Omit<GenerateOptions, 'signal'>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  onUsage?: UsageListener;
  logger?: Logger;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * `idleMs`: longest silence while a call is in flight (waiting for the answer, reading it, between stream
   * events), then TIMEOUT. Default LOCALKB_IDLE_TIMEOUT_MS, else 120 000; raise it for slow local models that
   * answer without streaming.
   * Connecting is bounded by Node's fetch (10 s), also reported as TIMEOUT.
   */
  timeouts?: { idleMs?: number };
}

/** Node's fetch (undici) gives up connecting after 10 s; that failure carries this code. */
const FETCH_CONNECT_TIMEOUT_MS = 10_000;

export const OPENAI_COMPATIBLE_GENERATOR_OPTIONS = declareOptions<OpenAICompatibleGeneratorOptions>(
  'OpenAICompatibleGenerator',
  {
    baseUrl: 'string',
    model: 'string',
    apiKey: 'string',
    defaults: GENERATE_DEFAULTS,
    headers: 'object',
    onUsage: 'function',
    logger: 'object',
    fetch: 'function',
    timeouts: declareOptions<{ idleMs?: number }>('timeouts', { idleMs: 'number' }),
  },
  { modelId: 'model', url: 'baseUrl', baseURL: 'baseUrl', endpoint: 'baseUrl' },
);

interface ChatCompletion {
  choices?: {
    message?: { content?: string | null };
    delta?: { content?: string | null };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

const FINISH_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  content_filter: 'content_filtered',
};

/** Chat completions against any OpenAI-compatible server: Ollama, llama.cpp server, LM Studio, vLLM. */
export class OpenAICompatibleGenerator implements Generator {
  readonly modelId: string;
  readonly #url: string;
  readonly #apiKey: string | undefined;
  readonly #headers: Record<string, string>;
  readonly #defaults: Omit<GenerateOptions, 'signal'>;
  readonly #onUsage: UsageListener | undefined;
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;
  readonly #idleMs: number;

  constructor(options: OpenAICompatibleGeneratorOptions) {
    checkOptions(OPENAI_COMPATIBLE_GENERATOR_OPTIONS, options);
    let base: URL;
    try {
      base = new URL(options?.baseUrl);
    } catch {
      throw kbError('INVALID_OPTION', `baseUrl must be an http(s) URL such as http://127.0.0.1:11434/v1.`, {
        input: 'baseUrl',
      });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw kbError('INVALID_OPTION', `baseUrl must use http or https, got ${base.protocol}`, {
        input: 'baseUrl',
      });
    }
    if (typeof options.model !== 'string' || options.model === '') {
      throw kbError('INVALID_OPTION', 'model must name a model the server serves, e.g. "llama3.2".', {
        input: 'model',
      });
    }
    this.modelId = options.model;
    this.#url = `${base.href.replace(/\/+$/, '')}/chat/completions`;
    this.#apiKey = options.apiKey;
    this.#headers = options.headers ?? {};
    this.#defaults = options.defaults ?? {};
    this.#onUsage = options.onUsage;
    this.#logger = safeLogger(options.logger, options.apiKey ? [options.apiKey] : []);
    this.#fetch = options.fetch ?? fetch;
    this.#idleMs = timeoutSetting('idleMs', options.timeouts?.idleMs);
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions = {}): Promise<Generation> {
    checkOptions(GENERATE_OPTIONS, options);
    const { merged, body, report } = this.#prepare(messages, options, false);
    const watchdog = new IdleWatchdog(this.#idleMs, merged.signal);
    try {
      const response = await this.#post(body, watchdog);
      const raw = await readWhole(response.body, watchdog);
      let json: ChatCompletion;
      try {
        json = JSON.parse(raw) as ChatCompletion;
      } catch (error) {
        throw this.#malformed('the body is not JSON', error);
      }
      const choice = json.choices?.[0];
      const content = choice?.message?.content;
      if (typeof content !== 'string' && content !== null)
        throw this.#malformed('no choices[0].message.content');
      const usage = tokenUsage(json.usage?.prompt_tokens ?? 0, json.usage?.completion_tokens ?? 0);
      const stopReason = finishReason(choice?.finish_reason);
      const latencyMs = reportSuccess(report, usage, { stopReason });
      return { text: content ?? '', stopReason, usage, latencyMs, modelId: this.modelId };
    } catch (error) {
      const mapped = this.#mapError(error, merged.signal, watchdog);
      reportFailure(report, mapped);
      throw mapped;
    } finally {
      watchdog.stop();
    }
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncGenerator<GenerationEvent> {
    checkOptions(GENERATE_OPTIONS, options);
    const { merged, body, report } = this.#prepare(messages, options, true);
    let text = '';
    let stopReason = 'unknown';
    let usage = tokenUsage(0, 0);
    let started = false;
    const watchdog = new IdleWatchdog(this.#idleMs, merged.signal);
    try {
      const response = await this.#post(body, watchdog);
      if (!response.body) throw this.#malformed('the stream has no body');
      started = true;
      for await (const data of serverSentEvents(response.body, watchdog)) {
        if (data === '[DONE]') break;
        let chunk: ChatCompletion;
        try {
          chunk = JSON.parse(data) as ChatCompletion;
        } catch (error) {
          throw this.#malformed(`a stream event is not JSON: ${truncateForLog(data, 80)}`, error);
        }
        const choice = chunk.choices?.[0];
        const delta = choice?.delta?.content;
        if (choice?.finish_reason) stopReason = finishReason(choice.finish_reason);
        if (chunk.usage)
          usage = tokenUsage(chunk.usage.prompt_tokens ?? 0, chunk.usage.completion_tokens ?? 0);
        if (typeof delta === 'string' && delta !== '') {
          text += delta;
          // The caller's time with an event is not the server's silence.
          watchdog.stop();
          yield { type: 'text', text: delta };
          watchdog.kick();
        }
      }
    } catch (error) {
      let mapped = this.#mapError(error, merged.signal, watchdog);
      if (
        started &&
        mapped.code !== 'ABORTED' &&
        mapped.code !== 'MODEL_RESPONSE_MALFORMED' &&
        mapped.code !== 'TIMEOUT'
      ) {
        mapped = kbError(
          'STREAM_INTERRUPTED',
          `The stream from ${this.#url} broke after ${text.length} characters (${mapped.message}); retry the ` +
            'request. The text received so far is in details.partialText.',
          { input: this.modelId, cause: error, details: { ...mapped.details, partialText: text } },
        );
      } else if (started) {
        mapped = kbError(mapped.code, mapped.message, {
          input: this.modelId,
          cause: error,
          details: { ...mapped.details, partialText: text },
        });
      }
      reportFailure(report, mapped, { usage });
      throw mapped;
    } finally {
      watchdog.stop();
    }
    const latencyMs = reportSuccess(report, usage, { stopReason });
    yield { type: 'done', generation: { text, stopReason, usage, latencyMs, modelId: this.modelId } };
  }

  #prepare(messages: readonly ChatMessage[], options: GenerateOptions, stream: boolean) {
    const merged = { ...this.#defaults, ...options };
    const conversation = toConversation(messages, merged);
    const body = {
      model: this.modelId,
      messages: [
        ...(conversation.system ? [{ role: 'system', content: conversation.system }] : []),
        ...conversation.turns,
      ],
      ...(merged.maxTokens !== undefined ? { max_tokens: merged.maxTokens } : {}),
      ...(merged.temperature !== undefined ? { temperature: merged.temperature } : {}),
      ...(merged.topP !== undefined ? { top_p: merged.topP } : {}),
      ...(merged.stopSequences ? { stop: merged.stopSequences } : {}),
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    };
    this.#logger.debug('ChatCompletions request', {
      url: this.#url,
      model: this.modelId,
      prompt: truncateForLog(lastUserMessage(conversation)),
    });
    const report: CallReport = {
      modelId: this.modelId,
      operation: 'ChatCompletions',
      startedAt: performance.now(),
      onUsage: this.#onUsage,
      logger: this.#logger,
    };
    return { merged, body, report };
  }

  async #post(body: unknown, watchdog: IdleWatchdog): Promise<Response> {
    if (watchdog.callerSignal?.aborted)
      throw kbError('ABORTED', `The call to ${this.#url} was aborted.`, { input: this.modelId });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...this.#headers,
    };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: watchdog.signal,
      });
    } catch (error) {
      if (watchdog.signal.aborted) throw error;
      if (isConnectTimeout(error)) throw error;
      throw kbError(
        'GENERATION_FAILED',
        `Cannot reach ${this.#url} (${(error as Error).cause ?? (error as Error).message}); start the server ` +
          '(e.g. `ollama serve`) or fix baseUrl.',
        { input: this.#url, cause: error },
      );
    }
    watchdog.kick();
    if (!response.ok) {
      const detail = truncateForLog(await readWhole(response.body, watchdog).catch(() => ''), 300);
      const details = { status: response.status, operation: 'ChatCompletions' };
      if (response.status === 429) {
        throw kbError('THROTTLED', `${this.#url} answered 429 Too Many Requests: ${detail}`, {
          input: this.modelId,
          details,
        });
      }
      const fix = response.status === 404 ? '; check the model name and that baseUrl ends in /v1' : '';
      throw kbError(
        'GENERATION_FAILED',
        `${this.#url} answered ${response.status} for model "${this.modelId}": ${detail}${fix}`,
        { input: this.modelId, details },
      );
    }
    return response;
  }

  #malformed(reason: string, cause?: unknown): LocalKbError {
    return kbError(
      'MODEL_RESPONSE_MALFORMED',
      `${this.#url} answered with a body localkb cannot read: ${reason}.`,
      {
        input: this.modelId,
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  #mapError(error: unknown, signal: AbortSignal | undefined, watchdog: IdleWatchdog): LocalKbError {
    const timedOut: TimeoutFacts | undefined = watchdog.timedOut
      ? { kind: 'idle', ms: this.#idleMs, endpoint: this.#url }
      : isConnectTimeout(error)
        ? { kind: 'connect', ms: FETCH_CONNECT_TIMEOUT_MS, endpoint: this.#url }
        : undefined;
    if (timedOut && !signal?.aborted) {
      const call = `ChatCompletions on ${this.modelId}`;
      // Connecting is bounded by fetch itself, which no option here changes, so there is nothing to raise.
      const message =
        timedOut.kind === 'connect'
          ? `${call} timed out: no connection to ${this.#url} within ${timedOut.ms} ms (Node's fetch gives up ` +
            'connecting after 10 s). Check that the server is running and reachable at baseUrl.'
          : timeoutMessage(call, timedOut);
      return kbError('TIMEOUT', message, {
        input: this.modelId,
        cause: error,
        details: { operation: 'ChatCompletions', ...timedOut },
      });
    }
    if (signal?.aborted || (error as Error)?.name === 'AbortError') {
      return kbError('ABORTED', `The call to ${this.#url} was aborted by the caller's AbortSignal.`, {
        input: this.modelId,
        cause: error,
      });
    }
    if (isLocalKbError(error)) return error;
    return kbError(
      'GENERATION_FAILED',
      `The call to ${this.#url} failed: ${(error as Error)?.message ?? error}`,
      {
        input: this.modelId,
        cause: error,
      },
    );
  }
}

function finishReason(native: string | null | undefined): string {
  if (!native) return 'unknown';
  return FINISH_REASONS[native] ?? native;
}

/**
 * Aborts a call that hears nothing for `ms` (a hung server), alongside the caller's own signal. Armed when the
 * request is sent and re-armed by every byte that arrives.
 */
class IdleWatchdog {
  readonly callerSignal: AbortSignal | undefined;
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout | undefined;
  #timedOut = false;

  constructor(ms: number, callerSignal: AbortSignal | undefined) {
    this.#ms = ms;
    this.callerSignal = callerSignal;
    this.signal = callerSignal
      ? AbortSignal.any([callerSignal, this.#controller.signal])
      : this.#controller.signal;
    this.kick();
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  kick(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort();
    }, this.#ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

function isConnectTimeout(error: unknown): boolean {
  return (error as { cause?: { code?: string } })?.cause?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** A whole response body as text, the watchdog re-armed per chunk (response.json() would give it no chance). */
async function readWhole(body: ReadableStream<Uint8Array> | null, watchdog: IdleWatchdog): Promise<string> {
  if (!body) return '';
  const decoder = new TextDecoder();
  let text = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    watchdog.kick();
    text += decoder.decode(bytes, { stream: true });
  }
  return text + decoder.decode();
}

/** The `data:` payloads of a text/event-stream body, one per event. */
async function* serverSentEvents(
  body: ReadableStream<Uint8Array>,
  watchdog: IdleWatchdog,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    watchdog.kick();
    buffer += decoder.decode(bytes, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
      newline = buffer.indexOf('\n');
    }
  }
  if (data.length > 0) yield data.join('\n');
}
