/**
 * Facia on-prem adapter: one `POST /process_face` gives both face match and liveness.
 *
 * Config (src/config: FACIA_URL, FACIA_HASH_ID, FACIA_TIMEOUT_MS):
 *   { url, hashId, timeoutMs?, connections?, maxResponseBytes? }
 * `hashId` is a secret: it goes in the request body and nowhere else — never in an error message,
 * an error's raw record, a CheckOutcome's raw record or a log line (anything Facia echoes back is
 * redacted too).
 *
 * Scores: Facia's `similarity_score` (0..1) → RawFaceMatch {scale 'unit', calibration 'facia/default'}
 * with Facia's own `is_match` kept as `providerMatched`; `liveness_score` (0..1) → RawLiveness with
 * `is_live` as `providerLive`. `raw` keeps Facia's numbers as it sent them.
 *
 * Liveness-only checks (no reference image): refused with BadInput/BAD_IMAGE before any call.
 * Facia's /process_face requires both a selfie and a document image, and we do not fake a
 * document (sending the selfie twice would produce a meaningless similarity and relies on
 * undocumented behaviour of Facia's liveness). Route liveness-only checks to another provider.
 * `livenessSessionId` (Rekognition Face Liveness) is refused too (BadInput/PROVIDER_ERROR: a request
 * Facia cannot serve at all).
 *
 * Deadline: the provider caller's (src/verification/call.ts; `timeoutMs` is this provider's default):
 * it aborts `ctx.signal`, which cancels the exchange at any point — connect, headers or a body
 * dripped slowly — and the failure is its TIMEOUT; any other abort is Transient INTERRUPTED.
 */
import { Pool } from 'undici';
import { ProviderError, type CallContext, type Capability, type CheckOutcome, type CheckRequest, type ImageInput, type Provider, type ProviderHealth } from '../types';
import { uprightBytes } from '../../src/images';
import { classifyResponse, classifyTransport, faciaText, redactor, type Redact } from './classify';

export interface FaciaConfig {
  /** base URL of the Facia container, e.g. http://facia:8080 (FACIA_URL); a path prefix is kept */
  url: string;
  /** Facia's hash_id (FACIA_HASH_ID): a secret */
  hashId: string;
  /** deadline of one call, connect to last body byte, when the policy sets none (FACIA_TIMEOUT_MS, default 15000) */
  timeoutMs?: number;
  /** keep-alive connections in the pool (default 16) */
  connections?: number;
  /** answers larger than this are a provider error (default 1 MiB) */
  maxResponseBytes?: number;
}

export const FACIA_CALIBRATION = 'facia/default';

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(['face-match', 'liveness']);

/** BadInput: a missing image is BAD_IMAGE; a request Facia cannot serve at all is PROVIDER_ERROR */
const bad = (message: string, reason: 'BAD_IMAGE' | 'PROVIDER_ERROR' = 'BAD_IMAGE') => new ProviderError('facia', 'BadInput', reason, message);

/** The image as Facia takes it: upright pixels (nothing says Facia honours EXIF), as a data URI. */
async function dataUri(img: ImageInput, which: 'selfie' | 'document'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await uprightBytes(img);
  } catch {
    throw bad(`the ${which} image cannot be decoded to turn it upright`);
  }
  return `data:image/${img.format};base64,${bytes.toString('base64')}`;
}

interface FaciaSuccess {
  face_similarity_result: { is_match: number | boolean; similarity_score: number };
  liveness_result: { is_live: number | boolean; liveness_score: number };
  message?: string;
}

const unitNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
const flag = (v: unknown): v is number | boolean => v === 0 || v === 1 || v === true || v === false;

function isSuccess(body: unknown): body is FaciaSuccess {
  const b = body as Partial<FaciaSuccess> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.face_similarity_result === 'object' &&
    b.face_similarity_result !== null &&
    unitNumber(b.face_similarity_result.similarity_score) &&
    flag(b.face_similarity_result.is_match) &&
    typeof b.liveness_result === 'object' &&
    b.liveness_result !== null &&
    unitNumber(b.liveness_result.liveness_score) &&
    flag(b.liveness_result.is_live)
  );
}

export function createFaciaProvider(cfg: FaciaConfig): Provider {
  let base: URL;
  try {
    base = new URL(cfg.url);
  } catch {
    throw new Error('facia: FACIA_URL is not a valid URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('facia: FACIA_URL must be http(s)');
  if (!cfg.hashId) throw new Error('facia: FACIA_HASH_ID is required');
  const timeoutMs = cfg.timeoutMs ?? 15000;
  const maxResponseBytes = cfg.maxResponseBytes ?? 1024 * 1024;
  const prefix = base.pathname.replace(/\/+$/, '');
  const redact: Redact = redactor(cfg.hashId);
  const pool = new Pool(base.origin, {
    connections: cfg.connections ?? 16,
    keepAliveTimeout: 30_000,
    connect: { timeout: Math.min(timeoutMs, 10_000) },
  });

  /** One HTTP exchange under the caller's signal; every failure classified. */
  async function exchange(method: 'GET' | 'POST', path: string, body: string | undefined, signal: AbortSignal): Promise<{ status: number; text: string }> {
    if (signal.aborted) throw classifyTransport(signal.reason, { signal, phase: 'before the call' }, redact);
    let phase = 'waiting for headers';
    try {
      const res = await pool.request({
        path: prefix + path,
        method,
        headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: '*/*' },
        body,
        signal,
      });
      phase = 'reading the body';
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > maxResponseBytes) {
          res.body.destroy();
          throw new ProviderError('facia', 'Transient', 'PROVIDER_ERROR', `Facia answer larger than ${maxResponseBytes} bytes`, { status: res.statusCode });
        }
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') };
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      throw classifyTransport(e, { signal, phase }, redact);
    }
  }

  async function check(req: CheckRequest, ctx: CallContext): Promise<CheckOutcome> {
    if (req.livenessSessionId) throw bad('Facia does not support liveness sessions (livenessSessionId is a Rekognition Face Liveness feature)', 'PROVIDER_ERROR');
    if (!req.match && !req.liveness) throw bad('nothing to check: neither match nor liveness was requested', 'PROVIDER_ERROR');
    if (!req.probe) throw bad('Facia needs a selfie (probe) image');
    if (!req.reference) {
      throw bad(
        req.match
          ? 'Facia needs a document (reference) image to match against'
          : 'Facia requires both a selfie and a document image: liveness-only checks are not supported by Facia; route them to another provider',
      );
    }
    const [selfie, document] = await Promise.all([dataUri(req.probe, 'selfie'), dataUri(req.reference, 'document')]);
    const payload = JSON.stringify({ hash_id: cfg.hashId, selfie_image: selfie, document_image: document });
    const started = Date.now();
    const { status, text } = await exchange('POST', '/process_face', payload, ctx.signal);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      if (status >= 200 && status < 300) {
        throw new ProviderError('facia', 'Transient', 'PROVIDER_ERROR', `Facia answered HTTP ${status} with malformed JSON`, { status, bodyBytes: text.length });
      }
      throw classifyResponse(status, undefined, redact);
    }
    if (status < 200 || status >= 300 || !isSuccess(body)) throw classifyResponse(status, body, redact);

    const f = body.face_similarity_result;
    const l = body.liveness_result;
    const message = faciaText(body, redact);
    return {
      match: req.match
        ? { score: f.similarity_score, scale: 'unit', calibration: FACIA_CALIBRATION, providerMatched: Boolean(f.is_match) }
        : undefined,
      liveness: req.liveness
        ? { score: l.liveness_score, scale: 'unit', calibration: FACIA_CALIBRATION, providerLive: Boolean(l.is_live) }
        : undefined,
      quality: [],
      raw: {
        status,
        ...(message !== undefined ? { message } : {}),
        face_similarity_result: { is_match: f.is_match, similarity_score: f.similarity_score },
        liveness_result: { is_live: l.is_live, liveness_score: l.liveness_score },
        elapsedMs: Date.now() - started,
      },
    };
  }

  /**
   * The hash_id, proved by a /process_face call without images: Facia checks the hash_id first
   * ("Invalid credentials", 401 → Unauthorized) and then refuses the missing images (400) without
   * processing anything.
   */
  async function verifyCredentials(ctx: CallContext): Promise<void> {
    const { status, text } = await exchange('POST', '/process_face', JSON.stringify({ hash_id: cfg.hashId }), ctx.signal);
    if (status >= 200 && status < 300) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const e = classifyResponse(status, body, redact);
    if (e.kind !== 'BadInput') throw e;
  }

  async function health(ctx: CallContext): Promise<ProviderHealth> {
    try {
      const { status, text } = await exchange('GET', '/status_check', undefined, AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.min(timeoutMs, 5000))]));
      if (status === 200 && /service is live/i.test(text)) return { ok: true };
      return { ok: false, detail: `status_check answered HTTP ${status}: ${redact(text).slice(0, 100)}` };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  return {
    name: 'facia',
    capabilities: CAPABILITIES,
    needsDocument: true,
    timeoutMs,
    calibration: { match: FACIA_CALIBRATION, liveness: FACIA_CALIBRATION },
    check,
    health,
    verifyCredentials,
    close: () => pool.close(),
  };
}
