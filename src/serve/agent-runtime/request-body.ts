/**
 * Reading bedrock-agent-runtime request bodies the way the service validates them, with its error wording
 * ("1 validation error detected: Value at 'x' failed to satisfy constraint: …").
 */
import type { InferenceConfig } from '../../kb/types.js';
import type { RetrievalFilter } from '../../types.js';
import { AwsServiceError } from '../wire/aws-errors.js';

export type JsonObject = Record<string, unknown>;

/** Bedrock's limit on numberOfResults for Retrieve and RetrieveAndGenerate. */
export const MAX_NUMBER_OF_RESULTS = 100;
/** Bedrock's default numberOfResults. */
export const DEFAULT_NUMBER_OF_RESULTS = 5;
/** The Rerank API's limit on sources per request. */
export const MAX_RERANK_SOURCES = 1000;

export function validationError(path: string, constraint: string): AwsServiceError {
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${path}' failed to satisfy constraint: ${constraint}`,
  );
}

/** One broken constraint of a member, in the words of AWS's validation errors. */
export interface ConstraintViolation {
  path: string;
  value: string;
  constraint: string;
}

/** `2 validation errors detected: Value 'x' at 'a' failed to satisfy constraint: …; Value 'x' at 'a' …`. */
export function constraintError(violations: readonly ConstraintViolation[]): AwsServiceError {
  const count = violations.length;
  const parts = violations.map(
    (v) => `Value '${v.value}' at '${v.path}' failed to satisfy constraint: ${v.constraint}`,
  );
  return new AwsServiceError(
    'ValidationException',
    `${count} validation error${count === 1 ? '' : 's'} detected: ${parts.join('; ')}`,
  );
}

/** A string shape's constraints as the service model states them (the pattern as its source text). */
export interface MemberConstraints {
  pattern: string;
  min?: number;
  max?: number;
}

/** The patterns and lengths a string member must satisfy, checked in the service model's order. */
function violationsOf(value: string, path: string, rules: MemberConstraints): ConstraintViolation[] {
  const violations: ConstraintViolation[] = [];
  if (!new RegExp(rules.pattern).test(value)) {
    violations.push({
      path,
      value,
      constraint: `Member must satisfy regular expression pattern: ${rules.pattern}`,
    });
  }
  if (rules.min !== undefined && value.length < rules.min) {
    violations.push({
      path,
      value,
      constraint: `Member must have length greater than or equal to ${rules.min}`,
    });
  }
  if (rules.max !== undefined && value.length > rules.max) {
    violations.push({
      path,
      value,
      constraint: `Member must have length less than or equal to ${rules.max}`,
    });
  }
  return violations;
}

/** A string member checked against its service-model constraints; ValidationException naming each broken one. */
export function checkConstraints(value: string, path: string, rules: MemberConstraints): string {
  const violations = violationsOf(value, path, rules);
  if (violations.length > 0) throw constraintError(violations);
  return value;
}

/** Retrieve's path label (service model shape KnowledgeBaseIdentifier): an id or a knowledge-base ARN. */
const KNOWLEDGE_BASE_IDENTIFIER: MemberConstraints = {
  pattern:
    '^[0-9a-zA-Z]{10}$|^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:knowledge-base/[0-9a-zA-Z]{10}$',
  min: 10,
  max: 2048,
};
/** RetrieveAndGenerate's knowledgeBaseId (service model shape KnowledgeBaseId). */
const KNOWLEDGE_BASE_ID: MemberConstraints = { pattern: '^[0-9a-zA-Z]+$', max: 10 };

/** RetrieveAndGenerate(Stream)'s sessionId (service model shape SessionId). */
const SESSION_ID: MemberConstraints = { pattern: '^[0-9a-zA-Z._:-]+$', min: 2, max: 100 };

/** Retrieve's knowledge base, checked as KnowledgeBaseIdentifier (min 10, max 2048); an ARN gives its id. */
export function readKnowledgeBaseIdentifier(raw: string): string {
  checkConstraints(raw, 'knowledgeBaseId', KNOWLEDGE_BASE_IDENTIFIER);
  return raw.startsWith('arn:') ? raw.slice(raw.lastIndexOf('/') + 1) : raw;
}

/** RetrieveAndGenerate's knowledgeBaseId, checked as KnowledgeBaseId (max 10, ^[0-9a-zA-Z]+$). */
export function readKnowledgeBaseId(raw: string, path: string): string {
  return checkConstraints(raw, path, KNOWLEDGE_BASE_ID);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseJsonBody(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsServiceError(
      'SerializationException',
      `The request body is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!isObject(parsed))
    throw new AwsServiceError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

export function objectAt(
  body: JsonObject,
  key: string,
  path: string,
  required = false,
): JsonObject | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required) throw validationError(path, 'Member must not be null');
    return undefined;
  }
  if (!isObject(value)) throw validationError(path, 'Member must be a structure');
  return value;
}

export function stringAt(body: JsonObject, key: string, path: string, required = false): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required) throw validationError(path, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'string') throw validationError(path, 'Member must be a string');
  if (required && value.length === 0)
    throw validationError(path, 'Member must have length greater than or equal to 1');
  return value;
}

export function integerAt(
  body: JsonObject,
  key: string,
  path: string,
  range: { min: number; max: number },
): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw validationError(path, 'Member must be an integer');
  if (value < range.min)
    throw validationError(path, `Member must have value greater than or equal to ${range.min}`);
  if (value > range.max)
    throw validationError(path, `Member must have value less than or equal to ${range.max}`);
  return value;
}

function numberAt(body: JsonObject, key: string, path: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw validationError(path, 'Member must be a number');
  return value;
}

export interface RerankingRequest {
  modelArn: string;
  /** Results kept after reranking; all of them when absent. */
  numberOfRerankedResults?: number;
}

export interface RetrievalRequest {
  k: number;
  searchType?: 'SEMANTIC' | 'HYBRID';
  filter?: RetrievalFilter;
  reranking?: RerankingRequest;
}

/** KnowledgeBaseRetrievalConfiguration → the options of KnowledgeBase.retrieve. */
export function readRetrievalConfiguration(
  configuration: JsonObject | undefined,
  path: string,
): RetrievalRequest {
  if (configuration && configuration.managedSearchConfiguration !== undefined) {
    throw validationError(`${path}.managedSearchConfiguration`, 'localkb serves vector knowledge bases only');
  }
  const vector = configuration
    ? objectAt(configuration, 'vectorSearchConfiguration', `${path}.vectorSearchConfiguration`)
    : undefined;
  const at = `${path}.vectorSearchConfiguration`;
  if (!vector) return { k: DEFAULT_NUMBER_OF_RESULTS };
  const k =
    integerAt(vector, 'numberOfResults', `${at}.numberOfResults`, { min: 1, max: MAX_NUMBER_OF_RESULTS }) ??
    DEFAULT_NUMBER_OF_RESULTS;
  const request: RetrievalRequest = { k };
  const searchType = stringAt(vector, 'overrideSearchType', `${at}.overrideSearchType`);
  if (searchType !== undefined) {
    if (searchType !== 'SEMANTIC' && searchType !== 'HYBRID') {
      throw validationError(
        `${at}.overrideSearchType`,
        'Member must satisfy enum value set: [HYBRID, SEMANTIC]',
      );
    }
    request.searchType = searchType;
  }
  if (vector.filter !== undefined && vector.filter !== null) {
    // The filter language is checked in full by the knowledge base (validateFilter), which names the bad part.
    if (!isObject(vector.filter)) throw validationError(`${at}.filter`, 'Member must be a structure');
    request.filter = vector.filter as unknown as RetrievalFilter;
  }
  if (vector.implicitFilterConfiguration !== undefined) {
    throw validationError(
      `${at}.implicitFilterConfiguration`,
      'implicit filters are not supported by localkb',
    );
  }
  const reranking = objectAt(vector, 'rerankingConfiguration', `${at}.rerankingConfiguration`);
  if (reranking) request.reranking = readVectorSearchReranking(reranking, `${at}.rerankingConfiguration`);
  return request;
}

function readVectorSearchReranking(reranking: JsonObject, path: string): RerankingRequest {
  if (reranking.type !== 'BEDROCK_RERANKING_MODEL') {
    throw validationError(`${path}.type`, 'Member must satisfy enum value set: [BEDROCK_RERANKING_MODEL]');
  }
  const bedrock = objectAt(
    reranking,
    'bedrockRerankingConfiguration',
    `${path}.bedrockRerankingConfiguration`,
    true,
  )!;
  const model = objectAt(
    bedrock,
    'modelConfiguration',
    `${path}.bedrockRerankingConfiguration.modelConfiguration`,
    true,
  )!;
  const modelArn = stringAt(
    model,
    'modelArn',
    `${path}.bedrockRerankingConfiguration.modelConfiguration.modelArn`,
    true,
  )!;
  const numberOfRerankedResults = integerAt(
    bedrock,
    'numberOfRerankedResults',
    `${path}.bedrockRerankingConfiguration.numberOfRerankedResults`,
    { min: 1, max: MAX_NUMBER_OF_RESULTS },
  );
  return { modelArn, ...(numberOfRerankedResults === undefined ? {} : { numberOfRerankedResults }) };
}

export interface RetrieveRequest extends RetrievalRequest {
  knowledgeBaseId: string;
  text: string;
  nextToken?: string;
}

export function readRetrieveRequest(body: JsonObject, knowledgeBaseIdentifier: string): RetrieveRequest {
  const knowledgeBaseId = readKnowledgeBaseIdentifier(knowledgeBaseIdentifier);
  const query = objectAt(body, 'retrievalQuery', 'retrievalQuery', true)!;
  if (query.image !== undefined)
    throw validationError('retrievalQuery.image', 'image queries are not supported by localkb');
  const text = stringAt(query, 'text', 'retrievalQuery.text', true)!;
  const retrieval = readRetrievalConfiguration(
    objectAt(body, 'retrievalConfiguration', 'retrievalConfiguration'),
    'retrievalConfiguration',
  );
  const nextToken = stringAt(body, 'nextToken', 'nextToken');
  return { knowledgeBaseId, text, ...retrieval, ...(nextToken === undefined ? {} : { nextToken }) };
}

export interface GenerateRequest {
  knowledgeBaseId: string;
  modelArn: string;
  text: string;
  sessionId?: string;
  retrieval: RetrievalRequest;
  promptTemplate?: string;
  inferenceConfig?: InferenceConfig;
  guardrail?: { id: string; version: string };
}

/** RetrieveAndGenerate and RetrieveAndGenerateStream share one request shape. */
export function readGenerateRequest(body: JsonObject): GenerateRequest {
  const input = objectAt(body, 'input', 'input', true)!;
  const text = stringAt(input, 'text', 'input.text', true)!;
  const rawSessionId = stringAt(body, 'sessionId', 'sessionId');
  const sessionId =
    rawSessionId === undefined ? undefined : checkConstraints(rawSessionId, 'sessionId', SESSION_ID);
  const configuration = objectAt(
    body,
    'retrieveAndGenerateConfiguration',
    'retrieveAndGenerateConfiguration',
    true,
  )!;
  const root = 'retrieveAndGenerateConfiguration';
  if (configuration.type !== 'KNOWLEDGE_BASE') {
    throw validationError(
      `${root}.type`,
      configuration.type === 'EXTERNAL_SOURCES'
        ? 'EXTERNAL_SOURCES is not supported by localkb; use KNOWLEDGE_BASE'
        : 'Member must satisfy enum value set: [KNOWLEDGE_BASE, EXTERNAL_SOURCES]',
    );
  }
  const kbPath = `${root}.knowledgeBaseConfiguration`;
  const kbConfiguration = objectAt(configuration, 'knowledgeBaseConfiguration', kbPath, true)!;
  const knowledgeBaseId = readKnowledgeBaseId(
    stringAt(kbConfiguration, 'knowledgeBaseId', `${kbPath}.knowledgeBaseId`, true)!,
    `${kbPath}.knowledgeBaseId`,
  );
  const modelArn = stringAt(kbConfiguration, 'modelArn', `${kbPath}.modelArn`, true)!;
  const retrieval = readRetrievalConfiguration(
    objectAt(kbConfiguration, 'retrievalConfiguration', `${kbPath}.retrievalConfiguration`),
    `${kbPath}.retrievalConfiguration`,
  );
  if (retrieval.reranking) {
    throw validationError(
      `${kbPath}.retrievalConfiguration.vectorSearchConfiguration.rerankingConfiguration`,
      'reranking inside RetrieveAndGenerate is not supported by localkb; rerank with Retrieve or Rerank',
    );
  }
  if (kbConfiguration.orchestrationConfiguration !== undefined) {
    throw validationError(
      `${kbPath}.orchestrationConfiguration`,
      'orchestration is not supported by localkb',
    );
  }
  const request: GenerateRequest = { knowledgeBaseId, modelArn, text, retrieval };
  if (sessionId !== undefined) request.sessionId = sessionId;
  const generation = objectAt(
    kbConfiguration,
    'generationConfiguration',
    `${kbPath}.generationConfiguration`,
  );
  if (!generation) return request;
  const genPath = `${kbPath}.generationConfiguration`;
  const template = objectAt(generation, 'promptTemplate', `${genPath}.promptTemplate`);
  const textTemplate = template
    ? stringAt(template, 'textPromptTemplate', `${genPath}.promptTemplate.textPromptTemplate`)
    : undefined;
  if (textTemplate !== undefined) request.promptTemplate = textTemplate;
  const guardrail = objectAt(generation, 'guardrailConfiguration', `${genPath}.guardrailConfiguration`);
  if (guardrail) {
    request.guardrail = {
      id: stringAt(guardrail, 'guardrailId', `${genPath}.guardrailConfiguration.guardrailId`, true)!,
      version: stringAt(
        guardrail,
        'guardrailVersion',
        `${genPath}.guardrailConfiguration.guardrailVersion`,
        true,
      )!,
    };
  }
  const inference = objectAt(generation, 'inferenceConfig', `${genPath}.inferenceConfig`);
  const textInference = inference
    ? objectAt(inference, 'textInferenceConfig', `${genPath}.inferenceConfig.textInferenceConfig`)
    : undefined;
  if (textInference) {
    const at = `${genPath}.inferenceConfig.textInferenceConfig`;
    const config: InferenceConfig = {};
    const maxTokens = integerAt(textInference, 'maxTokens', `${at}.maxTokens`, { min: 0, max: 65536 });
    const temperature = numberAt(textInference, 'temperature', `${at}.temperature`);
    const topP = numberAt(textInference, 'topP', `${at}.topP`);
    const stopSequences = textInference.stopSequences;
    if (maxTokens !== undefined) config.maxTokens = maxTokens;
    if (temperature !== undefined) config.temperature = temperature;
    if (topP !== undefined) config.topP = topP;
    if (stopSequences !== undefined && stopSequences !== null) {
      if (!Array.isArray(stopSequences) || !stopSequences.every((s) => typeof s === 'string')) {
        throw validationError(`${at}.stopSequences`, 'Member must be a list of strings');
      }
      config.stopSequences = stopSequences as string[];
    }
    request.inferenceConfig = config;
  }
  return request;
}

export interface RerankRequest {
  query: string;
  documents: string[];
  modelArn: string;
  numberOfResults: number;
  nextToken?: string;
}

/** Rerank: one text query, 1–1000 inline sources (text, or JSON documents read as their JSON text). */
export function readRerankRequest(body: JsonObject): RerankRequest {
  const queries = body.queries;
  if (!Array.isArray(queries) || queries.length === 0)
    throw validationError('queries', 'Member must not be null or empty');
  if (queries.length > 1) throw validationError('queries', 'Member must have length less than or equal to 1');
  const query = queries[0];
  if (!isObject(query) || query.type !== 'TEXT')
    throw validationError('queries.1.member.type', 'Member must satisfy enum value set: [TEXT]');
  const textQuery = objectAt(query, 'textQuery', 'queries.1.member.textQuery', true)!;
  const text = stringAt(textQuery, 'text', 'queries.1.member.textQuery.text', true)!;

  const sources = body.sources;
  if (!Array.isArray(sources) || sources.length === 0)
    throw validationError('sources', 'Member must not be null or empty');
  if (sources.length > MAX_RERANK_SOURCES) {
    throw validationError('sources', `Member must have length less than or equal to ${MAX_RERANK_SOURCES}`);
  }
  const documents = sources.map((source, index) => {
    const at = `sources.${index + 1}.member`;
    if (!isObject(source) || source.type !== 'INLINE')
      throw validationError(`${at}.type`, 'Member must satisfy enum value set: [INLINE]');
    const inline = objectAt(source, 'inlineDocumentSource', `${at}.inlineDocumentSource`, true)!;
    if (inline.type === 'TEXT') {
      const document = objectAt(inline, 'textDocument', `${at}.inlineDocumentSource.textDocument`, true)!;
      return stringAt(document, 'text', `${at}.inlineDocumentSource.textDocument.text`, true)!;
    }
    if (inline.type === 'JSON') {
      if (inline.jsonDocument === undefined)
        throw validationError(`${at}.inlineDocumentSource.jsonDocument`, 'Member must not be null');
      return JSON.stringify(inline.jsonDocument);
    }
    throw validationError(
      `${at}.inlineDocumentSource.type`,
      'Member must satisfy enum value set: [TEXT, JSON]',
    );
  });

  const configuration = objectAt(body, 'rerankingConfiguration', 'rerankingConfiguration', true)!;
  if (configuration.type !== 'BEDROCK_RERANKING_MODEL') {
    throw validationError(
      'rerankingConfiguration.type',
      'Member must satisfy enum value set: [BEDROCK_RERANKING_MODEL]',
    );
  }
  const bedrock = objectAt(
    configuration,
    'bedrockRerankingConfiguration',
    'rerankingConfiguration.bedrockRerankingConfiguration',
    true,
  )!;
  const model = objectAt(
    bedrock,
    'modelConfiguration',
    'rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration',
    true,
  )!;
  const modelArn = stringAt(
    model,
    'modelArn',
    'rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn',
    true,
  )!;
  const numberOfResults =
    integerAt(
      bedrock,
      'numberOfResults',
      'rerankingConfiguration.bedrockRerankingConfiguration.numberOfResults',
      {
        min: 1,
        max: MAX_RERANK_SOURCES,
      },
    ) ?? documents.length;
  if (numberOfResults > documents.length) {
    throw new AwsServiceError(
      'ValidationException',
      `numberOfResults (${numberOfResults}) must not be greater than the number of sources (${documents.length}).`,
    );
  }
  const nextToken = stringAt(body, 'nextToken', 'nextToken');
  return {
    query: text,
    documents,
    modelArn,
    numberOfResults,
    ...(nextToken === undefined ? {} : { nextToken }),
  };
}
