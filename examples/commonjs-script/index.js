// localkb from CommonJS: Node 20.19+ loads the ES module package with require() (no top-level await inside).
// A BM25-only store (embedder: 'none') built from inline documents with metadata, a filtered search, and an error.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { LocalKnowledgeBase, LocalKbError } = require('localkb');

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'localkb-cjs-'));
  const kb = await LocalKnowledgeBase.open(path.join(dir, 'notes.db'), { embedder: 'none' });
  try {
    await kb.ingest([
      {
        id: 'fresnel',
        text: 'Fresnel lenses focus a lamp into a beam.',
        metadata: { topic: 'optics', year: 1823 },
      },
      {
        id: 'smeaton',
        text: 'Smeaton built the third Eddystone lighthouse of granite.',
        metadata: { topic: 'building', year: 1759 },
      },
      {
        id: 'argand',
        text: 'The Argand lamp burned oil with a hollow wick and a glass chimney.',
        metadata: { topic: 'optics', year: 1780 },
      },
    ]);
    const results = await kb.retrieve('lamp beam', {
      k: 5,
      filter: { equals: { key: 'topic', value: 'optics' } },
    });
    for (const r of results) console.log(`${r.score.toFixed(3)}  ${r.documentId}  ${r.content.text}`);

    try {
      await kb.retrieve('lamp', { k: 5, filter: { equals: { key: 'topic' } } });
    } catch (error) {
      if (!(error instanceof LocalKbError)) throw error;
      console.log(`rejected: ${error.code}`);
    }
  } finally {
    await kb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
