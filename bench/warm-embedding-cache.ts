/**
 * npx tsx bench/warm-embedding-cache.ts [--embedder use] [--db <file>] — embeds BEIR SciFact (corpus, test and train
 * queries) through the bench's vector cache by ingesting it into a store laid out as users get it, so that
 * bench:quality afterwards costs no embedding. Safe to stop and restart: the cache keeps what was written. The
 * corpus goes judged documents first (scifact-corpus.ts), so a partly warmed cache already serves
 * `bench:quality --docs N`. LOCALKB_EMBEDDING_CACHE moves the cache out of the checkout.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createEmbedder } from '../src/embed/index.js';
import { loadBeirDataset } from '../src/eval/index.js';
import { LocalKnowledgeBase } from '../src/kb/local-knowledge-base.js';
import { CachedEmbedder } from './embedding-cache.js';
import { loadScifact } from './scifact-corpus.js';
import { requireSharedData } from './shared-data.js';

const { values } = parseArgs({ options: { embedder: { type: 'string' }, db: { type: 'string' } } });
const scifact = requireSharedData('scifact');
const embedder = new CachedEmbedder(createEmbedder((values.embedder ?? 'use') as 'use'));
await embedder.init();
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

for (const split of ['test', 'train']) {
  const dataset = await loadBeirDataset(scifact, { split });
  await embedder.embedDocuments([]);
  let done = 0;
  for (const text of dataset.queries.values()) {
    await embedder.embedQuery(text);
    if (++done % 100 === 0) log(`${split} queries ${done}/${dataset.queries.size}`);
  }
}
log(`queries cached (${embedder.hits} hits, ${embedder.misses} embedded)`);

const { documents } = await loadScifact(scifact);
const kb = await LocalKnowledgeBase.open(
  values.db ?? path.join(os.tmpdir(), `localkb-warm-${process.pid}.db`),
  {
    embedder,
  },
);
let last = Date.now();
await kb.ingest(documents, {
  onProgress: (p) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log(
      `documents ${p.files}/${documents.length}, chunks ${p.chunks}, cache ${embedder.hits} hits ${embedder.misses} embedded`,
    );
  },
});
log(`corpus cached (${embedder.hits} hits, ${embedder.misses} embedded); store ${kb.path}`);
await kb.close();
