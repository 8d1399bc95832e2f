/**
 * An opt-in cache of model responses (generations and embeddings) in SQLite: its own file, or the knowledge base's
 * file (one extra table, `localkb_response_cache`). Keys are a sha256 of the model id, the request body and the
 * parameters — never of credentials, which are not part of a request's content. Entries expire after `ttlMs`;
 * past `maxEntries` / `maxBytes` the least recently used go first.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { kbError } from '../errors.js';

export interface ResponseCacheOptions {
  /** How long an entry answers, in ms. Default: one day. */
  ttlMs?: number;
  /** Most entries kept. Default 10,000. */
  maxEntries?: number;
  /** Most bytes of stored values kept. Default 100 MB. */
  maxBytes?: number;
  /** Clock for expiry (tests). Default Date.now. */
  now?: () => number;
}

const OPTION_KEYS = ['ttlMs', 'maxEntries', 'maxBytes', 'now'];

export interface ResponseCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

/** The key of a request: kind (generate / embed), model, and the canonical JSON of everything that shapes the answer. */
export function responseCacheKey(kind: string, modelId: string, request: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, modelId, canonical(request)]))
    .digest('hex');
}

/** Objects with sorted keys and no undefined members, so equal requests give equal keys. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, member]) => [key, canonical(member)]),
    );
  }
  return value;
}

export class ResponseCache {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #hits = 0;
  #misses = 0;

  constructor(path: string, options: ResponseCacheOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw kbError(
          'INVALID_OPTION',
          `Unknown response cache option "${key}"; expected one of ${OPTION_KEYS.join(', ')}.`,
          {
            input: key,
          },
        );
      }
    }
    for (const key of ['ttlMs', 'maxEntries', 'maxBytes'] as const) {
      const value = options[key];
      if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
        throw kbError(
          'INVALID_OPTION',
          `Response cache ${key} must be a positive number, got ${String(value)}.`,
          {
            input: key,
          },
        );
      }
    }
    this.path = path;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    try {
      this.#db = new Database(path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('busy_timeout = 5000');
      this.#db.exec(`CREATE TABLE IF NOT EXISTS localkb_response_cache (
        key TEXT PRIMARY KEY,
        model_id TEXT NOT NULL,
        value TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        used_at INTEGER NOT NULL
      )`);
    } catch (error) {
      throw kbError(
        'STORE_CORRUPT',
        `The response cache ${path} cannot be opened: ${(error as Error).message}`,
        {
          input: path,
          cause: error,
        },
      );
    }
  }

  /** The stored value, or undefined when absent or expired (an expired entry is removed). */
  get<T>(key: string): T | undefined {
    const row = this.#db
      .prepare('SELECT value, created_at FROM localkb_response_cache WHERE key = ?')
      .get(key) as { value: string; created_at: number } | undefined;
    const now = this.#now();
    if (!row || now - row.created_at >= this.#ttlMs) {
      if (row) this.#db.prepare('DELETE FROM localkb_response_cache WHERE key = ?').run(key);
      this.#misses++;
      return undefined;
    }
    this.#db.prepare('UPDATE localkb_response_cache SET used_at = ? WHERE key = ?').run(now, key);
    this.#hits++;
    return JSON.parse(row.value) as T;
  }

  set(key: string, modelId: string, value: unknown): void {
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.#maxBytes) return; // larger than the whole cache: not worth keeping
    const now = this.#now();
    const write = this.#db.transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO localkb_response_cache (key, model_id, value, bytes, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET value = excluded.value, bytes = excluded.bytes,
             created_at = excluded.created_at, used_at = excluded.used_at`,
        )
        .run(key, modelId, json, bytes, now, now);
      this.#db.prepare('DELETE FROM localkb_response_cache WHERE created_at <= ?').run(now - this.#ttlMs);
      const evict = this.#db.prepare(
        'DELETE FROM localkb_response_cache WHERE key = (SELECT key FROM localkb_response_cache ORDER BY used_at, rowid LIMIT 1)',
      );
      for (;;) {
        const { entries, total } = this.#db
          .prepare('SELECT COUNT(*) AS entries, COALESCE(SUM(bytes), 0) AS total FROM localkb_response_cache')
          .get() as { entries: number; total: number };
        if (entries <= this.#maxEntries && total <= this.#maxBytes) break;
        evict.run();
      }
    });
    write();
  }

  stats(): ResponseCacheStats {
    const { entries, bytes } = this.#db
      .prepare('SELECT COUNT(*) AS entries, COALESCE(SUM(bytes), 0) AS bytes FROM localkb_response_cache')
      .get() as { entries: number; bytes: number };
    return { entries, bytes, hits: this.#hits, misses: this.#misses };
  }

  clear(): void {
    this.#db.exec('DELETE FROM localkb_response_cache');
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
