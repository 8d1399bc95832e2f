import type { WireResponse } from './http-server.js';

/**
 * HTTP status of each AWS error type as Bedrock runtime answers it. Services that differ
 * (agent-runtime: ModelNotReady 424; agent: ServiceQuotaExceeded 402, Conflict 409) pass the status explicitly.
 */
export const AWS_ERROR_STATUS: Readonly<Record<string, number>> = {
  ValidationException: 400,
  SerializationException: 400,
  ServiceQuotaExceededException: 400,
  ConflictException: 400,
  AccessDeniedException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  DependencyFailedException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  BadGatewayException: 502,
  ServiceUnavailableException: 503,
};

/** Status for an error type: the table above, else 400 for client-looking names and 500 otherwise. */
export function statusForAwsError(errorType: string): number {
  return AWS_ERROR_STATUS[errorType] ?? (/Exception$/.test(errorType) ? 400 : 500);
}

/** Thrown by route handlers to answer with an AWS error; the wire server turns it into a response. */
export class AwsServiceError extends Error {
  readonly errorType: string;
  readonly status: number;

  constructor(errorType: string, message: string, status: number = statusForAwsError(errorType)) {
    super(message);
    this.name = 'AwsServiceError';
    this.errorType = errorType;
    this.status = status;
  }
}

/**
 * Writes an AWS JSON error the way Bedrock does: `x-amzn-errortype: <Type>:<namespace>` and `{"message"}`.
 * The SDK reads the type from that header first and strips everything after `:`.
 */
export function sendAwsError(
  response: WireResponse,
  errorType: string,
  message: string,
  status: number = statusForAwsError(errorType),
  extraHeaders: Record<string, string> = {},
): void {
  response.json(
    status,
    { message },
    {
      'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      ...extraHeaders,
    },
  );
}
