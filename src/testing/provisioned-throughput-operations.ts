/**
 * Provisioned Throughput as the emulator answers it: Create, Get, List, Update and DeleteProvisionedModelThroughput
 * (`bedrock` service model shapes GetProvisionedModelThroughputResponse, ProvisionedModelSummary). A throughput is
 * Creating, then InService after `provisioningMs` on the emulator's clock; its ARN then answers Converse and
 * InvokeModel as the model it hosts (a foundation model or a custom model).
 */
import { foundationModelArn, type ModelCatalogue } from '../generate/model-catalogue/index.js';
import { parseJsonBody } from '../serve/agent-runtime/request-body.js';
import { AwsServiceError } from '../serve/wire/aws-errors.js';
import type { WireRoute } from '../serve/wire/operation.js';
import {
  constraintError,
  enumQuery,
  type JsonBody,
  jsonOperation,
  optionalMember,
  pageOf,
  queryOf,
  requiredMember,
} from './control-plane-wire.js';
import { EMULATOR_ACCOUNT_ID } from './knowledge-base-registry.js';
import type { ModelLifecycleState, ProvisionedThroughputRecord } from './model-lifecycle-state.js';
import { shortId } from './model-lifecycle-state.js';

const NAME = /^([0-9a-zA-Z][_-]?)+$/;
const COMMITMENTS = ['OneMonth', 'SixMonths'];

function throughputJson(state: ModelLifecycleState, record: ProvisionedThroughputRecord) {
  const status = state.throughputStatus(record);
  const months =
    record.commitmentDuration === 'SixMonths' ? 6 : record.commitmentDuration === 'OneMonth' ? 1 : 0;
  const expires = new Date(record.createdAt);
  expires.setUTCMonth(expires.getUTCMonth() + months);
  return {
    modelUnits: status === 'Creating' ? 0 : record.modelUnits,
    desiredModelUnits: record.modelUnits,
    provisionedModelName: record.provisionedModelName,
    provisionedModelArn: record.provisionedModelArn,
    modelArn: record.modelArn,
    desiredModelArn: record.desiredModelArn,
    foundationModelArn: record.foundationModelArn,
    status,
    creationTime: new Date(record.createdAt).toISOString(),
    lastModifiedTime: new Date(record.changedAt).toISOString(),
    ...(record.commitmentDuration === undefined
      ? {}
      : { commitmentDuration: record.commitmentDuration, commitmentExpirationTime: expires.toISOString() }),
  };
}

function findThroughput(state: ModelLifecycleState, identifier: string): ProvisionedThroughputRecord {
  const record =
    state.throughputs.get(identifier) ??
    [...state.throughputs.values()].find((candidate) => candidate.provisionedModelName === identifier);
  if (!record) {
    throw new AwsServiceError('ResourceNotFoundException', `Provisioned Throughput ${identifier} not found.`);
  }
  return record;
}

/** The model a throughput hosts: a custom model the control plane made, or a foundation model offered so. */
function hostedModel(catalogue: ModelCatalogue, region: string, identifier: string) {
  const custom = catalogue.derivedModel(identifier);
  if (custom && identifier.includes(':custom-model/')) {
    return { modelArn: identifier, foundationModelArn: foundationModelArn(region, custom.modelId) };
  }
  const model = catalogue.foundationModel(identifier);
  if (!model) {
    throw new AwsServiceError(
      'ResourceNotFoundException',
      'Could not resolve the foundation model from the provided model identifier.',
    );
  }
  if (!model.inferenceTypesSupported.includes('PROVISIONED')) {
    const variants = catalogue
      .foundationModels({ byInferenceType: 'PROVISIONED' })
      .filter((candidate) => candidate.modelId.startsWith(`${model.modelId}:`))
      .map((candidate) => candidate.modelId);
    throw new AwsServiceError(
      'ValidationException',
      `The model ${model.modelId} doesn't support Provisioned Throughput.` +
        (variants.length > 0 ? ` Use one of its context-length variants: ${variants.join(', ')}.` : ''),
    );
  }
  const arn = foundationModelArn(region, model.modelId);
  return { modelArn: arn, foundationModelArn: arn };
}

function modelUnitsOf(body: JsonBody): number {
  const units = body.modelUnits;
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1) {
    throw constraintError(units, 'modelUnits', 'Member must have value greater than or equal to 1');
  }
  return units;
}

export function provisionedThroughputRoutes(
  state: ModelLifecycleState,
  catalogue: ModelCatalogue,
  region: string,
): WireRoute[] {
  return [
    [
      'POST',
      '/provisioned-model-throughput',
      'CreateProvisionedModelThroughput',
      {
        streaming: false,
        subject: () => ({ ids: [] }),
        async run(call) {
          const body = parseJsonBody(call.request.body);
          const token = optionalMember(body, 'clientRequestToken');
          const existing = [...state.throughputs.values()].find(
            (record) => token !== undefined && record.clientRequestToken === token,
          );
          if (existing) {
            call.response.json(201, { provisionedModelArn: existing.provisionedModelArn });
            return;
          }
          const modelUnits = modelUnitsOf(body);
          const name = requiredMember(body, 'provisionedModelName');
          if (name.length > 63 || !NAME.test(name)) {
            throw constraintError(
              name,
              'provisionedModelName',
              `Member must satisfy regular expression pattern: ${NAME.source}`,
            );
          }
          if ([...state.throughputs.values()].some((record) => record.provisionedModelName === name)) {
            throw new AwsServiceError(
              'ValidationException',
              `A Provisioned Throughput named ${name} already exists.`,
            );
          }
          const commitmentDuration = optionalMember(body, 'commitmentDuration');
          if (commitmentDuration !== undefined && !COMMITMENTS.includes(commitmentDuration)) {
            throw constraintError(
              commitmentDuration,
              'commitmentDuration',
              `Member must satisfy enum value set: [${COMMITMENTS.join(', ')}]`,
            );
          }
          const hosted = hostedModel(catalogue, region, requiredMember(body, 'modelId'));
          const now = state.clock.now();
          const record: ProvisionedThroughputRecord = {
            provisionedModelArn: `arn:aws:bedrock:${region}:${EMULATOR_ACCOUNT_ID}:provisioned-model/${shortId()}`,
            provisionedModelName: name,
            ...hosted,
            modelUnits,
            ...(commitmentDuration === undefined ? {} : { commitmentDuration }),
            createdAt: now,
            changedAt: now,
            updating: false,
            desiredModelArn: hosted.modelArn,
            desiredProvisionedModelName: name,
            ...(token === undefined ? {} : { clientRequestToken: token }),
          };
          state.throughputs.set(record.provisionedModelArn, record);
          state.registerThroughput(record);
          call.response.json(201, { provisionedModelArn: record.provisionedModelArn });
        },
      },
    ],
    [
      'GET',
      '/provisioned-model-throughput/{provisionedModelId}',
      'GetProvisionedModelThroughput',
      jsonOperation(200, (call) =>
        throughputJson(state, findThroughput(state, call.params.provisionedModelId!)),
      ),
    ],
    [
      'GET',
      '/provisioned-model-throughputs',
      'ListProvisionedModelThroughputs',
      jsonOperation(200, (call) => {
        const query = queryOf(call.request);
        const status = enumQuery(query, 'statusEquals', ['Creating', 'InService', 'Updating', 'Failed']);
        const order = enumQuery(query, 'sortOrder', ['Ascending', 'Descending']) ?? 'Descending';
        const nameContains = query.get('nameContains');
        const modelArnEquals = query.get('modelArnEquals');
        const records = [...state.throughputs.values()]
          .sort((a, b) => (order === 'Ascending' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt))
          .filter(
            (record) =>
              (status === undefined || state.throughputStatus(record) === status) &&
              (nameContains === null || record.provisionedModelName.includes(nameContains)) &&
              (modelArnEquals === null || record.modelArn === modelArnEquals),
          );
        const { items, nextToken } = pageOf(records, query, 1000);
        return {
          provisionedModelSummaries: items.map((record) => throughputJson(state, record)),
          ...(nextToken === undefined ? {} : { nextToken }),
        };
      }),
    ],
    [
      'PATCH',
      '/provisioned-model-throughput/{provisionedModelId}',
      'UpdateProvisionedModelThroughput',
      jsonOperation(200, (call, body) => {
        const record = findThroughput(state, call.params.provisionedModelId!);
        if (state.throughputStatus(record) !== 'InService') {
          throw new AwsServiceError(
            'ValidationException',
            `Provisioned Throughput ${record.provisionedModelName} is not InService; update it once it is.`,
          );
        }
        const name = optionalMember(body, 'desiredProvisionedModelName');
        const desiredModelId = optionalMember(body, 'desiredModelId');
        if (desiredModelId !== undefined) {
          if (!record.modelArn.includes(':custom-model/')) {
            throw new AwsServiceError(
              'ValidationException',
              "You can't change the model of a Provisioned Throughput for a base model.",
            );
          }
          const hosted = hostedModel(catalogue, region, desiredModelId);
          if (hosted.foundationModelArn !== record.foundationModelArn) {
            throw new AwsServiceError(
              'ValidationException',
              'The new custom model must be customized from the same base model.',
            );
          }
          record.desiredModelArn = hosted.modelArn;
        }
        if (name !== undefined) record.desiredProvisionedModelName = name;
        record.updating = true;
        record.changedAt = state.clock.now();
        return {};
      }),
    ],
    [
      'DELETE',
      '/provisioned-model-throughput/{provisionedModelId}',
      'DeleteProvisionedModelThroughput',
      jsonOperation(200, (call) => {
        const record = findThroughput(state, call.params.provisionedModelId!);
        state.throughputs.delete(record.provisionedModelArn);
        catalogue.removeDerivedModel(record.provisionedModelArn);
        return {};
      }),
    ],
  ];
}
