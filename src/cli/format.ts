import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLocalKbError } from '../errors.js';
import type { Answer } from '../kb/types.js';
import type { RetrievalResult } from '../types.js';

/** A location a person can read: a path relative to the working directory when local, with the page. */
export function describeLocation(result: RetrievalResult): string {
  let where = result.location.uri;
  if (where.startsWith('file://')) {
    const absolute = fileURLToPath(where);
    const relative = path.relative(process.cwd(), absolute);
    where = relative.startsWith('..') ? absolute : relative;
  }
  return result.location.page !== undefined ? `${where} (page ${result.location.page})` : where;
}

export function formatResults(results: RetrievalResult[], { width = 220 }: { width?: number } = {}): string {
  if (results.length === 0) return 'No results.\n';
  return results
    .map((result, i) => {
      const snippet = result.content.text.replace(/\s+/g, ' ').trim();
      const cut = snippet.length > width ? `${snippet.slice(0, width - 1)}…` : snippet;
      return `${String(i + 1).padStart(2)}. ${result.score.toFixed(4)}  ${describeLocation(result)}\n    ${cut}\n`;
    })
    .join('');
}

export function formatAnswer(answer: Answer): string {
  const lines = [answer.text.trim(), ''];
  // Sources keep the numbers the answer's [n] markers use: their place among the retrieved chunks.
  const cited = new Map<string, number>();
  for (const citation of answer.citations) {
    for (const reference of citation.references) {
      const n = answer.retrievalResults.findIndex((r) => r.chunkId === reference.chunkId) + 1;
      if (n > 0) cited.set(reference.chunkId, n);
    }
  }
  if (cited.size > 0) {
    lines.push('Sources:');
    for (const n of [...new Set(cited.values())].sort((a, b) => a - b)) {
      const result = answer.retrievalResults[n - 1] as RetrievalResult;
      lines.push(`  [${n}] ${describeLocation(result)}`);
    }
  }
  if (answer.usage && answer.usage.totalTokens > 0) {
    const cost = answer.cost ? `, $${answer.cost.totalCost.toFixed(6)}` : '';
    lines.push(
      `Usage: ${answer.usage.inputTokens} input + ${answer.usage.outputTokens} output tokens${cost}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `localkb <command>: ` or `localkb <command> <action>: ` at the start of a message. */
const COMMAND_PREFIX = /^localkb(?: [a-z][\w-]*){1,2}: /;

/**
 * The whole message, once, after one `localkb <command>:` prefix; the code ends the first line so scripts can
 * match it, and the lines after it (numbered fixes, details) follow as they are. A message that names its
 * command already (`localkb finetune validate: …`) keeps its own prefix instead of gaining a second one.
 */
export function describeError(command: string, error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let prefix = `localkb ${command}: `;
  for (let own = COMMAND_PREFIX.exec(message); own; own = COMMAND_PREFIX.exec(message)) {
    if (own[0].startsWith(`localkb ${command} `) || own[0] === prefix) prefix = own[0];
    message = message.slice(own[0].length);
  }
  const [first = '', ...more] = message.split('\n');
  const code = isLocalKbError(error) ? ` [${error.code}]` : '';
  return [`${prefix}${first}${code}`, ...more].join('\n');
}
