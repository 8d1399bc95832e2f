// node --test: the app's Bedrock calls go over the wire to the emulator on 127.0.0.1; nothing is stubbed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBedrockEmulator } from 'localkb/testing';
import { openAssistant } from './answer.js';

let emulator;
let dir;
before(async () => {
  emulator = await startBedrockEmulator();
  dir = await mkdtemp(path.join(tmpdir(), 'localkb-offline-test-'));
});
after(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

test('the assistant answers from its documents and cites them', async () => {
  const kb = await openAssistant(path.join(dir, 'cited.db'), emulator.clientConfig());
  await kb.ingest([{ id: 'pharos', text: 'Sostratus of Cnidus designed the Pharos of Alexandria.' }]);
  const answer = await kb.retrieveAndGenerate('Who designed the Pharos?', { k: 3 });
  await kb.close();
  assert.match(answer.text, /Sostratus/);
  assert.ok(answer.citations.length >= 1);
  assert.equal(emulator.requests.at(-1)?.operation, 'Converse');
});

test('the assistant reports Bedrock throttling as a typed error after the SDK retries', async () => {
  const kb = await openAssistant(path.join(dir, 'throttled.db'), {
    ...emulator.clientConfig(),
    maxAttempts: 2,
  });
  await kb.ingest([{ id: 'pharos', text: 'Sostratus of Cnidus designed the Pharos of Alexandria.' }]);
  emulator.faults.throttle(2);
  await assert.rejects(kb.retrieveAndGenerate('Who designed the Pharos?', { k: 3 }), { code: 'THROTTLED' });
  await kb.close();
});
