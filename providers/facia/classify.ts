/**
 * Every way a Facia call can fail, classified once into the port's taxonomy. The orchestrator
 * never reads Facia's text; it reads `kind` and `reason`.
 *
 * Facia documents failure *bodies*, not statuses, so the body decides first and the status second:
 *   {"message": "Invalid credentials"}                         → Unauthorized  PROVIDER_UNAUTHORIZED
 *   {"message": "Your request limit has been reached."}        → QuotaExceeded PROVIDER_QUOTA_EXCEEDED
 *   {"error": "Invalid or corrupt selfie|document image. …"}   → BadInput      BAD_IMAGE
 *   {"error": "Both selfie_image and document_image are required"} → BadInput  BAD_IMAGE
 * then by status: 401/403 Unauthorized · 429 QuotaExceeded · 408 Transient TIMEOUT ·
 * 400/413/415/422 BadInput BAD_IMAGE · 404/405 Unavailable (wrong FACIA_URL) · 5xx Transient ·
 * any other status or an unparseable / unexpected body Transient PROVIDER_ERROR.
 * Transport: our deadline → Transient TIMEOUT; caller's abort → Transient INTERRUPTED;
 * reset / refused / socket errors → Transient PROVIDER_UNAVAILABLE.
 */
import { ProviderError, type ProviderErrorKind, type ReasonCode } from '../types';

export type Redact = (s: string) => string;

/** A function that removes every occurrence of `secret` from a string (Facia might echo it). */
export function redactor(secret: string): Redact {
  if (!secret) return (s) => s;
  return (s) => s.split(secret).join('[redacted]');
}

const err = (
  kind: ProviderErrorKind,
  reason: ReasonCode,
  message: string,
  raw: Record<string, unknown>,
  cause?: unknown,
) => new ProviderError('facia', kind, reason, message, raw, cause ? { cause } : undefined);

/** Facia's own text from a parsed body: `message` or `error`, redacted and shortened. */
export function faciaText(body: unknown, redact: Redact): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const t = typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : undefined;
  return t === undefined ? undefined : redact(t).slice(0, 300);
}

/** Classify a non-success answer (or a success status whose body is a documented failure). */
export function classifyResponse(status: number, body: unknown, redact: Redact): ProviderError {
  const text = faciaText(body, redact);
  const raw: Record<string, unknown> = { status, ...(text !== undefined ? { faciaMessage: text } : {}) };
  const said = text ? `: "${text}"` : '';

  if (text !== undefined) {
    if (/invalid credentials|unauthori[sz]ed|invalid hash/i.test(text)) {
      return err('Unauthorized', 'PROVIDER_UNAUTHORIZED', `Facia rejected the hash_id (HTTP ${status})${said}`, raw);
    }
    if (/request limit|limit (has been )?reached|quota/i.test(text)) {
      return err('QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED', `Facia request limit reached (HTTP ${status})${said}`, raw);
    }
    if (/invalid or corrupt|must be in png|png, jpg|both selfie_image and document_image|image(s)? (is |are )?required/i.test(text)) {
      return err('BadInput', 'BAD_IMAGE', `Facia refused the images (HTTP ${status})${said}`, raw);
    }
  }
  if (status === 401 || status === 403) {
    return err('Unauthorized', 'PROVIDER_UNAUTHORIZED', `Facia refused the credentials (HTTP ${status})${said}`, raw);
  }
  if (status === 429) return err('QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED', `Facia request limit reached (HTTP 429)${said}`, raw);
  if (status === 408) return err('Transient', 'TIMEOUT', `Facia timed out (HTTP 408)${said}`, raw);
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return err('BadInput', 'BAD_IMAGE', `Facia refused the request (HTTP ${status})${said}`, raw);
  }
  if (status === 404 || status === 405) {
    return err('Unavailable', 'PROVIDER_UNAVAILABLE', `Facia endpoint not found (HTTP ${status}): check FACIA_URL`, raw);
  }
  if (status >= 500) {
    const starting = status === 503 ? ' (the container may still be starting: see /status_check)' : '';
    return err('Transient', 'PROVIDER_UNAVAILABLE', `Facia answered HTTP ${status}${starting}${said}`, raw);
  }
  return err('Transient', 'PROVIDER_ERROR', `Facia answered HTTP ${status} with an unexpected body${said}`, raw);
}

/**
 * Classify a thrown transport error. An aborted call signal gives its reason when that is a
 * ProviderError (the provider caller's deadline: Transient TIMEOUT), else Transient INTERRUPTED.
 */
export function classifyTransport(e: unknown, how: { signal: AbortSignal; phase: string }, redact: Redact): ProviderError {
  const code = (e as { code?: string })?.code;
  const raw = { ...(code ? { code } : {}), phase: how.phase };
  if (how.signal.aborted) {
    const reason: unknown = how.signal.reason;
    return reason instanceof ProviderError ? reason : err('Transient', 'INTERRUPTED', `Facia call cancelled by the caller (${how.phase})`, raw, e);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return err('Transient', 'TIMEOUT', `Facia did not answer in time (${how.phase})`, raw, e);
  }
  const msg = redact(e instanceof Error ? e.message : String(e)).slice(0, 200);
  return err('Transient', 'PROVIDER_UNAVAILABLE', `Facia connection failed (${code ?? 'error'}: ${msg})`, raw, e);
}
