import type { LocalKbError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { classifyError, emitUsage, type UsageListener } from '../observe/usage.js';
import type { TokenUsage } from '../types.js';

export const ZERO_USAGE: TokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

export function tokenUsage(inputTokens: number, outputTokens: number): TokenUsage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

/** Emits the usage event and the log line that end every model call, successful or not. */
export interface CallReport {
  modelId: string;
  operation: string;
  startedAt: number;
  onUsage: UsageListener | undefined;
  logger: Logger;
}

export function reportSuccess(
  report: CallReport,
  usage: TokenUsage,
  extra: { throttledAttempts?: number; stopReason?: string } = {},
): number {
  const latencyMs = performance.now() - report.startedAt;
  emitUsage(report.onUsage, {
    modelId: report.modelId,
    operation: report.operation,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    latencyMs,
    ...(extra.throttledAttempts ? { throttledAttempts: extra.throttledAttempts } : {}),
    timestamp: Date.now(),
  });
  report.logger.debug(`${report.operation} succeeded`, {
    modelId: report.modelId,
    latencyMs: Math.round(latencyMs),
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    stopReason: extra.stopReason,
  });
  return latencyMs;
}

export function reportFailure(
  report: CallReport,
  error: LocalKbError,
  extra: { throttledAttempts?: number; usage?: TokenUsage } = {},
): void {
  const latencyMs = performance.now() - report.startedAt;
  const errorClass = classifyError(error);
  const awsErrorName = error.details?.awsErrorName;
  emitUsage(report.onUsage, {
    modelId: report.modelId,
    operation: report.operation,
    inputTokens: extra.usage?.inputTokens ?? 0,
    outputTokens: extra.usage?.outputTokens ?? 0,
    latencyMs,
    errorClass,
    errorName: typeof awsErrorName === 'string' ? awsErrorName : error.code,
    ...(extra.throttledAttempts ? { throttledAttempts: extra.throttledAttempts } : {}),
    timestamp: Date.now(),
  });
  report.logger[error.code === 'ABORTED' ? 'debug' : 'warn'](`${report.operation} failed`, {
    modelId: report.modelId,
    code: error.code,
    awsErrorName,
    status: error.details?.status,
    latencyMs: Math.round(latencyMs),
  });
}
