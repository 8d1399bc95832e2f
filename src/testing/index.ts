/**
 * localkb/testing — a wire-faithful Amazon Bedrock emulator for tests: real AWS SDK clients talk to it
 * over h2c or HTTP/1.1 on 127.0.0.1. See README.md beside this file.
 */
export { startBedrockEmulator } from './bedrock-emulator.js';
export {
  defaultAnswer,
  deterministicEmbedding,
  findNumberedSources,
  firstSentence,
  type NumberedSource,
} from './default-model.js';
export { EMULATED_RERANK_MODELS, TermOverlapReranker, termOverlapRelevance } from './emulated-reranker.js';
export type {
  BedrockEmulator,
  BedrockEmulatorFaults,
  BedrockEmulatorOptions,
  FaultTarget,
  ModelMatcher,
  RecordedRequest,
  ScriptedResponse,
} from './emulator-types.js';
