/**
 * A small (method, path pattern) → handler router over raw, still-encoded paths.
 * Patterns use Smithy's label syntax: `/model/{modelId}/invoke`; `{name+}` is a greedy label spanning
 * slashes. A label matches one encoded segment, so `arn%3Aaws%3A...%2Fmodel` stays one label and is
 * decoded only after matching.
 */

export interface RouteMatch<H> {
  readonly operation: string;
  readonly handler: H;
  /** Label values, percent-decoded. */
  readonly params: Record<string, string>;
}

interface Route<H> {
  method: string;
  operation: string;
  handler: H;
  segments: PatternSegment[];
}

type PatternSegment =
  | { kind: 'literal'; value: string }
  | { kind: 'label'; name: string }
  | { kind: 'greedy'; name: string };

export class WireRouter<H> {
  readonly #routes: Route<H>[] = [];

  /** Registers a route; trailing slashes in the pattern are significant (`/knowledgebases/`). */
  add(method: string, pattern: string, operation: string, handler: H): this {
    this.#routes.push({ method: method.toUpperCase(), operation, handler, segments: parsePattern(pattern) });
    return this;
  }

  /** The first route whose method and pattern match, or undefined. Throws URIError on a bad escape. */
  match(method: string, rawPath: string): RouteMatch<H> | undefined {
    const segments = rawPath.split('/');
    for (const route of this.#routes) {
      if (route.method !== method.toUpperCase()) continue;
      const params = matchSegments(route.segments, segments);
      if (params) return { operation: route.operation, handler: route.handler, params };
    }
    return undefined;
  }

  /** True when some route has this path under another method (for 405-style answers). */
  hasPath(rawPath: string): boolean {
    const segments = rawPath.split('/');
    return this.#routes.some((route) => matchSegments(route.segments, segments) !== undefined);
  }
}

function parsePattern(pattern: string): PatternSegment[] {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with "/": ${pattern}`);
  return pattern.split('/').map((part): PatternSegment => {
    const label = /^\{(\w+)(\+?)\}$/.exec(part);
    if (!label) return { kind: 'literal', value: part };
    return label[2] ? { kind: 'greedy', name: label[1]! } : { kind: 'label', name: label[1]! };
  });
}

function matchSegments(pattern: PatternSegment[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let at = 0;
  for (let index = 0; index < pattern.length; index++) {
    const part = pattern[index]!;
    if (part.kind === 'greedy') {
      const rest = pattern.length - index - 1;
      const taken = segments.length - at - rest;
      if (taken < 1) return undefined;
      const value = segments.slice(at, at + taken).join('/');
      if (value === '') return undefined;
      params[part.name] = decodeURIComponent(value);
      at += taken;
      continue;
    }
    const segment = segments[at];
    if (segment === undefined) return undefined;
    if (part.kind === 'literal') {
      if (segment !== part.value) return undefined;
    } else {
      if (segment === '') return undefined;
      params[part.name] = decodeURIComponent(segment);
    }
    at++;
  }
  return at === segments.length ? params : undefined;
}
