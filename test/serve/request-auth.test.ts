/**
 * SigV4 as AWS checks it, in `serve` and the emulator: the date within 15 minutes, the credential scope's region
 * and service, `host` among the signed headers, the access key and the secret. Each through the real SDK or a
 * request signed by hand with @smithy/signature-v4 and sent over a real socket.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BedrockAgentRuntimeClient, RetrieveCommand } from '@aws-sdk/client-bedrock-agent-runtime';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKnowledgeBase } from '../../src/kb/local-knowledge-base.js';
import { type KnowledgeBaseServer, startKnowledgeBaseServer } from '../../src/serve/index.js';
import { startBedrockEmulator } from '../../src/testing/index.js';
import { runtimeClient } from '../testing/runtime-clients.js';

const KEYS = { accessKeyId: 'AKIDAUTHTEST', secretAccessKey: 'auth-test-secret' };
const MINUTE = 60_000;

let dir: string;
let kb: LocalKnowledgeBase;
let server: KnowledgeBaseServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'localkb-auth-'));
  kb = await LocalKnowledgeBase.open(path.join(dir, 'kb.db'), { embedder: 'none' });
  await kb.ingest([{ id: 'owls', text: 'Owls hunt at night and swallow their prey whole.' }]);
  server = await startKnowledgeBaseServer({ knowledgeBase: kb, credentials: KEYS, region: 'us-east-1' });
});

afterAll(async () => {
  await server.close();
  await kb.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  errorType: string | undefined;
  message: string | undefined;
}

interface HandSigned {
  /** When the request says it was signed. Default now. */
  date?: Date;
  region?: string;
  service?: string;
  secretAccessKey?: string;
  accessKeyId?: string;
  signHost?: boolean;
}

/** A Retrieve signed by hand, exactly as described, sent over HTTP/1.1. */
async function sendSigned(target: { endpoint: string; knowledgeBaseId: string }, how: HandSigned = {}) {
  const url = new URL(`${target.endpoint}/knowledgebases/${target.knowledgeBaseId}/retrieve`);
  const body = JSON.stringify({ retrievalQuery: { text: 'owls' } });
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: how.accessKeyId ?? KEYS.accessKeyId,
      secretAccessKey: how.secretAccessKey ?? KEYS.secretAccessKey,
    },
    region: how.region ?? 'us-east-1',
    service: how.service ?? 'bedrock',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    }),
    {
      signingDate: how.date ?? new Date(),
      ...(how.signHost === false ? { unsignableHeaders: new Set(['host']) } : {}),
    },
  );
  return send(url, signed.headers as Record<string, string>, body);
}

function send(url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: response.statusCode ?? 0,
          errorType: String(response.headers['x-amzn-errortype'] ?? '').split(':')[0] || undefined,
          message:
            response.statusCode === 200 ? undefined : (JSON.parse(text) as { message: string }).message,
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const AMZ_DATE = '\\d{8}T\\d{6}Z';

describe('the signature date', () => {
  it('is accepted ten minutes off either way', async () => {
    expect((await sendSigned(server, { date: new Date(Date.now() - 10 * MINUTE) })).status).toBe(200);
    expect((await sendSigned(server, { date: new Date(Date.now() + 10 * MINUTE) })).status).toBe(200);
  });

  it('is refused 20 minutes old with InvalidSignatureException "Signature expired"', async () => {
    const answer = await sendSigned(server, { date: new Date(Date.now() - 20 * MINUTE) });
    expect(answer).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });
    expect(answer.message).toMatch(
      new RegExp(
        `^Signature expired: ${AMZ_DATE} is now earlier than ${AMZ_DATE} \\(${AMZ_DATE} - 15 min\\.\\)$`,
      ),
    );
  });

  it('is refused ten years old, so a captured request cannot be replayed', async () => {
    const answer = await sendSigned(server, { date: new Date(Date.now() - 3650 * 24 * 60 * MINUTE) });
    expect(answer).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });
  });

  it('is refused 20 minutes ahead with "Signature not yet current"', async () => {
    const answer = await sendSigned(server, { date: new Date(Date.now() + 20 * MINUTE) });
    expect(answer).toMatchObject({ status: 403, errorType: 'InvalidSignatureException' });
    expect(answer.message).toMatch(
      new RegExp(
        `^Signature not yet current: ${AMZ_DATE} is still later than ${AMZ_DATE} \\(${AMZ_DATE} \\+ 15 min\\.\\)$`,
      ),
    );
  });

  it('refuses an SDK client whose clock is 20 minutes slow when it may not retry', async () => {
    const client = new BedrockAgentRuntimeClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: KEYS,
      systemClockOffset: -20 * MINUTE,
      maxAttempts: 1,
    });
    const call = client.send(
      new RetrieveCommand({ knowledgeBaseId: server.knowledgeBaseId, retrievalQuery: { text: 'owls' } }),
    );
    await expect(call).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringMatching(/^Signature expired: /),
      $metadata: { httpStatusCode: 403 },
    });
    client.destroy();
  });

  it("lets an SDK client with a slow clock correct it from the server's Date header and succeed on retry", async () => {
    const client = new BedrockAgentRuntimeClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: KEYS,
      systemClockOffset: -20 * MINUTE,
    });
    const response = await client.send(
      new RetrieveCommand({ knowledgeBaseId: server.knowledgeBaseId, retrievalQuery: { text: 'owls' } }),
    );
    expect(response.retrievalResults?.[0]?.content?.text).toContain('Owls');
    expect(response.$metadata.attempts).toBe(2);
    expect(Math.abs(client.config.systemClockOffset ?? -1)).toBeLessThan(MINUTE);
    client.destroy();
  });
});

describe('the credential scope and signed headers', () => {
  it('refuses another region with InvalidSignatureException naming it', async () => {
    const answer = await sendSigned(server, { region: 'eu-west-1' });
    expect(answer).toMatchObject({
      status: 403,
      errorType: 'InvalidSignatureException',
      message: "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    });
  });

  it('refuses another service with InvalidSignatureException naming bedrock', async () => {
    const answer = await sendSigned(server, { service: 's3' });
    expect(answer).toMatchObject({
      status: 403,
      errorType: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'bedrock'. ",
    });
  });

  it('refuses a signature that does not cover the host header', async () => {
    const answer = await sendSigned(server, { signHost: false });
    expect(answer).toMatchObject({
      status: 403,
      errorType: 'IncompleteSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    });
  });

  it('refuses a wrong secret with InvalidSignatureException and an unknown key with UnrecognizedClientException', async () => {
    expect(await sendSigned(server, { secretAccessKey: 'guessed' })).toMatchObject({
      status: 403,
      errorType: 'InvalidSignatureException',
      message: expect.stringMatching(
        /^The request signature we calculated does not match the signature you provided/,
      ),
    });
    expect(await sendSigned(server, { accessKeyId: 'AKIDSTRANGER' })).toMatchObject({
      status: 403,
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('refuses an unsigned request with MissingAuthenticationTokenException', async () => {
    const url = new URL(`${server.endpoint}/knowledgebases/${server.knowledgeBaseId}/retrieve`);
    expect(await send(url, { 'content-type': 'application/json' }, '{}')).toMatchObject({
      status: 403,
      errorType: 'MissingAuthenticationTokenException',
    });
  });
});

describe('starting a server', () => {
  it('refuses an empty secret instead of serving without authentication', async () => {
    await expect(
      startKnowledgeBaseServer({
        knowledgeBase: kb,
        credentials: { accessKeyId: 'AKID', secretAccessKey: '' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', input: 'credentials' });
    await expect(
      startBedrockEmulator({ credentials: { accessKeyId: 'AKID', secretAccessKey: '' } }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', input: 'credentials' });
  });

  it('takes the signing region from AWS_REGION when none is given, else us-east-1', async () => {
    const saved = process.env.AWS_REGION;
    try {
      process.env.AWS_REGION = 'eu-west-2';
      const fromEnvironment = await startKnowledgeBaseServer({ knowledgeBase: kb, credentials: KEYS });
      expect(fromEnvironment.region).toBe('eu-west-2');
      expect((await sendSigned(fromEnvironment, { region: 'eu-west-2' })).status).toBe(200);
      expect((await sendSigned(fromEnvironment, { region: 'us-east-1' })).status).toBe(403);
      await fromEnvironment.close();
      delete process.env.AWS_REGION;
      const fallback = await startKnowledgeBaseServer({ knowledgeBase: kb, credentials: KEYS });
      expect(fallback.region).toBe('us-east-1');
      await fallback.close();
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });

  it('refuses an emulator on 0.0.0.0 without keys, as serve does', async () => {
    await expect(startBedrockEmulator({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'host',
    });
    await expect(startKnowledgeBaseServer({ knowledgeBase: kb, host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      input: 'host',
    });
  });
});

describe('the emulator', () => {
  it('refuses a runtime client whose clock is 20 minutes fast when it may not retry', async () => {
    const emulator = await startBedrockEmulator({ credentials: KEYS });
    try {
      const client = runtimeClient(emulator, {
        systemClockOffset: 20 * MINUTE,
        maxAttempts: 1,
        retryStrategy: undefined,
      });
      const call = client.send(
        new ConverseCommand({
          modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
          messages: [{ role: 'user', content: [{ text: 'hello' }] }],
        }),
      );
      await expect(call).rejects.toMatchObject({
        name: 'InvalidSignatureException',
        message: expect.stringMatching(/^Signature not yet current: /),
        $metadata: { httpStatusCode: 403 },
      });
      expect(emulator.requests.at(-1)).toMatchObject({ operation: 'Converse', status: 403 });
      client.destroy();
    } finally {
      await emulator.close();
    }
  });
});
