import type Database from 'better-sqlite3';
import {
  type PromptLibrary,
  type PromptRun,
  type PromptVersion,
  validatePromptVersion,
} from './prompt-library.js';

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
