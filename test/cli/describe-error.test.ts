import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/cli/format.js';
import { kbError } from '../../src/errors.js';

describe('describeError (how the CLI prints an error)', () => {
  it('prints the whole message once, its code ending the first line, the fixes after', () => {
    const error = kbError(
      'MODEL_NOT_FOUND',
      'Model x is missing.\nProvide it:\n  1. --model-path <dir>\n  2. --cache-dir <dir>',
    );
    expect(describeError('ingest', error)).toBe(
      'localkb ingest: Model x is missing. [MODEL_NOT_FOUND]\nProvide it:\n  1. --model-path <dir>\n  2. --cache-dir <dir>',
    );
  });

  it('never doubles the command prefix, keeping a more specific one the message has', () => {
    expect(describeError('query', kbError('INVALID_OPTION', 'localkb query: localkb query: bad --k.'))).toBe(
      'localkb query: bad --k. [INVALID_OPTION]',
    );
    expect(
      describeError('finetune', kbError('INVALID_OPTION', 'localkb finetune validate: give a file.')),
    ).toBe('localkb finetune validate: give a file. [INVALID_OPTION]');
    expect(describeError('ask', new Error('localkb eval: not ours'))).toBe('localkb ask: not ours');
    expect(describeError('stats', 'plain text')).toBe('localkb stats: plain text');
  });
});
