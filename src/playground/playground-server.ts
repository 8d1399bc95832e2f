/**
 * `localkb playground`'s web server: a handful of static page files and a JSON API over one knowledge base,
 * on loopback only. The page and its API are one origin; requests naming another host or origin are refused, so
 * a web page elsewhere cannot drive it (DNS rebinding, cross-site requests).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type ErrorCode, isLocalKbError, kbError } from '../errors.js';
import { ExtractiveGenerator } from '../generate/index.js';
import type { KnowledgeBase } from '../kb/types.js';
import { checkOptions, declareOptions } from '../options.js';
import type { Reranker } from '../retrieve/index.js';
import { MemoryPromptLibrary, type PromptLibrary } from '../store/prompt-library.js';
import { errorBody, PlaygroundApi, type PlaygroundGenerator } from './playground-api.js';
import { idParameter } from './request-fields.js';
import { loadStaticAssets, type StaticAsset } from './static-assets.js';

export interface PlaygroundOptions {
  knowledgeBase: KnowledgeBase;
  /** What the page header calls the knowledge base. Default: "knowledge base". */
  description?: string;
  /** A loopback address: 127.0.0.1 (default), ::1 or localhost. The playground has no login, so nothing else. */
  host?: string;
  /** Default 0: any free port (read it from `url`). */
  port?: number;
  /** Generators the page can pick, by name. Default: `{ extractive }` (offline, no model). */
  generators?: Record<string, PlaygroundGenerator>;
  /** Reranks a local knowledge base's results when the page turns reranking on. */
  reranker?: Reranker;
  /** A Bedrock rerank model id for a managed knowledge base's Retrieve (rerankingConfiguration). */
  rerankModelId?: string;
  /** Where prompt versions and runs are kept. Default: a local knowledge base's own store, else memory. */
  prompts?: PromptLibrary;
}

export interface Playground {
  /** e.g. http://127.0.0.1:43123/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening and drops open connections; the knowledge base stays open (the caller owns it). */
  close(): Promise<void>;
}

export const PLAYGROUND_OPTIONS = declareOptions<PlaygroundOptions>(
  'startPlayground',
  {
    knowledgeBase: 'object',
    description: 'string',
    host: 'string',
    port: 'integer',
    generators: 'object',
    reranker: 'object',
    rerankModelId: 'string',
    prompts: 'object',
  },
  { kb: 'knowledgeBase' },
);
const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];
/** Paths the page routes itself; each is served the page. */
const PAGES = ['/', '/search', '/ask', '/prompts', '/eval', '/store', '/document'];
/** Eval files with per-query rows are the largest bodies the page sends. */
const MAX_BODY_BYTES = 16 * 2 ** 20;

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_OPTION: 400,
  INVALID_QUERY: 400,
  INVALID_FILTER: 400,
  INVALID_METADATA: 400,
  DOCUMENT_NOT_FOUND: 404,
  EMPTY_STORE: 409,
  THROTTLED: 429,
  BEDROCK_ERROR: 502,
  KNOWLEDGE_BASE_ERROR: 502,
  GENERATION_FAILED: 502,
  MODEL_RESPONSE_MALFORMED: 502,
  STREAM_INTERRUPTED: 502,
  RERANK_FAILED: 502,
};

/** Starts the playground for a knowledge base; the page is at `url`. */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const { host, port } = validatePlaygroundOptions(options);
  const assets = loadStaticAssets();
  const kb = options.knowledgeBase;
  const prompts = options.prompts ?? promptLibraryOf(kb);
  const api = new PlaygroundApi({
    knowledgeBase: kb,
    description: options.description ?? 'knowledge base',
    generators: options.generators ?? {
      extractive: { create: () => new ExtractiveGenerator(), description: 'offline, no model' },
    },
    ...(options.reranker ? { reranker: options.reranker } : {}),
    ...(options.rerankModelId ? { rerankModelId: options.rerankModelId } : {}),
    prompts,
  });

  const server = http.createServer({ requestTimeout: 10 * 60_000, headersTimeout: 30_000 });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let origin = '';
  let allowedHosts = new Set<string>();
  server.on('request', (request, response) => {
    void handle(request, response).catch((error) => sendError(request, response, error));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const hostHeader = request.headers.host ?? '';
    if (!allowedHosts.has(hostHeader.toLowerCase())) {
      throw httpError(
        421,
        `This playground answers for ${origin} only, not Host ${JSON.stringify(hostHeader)}.`,
        'Host',
      );
    }
    const method = request.method ?? 'GET';
    const requestOrigin = request.headers.origin;
    if (requestOrigin !== undefined && requestOrigin !== origin) {
      throw httpError(
        403,
        `Requests from ${requestOrigin} are refused; open the playground at ${origin}.`,
        'Origin',
      );
    }
    const url = new URL(request.url ?? '/', origin);
    const path = url.pathname;

    if (method === 'GET' || method === 'HEAD') {
      if (PAGES.includes(path)) return sendAsset(response, assets.get('index.html')!, method);
      if (path.startsWith('/assets/')) {
        const asset = assets.get(path.slice('/assets/'.length));
        if (asset) return sendAsset(response, asset, method);
        throw httpError(404, `No page file ${path}.`, path);
      }
    }
    if (!path.startsWith('/api/')) throw httpError(404, `Nothing at ${path}.`, path);
    const signal = abortOnDisconnect(response);
    const body = () => readJsonBody(request);
    const route = `${method} ${path}`;
    const json = (value: unknown) => sendJson(response, 200, value);

    switch (route) {
      case 'GET /api/info':
        return json(api.info());
      case 'POST /api/retrieve':
        return json(await api.retrieve(await body(), signal));
      case 'POST /api/filter':
        return json(api.validateFilter(await body()));
      case 'GET /api/document':
        return json(await api.document(url.searchParams.get('id')));
      case 'POST /api/ask':
        return streamEvents(response, async (send) => api.ask(await body(), signal, send));
      case 'POST /api/compare':
        return json(await api.compare(await body(), signal));
      case 'GET /api/prompts':
        return json(api.promptVersions());
      case 'POST /api/prompts':
        return json(api.savePromptVersion(await body()));
      case 'GET /api/runs':
        return json(api.promptRuns());
      case 'POST /api/runs':
        return json(await api.runQuestionSet(await body(), signal));
      case 'POST /api/eval-report':
        return json(api.evalReport(await body()));
      case 'GET /api/store':
        return json(await api.store());
      case 'GET /api/documents':
        return json(await api.documents(url.searchParams.get('offset'), url.searchParams.get('limit')));
      case 'DELETE /api/documents':
        return json(await api.deleteDocument(url.searchParams.get('id')));
    }
    const run = /^\/api\/runs\/([^/]+)$/.exec(path);
    if (run && method === 'GET') return json(api.promptRun(idParameter(run[1], 'run id')));
    throw httpError(404, `No playground API at ${method} ${path}.`, path);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${urlHost}:${address.port}`;
  allowedHosts = new Set([`${urlHost}:${address.port}`, `localhost:${address.port}`]);

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/`,
    host: address.address,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** A local knowledge base keeps prompt versions in its store; anything else keeps them for this process. */
function promptLibraryOf(kb: KnowledgeBase): PromptLibrary {
  const candidate = kb as { promptLibrary?: () => PromptLibrary };
  return typeof candidate.promptLibrary === 'function'
    ? candidate.promptLibrary()
    : new MemoryPromptLibrary();
}

function validatePlaygroundOptions(given: PlaygroundOptions): { host: string; port: number } {
  const options = checkOptions(PLAYGROUND_OPTIONS, given);
  const kb = options.knowledgeBase as Partial<KnowledgeBase> | undefined;
  if (!kb || typeof kb.retrieve !== 'function' || typeof kb.stats !== 'function') {
    throw kbError(
      'INVALID_OPTION',
      'knowledgeBase must be a KnowledgeBase (e.g. LocalKnowledgeBase.open(...)).',
      {
        input: 'knowledgeBase',
      },
    );
  }
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) {
    throw kbError(
      'INVALID_OPTION',
      `The playground listens on loopback only (127.0.0.1, ::1 or localhost), got host "${host}": it has no login ` +
        'and can delete documents. Reach it from elsewhere through an SSH tunnel.',
      { input: 'host' },
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw kbError('INVALID_OPTION', `port must be an integer from 0 to 65535, got ${String(port)}.`, {
      input: 'port',
    });
  }
  for (const [name, generator] of Object.entries(options.generators ?? {})) {
    if (typeof generator?.create !== 'function') {
      throw kbError(
        'INVALID_OPTION',
        `generators.${name} needs a create(model) function returning a Generator.`,
        {
          input: `generators.${name}`,
        },
      );
    }
  }
  if (options.reranker !== undefined && typeof options.reranker?.rerank !== 'function') {
    throw kbError('INVALID_OPTION', 'reranker must be a Reranker (e.g. new CrossEncoderReranker()).', {
      input: 'reranker',
    });
  }
  if (options.reranker && options.rerankModelId) {
    throw kbError('INVALID_OPTION', 'Give reranker (local) or rerankModelId (managed), not both.', {
      input: 'rerankModelId',
    });
  }
  return { host, port };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly input: string,
  ) {
    super(message);
  }
}

function httpError(status: number, message: string, input: string): HttpError {
  return new HttpError(status, message, input);
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function sendAsset(response: ServerResponse, asset: StaticAsset, method: string): void {
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'cache-control': 'no-cache',
    // Nothing but this origin: the page works with no network and loads nothing from elsewhere.
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  });
  response.end(method === 'HEAD' ? undefined : asset.body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  if (response.headersSent) return;
  const body = JSON.stringify(value);
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}

function sendError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // A body left unread would be taken for the next request on this connection: close it after the answer.
  if (!request.complete) response.setHeader('connection', 'close');
  if (error instanceof HttpError) {
    const code =
      error.status === 404 ? 'NOT_FOUND' : error.status === 413 ? 'BODY_TOO_LARGE' : 'REQUEST_REFUSED';
    sendJson(response, error.status, { error: { code, message: error.message, input: error.input } });
    return;
  }
  const status = isLocalKbError(error) ? (STATUS_OF[error.code] ?? 500) : 500;
  sendJson(response, status, { error: errorBody(error) });
}

/** Newline-delimited JSON events; an error after the first event becomes a last `error` event. */
async function streamEvents(
  response: ServerResponse,
  run: (send: (event: Record<string, unknown>) => void) => Promise<void>,
): Promise<void> {
  const send = (event: Record<string, unknown>) => {
    if (!response.headersSent) {
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
      });
    }
    if (!response.destroyed) response.write(`${JSON.stringify(event)}\n`);
  };
  try {
    await run(send);
  } catch (error) {
    if (!response.headersSent) throw error;
    send({ type: 'error', error: errorBody(error) });
  }
  response.end();
}

function abortOnDisconnect(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.on('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** The request's JSON body, refused past MAX_BODY_BYTES before it is all read, and refused unless JSON. */
async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw httpError(
      415,
      `Send the request body as application/json, not ${JSON.stringify(type)}.`,
      'Content-Type',
    );
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    throw httpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 'body');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      request.destroy();
      throw httpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 'body');
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw kbError('INVALID_OPTION', `The request body is not valid JSON: ${(error as Error).message}.`, {
      input: 'body',
    });
  }
}
