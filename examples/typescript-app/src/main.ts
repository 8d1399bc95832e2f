// A knowledge base from ./docs, one search and one cited answer, with no network and no API key:
// the embedder is chosen automatically (MiniLM when installed with its model, else the bundled USE) and the
// answer is extractive (quoted sentences with citations). Run: npm run build && npm start [-- "a question"]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExtractiveGenerator, isLocalKbError, LocalKnowledgeBase, type RetrievalResult } from 'localkb';

const here = path.dirname(fileURLToPath(import.meta.url));
const question = process.argv[2] ?? 'Who designed the Pharos of Alexandria?';
const dir = await mkdtemp(path.join(tmpdir(), 'localkb-example-'));

try {
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'docs.db'), {
    generation: { generator: new ExtractiveGenerator() },
  });
  const summary = await kb.ingest([path.join(here, '../docs')]);
  console.log(`ingested ${summary.documentsAdded} documents, embedded ${summary.chunksEmbedded} chunks`);

  const results: RetrievalResult[] = await kb.retrieve(question, { k: 3 });
  for (const r of results) console.log(`${r.score.toFixed(3)}  ${path.basename(r.location.uri)}`);

  const answer = await kb.retrieveAndGenerate(question, { k: 3 });
  console.log(`answer: ${answer.text}`);
  console.log(`citations: ${answer.citations.length}`);
  await kb.close();
} catch (error) {
  // Every error localkb throws on purpose has a stable code and names the input at fault.
  if (isLocalKbError(error)) console.error(`${error.code}: ${error.message}`);
  throw error;
} finally {
  await rm(dir, { recursive: true, force: true });
}
