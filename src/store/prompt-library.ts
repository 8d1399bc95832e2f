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
