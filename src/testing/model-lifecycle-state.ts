/**
 * The emulated bedrock control plane's resources — model customization jobs, the custom models they produce, and
 * provisioned throughputs — with statuses derived from a clock tests can move (`emulator.advanceClock(ms)`), so a
 * job is InProgress, then Completed (or Failed / Stopped), without timers or sleeps.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelCatalogue } from '../generate/model-catalogue/index.js';

export class EmulatorClock {
  #offset = 0;
  now(): number {
    return Date.now() + this.#offset;
  }
  advance(ms: number): void {
    this.#offset += ms;
  }
}

export interface CustomizationJobRecord {
  jobArn: string;
  jobName: string;
  customModelName: string;
  roleArn: string;
  baseModelId: string;
  customizationType: string;
  hyperParameters: Record<string, string>;
  trainingDataConfig: { s3Uri: string };
  validationDataConfig?: { validators: Array<{ s3Uri: string }> };
  outputDataConfig: { s3Uri: string };
  clientRequestToken?: string;
  createdAt: number;
  /** Set when the job will fail after its data-validation phase. */
  failureMessage?: string;
  stopRequestedAt?: number;
  outputModelArn: string;
  /** Training and validation records, for the loss curve. */
  trainingRecords: number;
  validationRecords: number;
}

export type CustomizationJobStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

export interface ProvisionedThroughputRecord {
  provisionedModelArn: string;
  provisionedModelName: string;
  modelArn: string;
  foundationModelArn: string;
  modelUnits: number;
  commitmentDuration?: string;
  createdAt: number;
  /** The last create or update; the throughput is Creating / Updating for `provisioningMs` after it. */
  changedAt: number;
  updating: boolean;
  desiredModelArn: string;
  desiredProvisionedModelName: string;
  clientRequestToken?: string;
}

export interface LifecycleTimings {
  /** How long a customization job trains (virtual ms). */
  customizationJobMs: number;
  /** How long a provisioned throughput is Creating or Updating (virtual ms). */
  provisioningMs: number;
}

export function shortId(): string {
  return randomBytes(6).toString('hex');
}

/** A deterministic loss curve: falls from ~2.5 towards ~0.3 over the steps, a little noisier for validation. */
export function lossAt(step: number, steps: number, validation = false): number {
  const progress = steps <= 1 ? 1 : step / (steps - 1);
  const base = 0.3 + 2.2 * Math.exp(-3 * progress);
  return Math.round((base + (validation ? 0.08 : 0) + 0.02 * Math.sin(step)) * 10_000) / 10_000;
}

export class ModelLifecycleState {
  readonly jobs = new Map<string, CustomizationJobRecord>();
  readonly throughputs = new Map<string, ProvisionedThroughputRecord>();
  readonly #written = new Set<string>();

  constructor(
    readonly clock: EmulatorClock,
    readonly timings: LifecycleTimings,
    readonly catalogue: ModelCatalogue,
    /** Maps an s3:// URI to a local path when its bucket is mapped (s3Buckets), else undefined. */
    readonly localPathOf: (s3Uri: string) => string | undefined,
  ) {}

  jobStatus(job: CustomizationJobRecord): CustomizationJobStatus {
    const now = this.clock.now();
    const ends = job.createdAt + this.timings.customizationJobMs;
    if (job.stopRequestedAt !== undefined && job.stopRequestedAt < ends) {
      return now < job.stopRequestedAt + Math.min(100, this.timings.customizationJobMs / 10)
        ? 'Stopping'
        : 'Stopped';
    }
    if (job.failureMessage !== undefined) {
      return now < job.createdAt + this.timings.customizationJobMs / 4 ? 'InProgress' : 'Failed';
    }
    if (now < ends) return 'InProgress';
    this.#finish(job);
    return 'Completed';
  }

  jobEndTime(job: CustomizationJobRecord): number | undefined {
    const status = this.jobStatus(job);
    if (status === 'Completed') return job.createdAt + this.timings.customizationJobMs;
    if (status === 'Failed') return job.createdAt + this.timings.customizationJobMs / 4;
    if (status === 'Stopped') return job.stopRequestedAt;
    return undefined;
  }

  /** The steps a job trains for: records over an assumed batch of 8, times epochs. */
  jobSteps(job: CustomizationJobRecord): number {
    const epochs = Number(job.hyperParameters.epochCount ?? 2) || 2;
    return Math.max(1, Math.ceil(job.trainingRecords / 8)) * epochs;
  }

  /** On completion: the custom model joins the catalogue and the metrics files land in a mapped output bucket. */
  #finish(job: CustomizationJobRecord): void {
    if (this.#written.has(job.jobArn)) return;
    this.#written.add(job.jobArn);
    this.catalogue.addDerivedModel(job.outputModelArn, 'custom-model', job.baseModelId);
    const output = this.localPathOf(job.outputDataConfig.s3Uri);
    if (output === undefined) return;
    const id = job.jobArn.slice(job.jobArn.lastIndexOf('/') + 1);
    const folder = path.join(output, `model-customization-job-${id}`);
    const steps = this.jobSteps(job);
    const epochs = Number(job.hyperParameters.epochCount ?? 2) || 2;
    const perEpoch = Math.max(1, Math.ceil(steps / epochs));
    const rows = (validation: boolean) =>
      Array.from({ length: steps }, (_, step) => {
        const loss = lossAt(step, steps, validation);
        return `${step},${Math.floor(step / perEpoch)},${loss},${Math.round(Math.exp(loss) * 10_000) / 10_000}`;
      });
    mkdirSync(path.join(folder, 'training_artifacts'), { recursive: true });
    writeFileSync(
      path.join(folder, 'training_artifacts', 'step_wise_training_metrics.csv'),
      `step_number,epoch_number,training_loss,perplexity\n${rows(false).join('\n')}\n`,
    );
    if (job.validationRecords > 0) {
      const validation = path.join(
        folder,
        'validation_artifacts',
        'post_fine_tuning_validation',
        'validation',
      );
      mkdirSync(validation, { recursive: true });
      writeFileSync(
        path.join(validation, 'validation_metrics.csv'),
        `step_number,epoch_number,validation_loss,perplexity\n${rows(true).join('\n')}\n`,
      );
    }
  }

  completedCustomModels(): CustomizationJobRecord[] {
    return [...this.jobs.values()].filter((job) => this.jobStatus(job) === 'Completed');
  }

  throughputStatus(record: ProvisionedThroughputRecord): 'Creating' | 'Updating' | 'InService' {
    if (this.clock.now() < record.changedAt + this.timings.provisioningMs) {
      return record.updating ? 'Updating' : 'Creating';
    }
    if (record.updating) {
      record.updating = false;
      record.modelArn = record.desiredModelArn;
      record.provisionedModelName = record.desiredProvisionedModelName;
      this.registerThroughput(record);
    }
    return 'InService';
  }

  /** Lets bedrock-runtime answer the provisioned model ARN as its model, while the throughput is InService. */
  registerThroughput(record: ProvisionedThroughputRecord): void {
    const inner = this.catalogue.derivedModel(record.modelArn)?.modelId ?? record.modelArn;
    this.catalogue.addDerivedModel(
      record.provisionedModelArn,
      'provisioned-model',
      inner,
      () => this.throughputs.has(record.provisionedModelArn) && this.throughputStatus(record) === 'InService',
    );
  }
}
