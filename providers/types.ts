/**
 * The provider port. Every engine Verigate can route a check to implements `Provider`;
 * the orchestrator knows nothing else about it. Adapters translate wire formats and
 * classify every failure exactly once, into `ProviderError` (see `ProviderErrorKind`).
 */
import type { MrzRead } from './local/document/mrz';

export const PROVIDER_NAMES = ['local', 'facia', 'rekognition'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** `document`: reads the MRZ of the document page (the local engine only). */
export type Capability = 'face-match' | 'liveness' | 'quality' | 'liveness-session' | 'document';

/** Why a check did not pass, or what a provider noticed. Stable, client-facing codes. */
export const REASON_CODES = [
  'NO_FACE',
  'MULTIPLE_FACES',
  'FACE_TOO_SMALL',
  'BLURRY',
  'EXTREME_POSE',
  'INSUFFICIENT_CONTEXT',
  'BAD_IMAGE',
  'FACE_MISMATCH',
  'MATCH_INCONCLUSIVE',
  'PROVIDER_DISAGREEMENT',
  'EVIDENCE_MISSING',
  'LIVENESS_FAILED',
  'LIVENESS_SESSION_EXPIRED',
  'PROVIDER_ERROR',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_UNAUTHORIZED',
  'PROVIDER_QUOTA_EXCEEDED',
  'TIMEOUT',
  'INTERRUPTED',
  'QUEUE_UNAVAILABLE',
  'INTERNAL_ERROR',
  // the document (providers/local/document): its MRZ, the applicant's data, the policy's age and expiry rules
  'MRZ_NOT_FOUND',
  'MRZ_INVALID',
  'DOCUMENT_EXPIRED',
  'NAME_MISMATCH',
  'DOB_MISMATCH',
  'AGE_BELOW_MINIMUM',
  // the chip's passive authentication (CHIP_VERIFIED is informational)
  'CHIP_VERIFIED',
  'CHIP_SIGNATURE_INVALID',
  'CHIP_HASH_MISMATCH',
  'CHIP_UNTRUSTED_ISSUER',
  'CHIP_MRZ_MISMATCH',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * An image that passed the gateway's validation (src/images), held in memory only: `bytes` as the
 * client sent them, shown `width` × `height` pixels once their EXIF `orientation` is applied. An
 * adapter whose API may not honour EXIF sends `uprightBytes(image)` (src/images) instead: the pixels
 * turned upright, re-encoded once on first call (a phone photo's orientation is usually 6).
 */
/** Whether EXIF orientation `o` turns the image a quarter (5..8): its displayed width is its stored height. */
export const swapsSides = (o: number): boolean => o >= 5 && o <= 8;

export interface ImageInput {
  readonly bytes: Buffer;
  readonly format: 'jpeg' | 'png';
  /** displayed size (orientation applied) */
  readonly width: number;
  readonly height: number;
  /** EXIF orientation of `bytes`: 1 (stored upright) or 2..8 (turned and/or mirrored for display) */
  readonly orientation: number;
  /** hex SHA-256 of the bytes as received from the client: the only trace of the image the store keeps. */
  readonly sha256: string;
  /** bytes of pixels it decodes to (width × height × channels × bytes per sample): what decoding it costs */
  readonly decodedBytes: number;
}

/**
 * An image that decodes to this many bytes or more is heavy: seconds of CPU (a 16-bit RGBA PNG of
 * 40 Mpx is 320 MB, ~1.2 s to decode on this machine; a 12 Mpx phone JPEG, 36 MB, is not). Heavy
 * images are admitted one request per tenant at the edge (src/limits/bulkhead) and take their
 * tenant's whole share of the local engine's pool (providers/local/pool).
 */
export const HEAVY_BYTES = 64 * 1024 * 1024;

/**
 * One call to a provider. `probe` is the live capture (selfie / compareFaces source): it must hold
 * exactly one dominant face. `reference` is the document (compareFaces target): the largest face is used.
 */
export interface CheckRequest {
  readonly probe?: ImageInput;
  readonly reference?: ImageInput;
  /** compare probe with reference */
  readonly match: boolean;
  /** passive liveness on the probe */
  readonly liveness: boolean;
  /** Rekognition Face Liveness: the session whose reference image stands in for the probe. */
  readonly livenessSessionId?: string;
  /** read the MRZ of the document page (`document` capability) */
  readonly document?: boolean;
  /**
   * The document page, when `reference` is another image (a verified chip's face stands in for the
   * printed photo); absent: the page is `reference`.
   */
  readonly page?: ImageInput;
}

export type ScoreScale = 'cosine' | 'unit' | 'percent';

export interface RawFaceMatch {
  /** the provider's own number, on its own scale (cosine −1..1, unit 0..1, percent 0..100) */
  readonly score: number;
  readonly scale: ScoreScale;
  /** which model/table calibrates this score, e.g. 'local/faceplugin-v1', 'facia/default' */
  readonly calibration: string;
  /** the provider's own yes/no, when it gives one (kept for audit; the policy decides) */
  readonly providerMatched?: boolean;
}

export interface RawLiveness {
  readonly score: number;
  readonly scale: ScoreScale;
  readonly calibration: string;
  readonly providerLive?: boolean;
}

export interface CheckOutcome {
  readonly match?: RawFaceMatch;
  readonly liveness?: RawLiveness;
  /** the MRZ of the document page, as read (personal data: stored as evidence, never logged nor put in `raw`) */
  readonly document?: MrzRead;
  /**
   * A liveness session's reference image (Rekognition Face Liveness): the selfie of a match made
   * by another call. Held in memory for this check only; never stored, logged or put in `raw`.
   */
  readonly sessionImage?: Buffer;
  /** quality findings that do not stop the check (FACE_TOO_SMALL, BLURRY, EXTREME_POSE) */
  readonly quality: readonly ReasonCode[];
  /** the provider's own numbers for the audit trail (never images or templates). Admin-only. */
  readonly raw: Record<string, unknown>;
}

export interface CallContext {
  readonly signal: AbortSignal;
  readonly requestId: string;
  readonly tenantId?: string;
  /**
   * A provider with a queue of its own (`queues`) calls this when the call leaves the queue and the
   * work starts: a deadline missed before that is queueing, not the provider failing.
   */
  readonly began?: () => void;
}

export interface ProviderHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface Provider {
  readonly name: ProviderName;
  readonly capabilities: ReadonlySet<Capability>;
  /** every call needs the document image, whatever it checks (Facia's /process_face takes both) */
  readonly needsDocument?: boolean;
  /** deadline of one call when the policy sets none (the caller enforces it: verification/call.ts) */
  readonly timeoutMs?: number;
  /** calls wait in a queue of its own before work starts, and it reports the start (CallContext.began) */
  readonly queues?: boolean;
  /** the keys its scores are reported under (RawFaceMatch.calibration), for the `providers` query */
  readonly calibration?: { readonly match?: string; readonly liveness?: string };
  /** Load models, open pools, warm up. `/readyz` turns 200 only after every provider's init resolved. */
  init?(): Promise<void>;
  check(req: CheckRequest, ctx: CallContext): Promise<CheckOutcome>;
  /** 'liveness-session' providers: start a session the frontend's liveness widget runs (Rekognition Face Liveness) */
  createLivenessSession?(ctx: CallContext): Promise<{ sessionId: string; expiresAt: Date }>;
  health(ctx: CallContext): Promise<ProviderHealth>;
  /**
   * Proves the configured credentials with a call that costs nothing (no image is processed):
   * throws an Unauthorized ProviderError when they are refused. Asked once, when the server warms up.
   */
  verifyCredentials?(ctx: CallContext): Promise<void>;
  close?(): Promise<void>;
}

/**
 * The failure taxonomy. `BadInput` is the caller's fault (no face, corrupt image) and is never
 * retried nor failed over; `Transient` (timeout, 5xx, reset) is retryable; `Unavailable` means
 * the provider is not usable now (not configured, circuit open, not ready).
 */
export type ProviderErrorKind = 'BadInput' | 'Unauthorized' | 'QuotaExceeded' | 'Transient' | 'Unavailable';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly provider: ProviderName,
    readonly kind: ProviderErrorKind,
    /** the reason code the check reports */
    readonly reason: ReasonCode,
    message: string,
    /** provider's own error fields for the audit trail (never secrets) */
    readonly raw: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.kind === 'Transient';
  }
}

export const isProviderError = (e: unknown): e is ProviderError => e instanceof ProviderError;
