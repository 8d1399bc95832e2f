/**
 * OpenTelemetry spans, opt-in: every stage that traces takes an OpenTelemetry `Tracer` and does nothing extra
 * without one, so an app that does not trace pays nothing and needs no @opentelemetry/api. Spans are started with
 * `startActiveSpan`, so they nest under the caller's span (and each other) through the app's context manager
 * (NodeSDK and NodeTracerProvider register one). Attributes follow OpenTelemetry's GenAI conventions
 * (gen_ai.*) where they apply, and localkb.* for the rest.
 */
import { importOptionalPeer } from '../optional-peer.js';
import type { CostEstimate, TokenUsage } from '../types.js';

/**
 * The parts of OpenTelemetry's Tracer and Span that localkb calls. Any @opentelemetry/api Tracer is one; declaring
 * them here keeps @opentelemetry/api out of localkb's published types (an app that does not trace lacks it).
 */
export interface Tracer {
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: { attributes?: Attributes },
    fn: F,
  ): ReturnType<F>;
  startSpan(name: string, options?: { attributes?: Attributes }): Span;
}

export interface Span {
  setAttributes(attributes: Attributes): unknown;
  recordException(exception: Error | string): void;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

export type Attributes = Record<
  string,
  string | number | boolean | string[] | number[] | boolean[] | undefined
>;

/** OpenTelemetry's SpanStatusCode.ERROR, a stable constant of the API, so tracing needs no runtime import of it. */
const SPAN_STATUS_ERROR = 2;

/** What a traced stage takes: an OpenTelemetry Tracer, or `true` for the global provider's `localkb` tracer. */
export type TracerChoice = Tracer | true;

/** The tracer a `tracer` option names; `true` loads @opentelemetry/api (DEPENDENCY_MISSING when it is absent). */
export async function resolveTracer(choice: TracerChoice | undefined): Promise<Tracer | undefined> {
  if (choice === undefined) return undefined;
  if (choice !== true) return choice;
  const { trace } = await importOptionalPeer(
    '@opentelemetry/api',
    'tracer: true (OpenTelemetry spans)',
    () => import('@opentelemetry/api'),
  );
  return trace.getTracer('localkb');
}

/**
 * Runs `run` inside a span named `name` (ended when it settles; a failure is recorded on it as an exception and an
 * error status). Without a tracer it just runs `run`.
 */
export async function traced<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  run: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracer) return run(undefined);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await run(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The same for an async iterable: the span lasts from the first pull to the end of the iteration. */
export async function* tracedIterable<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  iterate: (span: Span | undefined) => AsyncIterable<T>,
): AsyncIterable<T> {
  if (!tracer) {
    yield* iterate(undefined);
    return;
  }
  // A generator cannot stay inside startActiveSpan's callback across yields; the span is started as a child of
  // whatever is active when the iteration starts.
  const span = tracer.startSpan(name, { attributes });
  try {
    yield* iterate(span);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SPAN_STATUS_ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** Token and cost attributes of a model call: GenAI's usage counts, and the estimated price in USD. */
export function usageAttributes(
  usage: Pick<TokenUsage, 'inputTokens' | 'outputTokens'> | undefined,
  cost: CostEstimate | undefined,
): Attributes {
  return {
    ...(usage
      ? { 'gen_ai.usage.input_tokens': usage.inputTokens, 'gen_ai.usage.output_tokens': usage.outputTokens }
      : {}),
    ...(cost
      ? {
          'localkb.cost.input_usd': cost.inputCost,
          'localkb.cost.output_usd': cost.outputCost,
          'localkb.cost.total_usd': cost.totalCost,
        }
      : {}),
  };
}
