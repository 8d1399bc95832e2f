import { type ErrorCode, isLocalKbError } from '../../errors.js';
import { AwsServiceError } from '../wire/aws-errors.js';

/** How each localkb error reads to a bedrock-agent-runtime client: the AWS error type and its status. */
const AWS_ERROR_OF_CODE: Partial<Record<ErrorCode, [errorType: string, status: number]>> = {
  INVALID_OPTION: ['ValidationException', 400],
  INVALID_FILTER: ['ValidationException', 400],
  INVALID_QUERY: ['ValidationException', 400],
  INVALID_METADATA: ['ValidationException', 400],
  EMPTY_DOCUMENT: ['ValidationException', 400],
  UNSUPPORTED_FILE_TYPE: ['ValidationException', 400],
  DOCUMENT_TOO_LONG: ['ValidationException', 400],
  UNKNOWN_MODEL: ['ValidationException', 400],
  SESSION_NOT_FOUND: ['ValidationException', 400],
  DOCUMENT_NOT_FOUND: ['ResourceNotFoundException', 404],
  FILE_NOT_FOUND: ['ResourceNotFoundException', 404],
  THROTTLED: ['ThrottlingException', 429],
  BEDROCK_ERROR: ['DependencyFailedException', 424],
  GENERATION_FAILED: ['DependencyFailedException', 424],
  MODEL_RESPONSE_MALFORMED: ['DependencyFailedException', 424],
  STREAM_INTERRUPTED: ['DependencyFailedException', 424],
  EMBEDDING_FAILED: ['DependencyFailedException', 424],
  RERANK_FAILED: ['DependencyFailedException', 424],
  KNOWLEDGE_BASE_ERROR: ['DependencyFailedException', 424],
  // A model or embedder that went silent: a server-side dependency issue the client may retry.
  TIMEOUT: ['BadGatewayException', 502],
};

/** AWS errors a proxied Bedrock call may carry in `details.awsErrorName`, passed on as they are. */
const PASSED_THROUGH = new Set([
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'ConflictException',
]);

/**
 * The AWS error a client should see for whatever a knowledge base threw: LocalKbErrors by code (the message
 * kept, since it names the input and the fix), AwsServiceErrors as they are, anything else a 500.
 */
export function awsErrorOf(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  if (isLocalKbError(error)) {
    const awsName = error.details?.awsErrorName;
    const status = error.details?.status;
    if (typeof awsName === 'string' && PASSED_THROUGH.has(awsName) && typeof status === 'number') {
      return new AwsServiceError(awsName, error.message, status);
    }
    const [errorType, mappedStatus] = AWS_ERROR_OF_CODE[error.code] ?? ['InternalServerException', 500];
    return new AwsServiceError(errorType, error.message, mappedStatus);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AwsServiceError('InternalServerException', `Internal server error: ${message}`, 500);
}
