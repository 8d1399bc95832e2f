/**
 * The bedrock control plane client (`@aws-sdk/client-bedrock`): model catalogue, customization jobs, provisioned
 * throughput. Errors map to LocalKbError the way the runtime's do (src/aws-errors.ts).
 */
import { BedrockClient, type BedrockClientConfig } from '@aws-sdk/client-bedrock';
import { type RemoteCallOptions, remoteSettings, withRemoteDefaults } from '../../aws-clients.js';
import { mapAwsError } from '../../aws-errors.js';
import type { LocalKbError } from '../../errors.js';

export interface BedrockControlOptions extends RemoteCallOptions {
  /** A ready client; when given, `clientConfig` is ignored. */
  client?: BedrockClient;
  /** Region, credentials, endpoint…; without it the SDK's standard chain applies (AWS_ENDPOINT_URL_BEDROCK too). */
  clientConfig?: BedrockClientConfig;
}

export function createBedrockControlClient(options: BedrockControlOptions = {}): BedrockClient {
  return (
    options.client ?? new BedrockClient(withRemoteDefaults(options.clientConfig, remoteSettings(options)))
  );
}

const FIXES: Record<string, string> = {
  AccessDeniedException: 'check the IAM policy allows this bedrock: action and the role can be passed',
  ResourceNotFoundException: 'check the identifier and the region',
  ValidationException: 'check the request options',
  ServiceQuotaExceededException: 'request a quota increase or delete unused resources',
  TooManyTagsException: 'use fewer tags',
};

/** Maps an SDK error of a control-plane call to a LocalKbError naming the operation, the input and the fix. */
export function controlPlaneError(error: unknown, operation: string, input: string): LocalKbError {
  return mapAwsError(error, {
    operation,
    input,
    signal: undefined,
    failure: 'BEDROCK_ERROR',
    call: `Bedrock ${operation} on ${input}`,
    aborted: `The call to ${operation} was aborted.`,
    throttled: (message) => `Bedrock throttled ${operation} after all retries (${message}); retry later.`,
    fixes: FIXES,
    malformed: (message) => `Bedrock answered ${operation} with a body that cannot be parsed: ${message}`,
  });
}
