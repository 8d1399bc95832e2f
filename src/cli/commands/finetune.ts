import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateModelCustomizationJobCommand,
  GetModelCustomizationJobCommand,
  type GetModelCustomizationJobCommandOutput,
  ListModelCustomizationJobsCommand,
  StopModelCustomizationJobCommand,
} from '@aws-sdk/client-bedrock';
import { kbError } from '../../errors.js';
import {
  controlPlaneError,
  createBedrockControlClient,
} from '../../generate/bedrock-control/control-client.js';
import { type TrainingDataReport, validateTrainingFile } from '../../generate/customization/training-data.js';
import { integerOption, parseCommandArgs, requiredString, stringList, stringOption } from '../args.js';
import { lossChart, readLossCsv } from '../loss-chart.js';

const HELP = `Usage: localkb finetune <validate|create|status|list|stop> [options]

  validate <data.jsonl> --base-model <id> [--validation] [--continued-pretraining] [--epochs <n>] [--json]
      checks every record against what Bedrock requires for the model's family, prints each bad line with its
      number and the fix, and estimates training tokens and cost
  create --job-name <name> --model-name <name> --base-model <id> --role-arn <arn> --training-data <s3://…>
         --output <s3://…> [--validation-data <s3://…>] [--hyper-parameter key=value]… [--continued-pretraining]
  status <job name or ARN> [--wait] [--interval <s>] [--metrics <csv>]… [--json]
      --wait prints a progress line until the job ends; --metrics draws the loss curves from Bedrock's metrics CSVs
  list [--status <InProgress|Completed|Failed|Stopping|Stopped>] [--json]
  stop <job name or ARN> [--json]

Bedrock uses the standard AWS configuration: region, credentials, AWS_ENDPOINT_URL_BEDROCK.`;

function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatTrainingReport(report: TrainingDataReport, file: string): string {
  const lines = report.problems.map((problem) =>
    problem.line === 0
      ? `${file}: ${problem.message} — ${problem.fix}`
      : `${file}:${problem.line}: ${problem.message} — ${problem.fix}`,
  );
  if (report.problemCount > report.problems.length) {
    lines.push(`… and ${report.problemCount - report.problems.length} more problems`);
  }
  const cost = report.estimatedCost
    ? `, about $${report.estimatedCost.training.toFixed(2)} to train (+ $${report.estimatedCost.storagePerMonth.toFixed(2)}/month storage)`
    : '';
  lines.push(
    `${report.valid ? 'OK' : 'INVALID'}: ${report.records} records in ${report.format} format for ${report.baseModelId}; ` +
      `~${report.tokens} tokens × ${report.epochs} epochs = ~${report.trainingTokens} training tokens${cost}.`,
  );
  return `${lines.join('\n')}\n`;
}

function hyperParameters(values: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals < 1) {
      throw kbError(
        'INVALID_OPTION',
        `--hyper-parameter takes key=value (e.g. epochCount=2), got "${value}".`,
        {
          input: '--hyper-parameter',
        },
      );
    }
    result[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return result;
}

/** `localkb <command> <action> --help`: the command's help, after the flags were checked. */
function printHelp(): number {
  process.stdout.write(`${HELP}\n`);
  return 0;
}

async function send<T>(operation: string, input: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw controlPlaneError(error, operation, input);
  }
}

function jobLine(job: GetModelCustomizationJobCommandOutput, startedAt: number): string {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const loss =
    job.trainingMetrics?.trainingLoss === undefined
      ? ''
      : `, training loss ${job.trainingMetrics.trainingLoss}`;
  return `${job.jobName}: ${job.status}${job.failureMessage ? ` — ${job.failureMessage}` : ''}${loss} (${seconds}s)`;
}

export async function finetuneCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    // No action is a wrong command line (exit 2, help on stderr); asking for help is not.
    (action === undefined ? process.stderr : process.stdout).write(`${HELP}\n`);
    return action === undefined ? 2 : 0;
  }
  const command = `finetune ${action}`;
  if (action === 'validate') {
    const args = parseCommandArgs(command, rest, {
      'base-model': { type: 'string' },
      validation: { type: 'boolean' },
      'continued-pretraining': { type: 'boolean' },
      epochs: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (args.values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const file = args.positionals[0];
    if (!file)
      throw kbError('INVALID_OPTION', 'localkb finetune validate: give the JSONL file to check.', {
        input: 'file',
      });
    const epochs = stringOption(args, 'epochs');
    const report = await validateTrainingFile(file, {
      baseModelId: requiredString(command, args, 'base-model'),
      ...(args.values['continued-pretraining']
        ? { customizationType: 'CONTINUED_PRE_TRAINING' as const }
        : {}),
      ...(args.values.validation ? { purpose: 'validation' as const } : {}),
      ...(epochs ? { hyperParameters: { epochCount: epochs } } : {}),
    });
    if (args.values.json) writeJson(report);
    else process.stdout.write(formatTrainingReport(report, file));
    return report.valid ? 0 : 1;
  }
  const client = createBedrockControlClient();
  try {
    switch (action) {
      case 'create': {
        const args = parseCommandArgs(command, rest, {
          'job-name': { type: 'string' },
          'model-name': { type: 'string' },
          'base-model': { type: 'string' },
          'role-arn': { type: 'string' },
          'training-data': { type: 'string' },
          'validation-data': { type: 'string' },
          output: { type: 'string' },
          'hyper-parameter': { type: 'string', multiple: true },
          'continued-pretraining': { type: 'boolean' },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const jobName = requiredString(command, args, 'job-name');
        const validation = stringOption(args, 'validation-data');
        const { jobArn } = await send('CreateModelCustomizationJob', jobName, () =>
          client.send(
            new CreateModelCustomizationJobCommand({
              jobName,
              customModelName: requiredString(command, args, 'model-name'),
              baseModelIdentifier: requiredString(command, args, 'base-model'),
              roleArn: requiredString(command, args, 'role-arn'),
              customizationType: args.values['continued-pretraining']
                ? 'CONTINUED_PRE_TRAINING'
                : 'FINE_TUNING',
              trainingDataConfig: { s3Uri: requiredString(command, args, 'training-data') },
              ...(validation ? { validationDataConfig: { validators: [{ s3Uri: validation }] } } : {}),
              outputDataConfig: { s3Uri: requiredString(command, args, 'output') },
              hyperParameters: hyperParameters(stringList(args, 'hyper-parameter')),
            }),
          ),
        );
        if (args.values.json) writeJson({ jobArn });
        else process.stdout.write(`${jobArn}\n`);
        return 0;
      }
      case 'status': {
        const args = parseCommandArgs(command, rest, {
          wait: { type: 'boolean' },
          interval: { type: 'string' },
          metrics: { type: 'string', multiple: true },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const jobIdentifier = args.positionals[0];
        if (!jobIdentifier)
          throw kbError('INVALID_OPTION', `localkb ${command}: give the job name or ARN.`, { input: 'job' });
        const interval = integerOption(command, args, 'interval', 30, { min: 1, max: 3600 });
        const startedAt = Date.now();
        let job = await send('GetModelCustomizationJob', jobIdentifier, () =>
          client.send(new GetModelCustomizationJobCommand({ jobIdentifier })),
        );
        while (args.values.wait && (job.status === 'InProgress' || job.status === 'Stopping')) {
          if (!args.values.json) process.stderr.write(`${jobLine(job, startedAt)}\n`);
          await sleep(interval * 1000);
          job = await send('GetModelCustomizationJob', jobIdentifier, () =>
            client.send(new GetModelCustomizationJobCommand({ jobIdentifier })),
          );
        }
        const { $metadata: _, ...details } = job;
        if (args.values.json) writeJson(details);
        else {
          process.stdout.write(`${jobLine(job, startedAt)}\n`);
          if (job.outputModelArn) process.stdout.write(`custom model: ${job.outputModelArn}\n`);
          const series: Record<string, number[]> = {};
          for (const file of stringList(args, 'metrics')) {
            series[/validation/.test(file) ? 'validation loss' : 'training loss'] = readLossCsv(file);
          }
          if (Object.keys(series).length > 0) process.stdout.write(`${lossChart(series)}\n`);
        }
        return job.status === 'Failed' ? 1 : 0;
      }
      case 'list': {
        const args = parseCommandArgs(command, rest, {
          status: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (args.values.help) return printHelp();
        const status = stringOption(args, 'status');
        const jobs = [];
        let nextToken: string | undefined;
        do {
          const page = await send('ListModelCustomizationJobs', status ?? 'all jobs', () =>
            client.send(
              new ListModelCustomizationJobsCommand({
                nextToken,
                ...(status ? { statusEquals: status as never } : {}),
              }),
            ),
          );
          jobs.push(...(page.modelCustomizationJobSummaries ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        if (args.values.json) writeJson(jobs);
        else {
          for (const job of jobs) {
            process.stdout.write(
              `${job.jobName}  ${job.status}  ${job.baseModelArn?.split('/').pop()}  ${job.customModelArn ?? ''}\n`.replace(
                / +\n$/,
                '\n',
              ),
            );
          }
        }
        return 0;
      }
      case 'stop': {
        const args = parseCommandArgs(command, rest, { json: { type: 'boolean' } });
        if (args.values.help) return printHelp();
        const jobIdentifier = args.positionals[0];
        if (!jobIdentifier)
          throw kbError('INVALID_OPTION', `localkb ${command}: give the job name or ARN.`, { input: 'job' });
        await send('StopModelCustomizationJob', jobIdentifier, () =>
          client.send(new StopModelCustomizationJobCommand({ jobIdentifier })),
        );
        process.stdout.write(
          args.values.json
            ? `${JSON.stringify({ jobIdentifier, status: 'Stopping' })}\n`
            : `Stopping ${jobIdentifier}\n`,
        );
        return 0;
      }
      default:
        throw kbError(
          'INVALID_OPTION',
          `localkb finetune: unknown action "${action}"; use validate, create, status, list or stop.`,
          {
            input: action,
          },
        );
    }
  } finally {
    client.destroy();
  }
}
