import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TypeScript script run in its own Node process (through tsx), talking to the test over IPC. */
export interface ScriptProcess {
  readonly child: ChildProcess;
  /** Every message the script sent so far. */
  readonly messages: { type: string; [key: string]: unknown }[];
  /** The first message of `type` (waits up to `timeoutMs`). */
  waitFor(type: string, timeoutMs?: number): Promise<{ type: string; [key: string]: unknown }>;
  /** Resolves with the exit code, or the signal's name when killed. */
  readonly exited: Promise<number | string | null>;
  /** SIGKILL: no exit handlers, no flush, exactly like a crash or the OOM killer. */
  kill9(): Promise<number | string | null>;
}

export function startScript(script: string, args: string[]): ScriptProcess {
  const child = fork(script, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: { type: string; [key: string]: unknown }[] = [];
  child.on('message', (message: { type: string }) => messages.push(message));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  return {
    child,
    messages,
    exited,
    async waitFor(type, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((m) => m.type === type);
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the script ${script} exited before sending a ${type} message`);
        }
        if (Date.now() > deadline)
          throw new Error(`the script ${script} sent no ${type} message in ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}
