import type { BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { BedrockEmulator } from '../../src/testing/index.js';

/**
 * Client configuration for a real BedrockRuntimeClient talking to the emulator: the SDK's standard 3 attempts,
 * with a 1 ms backoff so retry tests stay fast.
 */
export function emulatorClientConfig(
  emulator: BedrockEmulator,
  overrides: BedrockRuntimeClientConfig = {},
): BedrockRuntimeClientConfig {
  return { ...emulator.clientConfig(), retryStrategy: new ConfiguredRetryStrategy(3, 1), ...overrides };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
