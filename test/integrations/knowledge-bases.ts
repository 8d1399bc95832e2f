import { afterAll, beforeAll } from 'vitest';
import type { KnowledgeBase } from '../../src/kb/types.js';
import { type BedrockEmulator, startBedrockEmulator } from '../../src/testing/index.js';
import { CORPUS } from '../kb-contract/corpus.js';
import { type Implementation, openLocal, openManaged } from '../kb-contract/implementations.js';

/** An emulator for the file's tests, started before them and closed after. */
export function useEmulator(): () => BedrockEmulator {
  let emulator: BedrockEmulator;
  beforeAll(async () => {
    emulator = await startBedrockEmulator({ transitionMs: 1 });
  });
  afterAll(async () => {
    await emulator.close();
  });
  return () => emulator;
}

/** The two knowledge bases an adapter must work over, for describe.each: local, and managed through the emulator. */
export function knowledgeBases(
  emulator: () => BedrockEmulator,
  name: string,
): Array<[string, () => Promise<Implementation>]> {
  return [
    ['LocalKnowledgeBase', () => openLocal(emulator())],
    ['BedrockKnowledgeBase (managed, through the emulator)', () => openManaged(emulator(), name)],
  ];
}

/** Opens the knowledge base before the block's tests with the contract corpus ingested, and closes it after. */
export function useCorpus(open: () => Promise<Implementation>): () => KnowledgeBase {
  let implementation: Implementation;
  beforeAll(async () => {
    implementation = await open();
    await implementation.kb.ingest(CORPUS);
  });
  afterAll(async () => {
    await implementation?.close();
  });
  return () => implementation.kb;
}
