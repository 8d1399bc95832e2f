/**
 * A writer in its own process for the cross-process tests: opens the knowledge base, ingests the documents and
 * deletes the ids given as JSON on argv, closes, exits. Run with `node --import tsx`.
 */
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { DocumentInput } from '../../src/types.js';
import { BagOfWordsEmbedder } from '../fixtures/ingest/bag-of-words-embedder.js';

const [dbPath, json] = process.argv.slice(2) as [string, string];
const { ingest, remove } = JSON.parse(json) as { ingest: DocumentInput[]; remove: string[] };
const kb = await LocalKnowledgeBase.open(dbPath, { embedder: new BagOfWordsEmbedder(64) });
await kb.ingest(ingest);
for (const id of remove) await kb.delete(id);
await kb.close();
