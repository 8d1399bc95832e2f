export {
  type ConsoleLoggerOptions,
  createConsoleLogger,
  type LogFields,
  type Logger,
  type LogLevel,
  REDACTED,
  redactFields,
  safeLogger,
  silentLogger,
  truncateForLog,
} from './logger.js';
export { BedrockMetrics, type BedrockMetricsSnapshot } from './metrics.js';
export {
  BEDROCK_PRICING,
  type CostEstimate,
  createPricingTable,
  estimateCost,
  type ModelPrice,
  PRICING_AS_OF,
  type PricingTable,
  pricingModelId,
} from './pricing.js';
export {
  classifyError,
  emitUsage,
  errorStatus,
  type UsageErrorClass,
  type UsageEvent,
  type UsageListener,
} from './usage.js';
