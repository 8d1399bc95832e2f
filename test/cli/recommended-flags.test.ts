/**
 * Every flag an error message (or a help text) recommends exists: collected from the sources and from the real
 * missing-model errors the CLI prints, each flag is checked against the parser of the command that would show it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { isLocalKbError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/models.js';

const SRC = path.join(REPO_ROOT, 'src');
const COMMAND_NAMES = Object.keys(COMMANDS);
const ACTIONS: Record<string, string[]> = {
  finetune: ['validate', 'create', 'status', 'list', 'stop'],
  provisioned: ['create', 'get', 'list', 'update', 'delete'],
};
/** Commands that load a local embedding model, where a missing-model error can surface. */
const MODEL_COMMANDS = ['ingest', 'query', 'ask', 'stats', 'delete', 'serve', 'eval', 'playground', 'demo'];
/** Other programs whose flags our messages quote (`qpdf --decrypt`, `aws bedrock-agent … --knowledge-base-id`). */
const OTHER_TOOLS = /\b(localkb|aws|qpdf|npm|npx|node|git|tsx)\b((?: [a-z][\w-]*){0,2})/g;

const MAIN_FLAGS = ['--version', '--help'];

interface Recommendation {
  where: string;
  flag: string;
  /** The command (and action) that would show it; undefined when any command may. */
  command?: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

/** The command a mention of `--flag` belongs to, or null when it is another program's flag. */
function commandOf(before: string, file: string, lineText: string): string[] | undefined | null {
  const tools = [...before.matchAll(OTHER_TOOLS)];
  const last = tools.at(-1);
  if (last && last[1] !== 'localkb') return null;
  if (last) {
    const words = (last[2] ?? '').trim().split(' ').filter(Boolean);
    const [command, action] = words;
    if (command && COMMAND_NAMES.includes(command)) {
      return action && ACTIONS[command]?.includes(action) ? [command, action] : [command];
    }
  }
  const inCommand = /src\/cli\/commands\/([a-z]+)\.ts$/.exec(file)?.[1];
  if (inCommand && COMMAND_NAMES.includes(inCommand)) {
    const action = /^\s+([a-z]+) /.exec(lineText)?.[1];
    return action && ACTIONS[inCommand]?.includes(action) ? [inCommand, action] : [inCommand];
  }
  return undefined;
}

/** Every `--flag` that source lines outside comments put in a string: error messages and help texts. */
function recommendationsInSources(): Recommendation[] {
  const found: Recommendation[] = [];
  for (const file of sourceFiles(SRC)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (/^\s*(\/\/|\/\*\*?|\*)/.test(text)) return;
      for (const match of text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
        const before = text.slice(0, match.index);
        // In code, not in a string: e.g. `i--`, or a flag name built with ${…}.
        if (!/['"`]/.test(before)) continue;
        const command = commandOf(before, file, text);
        if (command === null) continue;
        found.push({
          where: `${path.relative(REPO_ROOT, file)}:${i + 1}`,
          flag: `--${match[1]}`,
          ...(command ? { command } : {}),
        });
      }
    });
  }
  return found;
}

/**
 * Whether the command's own parser takes the flag: `<command> [action] --help --flag x` runs only the parser and
 * the help, so it either prints help or refuses the flag by name.
 */
async function accepts(command: string[], flag: string): Promise<boolean> {
  const [name, ...action] = command;
  const entry = COMMANDS[name as string];
  if (!entry) throw new Error(`no command ${name}`);
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return (await entry.run([...action, '--help', flag, 'x'])) === 0;
  } catch (error) {
    if (isLocalKbError(error, 'INVALID_OPTION') && error.message.includes(`unknown flag ${flag}`))
      return false;
    throw error;
  } finally {
    write.mockRestore();
  }
}

/** The commands (with actions) that would have to accept a flag recommended without naming a command. */
function everyInvocation(): string[][] {
  return COMMAND_NAMES.flatMap((name) => (ACTIONS[name] ?? ['']).map((a) => (a ? [name, a] : [name])));
}

describe('flags recommended in the sources', () => {
  const recommendations = recommendationsInSources();

  it('finds the messages that recommend flags', () => {
    // The collection itself must work: these are known recommendations.
    const flags = new Set(recommendations.map((r) => r.flag));
    for (const known of ['--model-path', '--cache-dir', '--db', '--rerank-model-path', '--json', '--tune']) {
      expect(flags, known).toContain(known);
    }
    expect(recommendations.some((r) => r.where.startsWith('src/embed/'))).toBe(true);
    expect(recommendations.some((r) => r.flag === '--decrypt')).toBe(false);
  });

  it('each one is accepted by the command that shows it, or by some command when none is named', async () => {
    const refused: string[] = [];
    for (const { where, flag, command } of recommendations) {
      // localkb's own flags, read by main before any command.
      if (where.startsWith('src/cli/main.ts') && MAIN_FLAGS.includes(flag)) continue;
      if (command) {
        const alternatives =
          command.length === 1 && ACTIONS[command[0] as string]
            ? (ACTIONS[command[0] as string] as string[]).map((a) => [command[0] as string, a])
            : [command];
        let ok = false;
        for (const invocation of alternatives) if (await accepts(invocation, flag)) ok = true;
        if (!ok) refused.push(`${where}: ${flag} (localkb ${command.join(' ')})`);
      } else {
        let ok = false;
        for (const invocation of everyInvocation()) {
          if (await accepts(invocation, flag)) {
            ok = true;
            break;
          }
        }
        if (!ok) refused.push(`${where}: ${flag} (no command takes it)`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('the model flags a library error recommends are taken by every command that loads a model', async () => {
    const modelFlags = new Set(
      recommendations.filter((r) => !r.command && /^src\/embed\//.test(r.where)).map((r) => r.flag),
    );
    expect(modelFlags).toContain('--cache-dir');
    for (const flag of modelFlags) {
      for (const command of MODEL_COMMANDS)
        expect(await accepts([command], flag), `${command} ${flag}`).toBe(true);
    }
  });

  it('the check itself refuses a flag no command has', async () => {
    expect(await accepts(['query'], '--no-such-flag')).toBe(false);
    expect(await accepts(['provisioned', 'create'], '--json')).toBe(true);
  });
});

describe('the missing-model errors the CLI prints', () => {
  let dir: string;
  let emptyCache: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-flags-'));
    emptyCache = mkdtempSync(path.join(dir, 'cache-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The localkb flags a printed error recommends. */
  function flagsIn(stderr: string): string[] {
    return [
      ...new Set(
        stderr.split('\n').flatMap((line) => {
          const flags: string[] = [];
          for (const match of line.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
            const before = line.slice(0, match.index);
            const tool = [...before.matchAll(OTHER_TOOLS)].at(-1);
            if (!tool || tool[1] === 'localkb') flags.push(`--${match[1]}`);
          }
          return flags;
        }),
      ),
    ];
  }

  it.each([
    ['ingest', ['ingest', path.join(REPO_ROOT, 'examples/corpus'), '--embedder', 'minilm']],
    ['demo', ['demo', '--embedder', 'minilm']],
  ])('%s: the whole message, once, and every flag it names exists', async (command, args) => {
    const db = path.join(dir, `${command}.db`);
    const result = await runCli(
      [...args, '--db', db, '--offline', '--cache-dir', emptyCache, '--quiet'].filter(
        (arg) => command !== 'demo' || arg !== '--quiet',
      ),
      { env: { LOCALKB_MODEL_PATH: '', LOCALKB_CACHE_DIR: '' } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[MODEL_NOT_FOUND]');
    // The numbered fixes follow the first line; the prefix appears once.
    expect(result.stderr).toMatch(/\n {2}1\. .*\n {2}2\. .*\n {2}3\. /);
    expect(result.stderr.match(new RegExp(`localkb ${command}:`, 'g'))).toHaveLength(1);
    expect(result.stderr).toContain(emptyCache);
    const flags = flagsIn(result.stderr);
    expect(flags).toEqual(expect.arrayContaining(['--model-path', '--cache-dir']));
    for (const flag of flags) expect(await accepts([command], flag), `${command} ${flag}`).toBe(true);
  });

  it('query --rerank cross-encoder: the reranker model is found through --cache-dir too', async () => {
    const db = path.join(dir, 'bm25.db');
    const made = await runCli([
      'ingest',
      path.join(REPO_ROOT, 'examples/corpus'),
      '--db',
      db,
      '--embedder',
      'none',
      '--quiet',
    ]);
    expect(made.code).toBe(0);
    const result = await runCli(
      ['query', 'granite', '--db', db, '--rerank', 'cross-encoder', '--offline', '--cache-dir', emptyCache],
      { env: { LOCALKB_RERANK_MODEL_PATH: '', LOCALKB_CACHE_DIR: '' } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[MODEL_NOT_FOUND]');
    expect(result.stderr).toContain(emptyCache);
    const flags = flagsIn(result.stderr);
    expect(flags).toEqual(expect.arrayContaining(['--rerank-model-path', '--cache-dir']));
    for (const flag of flags) expect(await accepts(['query'], flag), `query ${flag}`).toBe(true);
  });
});
