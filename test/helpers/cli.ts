import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './models.js';

/** The CLI's entry point, run through tsx so no build step is needed. */
export const CLI_MAIN = path.join(REPO_ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `localkb` CLI in its own process and returns its exit code and output, failing or not. */
export async function runCli(
  args: string[],
  { env = {}, cwd = REPO_ROOT }: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI_MAIN, ...args],
      { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 2 ** 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
