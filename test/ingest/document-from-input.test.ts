import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { documentFromInput } from '../../src/ingest/index.js';

describe('documentFromInput', () => {
  it('builds a text document whose hash is the sha256 of the given text', () => {
    const doc = documentFromInput({
      id: 'note-1',
      text: 'Keepers trimmed wicks.',
      metadata: { team: 'ops' },
    });
    expect(doc).toEqual({
      id: 'note-1',
      uri: 'note-1',
      format: 'text',
      text: 'Keepers trimmed wicks.',
      contentHash: createHash('sha256').update('Keepers trimmed wicks.').digest('hex'),
      metadata: { 'x-localkb-title': 'note-1', 'x-localkb-size-bytes': 22, team: 'ops' },
    });
  });

  it('takes a Markdown title from the first H1 and normalises line endings', () => {
    const doc = documentFromInput({
      id: 'm',
      text: '# Lamps\r\n\r\nArgand.',
      format: 'markdown',
      uri: 'https://x/m',
    });
    expect(doc.text).toBe('# Lamps\n\nArgand.');
    expect(doc.uri).toBe('https://x/m');
    expect(doc.metadata['x-localkb-title']).toBe('Lamps');
  });

  it('renders HTML input to text like an HTML file', () => {
    const doc = documentFromInput({
      id: 'h',
      text: '<title>T</title><nav>menu</nav><h2>Sub</h2><p>Body</p>',
      format: 'html',
    });
    expect(doc.text).toBe('## Sub\n\nBody');
    expect(doc.metadata['x-localkb-title']).toBe('T');
  });

  it('rejects a missing id, non-string text, a pdf format and bad metadata with typed errors', () => {
    expect(() => documentFromInput({ id: '', text: 'x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => documentFromInput({ id: 'a', text: 3 as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => documentFromInput({ id: 'a', text: 'x', format: 'pdf' })).toThrow(/loadFile/);
    expect(() => documentFromInput({ id: 'a', text: 'x', metadata: { n: Number.NaN } })).toThrow(
      expect.objectContaining({ code: 'INVALID_METADATA', input: 'a' }),
    );
  });

  it('refuses keys a document input does not have, naming the key and where it belongs', () => {
    expect(() => documentFromInput({ id: 'a', text: 'x', title: 'Pharos' } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        message: expect.stringMatching(/unknown option "title"; did you mean "metadata"\?/),
      }),
    );
    expect(() => documentFromInput({ id: 'a', text: 'x', metadta: {} } as never)).toThrow(
      /did you mean "metadata"/,
    );
    expect(() =>
      documentFromInput({ id: 'a', text: 'x', uri: 'u', format: 'text', metadata: {} }),
    ).not.toThrow();
  });

  it('rejects whitespace-only text as EMPTY_DOCUMENT naming the id', () => {
    expect(() => documentFromInput({ id: 'blank', text: ' \n ' })).toThrow(
      expect.objectContaining({ code: 'EMPTY_DOCUMENT', input: 'blank' }),
    );
  });
});
