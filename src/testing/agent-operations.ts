/**
 * bedrock-agent (the Knowledge Base control plane) as the emulator answers it: knowledge bases, data sources,
 * ingestion jobs and direct document ingestion, over the KnowledgeBaseRegistry.
 */
import {
  checkConstraints,
  integerAt,
  isObject,
  type JsonObject,
  objectAt,
  parseJsonBody,
  stringAt,
  validationError,
} from '../serve/agent-runtime/request-body.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import type { WireRequest } from '../serve/wire/http-server.js';
import {
  sendJson,
  type WireOperation,
  type WireOperationCall,
  type WireRoute,
} from '../serve/wire/operation.js';
import type { DocumentFormat, Metadata, MetadataValue } from '../types.js';
import type {
  DataSourceRecord,
  DocumentIdentifier,
  DocumentIngestRequest,
  DocumentRecord,
  IngestionJobRecord,
  KnowledgeBaseRecord,
  KnowledgeBaseRegistry,
} from './knowledge-base-registry.js';

/** IngestKnowledgeBaseDocuments and DeleteKnowledgeBaseDocuments take at most this many documents. */
export const MAX_DOCUMENTS_PER_REQUEST = 25;

const EMBEDDING_MODEL_ARN =
  /^arn:aws[\w-]*:bedrock:[\w-]*::foundation-model\/(amazon\.titan-embed-[\w.:-]+|cohere\.embed-[\w.:-]+|amazon\.nova-[\w.:-]*embed[\w.:-]*)$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/.+$/;
const RESOURCE_NAME = /^([0-9a-zA-Z][_-]?){1,100}$/;

/** A JSON operation: the body read (GET and DELETE have none), the handler's result sent with `status`. */
function operation(
  status: number,
  handler: (call: WireOperationCall, body: JsonObject) => unknown,
): WireOperation {
  return {
    streaming: false,
    subject: subjectOf,
    async run(call) {
      checkIdLabels(call.params);
      const body =
        call.request.method === 'GET' || call.request.method === 'DELETE'
          ? {}
          : parseJsonBody(call.request.body);
      sendJson(call, status, handler(call, body));
    },
  };
}

/** bedrock-agent's Id shape (knowledge base, data source and ingestion job ids): `[0-9a-zA-Z]{10}`. */
function checkIdLabels(params: Record<string, string>): void {
  for (const label of ['knowledgeBaseId', 'dataSourceId', 'ingestionJobId']) {
    const value = params[label];
    if (value !== undefined) checkConstraints(value, label, { pattern: '^[0-9a-zA-Z]{10}$' });
  }
}

function subjectOf(_request: WireRequest, params: Record<string, string>) {
  const ids = [params.knowledgeBaseId, params.dataSourceId, params.ingestionJobId].filter(
    (id): id is string => id !== undefined,
  );
  return {
    ids,
    ...(params.knowledgeBaseId === undefined ? {} : { knowledgeBaseId: params.knowledgeBaseId }),
  };
}

// ——— wire shapes ———

function knowledgeBaseJson(record: KnowledgeBaseRecord) {
  return {
    knowledgeBaseId: record.knowledgeBaseId,
    name: record.name,
    knowledgeBaseArn: record.knowledgeBaseArn,
    ...(record.description === undefined ? {} : { description: record.description }),
    roleArn: record.roleArn,
    knowledgeBaseConfiguration: record.knowledgeBaseConfiguration,
    ...(record.storageConfiguration === undefined
      ? {}
      : { storageConfiguration: record.storageConfiguration }),
    status: record.status,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    ...(record.failureReasons ? { failureReasons: record.failureReasons } : {}),
  };
}

function dataSourceJson(dataSource: DataSourceRecord) {
  return {
    knowledgeBaseId: dataSource.knowledgeBaseId,
    dataSourceId: dataSource.dataSourceId,
    name: dataSource.name,
    status: dataSource.status,
    ...(dataSource.description === undefined ? {} : { description: dataSource.description }),
    dataSourceConfiguration: dataSource.dataSourceConfiguration,
    ...(dataSource.vectorIngestionConfiguration === undefined
      ? {}
      : { vectorIngestionConfiguration: dataSource.vectorIngestionConfiguration }),
    dataDeletionPolicy: dataSource.dataDeletionPolicy,
    createdAt: dataSource.createdAt.toISOString(),
    updatedAt: dataSource.updatedAt.toISOString(),
  };
}

function jobJson(job: IngestionJobRecord) {
  return {
    knowledgeBaseId: job.knowledgeBaseId,
    dataSourceId: job.dataSourceId,
    ingestionJobId: job.ingestionJobId,
    ...(job.description === undefined ? {} : { description: job.description }),
    status: job.status,
    statistics: job.statistics,
    ...(job.failureReasons ? { failureReasons: job.failureReasons } : {}),
    startedAt: job.startedAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
  };
}

function documentJson(knowledgeBaseId: string, dataSourceId: string, document: DocumentRecord) {
  return {
    knowledgeBaseId,
    dataSourceId,
    status: document.status,
    identifier: document.identifier,
    ...(document.statusReason === undefined ? {} : { statusReason: document.statusReason }),
    updatedAt: document.updatedAt.toISOString(),
  };
}

/** maxResults / nextToken paging over a list, the token being the next offset. */
function page<T>(items: T[], body: JsonObject): { items: T[]; nextToken?: string } {
  const maxResults = integerAt(body, 'maxResults', 'maxResults', { min: 1, max: 1000 }) ?? 1000;
  const token = stringAt(body, 'nextToken', 'nextToken');
  let offset = 0;
  if (token !== undefined) {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw new AwsServiceError('ValidationException', 'The nextToken is invalid.');
  }
  const slice = items.slice(offset, offset + maxResults);
  const next = offset + slice.length;
  return {
    items: slice,
    ...(next < items.length ? { nextToken: Buffer.from(String(next)).toString('base64url') } : {}),
  };
}

// ——— request reading ———

function readKnowledgeBaseConfiguration(body: JsonObject): JsonObject {
  const configuration = objectAt(body, 'knowledgeBaseConfiguration', 'knowledgeBaseConfiguration', true)!;
  if (configuration.type !== 'VECTOR') {
    throw validationError(
      'knowledgeBaseConfiguration.type',
      `${String(configuration.type)} knowledge bases are not emulated; the localkb emulator offers VECTOR knowledge bases`,
    );
  }
  const vector = objectAt(
    configuration,
    'vectorKnowledgeBaseConfiguration',
    'knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration',
    true,
  )!;
  const arn = stringAt(
    vector,
    'embeddingModelArn',
    'knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn',
    true,
  )!;
  if (!EMBEDDING_MODEL_ARN.test(arn)) {
    throw new AwsServiceError(
      'ValidationException',
      `The embedding model ${arn} is not a supported embedding model ARN (e.g. arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0).`,
    );
  }
  return configuration;
}

function readMetadataValue(value: unknown, at: string): MetadataValue {
  if (!isObject(value)) throw validationError(at, 'Member must not be null');
  switch (value.type) {
    case 'STRING':
      if (typeof value.stringValue === 'string') return value.stringValue;
      break;
    case 'NUMBER':
      if (typeof value.numberValue === 'number') return value.numberValue;
      break;
    case 'BOOLEAN':
      if (typeof value.booleanValue === 'boolean') return value.booleanValue;
      break;
    case 'STRING_LIST':
      if (
        Array.isArray(value.stringListValue) &&
        value.stringListValue.every((item) => typeof item === 'string')
      ) {
        return value.stringListValue as string[];
      }
      break;
    default:
      throw validationError(
        `${at}.type`,
        'Member must satisfy enum value set: [BOOLEAN, NUMBER, STRING, STRING_LIST]',
      );
  }
  throw new AwsServiceError(
    'ValidationException',
    `The metadata value at ${at} does not match its type ${String(value.type)}.`,
  );
}

const MIME_FORMATS: Record<string, DocumentFormat> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/html': 'html',
};

function readDocument(document: unknown, index: number): DocumentIngestRequest {
  const at = `documents.${index + 1}.member`;
  if (!isObject(document)) throw validationError(at, 'Member must be a structure');
  const content = objectAt(document, 'content', `${at}.content`, true)!;
  let request: DocumentIngestRequest;
  if (content.dataSourceType === 'CUSTOM') {
    const custom = objectAt(content, 'custom', `${at}.content.custom`, true)!;
    const identifier = objectAt(
      custom,
      'customDocumentIdentifier',
      `${at}.content.custom.customDocumentIdentifier`,
      true,
    )!;
    const id = stringAt(identifier, 'id', `${at}.content.custom.customDocumentIdentifier.id`, true)!;
    if (custom.sourceType === 'IN_LINE') {
      const inline = objectAt(custom, 'inlineContent', `${at}.content.custom.inlineContent`, true)!;
      if (inline.type === 'TEXT') {
        const text = objectAt(inline, 'textContent', `${at}.content.custom.inlineContent.textContent`, true)!;
        request = {
          content: {
            kind: 'inline',
            id,
            text: stringAt(text, 'data', `${at}.content.custom.inlineContent.textContent.data`, true)!,
            format: 'text',
          },
        };
      } else if (inline.type === 'BYTE') {
        const bytes = objectAt(
          inline,
          'byteContent',
          `${at}.content.custom.inlineContent.byteContent`,
          true,
        )!;
        const mimeType = stringAt(
          bytes,
          'mimeType',
          `${at}.content.custom.inlineContent.byteContent.mimeType`,
          true,
        )!;
        const data = stringAt(bytes, 'data', `${at}.content.custom.inlineContent.byteContent.data`, true)!;
        const format = MIME_FORMATS[mimeType.split(';')[0]!.trim().toLowerCase()];
        request = format
          ? { content: { kind: 'inline', id, text: Buffer.from(data, 'base64').toString('utf8'), format } }
          : { content: { kind: 'inline-unsupported', id, mimeType } };
      } else {
        throw validationError(
          `${at}.content.custom.inlineContent.type`,
          'Member must satisfy enum value set: [BYTE, TEXT]',
        );
      }
    } else if (custom.sourceType === 'S3_LOCATION') {
      const location = objectAt(custom, 's3Location', `${at}.content.custom.s3Location`, true)!;
      request = {
        content: {
          kind: 'custom-s3',
          id,
          uri: stringAt(location, 'uri', `${at}.content.custom.s3Location.uri`, true)!,
        },
      };
    } else {
      throw validationError(
        `${at}.content.custom.sourceType`,
        'Member must satisfy enum value set: [IN_LINE, S3_LOCATION]',
      );
    }
  } else if (content.dataSourceType === 'S3') {
    const s3 = objectAt(content, 's3', `${at}.content.s3`, true)!;
    const location = objectAt(s3, 's3Location', `${at}.content.s3.s3Location`, true)!;
    request = {
      content: { kind: 's3', uri: stringAt(location, 'uri', `${at}.content.s3.s3Location.uri`, true)! },
    };
  } else {
    throw validationError(`${at}.content.dataSourceType`, 'Member must satisfy enum value set: [CUSTOM, S3]');
  }
  const metadata = objectAt(document, 'metadata', `${at}.metadata`);
  if (metadata) {
    if (metadata.type === 'IN_LINE_ATTRIBUTE') {
      const attributes = metadata.inlineAttributes;
      if (!Array.isArray(attributes))
        throw validationError(`${at}.metadata.inlineAttributes`, 'Member must not be null');
      const inline: Metadata = {};
      attributes.forEach((attribute, i) => {
        const attributeAt = `${at}.metadata.inlineAttributes.${i + 1}.member`;
        if (!isObject(attribute)) throw validationError(attributeAt, 'Member must be a structure');
        const key = stringAt(attribute, 'key', `${attributeAt}.key`, true)!;
        inline[key] = readMetadataValue(attribute.value, `${attributeAt}.value`);
      });
      request.metadata = { inline };
    } else if (metadata.type === 'S3_LOCATION') {
      const location = objectAt(metadata, 's3Location', `${at}.metadata.s3Location`, true)!;
      request.metadata = { s3Uri: stringAt(location, 'uri', `${at}.metadata.s3Location.uri`, true)! };
    } else {
      throw validationError(
        `${at}.metadata.type`,
        'Member must satisfy enum value set: [IN_LINE_ATTRIBUTE, S3_LOCATION]',
      );
    }
  }
  return request;
}

function readIdentifiers(body: JsonObject): DocumentIdentifier[] {
  const identifiers = body.documentIdentifiers;
  if (!Array.isArray(identifiers) || identifiers.length === 0) {
    throw validationError('documentIdentifiers', 'Member must not be null or empty');
  }
  if (identifiers.length > MAX_DOCUMENTS_PER_REQUEST) {
    throw validationError(
      'documentIdentifiers',
      `Member must have length less than or equal to ${MAX_DOCUMENTS_PER_REQUEST}`,
    );
  }
  return identifiers.map((identifier, index) => {
    const at = `documentIdentifiers.${index + 1}.member`;
    if (!isObject(identifier)) throw validationError(at, 'Member must be a structure');
    if (identifier.dataSourceType === 'CUSTOM') {
      const custom = objectAt(identifier, 'custom', `${at}.custom`, true)!;
      return { dataSourceType: 'CUSTOM', custom: { id: stringAt(custom, 'id', `${at}.custom.id`, true)! } };
    }
    if (identifier.dataSourceType === 'S3') {
      const s3 = objectAt(identifier, 's3', `${at}.s3`, true)!;
      return { dataSourceType: 'S3', s3: { uri: stringAt(s3, 'uri', `${at}.s3.uri`, true)! } };
    }
    throw validationError(`${at}.dataSourceType`, 'Member must satisfy enum value set: [CUSTOM, S3]');
  });
}

function requireName(body: JsonObject): string {
  const name = stringAt(body, 'name', 'name', true)!;
  if (!RESOURCE_NAME.test(name))
    throw validationError(
      'name',
      'Member must satisfy regular expression pattern: ([0-9a-zA-Z][_-]?){1,100}',
    );
  return name;
}

// ——— routes ———

/** The bedrock-agent routes the emulator answers. */
export function agentRoutes(registry: KnowledgeBaseRegistry): WireRoute[] {
  const op = operation;
  // CreateKnowledgeBase's clientToken (the SDK sends a fresh one per call and the same one on its retries): a
  // repeat "is ignored, but does not return an error" — it answers the knowledge base the first call made. The
  // same token with other parameters is refused, as AWS refuses a mismatched idempotent retry.
  const createdByToken = new Map<string, { request: string; knowledgeBaseId: string }>();
  const kbId = (call: WireOperationCall) => call.params.knowledgeBaseId ?? '';
  const dsId = (call: WireOperationCall) => call.params.dataSourceId ?? '';
  const kb = '/knowledgebases/{knowledgeBaseId}';
  const ds = `${kb}/datasources/{dataSourceId}`;
  return [
    [
      'PUT',
      '/knowledgebases/',
      'CreateKnowledgeBase',
      op(202, (_call, body) => {
        const { clientToken, ...parameters } = body;
        const earlier = typeof clientToken === 'string' ? createdByToken.get(clientToken) : undefined;
        if (earlier) {
          if (earlier.request !== JSON.stringify(parameters)) {
            throw new AwsServiceError(
              'ConflictException',
              `The clientToken ${String(clientToken)} was already used by a CreateKnowledgeBase request with other parameters; use a new clientToken for a new knowledge base.`,
              409,
            );
          }
          return { knowledgeBase: knowledgeBaseJson(registry.knowledgeBase(earlier.knowledgeBaseId)) };
        }
        const name = requireName(body);
        const roleArn = stringAt(body, 'roleArn', 'roleArn', true)!;
        if (!ROLE_ARN.test(roleArn))
          throw validationError(
            'roleArn',
            'Member must satisfy regular expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+',
          );
        const knowledgeBaseConfiguration = readKnowledgeBaseConfiguration(body);
        const storageConfiguration = objectAt(body, 'storageConfiguration', 'storageConfiguration', true)!;
        stringAt(storageConfiguration, 'type', 'storageConfiguration.type', true);
        const description = stringAt(body, 'description', 'description');
        const record = registry.createKnowledgeBase({
          name,
          roleArn,
          knowledgeBaseConfiguration,
          storageConfiguration,
          ...(description === undefined ? {} : { description }),
        });
        if (typeof clientToken === 'string') {
          createdByToken.set(clientToken, {
            request: JSON.stringify(parameters),
            knowledgeBaseId: record.knowledgeBaseId,
          });
        }
        return { knowledgeBase: knowledgeBaseJson(record) };
      }),
    ],
    [
      'GET',
      kb,
      'GetKnowledgeBase',
      op(200, (call) => ({ knowledgeBase: knowledgeBaseJson(registry.knowledgeBase(kbId(call))) })),
    ],
    [
      'POST',
      '/knowledgebases/',
      'ListKnowledgeBases',
      op(200, (_call, body) => {
        const { items, nextToken } = page(registry.listKnowledgeBases(), body);
        return {
          knowledgeBaseSummaries: items.map((record) => ({
            knowledgeBaseId: record.knowledgeBaseId,
            name: record.name,
            ...(record.description === undefined ? {} : { description: record.description }),
            status: record.status,
            updatedAt: record.updatedAt.toISOString(),
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      }),
    ],
    [
      'DELETE',
      kb,
      'DeleteKnowledgeBase',
      op(202, (call) => {
        const record = registry.deleteKnowledgeBase(kbId(call));
        return { knowledgeBaseId: record.knowledgeBaseId, status: record.status };
      }),
    ],
    [
      'PUT',
      `${kb}/datasources/`,
      'CreateDataSource',
      op(200, (call, body) => {
        const name = requireName(body);
        const dataSourceConfiguration = objectAt(
          body,
          'dataSourceConfiguration',
          'dataSourceConfiguration',
          true,
        )!;
        const description = stringAt(body, 'description', 'description');
        const vectorIngestionConfiguration = objectAt(
          body,
          'vectorIngestionConfiguration',
          'vectorIngestionConfiguration',
        );
        const policy = stringAt(body, 'dataDeletionPolicy', 'dataDeletionPolicy');
        if (policy !== undefined && policy !== 'DELETE' && policy !== 'RETAIN') {
          throw validationError('dataDeletionPolicy', 'Member must satisfy enum value set: [RETAIN, DELETE]');
        }
        const dataSource = registry.createDataSource(kbId(call), {
          name,
          dataSourceConfiguration,
          ...(description === undefined ? {} : { description }),
          ...(vectorIngestionConfiguration ? { vectorIngestionConfiguration } : {}),
          ...(policy === undefined ? {} : { dataDeletionPolicy: policy as 'DELETE' | 'RETAIN' }),
        });
        return { dataSource: dataSourceJson(dataSource) };
      }),
    ],
    [
      'GET',
      ds,
      'GetDataSource',
      op(200, (call) => ({ dataSource: dataSourceJson(registry.dataSource(kbId(call), dsId(call))) })),
    ],
    [
      'POST',
      `${kb}/datasources/`,
      'ListDataSources',
      op(200, (call, body) => {
        const { items, nextToken } = page([...registry.knowledgeBase(kbId(call)).dataSources.values()], body);
        return {
          dataSourceSummaries: items.map((dataSource) => ({
            knowledgeBaseId: dataSource.knowledgeBaseId,
            dataSourceId: dataSource.dataSourceId,
            name: dataSource.name,
            status: dataSource.status,
            ...(dataSource.description === undefined ? {} : { description: dataSource.description }),
            updatedAt: dataSource.updatedAt.toISOString(),
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      }),
    ],
    [
      'DELETE',
      ds,
      'DeleteDataSource',
      op(202, (call) => {
        const dataSource = registry.deleteDataSource(kbId(call), dsId(call));
        return {
          knowledgeBaseId: dataSource.knowledgeBaseId,
          dataSourceId: dataSource.dataSourceId,
          status: dataSource.status,
        };
      }),
    ],
    [
      'PUT',
      `${ds}/ingestionjobs/`,
      'StartIngestionJob',
      op(202, (call, body) => {
        const description = stringAt(body, 'description', 'description');
        return { ingestionJob: jobJson(registry.startIngestionJob(kbId(call), dsId(call), description)) };
      }),
    ],
    [
      'GET',
      `${ds}/ingestionjobs/{ingestionJobId}`,
      'GetIngestionJob',
      op(200, (call) => ({
        ingestionJob: jobJson(
          registry.ingestionJob(kbId(call), dsId(call), call.params.ingestionJobId ?? ''),
        ),
      })),
    ],
    [
      'POST',
      `${ds}/ingestionjobs/`,
      'ListIngestionJobs',
      op(200, (call, body) => {
        let jobs = [...registry.dataSource(kbId(call), dsId(call)).jobs.values()];
        const filters = body.filters;
        if (Array.isArray(filters)) {
          for (const filter of filters) {
            if (
              !isObject(filter) ||
              filter.attribute !== 'STATUS' ||
              filter.operator !== 'EQ' ||
              !Array.isArray(filter.values)
            ) {
              throw new AwsServiceError(
                'ValidationException',
                'Ingestion job filters must be { attribute: STATUS, operator: EQ, values }.',
              );
            }
            const values = filter.values as unknown[];
            jobs = jobs.filter((job) => values.includes(job.status));
          }
        }
        const sortBy = objectAt(body, 'sortBy', 'sortBy');
        const attribute = sortBy?.attribute ?? 'STARTED_AT';
        const descending = sortBy?.order === 'DESCENDING';
        jobs.sort((a, b) => {
          const order =
            attribute === 'STATUS'
              ? a.status.localeCompare(b.status)
              : a.startedAt.getTime() - b.startedAt.getTime();
          return descending ? -order : order;
        });
        const { items, nextToken } = page(jobs, body);
        return { ingestionJobSummaries: items.map(jobJson), ...(nextToken ? { nextToken } : {}) };
      }),
    ],
    [
      'PUT',
      `${ds}/documents`,
      'IngestKnowledgeBaseDocuments',
      op(202, (call, body) => {
        const documents = body.documents;
        if (!Array.isArray(documents) || documents.length === 0)
          throw validationError('documents', 'Member must not be null or empty');
        if (documents.length > MAX_DOCUMENTS_PER_REQUEST) {
          throw validationError(
            'documents',
            `Member must have length less than or equal to ${MAX_DOCUMENTS_PER_REQUEST}`,
          );
        }
        const requests = documents.map(readDocument);
        const details = registry.ingestDocuments(kbId(call), dsId(call), requests);
        return { documentDetails: details.map((document) => documentJson(kbId(call), dsId(call), document)) };
      }),
    ],
    [
      'POST',
      `${ds}/documents/getDocuments`,
      'GetKnowledgeBaseDocuments',
      op(200, (call, body) => ({
        documentDetails: registry
          .documents(kbId(call), dsId(call), readIdentifiers(body))
          .map((document) => documentJson(kbId(call), dsId(call), document)),
      })),
    ],
    [
      'POST',
      `${ds}/documents`,
      'ListKnowledgeBaseDocuments',
      op(200, (call, body) => {
        const { items, nextToken } = page(registry.listDocuments(kbId(call), dsId(call)), body);
        return {
          documentDetails: items.map((document) => documentJson(kbId(call), dsId(call), document)),
          ...(nextToken ? { nextToken } : {}),
        };
      }),
    ],
    [
      'POST',
      `${ds}/documents/deleteDocuments`,
      'DeleteKnowledgeBaseDocuments',
      op(202, (call, body) => ({
        documentDetails: registry
          .deleteDocuments(kbId(call), dsId(call), readIdentifiers(body))
          .map((document) => documentJson(kbId(call), dsId(call), document)),
      })),
    ],
  ];
}
