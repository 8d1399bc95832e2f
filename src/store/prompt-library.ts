import type Database from 'better-sqlite3';
import { kbError } from '../errors.js';

/** A saved RAG prompt template. Immutable: saving under the same name adds the next version. */
export interface PromptVersion {
  id: number;
  name: string;
  /** 1 for the first version saved under `name`, then 2, 3… */
  version: number;
  template: string;
  /** ISO 8601 time of saving. */
  createdAt: string;
}

/** One run of a prompt version over a question set, kept with its results. */
export interface PromptRun {
  id: number;
  /** The version that was run; absent once that version is gone. */
  promptVersionId?: number;
  createdAt: string;
  /** How it was run (generator, model, retrieval options), as the caller recorded it. */
  settings: Record<string, unknown>;
  /** One entry per question, as the caller recorded it. */
  results: unknown[];
}

/** Where prompt versions and runs are kept: a localkb store (SqlitePromptLibrary) or memory. */
export interface PromptLibrary {
  /** True when versions outlive the process. */
  readonly persistent: boolean;
  listVersions(): PromptVersion[];
  getVersion(id: number): PromptVersion | undefined;
  saveVersion(name: string, template: string): PromptVersion;
  /** Runs, newest first, without their results (`results` is empty; `getRun` has them). */
  listRuns(): (PromptRun & { questions: number })[];
  getRun(id: number): PromptRun | undefined;
  saveRun(run: Omit<PromptRun, 'id' | 'createdAt'>): PromptRun;
}

export const MAX_PROMPT_NAME_LENGTH = 200;
export const MAX_PROMPT_TEMPLATE_LENGTH = 100_000;

/** Checks a version's name and template before anything is written. */
export function validatePromptVersion(name: unknown, template: unknown): { name: string; template: string } {
  if (typeof name !== 'string' || name.trim() === '' || name.trim().length > MAX_PROMPT_NAME_LENGTH) {
    throw kbError(
      'INVALID_OPTION',
      `A prompt version needs a name of 1 to ${MAX_PROMPT_NAME_LENGTH} characters, got ${JSON.stringify(name)}.`,
      { input: 'name' },
    );
  }
  if (
    typeof template !== 'string' ||
    template.trim() === '' ||
    template.length > MAX_PROMPT_TEMPLATE_LENGTH
  ) {
    throw kbError(
      'INVALID_OPTION',
      `A prompt template must be non-empty text of at most ${MAX_PROMPT_TEMPLATE_LENGTH} characters.`,
      { input: 'template' },
    );
  }
  return { name: name.trim(), template };
}

interface VersionRow {
  id: number;
  name: string;
  version: number;
  template: string;
  created_at: string;
}

interface RunRow {
  id: number;
  prompt_version_id: number | null;
  created_at: string;
  settings: string;
  results: string;
}

/** Prompt versions and runs in a localkb store's prompt_versions / prompt_runs tables (added by a migration in schema.ts). */
export class SqlitePromptLibrary implements PromptLibrary {
  readonly persistent = true;

  /** `db` is called on every use, so a closed store fails with the store's own STORE_CLOSED error. */
  constructor(private readonly db: () => Database.Database) {}

  listVersions(): PromptVersion[] {
    const rows = this.db().prepare('SELECT * FROM prompt_versions ORDER BY id').all() as VersionRow[];
    return rows.map(toVersion);
  }

  getVersion(id: number): PromptVersion | undefined {
    const row = this.db().prepare('SELECT * FROM prompt_versions WHERE id = ?').get(id) as
      | VersionRow
      | undefined;
    return row ? toVersion(row) : undefined;
  }

  saveVersion(name: string, template: string): PromptVersion {
    const checked = validatePromptVersion(name, template);
    const db = this.db();
    const insert = db.transaction(
      () =>
        db
          .prepare(
            `INSERT INTO prompt_versions (name, version, template, created_at)
             VALUES (@name, (SELECT COALESCE(MAX(version), 0) + 1 FROM prompt_versions WHERE name = @name),
               @template, @createdAt)
             RETURNING *`,
          )
          .get({ ...checked, createdAt: new Date().toISOString() }) as VersionRow,
    );
    return toVersion(insert.immediate());
  }

  listRuns(): (PromptRun & { questions: number })[] {
    const rows = this.db()
      .prepare(
        `SELECT id, prompt_version_id, created_at, settings, json_array_length(results) AS questions
         FROM prompt_runs ORDER BY id DESC`,
      )
      .all() as (Omit<RunRow, 'results'> & { questions: number })[];
    return rows.map((row) => ({ ...toRun({ ...row, results: '[]' }), questions: row.questions }));
  }

  getRun(id: number): PromptRun | undefined {
    const row = this.db().prepare('SELECT * FROM prompt_runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  saveRun(run: Omit<PromptRun, 'id' | 'createdAt'>): PromptRun {
    const row = this.db()
      .prepare(
        `INSERT INTO prompt_runs (prompt_version_id, created_at, settings, results)
         VALUES (?, ?, ?, ?) RETURNING *`,
      )
      .get(
        run.promptVersionId ?? null,
        new Date().toISOString(),
        JSON.stringify(run.settings),
        JSON.stringify(run.results),
      ) as RunRow;
    return toRun(row);
  }
}

/** Versions and runs for this process only (a managed knowledge base with no local store to keep them in). */
export class MemoryPromptLibrary implements PromptLibrary {
  readonly persistent = false;
  readonly #versions: PromptVersion[] = [];
  readonly #runs: PromptRun[] = [];

  listVersions(): PromptVersion[] {
    return this.#versions.map((v) => ({ ...v }));
  }

  getVersion(id: number): PromptVersion | undefined {
    const found = this.#versions.find((v) => v.id === id);
    return found ? { ...found } : undefined;
  }

  saveVersion(name: string, template: string): PromptVersion {
    const checked = validatePromptVersion(name, template);
    const previous = this.#versions.filter((v) => v.name === checked.name).length;
    const version = {
      id: this.#versions.length + 1,
      ...checked,
      version: previous + 1,
      createdAt: new Date().toISOString(),
    };
    this.#versions.push(version);
    return { ...version };
  }

  listRuns(): (PromptRun & { questions: number })[] {
    return [...this.#runs].reverse().map((run) => ({ ...run, results: [], questions: run.results.length }));
  }

  getRun(id: number): PromptRun | undefined {
    const found = this.#runs.find((run) => run.id === id);
    return found ? structuredClone(found) : undefined;
  }

  saveRun(run: Omit<PromptRun, 'id' | 'createdAt'>): PromptRun {
    const saved = structuredClone({ ...run, id: this.#runs.length + 1, createdAt: new Date().toISOString() });
    this.#runs.push(saved);
    return structuredClone(saved);
  }
}

function toVersion(row: VersionRow): PromptVersion {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    template: row.template,
    createdAt: row.created_at,
  };
}

function toRun(row: RunRow): PromptRun {
  return {
    id: row.id,
    ...(row.prompt_version_id === null ? {} : { promptVersionId: row.prompt_version_id }),
    createdAt: row.created_at,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    results: JSON.parse(row.results) as unknown[],
  };
}
