/**
 * Every way a Rekognition call can fail, classified once into the port's taxonomy (by the SDK's
 * error name first, its HTTP status and fault second, the transport last):
 *
 *   InvalidParameterException       BadInput  NO_FACE in CompareFaces (AWS: "If no faces are detected
 *                                             in the source or target images, CompareFaces returns an
 *                                             InvalidParameterException"), else BAD_IMAGE;
 *                                             LIVENESS_SESSION_EXPIRED in GetFaceLivenessSessionResults
 *                                             (a malformed session id)
 *   InvalidImageFormatException, ImageTooLargeException, InvalidS3ObjectException → BadInput BAD_IMAGE
 *   SessionNotFoundException        BadInput  LIVENESS_SESSION_EXPIRED (unknown or long-gone session)
 *   AccessDenied, UnrecognizedClient, InvalidSignature, MissingAuthenticationToken,
 *   IncompleteSignature, ExpiredToken, InvalidClientTokenId, no credentials → Unauthorized
 *   LimitExceededException, ServiceQuotaExceededException               → QuotaExceeded
 *   Throttling, ProvisionedThroughputExceeded, InternalServerError, 5xx,
 *   connection reset/refused, socket timeouts, malformed responses      → Transient
 *   any other client fault (UnknownOperation, Serialization, …)         → Unavailable PROVIDER_ERROR
 *   the caller's signal: its reason when that is a ProviderError (the provider caller's deadline,
 *   Transient TIMEOUT), else Transient INTERRUPTED.
 */
import { ProviderError, type ProviderErrorKind, type ReasonCode } from '../types';

export type RekognitionOperation = 'CompareFaces' | 'DetectFaces' | 'CreateFaceLivenessSession' | 'GetFaceLivenessSessionResults' | 'credentials';

const UNAUTHORIZED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
const QUOTA = new Set(['LimitExceededException', 'ServiceQuotaExceededException']);
const THROTTLED = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const SERVER = new Set(['InternalServerError', 'InternalFailure', 'ServiceUnavailableException', 'ServiceUnavailable']);
const BAD_IMAGE = new Set(['InvalidImageFormatException', 'ImageTooLargeException', 'InvalidS3ObjectException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export interface CallState {
  op: RekognitionOperation;
  /** the call's signal (aborted: by the provider caller's deadline, or by the caller) */
  signal?: AbortSignal;
}

export function classifyAwsError(e: unknown, s: CallState): ProviderError {
  if (e instanceof ProviderError) return e;
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const text = String(err.message ?? e).replace(/\s+/g, ' ').slice(0, 300);
  const raw: Record<string, unknown> = {
    op: s.op,
    awsError: name,
    ...(status !== undefined ? { httpStatus: status } : {}),
    ...(err.$metadata?.requestId ? { requestId: err.$metadata.requestId } : {}),
    ...(err.code ? { code: err.code } : {}),
  };
  const fail = (kind: ProviderErrorKind, reason: ReasonCode, message: string) =>
    new ProviderError('rekognition', kind, reason, message, raw, { cause: e });
  const said = `Rekognition ${s.op}: ${name}: ${text}`;

  if (s.signal?.aborted) {
    const reason: unknown = s.signal.reason;
    return reason instanceof ProviderError ? reason : fail('Transient', 'INTERRUPTED', `Rekognition ${s.op} cancelled by the caller`);
  }

  if (name === 'InvalidParameterException') {
    if (s.op === 'CompareFaces' && !/threshold|qualityfilter|quality filter|validation error/i.test(text)) {
      return fail('BadInput', 'NO_FACE', `Rekognition found no usable face in the selfie or the document (CompareFaces: ${name}: ${text})`);
    }
    if (s.op === 'GetFaceLivenessSessionResults') {
      return fail('BadInput', 'LIVENESS_SESSION_EXPIRED', `Rekognition rejected the liveness session id (${name}: ${text})`);
    }
    return fail('BadInput', 'BAD_IMAGE', said);
  }
  if (BAD_IMAGE.has(name)) return fail('BadInput', 'BAD_IMAGE', said);
  if (name === 'SessionNotFoundException') {
    return fail('BadInput', 'LIVENESS_SESSION_EXPIRED', `Rekognition Face Liveness session not found (unknown id, or expired: sessions expire 3 minutes after creation)`);
  }
  if (UNAUTHORIZED.has(name) || status === 401 || status === 403) return fail('Unauthorized', 'PROVIDER_UNAUTHORIZED', said);
  if (QUOTA.has(name)) return fail('QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED', said);
  if (THROTTLED.has(name) || SERVER.has(name) || (status !== undefined && status >= 500) || err.$fault === 'server') {
    return fail('Transient', 'PROVIDER_UNAVAILABLE', said);
  }
  if (name === 'TimeoutError' || err.code === 'ETIMEDOUT') return fail('Transient', 'TIMEOUT', said);
  if ((err.code && NETWORK.has(err.code)) || /socket hang up|ECONNRESET|ECONNREFUSED|other side closed/i.test(text)) {
    return fail('Transient', 'PROVIDER_UNAVAILABLE', `Rekognition ${s.op}: connection failed (${err.code ?? name}: ${text})`);
  }
  if (err.$fault === 'client' || (status !== undefined && status >= 400)) {
    return fail('Unavailable', 'PROVIDER_ERROR', `${said} (a request Rekognition does not accept: check the adapter and endpoint)`);
  }
  // malformed or unexpected responses (deserialization errors carry no AWS error name)
  return fail('Transient', 'PROVIDER_ERROR', said);
}
