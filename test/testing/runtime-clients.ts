import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { BedrockEmulator } from '../../src/testing/index.js';

/** A real runtime client on the default HTTP/2 handler, retrying 3 times with a 1 ms backoff. */
export function runtimeClient(emulator: BedrockEmulator, overrides: BedrockRuntimeClientConfig = {}) {
  return new BedrockRuntimeClient({
    ...emulator.clientConfig(),
    retryStrategy: new ConfiguredRetryStrategy(3, 1),
    ...overrides,
  });
}

/** The same client over HTTP/1.1. */
export function http1RuntimeClient(emulator: BedrockEmulator, overrides: BedrockRuntimeClientConfig = {}) {
  return runtimeClient(emulator, { requestHandler: new NodeHttpHandler(), ...overrides });
}

// biome-ignore lint/suspicious/noExplicitAny: tests index freely into model bodies of many shapes
export type Json = any;

export function decodeJson(bytes: Uint8Array | undefined): Json {
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Records the raw HTTP response headers of every call (the SDK does not expose Bedrock's token headers). */
export function captureResponseHeaders(client: BedrockRuntimeClient): Array<Record<string, string>> {
  const captured: Array<Record<string, string>> = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      captured.push({ ...(result.response as { headers: Record<string, string> }).headers });
      return result;
    },
    { step: 'deserialize', name: 'captureResponseHeaders' },
  );
  return captured;
}

export async function collect<T>(iterable: AsyncIterable<T> | undefined): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable ?? []) items.push(item);
  return items;
}
