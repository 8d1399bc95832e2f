import { readFileSync } from 'node:fs';
import { kbError } from '../errors.js';

/** Reads a Bedrock metrics CSV (step_number,epoch_number,<name>_loss,perplexity) into its loss column. */
export function readLossCsv(file: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw kbError('FILE_NOT_FOUND', `Metrics file ${file} cannot be read.`, { input: file, cause: error });
  }
  const [header = '', ...rows] = text.trim().split(/\r?\n/);
  const column = header.split(',').findIndex((name) => name.endsWith('_loss'));
  if (column === -1) {
    throw kbError(
      'INVALID_OPTION',
      `${file} has no *_loss column (expected Bedrock's step_wise_training_metrics.csv).`,
      {
        input: file,
      },
    );
  }
  return rows.map((row) => Number(row.split(',')[column])).filter((value) => Number.isFinite(value));
}

const BARS = '▁▂▃▄▅▆▇█';

/** One line of block characters per series, scaled together, at most `width` wide. */
export function lossChart(series: Record<string, number[]>, width = 60): string {
  const all = Object.values(series).flat();
  if (all.length === 0) return '';
  const low = Math.min(...all);
  const high = Math.max(...all);
  const label = Math.max(...Object.keys(series).map((name) => name.length));
  return Object.entries(series)
    .map(([name, values]) => {
      const step = Math.max(1, Math.ceil(values.length / width));
      const sampled = values.filter((_, index) => index % step === 0);
      const bars = sampled
        .map(
          (value) => BARS[high === low ? 0 : Math.round(((value - low) / (high - low)) * (BARS.length - 1))],
        )
        .join('');
      return `${name.padEnd(label)}  ${bars}  ${values[0]?.toFixed(3)} → ${values.at(-1)?.toFixed(3)}`;
    })
    .join('\n');
}
