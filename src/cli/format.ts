import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLocalKbError } from '../errors.js';
import { citedChunks } from '../kb/citation-markers.js';
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

/** An answer for a terminal: asked for with citationMarkers, so its [n] number the sources listed below it. */
export function formatAnswer(answer: Answer): string {
  const lines = [answer.text.trim(), ''];
  const cited = citedChunks(answer.citations);
  if (cited.length > 0) {
    lines.push('Sources:');
    for (const [i, result] of cited.entries()) lines.push(`  [${i + 1}] ${describeLocation(result)}`);
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
