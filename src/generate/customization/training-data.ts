import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { kbError } from '../../errors.js';
import { type TrainingLimits, type TrainingRecordFormat, trainingLimitsFor } from './training-limits.js';

/** One line Bedrock would refuse, with what to change. */
export interface TrainingDataProblem {
  /** 1-based line number in the file; 0 for problems of the whole file. */
  line: number;
  message: string;
  fix: string;
}

export interface TrainingDataReport {
  baseModelId: string;
  format: TrainingRecordFormat;
  /** Records read (non-blank lines). */
  records: number;
  valid: boolean;
  /** The first `maxProblems` problems, in line order. */
  problems: TrainingDataProblem[];
  /** All problems found, including those beyond `problems`. */
  problemCount: number;
  /** Tokens in all records (about four characters per token, Bedrock's own rule of thumb). */
  tokens: number;
  epochs: number;
  /** tokens × epochs: what Bedrock bills a fine-tuning job for. */
  trainingTokens: number;
  /** USD, from the limits' price per 1,000 tokens trained; undefined when the price is unknown. */
  estimatedCost?: { currency: 'USD'; training: number; storagePerMonth: number };
  fileBytes: number;
  limits: TrainingLimits;
}

export interface TrainingDataOptions {
  /** The foundation model being customized, e.g. `amazon.titan-text-express-v1` or `anthropic.claude-3-haiku-…`. */
  baseModelId: string;
  /** Default FINE_TUNING; CONTINUED_PRE_TRAINING reads `{"input": …}` records. */
  customizationType?: 'FINE_TUNING' | 'CONTINUED_PRE_TRAINING';
  /** The job's hyper-parameters; `epochCount` sets the epochs of the estimate. */
  hyperParameters?: Record<string, string>;
  /** A validation set: its record limit applies instead of the training one. */
  purpose?: 'training' | 'validation';
  /** Overrides of the family's limits and price. */
  limits?: Partial<TrainingLimits>;
  /** Most problems listed in the report. Default 100. */
  maxProblems?: number;
}

const OPTION_KEYS = [
  'baseModelId',
  'customizationType',
  'hyperParameters',
  'purpose',
  'limits',
  'maxProblems',
];

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

type RecordObject = Record<string, unknown>;

interface RecordCheck {
  problems: Array<Omit<TrainingDataProblem, 'line'>>;
  text: string;
}

function isObject(value: unknown): value is RecordObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function extraneous(record: RecordObject, allowed: string[], check: RecordCheck): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      check.problems.push({
        message: `extraneous key "${key}"`,
        fix: `remove "${key}"; records take only ${allowed.map((name) => `"${name}"`).join(', ')}`,
      });
    }
  }
}

function requireText(record: RecordObject, key: string, check: RecordCheck, example: string): string {
  const value = record[key];
  if (typeof value !== 'string') {
    check.problems.push({
      message: value === undefined ? `missing "${key}"` : `"${key}" is not a string`,
      fix: `give "${key}" as a string, e.g. ${example}`,
    });
    return '';
  }
  if (value.trim() === '')
    check.problems.push({ message: `"${key}" is empty`, fix: `write the ${key} text` });
  return value;
}

/** Roles must start with user, alternate, and end with assistant; returns the turns' text. */
function checkTurns(
  messages: unknown,
  check: RecordCheck,
  contentText: (content: unknown, at: string) => string,
): string[] {
  if (!Array.isArray(messages)) {
    check.problems.push({
      message: messages === undefined ? 'missing "messages"' : '"messages" is not a list',
      fix: 'give "messages" as a list of {"role", "content"} turns, user first',
    });
    return [];
  }
  if (messages.length < 2) {
    check.problems.push({
      message: `"messages" has ${messages.length} turn(s)`,
      fix: 'give at least a user turn followed by an assistant turn',
    });
  }
  const texts: string[] = [];
  messages.forEach((message, index) => {
    const at = `messages[${index}]`;
    if (!isObject(message)) {
      check.problems.push({
        message: `${at} is not an object`,
        fix: 'write each turn as {"role", "content"}',
      });
      return;
    }
    const expected = index % 2 === 0 ? 'user' : 'assistant';
    if (message.role !== 'user' && message.role !== 'assistant') {
      check.problems.push({
        message: `${at}.role is ${JSON.stringify(message.role)}`,
        fix: 'use "user" or "assistant" (put instructions in "system")',
      });
    } else if (message.role !== expected) {
      check.problems.push({
        message: `${at} is "${message.role}" where "${expected}" belongs`,
        fix: 'start with a user turn and alternate user and assistant',
      });
    }
    for (const key of Object.keys(message)) {
      if (key !== 'role' && key !== 'content') {
        check.problems.push({ message: `extraneous key "${key}" in ${at}`, fix: `remove "${key}"` });
      }
    }
    texts.push(contentText(message.content, at));
  });
  const last = messages[messages.length - 1];
  if (messages.length >= 2 && isObject(last) && last.role !== 'assistant') {
    check.problems.push({
      message: 'the last turn is not "assistant"',
      fix: 'end with the assistant answer to learn',
    });
  }
  return texts;
}

const FORMAT_CHECKS: Record<TrainingRecordFormat, (record: RecordObject, check: RecordCheck) => void> = {
  'prompt-completion'(record, check) {
    extraneous(record, ['prompt', 'completion'], check);
    const prompt = requireText(record, 'prompt', check, '"prompt": "What is RAG?"');
    const completion = requireText(
      record,
      'completion',
      check,
      '"completion": "Retrieval-augmented generation…"',
    );
    check.text = `${prompt}${completion}`;
  },
  'continued-pretraining'(record, check) {
    extraneous(record, ['input'], check);
    check.text = requireText(record, 'input', check, '"input": "a passage of domain text"');
  },
  'claude-messages'(record, check) {
    extraneous(record, ['system', 'messages'], check);
    const system = record.system;
    if (system !== undefined && typeof system !== 'string') {
      check.problems.push({
        message: '"system" is not a string',
        fix: 'give "system" as one string, or leave it out',
      });
    }
    const turns = checkTurns(record.messages, check, (content, at) => {
      if (typeof content === 'string' && content.trim() !== '') return content;
      check.problems.push({
        message: `${at}.content is not a non-empty string`,
        fix: 'give "content" as text',
      });
      return '';
    });
    check.text = [typeof system === 'string' ? system : '', ...turns].join('');
  },
  'bedrock-conversation'(record, check) {
    extraneous(record, ['schemaVersion', 'system', 'messages'], check);
    if (record.schemaVersion !== 'bedrock-conversation-2024') {
      check.problems.push({
        message: `"schemaVersion" is ${JSON.stringify(record.schemaVersion)}`,
        fix: 'set "schemaVersion": "bedrock-conversation-2024"',
      });
    }
    const blocksText = (content: unknown, at: string): string => {
      if (!Array.isArray(content) || content.length === 0) {
        check.problems.push({
          message: `${at} has no content blocks`,
          fix: 'give "content" as a list such as [{"text": "…"}]',
        });
        return '';
      }
      return content
        .map((block, index) => {
          if (isObject(block) && typeof block.text === 'string') return block.text;
          if (isObject(block) && (isObject(block.image) || isObject(block.video))) return '';
          check.problems.push({
            message: `${at}.content[${index}] is not a text, image or video block`,
            fix: 'write text as {"text": "…"}',
          });
          return '';
        })
        .join('');
    };
    let system = '';
    if (record.system !== undefined) {
      if (!Array.isArray(record.system)) {
        check.problems.push({ message: '"system" is not a list', fix: 'give "system" as [{"text": "…"}]' });
      } else system = blocksText(record.system, 'system');
    }
    check.text = [system, ...checkTurns(record.messages, check, blocksText)].join('');
  },
  'image-caption'(record, check) {
    extraneous(record, ['image-ref', 'caption'], check);
    const ref = requireText(record, 'image-ref', check, '"image-ref": "s3://bucket/images/1.png"');
    if (ref !== '' && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,62}\/.+\.(png|jpe?g)$/i.test(ref)) {
      check.problems.push({
        message: `"image-ref" ${JSON.stringify(ref)} is not an S3 PNG or JPEG`,
        fix: 'use s3://bucket/key.png',
      });
    }
    check.text = requireText(record, 'caption', check, '"caption": "a red lighthouse at dusk"');
  },
};

function resolveLimits(options: TrainingDataOptions): TrainingLimits {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw kbError(
        'INVALID_OPTION',
        `Unknown training-data option "${key}"; expected one of ${OPTION_KEYS.join(', ')}.`,
        {
          input: key,
        },
      );
    }
  }
  const base = trainingLimitsFor(options.baseModelId, options.customizationType === 'CONTINUED_PRE_TRAINING');
  if (!base && options.limits?.format === undefined) {
    throw kbError(
      'UNKNOWN_MODEL',
      `Bedrock does not fine-tune "${options.baseModelId}" (or localkb does not know its dataset format). Models ` +
        'that can be fine-tuned: Titan Text, Cohere Command, Llama 2 / 3.1 / 3.2, Claude 3 Haiku, Nova Micro/Lite/Pro, ' +
        'Titan Image Generator, Titan Multimodal Embeddings; or pass limits.format.',
      { input: options.baseModelId },
    );
  }
  return { ...(base as TrainingLimits), ...options.limits };
}

function epochsOf(options: TrainingDataOptions, limits: TrainingLimits): number {
  const raw = options.hyperParameters?.epochCount;
  if (raw === undefined) return limits.defaultEpochs;
  const epochs = Number(raw);
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw kbError('INVALID_OPTION', `epochCount must be a positive integer, got "${raw}".`, {
      input: 'epochCount',
    });
  }
  return epochs;
}

/** Checks JSONL lines against what Bedrock requires for the base model's family and estimates the training cost. */
export async function validateTrainingLines(
  lines: AsyncIterable<string> | Iterable<string>,
  options: TrainingDataOptions & { fileBytes?: number },
): Promise<TrainingDataReport> {
  const { fileBytes = 0, ...rest } = options;
  const limits = resolveLimits(rest);
  const epochs = epochsOf(rest, limits);
  const maxProblems = options.maxProblems ?? 100;
  const problems: TrainingDataProblem[] = [];
  let problemCount = 0;
  const report = (problem: TrainingDataProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  let lineNumber = 0;
  let records = 0;
  let tokens = 0;
  for await (const raw of lines) {
    lineNumber++;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    records++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      report({
        line: lineNumber,
        message: `not JSON (${(error as Error).message})`,
        fix: 'write one JSON object per line',
      });
      continue;
    }
    if (!isObject(parsed)) {
      report({ line: lineNumber, message: 'not a JSON object', fix: 'write one {…} record per line' });
      continue;
    }
    const check: RecordCheck = { problems: [], text: '' };
    FORMAT_CHECKS[limits.format](parsed, check);
    const recordTokens = estimateTokens(check.text);
    tokens += recordTokens;
    if (recordTokens > limits.maxTokensPerRecord) {
      check.problems.push({
        message: `about ${recordTokens} tokens, over the ${limits.maxTokensPerRecord}-token limit of ${options.baseModelId}`,
        fix: 'shorten or split the record',
      });
    }
    for (const problem of check.problems) report({ line: lineNumber, ...problem });
  }
  const maxRecords = options.purpose === 'validation' ? limits.maxValidationRecords : limits.maxRecords;
  if (records > maxRecords) {
    report({
      line: 0,
      message: `${records} records, over the ${maxRecords}-record ${options.purpose ?? 'training'} limit`,
      fix: `keep at most ${maxRecords} records (or request a quota increase)`,
    });
  }
  if (options.purpose !== 'validation' && records < limits.minRecords) {
    report({
      line: 0,
      message: `${records} records, fewer than the ${limits.minRecords} a job needs`,
      fix: `add records to reach ${limits.minRecords}`,
    });
  }
  if (fileBytes > limits.maxFileBytes) {
    report({
      line: 0,
      message: `the file is ${fileBytes} bytes, over the ${limits.maxFileBytes}-byte limit`,
      fix: 'split the data or sample it down',
    });
  }
  const trainingTokens = tokens * epochs;
  return {
    baseModelId: options.baseModelId,
    format: limits.format,
    records,
    valid: problemCount === 0,
    problems,
    problemCount,
    tokens,
    epochs,
    trainingTokens,
    ...(limits.pricePer1kTokens === undefined
      ? {}
      : {
          estimatedCost: {
            currency: 'USD' as const,
            training: (trainingTokens / 1000) * limits.pricePer1kTokens,
            storagePerMonth: limits.storagePerMonth ?? 0,
          },
        }),
    fileBytes,
    limits,
  };
}

/** validateTrainingLines over a JSONL file, read line by line (files may be gigabytes). */
export async function validateTrainingFile(
  file: string,
  options: TrainingDataOptions,
): Promise<TrainingDataReport> {
  let fileBytes: number;
  try {
    fileBytes = statSync(file).size;
  } catch (error) {
    throw kbError('FILE_NOT_FOUND', `Training data ${file} does not exist.`, { input: file, cause: error });
  }
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  return validateTrainingLines(lines, { ...options, fileBytes });
}
