/**
 * The bedrock control plane's model customization operations as the emulator answers them:
 * CreateModelCustomizationJob, GetModelCustomizationJob, ListModelCustomizationJobs, StopModelCustomizationJob,
 * ListCustomModels, GetCustomModel, DeleteCustomModel. Shapes: the `bedrock` service model
 * (CreateModelCustomizationJobRequest, GetModelCustomizationJobResponse, ModelCustomizationJobSummary,
 * CustomModelSummary, GetCustomModelResponse). Training data in a mapped bucket is checked the way
 * `localkb finetune validate` checks it; a job whose data Bedrock would refuse ends Failed.
 */

import { validateTrainingFile } from '../generate/customization/training-data.js';
import { trainingLimitsFor } from '../generate/customization/training-limits.js';
import { foundationModelArn, type ModelCatalogue } from '../generate/model-catalogue/index.js';
import { isObject, parseJsonBody } from '../serve/agent-runtime/request-body.js';
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
import {
  type CustomizationJobRecord,
  lossAt,
  type ModelLifecycleState,
  shortId,
} from './model-lifecycle-state.js';

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*$/;
const ROLE_ARN = /^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role\/.+$/;
const S3_URI = /^s3:\/\/[a-z0-9][-.a-z0-9]{1,61}(?:\/[-!_*'().a-z0-9A-Z]+(?:\/[-!_*'().a-z0-9A-Z]+)*)?\/?$/;

/** Hyper-parameters each dataset format's models take (Custom model hyperparameters, Amazon Bedrock User Guide). */
const HYPER_PARAMETERS: Record<string, string[]> = {
  'prompt-completion': [
    'epochCount',
    'batchSize',
    'learningRate',
    'learningRateWarmupSteps',
    'earlyStoppingThreshold',
    'earlyStoppingPatience',
    'evalPercentage',
  ],
  'continued-pretraining': ['epochCount', 'batchSize', 'learningRate', 'learningRateWarmupSteps'],
  'claude-messages': [
    'epochCount',
    'batchSize',
    'learningRateMultiplier',
    'earlyStoppingThreshold',
    'earlyStoppingPatience',
  ],
  'bedrock-conversation': ['epochCount', 'learningRate', 'learningRateWarmupSteps', 'batchSize'],
  'image-caption': ['epochCount', 'batchSize', 'learningRate', 'stepCount'],
};

function nameMember(body: JsonBody, key: string): string {
  const value = requiredMember(body, key);
  if (value.length > 63 || !NAME.test(value)) {
    throw constraintError(value, key, `Member must satisfy regular expression pattern: ${NAME.source}`);
  }
  return value;
}

function s3UriOf(value: unknown, at: string): string {
  const uri = isObject(value) ? value.s3Uri : undefined;
  if (typeof uri !== 'string' || !S3_URI.test(uri)) {
    throw constraintError(uri, at, 'Member must satisfy regular expression pattern: s3://bucket/key');
  }
  return uri;
}

function jobSummary(state: ModelLifecycleState, job: CustomizationJobRecord, region: string) {
  const status = state.jobStatus(job);
  const end = state.jobEndTime(job);
  return {
    jobArn: job.jobArn,
    baseModelArn: foundationModelArn(region, job.baseModelId),
    jobName: job.jobName,
    status,
    lastModifiedTime: new Date(end ?? job.createdAt).toISOString(),
    creationTime: new Date(job.createdAt).toISOString(),
    ...(end === undefined ? {} : { endTime: new Date(end).toISOString() }),
    ...(status === 'Completed' ? { customModelArn: job.outputModelArn } : {}),
    customModelName: job.customModelName,
    customizationType: job.customizationType,
  };
}

function metricsOf(state: ModelLifecycleState, job: CustomizationJobRecord) {
  const steps = state.jobSteps(job);
  return {
    trainingMetrics: { trainingLoss: lossAt(steps - 1, steps) },
    validationMetrics: job.validationRecords > 0 ? [{ validationLoss: lossAt(steps - 1, steps, true) }] : [],
  };
}

function jobDetails(state: ModelLifecycleState, job: CustomizationJobRecord, region: string) {
  const summary = jobSummary(state, job, region);
  const completed = summary.status === 'Completed';
  return {
    jobArn: job.jobArn,
    jobName: job.jobName,
    outputModelName: job.customModelName,
    ...(completed ? { outputModelArn: job.outputModelArn } : {}),
    ...(job.clientRequestToken === undefined ? {} : { clientRequestToken: job.clientRequestToken }),
    roleArn: job.roleArn,
    status: summary.status,
    ...(summary.status === 'Failed' ? { failureMessage: job.failureMessage } : {}),
    creationTime: summary.creationTime,
    lastModifiedTime: summary.lastModifiedTime,
    ...(summary.endTime === undefined ? {} : { endTime: summary.endTime }),
    baseModelArn: summary.baseModelArn,
    hyperParameters: job.hyperParameters,
    trainingDataConfig: job.trainingDataConfig,
    validationDataConfig: job.validationDataConfig ?? { validators: [] },
    outputDataConfig: job.outputDataConfig,
    customizationType: job.customizationType,
    ...(completed ? metricsOf(state, job) : {}),
  };
}

function findJob(state: ModelLifecycleState, identifier: string): CustomizationJobRecord {
  const job =
    state.jobs.get(identifier) ??
    [...state.jobs.values()].find((candidate) => candidate.jobName === identifier);
  if (!job) throw new AwsServiceError('ResourceNotFoundException', `Job ${identifier} not found.`);
  return job;
}

function findCustomModel(state: ModelLifecycleState, identifier: string): CustomizationJobRecord {
  const job = state
    .completedCustomModels()
    .find((candidate) => candidate.outputModelArn === identifier || candidate.customModelName === identifier);
  if (!job) throw new AwsServiceError('ResourceNotFoundException', `Model ${identifier} not found.`);
  return job;
}

function sorted<T extends { createdAt: number }>(items: T[], query: URLSearchParams): T[] {
  const order = enumQuery(query, 'sortOrder', ['Ascending', 'Descending']) ?? 'Descending';
  return [...items].sort((a, b) =>
    order === 'Ascending' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt,
  );
}

/** Checks the training data when its bucket is mapped; returns the failure Bedrock's validation would report. */
async function dataFailure(
  state: ModelLifecycleState,
  job: Pick<CustomizationJobRecord, 'baseModelId' | 'customizationType' | 'hyperParameters'>,
  uri: string,
  purpose: 'training' | 'validation',
): Promise<{ failure?: string; records: number }> {
  const file = state.localPathOf(uri);
  if (file === undefined) {
    return {
      failure: `Amazon Bedrock could not read ${uri}. (localkb emulator: map the bucket to a folder with the s3Buckets option.)`,
      records: 0,
    };
  }
  try {
    const report = await validateTrainingFile(file, {
      baseModelId: job.baseModelId,
      customizationType:
        job.customizationType === 'CONTINUED_PRE_TRAINING' ? 'CONTINUED_PRE_TRAINING' : 'FINE_TUNING',
      hyperParameters: job.hyperParameters,
      purpose,
      maxProblems: 3,
    });
    if (report.valid) return { records: report.records };
    const detail = report.problems.map((problem) =>
      problem.line ? `line ${problem.line}: ${problem.message}` : problem.message,
    );
    return { failure: `Data validation failed for ${uri}: ${detail.join('; ')}.`, records: report.records };
  } catch (error) {
    return { failure: `Amazon Bedrock could not read ${uri}: ${(error as Error).message}`, records: 0 };
  }
}

export function customizationRoutes(
  state: ModelLifecycleState,
  catalogue: ModelCatalogue,
  region: string,
): WireRoute[] {
  return [
    [
      'POST',
      '/model-customization-jobs',
      'CreateModelCustomizationJob',
      {
        streaming: false,
        subject: () => ({ ids: [] }),
        async run(call) {
          const body = parseJsonBody(call.request.body);
          const token = optionalMember(body, 'clientRequestToken');
          const existing = [...state.jobs.values()].find(
            (job) => token !== undefined && job.clientRequestToken === token,
          );
          if (existing) {
            call.response.json(201, { jobArn: existing.jobArn });
            return;
          }
          const jobName = nameMember(body, 'jobName');
          const customModelName = nameMember(body, 'customModelName');
          const roleArn = requiredMember(body, 'roleArn');
          if (!ROLE_ARN.test(roleArn)) {
            throw constraintError(
              roleArn,
              'roleArn',
              `Member must satisfy regular expression pattern: ${ROLE_ARN.source}`,
            );
          }
          const baseIdentifier = requiredMember(body, 'baseModelIdentifier');
          const base = catalogue.foundationModel(baseIdentifier);
          if (!base) {
            throw new AwsServiceError(
              'ResourceNotFoundException',
              'Could not resolve the foundation model from the provided model identifier.',
            );
          }
          const customizationType = optionalMember(body, 'customizationType') ?? 'FINE_TUNING';
          if (!(base.customizationsSupported as string[]).includes(customizationType)) {
            throw new AwsServiceError(
              'ValidationException',
              `The base model ${base.modelId} doesn't support ${customizationType} customization. Models that do: ListFoundationModels with byCustomizationType=${customizationType}.`,
            );
          }
          const hyperParameters: Record<string, string> = {};
          const format = trainingLimitsFor(
            base.modelId,
            customizationType === 'CONTINUED_PRE_TRAINING',
          )?.format;
          const allowed = format ? (HYPER_PARAMETERS[format] ?? []) : [];
          if (body.hyperParameters !== undefined) {
            if (!isObject(body.hyperParameters))
              throw new AwsServiceError('SerializationException', 'hyperParameters must be a map.');
            for (const [key, value] of Object.entries(body.hyperParameters)) {
              if (!allowed.includes(key)) {
                throw new AwsServiceError(
                  'ValidationException',
                  `The hyperparameter ${key} is not supported for ${base.modelId}. Supported: ${allowed.join(', ')}.`,
                );
              }
              if (typeof value !== 'string' || !Number.isFinite(Number(value))) {
                throw new AwsServiceError(
                  'ValidationException',
                  `The hyperparameter ${key} must be a number given as a string, got ${JSON.stringify(value)}.`,
                );
              }
              hyperParameters[key] = value;
            }
          }
          if ([...state.jobs.values()].some((job) => job.jobName === jobName)) {
            throw new AwsServiceError(
              'ValidationException',
              `A model customization job named ${jobName} already exists.`,
            );
          }
          const trainingUri = s3UriOf(body.trainingDataConfig, 'trainingDataConfig.s3Uri');
          const outputUri = s3UriOf(body.outputDataConfig, 'outputDataConfig.s3Uri');
          const validators =
            isObject(body.validationDataConfig) && Array.isArray(body.validationDataConfig.validators)
              ? body.validationDataConfig.validators.map((validator, index) => ({
                  s3Uri: s3UriOf(validator, `validationDataConfig.validators.${index + 1}.member.s3Uri`),
                }))
              : [];
          const job = { baseModelId: base.modelId, customizationType, hyperParameters };
          const training = await dataFailure(state, job, trainingUri, 'training');
          let validationRecords = 0;
          let failure = training.failure;
          for (const validator of validators) {
            const checked = await dataFailure(state, job, validator.s3Uri, 'validation');
            validationRecords += checked.records;
            failure ??= checked.failure;
          }
          const id = shortId();
          const record: CustomizationJobRecord = {
            jobArn: `arn:aws:bedrock:${region}:${EMULATOR_ACCOUNT_ID}:model-customization-job/${base.modelId}/${id}`,
            jobName,
            customModelName,
            roleArn,
            ...job,
            trainingDataConfig: { s3Uri: trainingUri },
            ...(validators.length > 0 ? { validationDataConfig: { validators } } : {}),
            outputDataConfig: { s3Uri: outputUri },
            ...(token === undefined ? {} : { clientRequestToken: token }),
            createdAt: state.clock.now(),
            ...(failure === undefined ? {} : { failureMessage: failure }),
            outputModelArn: `arn:aws:bedrock:${region}:${EMULATOR_ACCOUNT_ID}:custom-model/${base.modelId}/${shortId()}`,
            trainingRecords: training.records,
            validationRecords,
          };
          state.jobs.set(record.jobArn, record);
          call.response.json(201, { jobArn: record.jobArn });
        },
      },
    ],
    [
      'GET',
      '/model-customization-jobs/{jobIdentifier}',
      'GetModelCustomizationJob',
      jsonOperation(200, (call) => jobDetails(state, findJob(state, call.params.jobIdentifier!), region)),
    ],
    [
      'GET',
      '/model-customization-jobs',
      'ListModelCustomizationJobs',
      jsonOperation(200, (call) => {
        const query = queryOf(call.request);
        const status = enumQuery(query, 'statusEquals', [
          'InProgress',
          'Completed',
          'Failed',
          'Stopping',
          'Stopped',
        ]);
        const nameContains = query.get('nameContains');
        const jobs = sorted([...state.jobs.values()], query).filter(
          (job) =>
            (status === undefined || state.jobStatus(job) === status) &&
            (nameContains === null || job.jobName.includes(nameContains)),
        );
        const { items, nextToken } = pageOf(jobs, query, 100);
        return {
          modelCustomizationJobSummaries: items.map((job) => jobSummary(state, job, region)),
          ...(nextToken === undefined ? {} : { nextToken }),
        };
      }),
    ],
    [
      'POST',
      '/model-customization-jobs/{jobIdentifier}/stop',
      'StopModelCustomizationJob',
      jsonOperation(200, (call) => {
        const job = findJob(state, call.params.jobIdentifier!);
        const status = state.jobStatus(job);
        if (status !== 'InProgress') {
          throw new AwsServiceError(
            'ValidationException',
            `The job ${job.jobName} is ${status} and can't be stopped.`,
          );
        }
        job.stopRequestedAt = state.clock.now();
        return {};
      }),
    ],
    [
      'GET',
      '/custom-models',
      'ListCustomModels',
      jsonOperation(200, (call) => {
        const query = queryOf(call.request);
        const nameContains = query.get('nameContains');
        const baseModelArnEquals = query.get('baseModelArnEquals');
        const models = sorted(state.completedCustomModels(), query).filter(
          (job) =>
            (nameContains === null || job.customModelName.includes(nameContains)) &&
            (baseModelArnEquals === null ||
              foundationModelArn(region, job.baseModelId) === baseModelArnEquals),
        );
        const { items, nextToken } = pageOf(models, query, 100);
        return {
          modelSummaries: items.map((job) => ({
            modelArn: job.outputModelArn,
            modelName: job.customModelName,
            creationTime: new Date(job.createdAt + state.timings.customizationJobMs).toISOString(),
            baseModelArn: foundationModelArn(region, job.baseModelId),
            baseModelName: catalogue.foundationModel(job.baseModelId)?.modelName ?? job.baseModelId,
            customizationType: job.customizationType,
            ownerAccountId: EMULATOR_ACCOUNT_ID,
            modelStatus: 'Active',
          })),
          ...(nextToken === undefined ? {} : { nextToken }),
        };
      }),
    ],
    [
      'GET',
      '/custom-models/{modelIdentifier}',
      'GetCustomModel',
      jsonOperation(200, (call) => {
        const job = findCustomModel(state, call.params.modelIdentifier!);
        return {
          modelArn: job.outputModelArn,
          modelName: job.customModelName,
          creationTime: new Date(job.createdAt + state.timings.customizationJobMs).toISOString(),
          jobName: job.jobName,
          jobArn: job.jobArn,
          baseModelArn: foundationModelArn(region, job.baseModelId),
          customizationType: job.customizationType,
          hyperParameters: job.hyperParameters,
          trainingDataConfig: job.trainingDataConfig,
          ...(job.validationDataConfig ? { validationDataConfig: job.validationDataConfig } : {}),
          outputDataConfig: job.outputDataConfig,
          ...metricsOf(state, job),
          modelStatus: 'Active',
        };
      }),
    ],
    [
      'DELETE',
      '/custom-models/{modelIdentifier}',
      'DeleteCustomModel',
      jsonOperation(200, (call) => {
        const job = findCustomModel(state, call.params.modelIdentifier!);
        state.jobs.delete(job.jobArn);
        catalogue.removeDerivedModel(job.outputModelArn);
        return {};
      }),
    ],
  ];
}
