/**
 * Client-facing errors. Every error a client can see is a `VerigateError` with a stable
 * `extensions.code`; anything else is masked at the edge (src/api/errors-plugin) as "Unexpected error".
 */
import { GraphQLError } from 'graphql';

export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'BAD_IMAGE',
  'IMAGE_TOO_LARGE',
  'UNSUPPORTED_IMAGE_FORMAT',
  'NO_FACE',
  'MULTIPLE_FACES',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'BAD_REQUEST',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'PROVIDER_UNAVAILABLE',
  'NOT_READY',
  'LIVENESS_SESSION_EXPIRED',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class VerigateError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { code, ...extra } });
  }
}

export const badInput = (message: string, field?: string) =>
  new VerigateError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (what: string) => new VerigateError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'Not allowed') => new VerigateError('FORBIDDEN', message, { http: { status: 403 } });
export const unauthenticated = (message = 'A valid API key is required') => new VerigateError('UNAUTHENTICATED', message, { http: { status: 401 } });
