/** The domain's result types: what a check is, whichever provider ran it. */
import type { ProviderName, ReasonCode } from '../../providers/types';

export const CHECK_KINDS = ['VERIFY_IDENTITY', 'LIVENESS', 'FACE_MATCH'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const CHECK_STATUSES = ['PENDING', 'ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface FaceMatchResult {
  matched: boolean;
  /** unified 0..1 score (−log10(FMR)/10) */
  score: number;
  /** estimated false-match rate */
  fmr: number;
  fmrExtrapolated: boolean;
  matchLevel: number;
  /** the FMR at or below which the policy accepts */
  threshold: number;
}

export interface LivenessResult {
  live: boolean;
  /** probability that the capture is a live person */
  score: number;
  threshold: number;
}

export interface ImageDigests {
  selfie?: string;
  document?: string;
  source?: string;
  target?: string;
}

export interface CheckRecord {
  id: string;
  tenantId: string;
  referenceId: string | null;
  idempotencyKey: string | null;
  kind: CheckKind;
  status: CheckStatus;
  reasons: ReasonCode[];
  provider: ProviderName | null;
  faceMatch: FaceMatchResult | null;
  liveness: LivenessResult | null;
  imageDigests: ImageDigests;
  createdAt: Date;
  completedAt: Date | null;
}

export type AttemptRole = 'primary' | 'fallback' | 'shadow' | 'consensus';
export type AttemptOutcome = 'OK' | 'BAD_INPUT' | 'UNAUTHORIZED' | 'QUOTA_EXCEEDED' | 'TRANSIENT' | 'UNAVAILABLE' | 'TIMEOUT' | 'FAILED';

export interface AttemptRecord {
  id: string;
  checkId: string;
  tenantId: string;
  seq: number;
  provider: ProviderName;
  role: AttemptRole;
  outcome: AttemptOutcome;
  latencyMs: number;
  errorCode: string | null;
  /** what this provider's result alone would have decided (shadow/consensus comparison) */
  decision: CheckStatus | null;
  /** its unified match score, when it returned a match */
  unifiedScore: number | null;
  raw: Record<string, unknown>;
  createdAt: Date;
}

/** Who is asking: the store filters every read and write by it. */
export type Scope = { readonly role: 'admin' } | { readonly role: 'tenant'; readonly tenantId: string };
export const ADMIN_SCOPE: Scope = { role: 'admin' };
