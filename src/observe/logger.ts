/**
 * A pluggable logger. localkb logs nothing unless given one; prompts are logged only at debug level and
 * truncated, and credentials are redacted from every field before a logger sees it.
 */
import { kbError } from '../errors.js';
import { checkOptions, declareOptions } from '../options.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function noop(): void {}

/** The default: logs nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export interface ConsoleLoggerOptions {
  /** The lowest level written. Default 'warn'. */
  level?: LogLevel;
  /** Where lines go. Default: stderr through console.error. */
  write?: (line: string) => void;
}

const CONSOLE_LOGGER_OPTIONS = declareOptions<ConsoleLoggerOptions>('createConsoleLogger', {
  level: 'string',
  write: 'function',
});

/** A logger writing one line per record (`[localkb] warn message {"field":…}`), at `level` and above. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  checkOptions(CONSOLE_LOGGER_OPTIONS, options);
  const threshold = LEVEL_RANK[options.level ?? 'warn'];
  if (threshold === undefined) {
    throw kbError(
      'INVALID_OPTION',
      `level must be debug, info, warn or error, got ${String(options.level)}.`,
      {
        input: 'level',
      },
    );
  }
  const write = options.write ?? ((line: string) => console.error(line));
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (LEVEL_RANK[level] < threshold) return;
      const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      write(`[localkb] ${level} ${message}${suffix}`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Field names whose values are credentials (AWS keys, session tokens, API keys, auth headers). */
const SECRET_KEY =
  /^(secretaccesskey|accesskeyid|sessiontoken|apikey|api_key|authorization|credentials|password|x-amz-security-token|bearertoken)$|secret/i;

export const REDACTED = '[redacted]';

/** A deep copy of `fields` with credential-named values replaced by '[redacted]'. */
export function redactFields(fields: LogFields): LogFields {
  return redactValue(fields, 0) as LogFields;
}

function redactValue(value: unknown, depth: number): unknown {
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const result: LogFields = {};
  for (const [key, inner] of Object.entries(value)) {
    result[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(inner, depth + 1);
  }
  return result;
}

/** The start of `text`, for logging prompts without dumping whole documents. */
export function truncateForLog(text: string, maxChars = 200): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} chars)`;
}

/**
 * Wraps a caller's logger: redacts credential fields, scrubs any known secret strings from messages and
 * values, and swallows the logger's own failures so logging never breaks a model call.
 */
export function safeLogger(logger: Logger | undefined, secrets: readonly string[] = []): Logger {
  if (!logger) return silentLogger;
  const knownSecrets = secrets.filter((secret) => secret.length >= 8);
  const scrub = (text: string): string =>
    knownSecrets.reduce((result, secret) => result.split(secret).join(REDACTED), text);
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      try {
        const safeFields =
          fields === undefined
            ? undefined
            : (JSON.parse(scrub(JSON.stringify(redactFields(fields)))) as LogFields);
        logger[level](scrub(message), safeFields);
      } catch {
        // Logging must never break the operation being logged.
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
