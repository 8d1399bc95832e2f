/**
 * Migration 6: stores written before it kept localkb's own keys bare (source, title, sizeBytes, modifiedAt) and
 * no Bedrock reserved keys on chunks. Opening one moves them under x-localkb- and writes the reserved keys, so it
 * reads, filters and re-ingests exactly like a store written today.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import type { Metadata } from '../../src/types.js';
import { makeTempDir } from './store-fixtures.js';

const RESERVED = [
  'x-amz-bedrock-kb-source-uri',
  'x-amz-bedrock-kb-data-source-id',
  'x-amz-bedrock-kb-chunk-id',
  'x-amz-bedrock-kb-document-page-number',
];
const RENAMED: [string, string][] = [
  ['x-localkb-title', 'title'],
  ['x-localkb-size-bytes', 'sizeBytes'],
  ['x-localkb-modified-at', 'modifiedAt'],
];

let dir: string;
beforeEach(() => {
  dir = makeTempDir('localkb-migration-6-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Rewrites a store as localkb wrote it at schema 5. */
function downgradeToSchema5(dbPath: string): void {
  const db = new Database(dbPath);
  try {
    const old = (metadata: Metadata, uri: string): Metadata => {
      const result: Metadata = { source: uri };
      for (const [key, value] of Object.entries(metadata)) {
        if (RESERVED.includes(key)) continue;
        const renamed = RENAMED.find(([now]) => now === key);
        result[renamed ? renamed[1] : key] = value;
      }
      return result;
    };
    const documents = db.prepare('SELECT id, uri, metadata FROM documents').all() as {
      id: number;
      uri: string;
      metadata: string;
    }[];
    for (const doc of documents) {
      db.prepare('UPDATE documents SET metadata = ? WHERE id = ?').run(
        JSON.stringify(old(JSON.parse(doc.metadata), doc.uri)),
        doc.id,
      );
      const chunks = db.prepare('SELECT id, metadata FROM chunks WHERE document_id = ?').all(doc.id) as {
        id: number;
        metadata: string;
      }[];
      for (const chunk of chunks) {
        db.prepare('UPDATE chunks SET metadata = ? WHERE id = ?').run(
          JSON.stringify(old(JSON.parse(chunk.metadata), doc.uri)),
          chunk.id,
        );
      }
    }
    db.prepare('DELETE FROM schema_migrations WHERE version = 6').run();
    db.prepare("UPDATE settings SET value = 5 WHERE key = 'schema_version'").run();
  } finally {
    db.close();
  }
}

function rawMetadata(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      documents: db.prepare('SELECT doc_id, metadata FROM documents ORDER BY doc_id').all(),
      chunks: db.prepare('SELECT id, metadata FROM chunks ORDER BY id').all(),
    };
  } finally {
    db.close();
  }
}

describe('migration 6 (reserved metadata keys)', () => {
  it('turns a schema-5 store into what ingesting today writes, so nothing is re-embedded', async () => {
    const docs = path.join(dir, 'docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'owls.md'), '# Barn owls\n\nBarn owls hunt by sound at night.\n');
    fs.writeFileSync(
      path.join(docs, 'salmon.md'),
      '# Salmon\n\nSalmon return to their home river to spawn.\n',
    );
    fs.writeFileSync(
      path.join(docs, 'salmon.md.metadata.json'),
      JSON.stringify({ metadataAttributes: { source: 'survey', title: 'River survey' } }),
    );
    const dbPath = path.join(dir, 'kb.db');
    const kb = await LocalKnowledgeBase.open(dbPath, { embedder: 'none' });
    await kb.ingest([docs]);
    const fresh = rawMetadata(dbPath);
    const freshResults = await kb.retrieve('salmon river owls', { k: 5 });
    await kb.close();

    downgradeToSchema5(dbPath);
    const downgraded = rawMetadata(dbPath);
    expect(JSON.stringify(downgraded)).not.toContain('x-amz-bedrock-kb');
    expect(JSON.parse((downgraded.documents[0] as { metadata: string }).metadata)).toMatchObject({
      title: 'Barn owls',
    });

    const reopened = await LocalKnowledgeBase.open(dbPath, { embedder: 'none' });
    try {
      // A document whose metadata was localkb's alone migrates to exactly what ingesting writes today.
      const migrated = rawMetadata(dbPath);
      expect(migrated.documents[0]).toEqual(fresh.documents[0]);
      expect(migrated.chunks[0]).toEqual(fresh.chunks[0]);
      const owls = (results: Awaited<ReturnType<typeof reopened.retrieve>>) =>
        results.filter((r) => r.documentId === 'owls.md');
      expect(owls(await reopened.retrieve('salmon river owls', { k: 5 }))).toEqual(owls(freshResults));
      // A user's title used to replace localkb's; the migration cannot tell them apart, so it takes the title
      // as localkb's and the next ingest, seeing other metadata, writes that one document again.
      const summary = await reopened.ingest([docs]);
      expect(summary).toMatchObject({ documentsUnchanged: 1, documentsUpdated: 1 });
      expect(rawMetadata(dbPath).documents).toEqual(fresh.documents);
      const [salmon] = await reopened.retrieve('river', {
        filter: {
          equals: {
            key: 'x-amz-bedrock-kb-source-uri',
            value: pathToFileURL(path.join(docs, 'salmon.md')).href,
          },
        },
      });
      expect(salmon?.documentId).toBe('salmon.md');
      // the user's own source and title stay theirs
      expect(salmon?.metadata).toMatchObject({
        source: 'survey',
        title: 'River survey',
        'x-localkb-title': 'Salmon',
      });
    } finally {
      await reopened.close();
    }
  });
});
