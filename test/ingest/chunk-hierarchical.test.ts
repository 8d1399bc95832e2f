import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkDocument, documentFromInput } from '../../src/ingest/index.js';
import type { Chunk } from '../../src/types.js';
import { expectChunkInvariants } from '../fixtures/ingest/chunk-invariants.js';
import { wordPieceCounter } from '../fixtures/ingest/token-counters.js';

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/corpus');
const markdown = ['ancient-lights.md', 'eddystone.md', 'lamps-and-lenses.md']
  .map((name) => readFileSync(path.join(corpus, name), 'utf8'))
  .join('\n\n');
const doc = documentFromInput({ id: 'lights.md', text: markdown, format: 'markdown' });
const options = {
  strategy: 'hierarchical',
  parentSize: 150,
  childSize: 40,
  chunkOverlap: 8,
  maxTokens: 50,
} as const;

const parentsOf = (chunks: Chunk[]) => chunks.filter((c) => c.role === 'parent');
const childrenOf = (chunks: Chunk[]) => chunks.filter((c) => c.role === 'child');

describe('hierarchical chunking', () => {
  it('lists each parent followed by its children, which point back at it', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, options);
    expect(parentsOf(chunks).length).toBeGreaterThan(5);
    let currentParent = -1;
    chunks.forEach((chunk, i) => {
      expect(chunk.index).toBe(i);
      if (chunk.role === 'parent') {
        expect(chunk.parentIndex).toBeUndefined();
        currentParent = i;
      } else {
        expect(chunk.role).toBe('child');
        expect(chunk.parentIndex).toBe(currentParent);
        const parent = chunks[chunk.parentIndex!]!;
        expect(chunk.start).toBeGreaterThanOrEqual(parent.start);
        expect(chunk.end).toBeLessThanOrEqual(parent.end);
        expect(chunk.headingPath).toEqual(parent.headingPath);
      }
    });
  });

  it('keeps children within childSize and maxTokens and parents within parentSize', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, options);
    for (const child of childrenOf(chunks)) expect(child.tokenCount).toBeLessThanOrEqual(40);
    for (const parent of parentsOf(chunks)) expect(parent.tokenCount).toBeLessThanOrEqual(150);
    expect(Math.max(...parentsOf(chunks).map((p) => p.tokenCount))).toBeGreaterThan(100);
  });

  it('covers the whole document with parents, and each parent with its children', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, options);
    const parents = parentsOf(chunks).map((p, i) => ({ ...p, index: i }));
    expectChunkInvariants(doc, parents, wordPieceCounter, 150);
    const children = childrenOf(chunks).map((c, i) => ({ ...c, index: i }));
    expectChunkInvariants(doc, children, wordPieceCounter, 50);
    for (const parent of parentsOf(chunks)) {
      const own = chunks.filter((c) => c.parentIndex === parent.index);
      expect(own.length).toBeGreaterThan(0);
      const covered = new Uint8Array(doc.text.length);
      for (const child of own) covered.fill(1, child.start, child.end);
      for (let i = parent.start; i < parent.end; i++) {
        if (/\S/.test(doc.text[i]!)) expect(covered[i], `offset ${i} of parent ${parent.index}`).toBe(1);
      }
    }
  });

  it('overlaps consecutive children of one parent by at most chunkOverlap tokens', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, options);
    let overlaps = 0;
    for (let i = 1; i < chunks.length; i++) {
      const [a, b] = [chunks[i - 1]!, chunks[i]!];
      if (a.role !== 'child' || b.role !== 'child' || a.parentIndex !== b.parentIndex || b.start >= a.end)
        continue;
      overlaps++;
      expect(wordPieceCounter.count(doc.text.slice(b.start, a.end))).toBeLessThanOrEqual(8);
    }
    expect(overlaps).toBeGreaterThan(5);
  });

  it('allows parents larger than maxTokens, because only children are embedded', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, { ...options, parentSize: 400, maxTokens: 45 });
    expect(Math.max(...parentsOf(chunks).map((p) => p.tokenCount))).toBeGreaterThan(45);
    for (const child of childrenOf(chunks)) expect(child.tokenCount).toBeLessThanOrEqual(40);
  });

  it('uses Bedrock-like defaults (1500/300) capped at maxTokens when only the strategy is given', () => {
    const chunks = chunkDocument(doc, wordPieceCounter, { strategy: 'hierarchical', maxTokens: 100 });
    for (const child of childrenOf(chunks)) expect(child.tokenCount).toBeLessThanOrEqual(100);
    // The whole text is ~1,600 tokens: with parents of up to 500 (5 × the capped child size) there are several.
    expect(parentsOf(chunks).length).toBeGreaterThan(1);
    for (const parent of parentsOf(chunks)) expect(parent.tokenCount).toBeLessThanOrEqual(1500);
  });
});
