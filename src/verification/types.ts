/** The domain's result types: what a check is, whichever provider ran it. */
import type { ProviderName, RawFaceMatch, RawLiveness, ReasonCode } from '../../providers/types';

export const CHECK_KINDS = ['VERIFY_IDENTITY', 'LIVENESS', 'FACE_MATCH'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const CHECK_STATUSES = ['PENDING', 'ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface FaceMatchResult {
  /** the provider whose number this is (for a consensus, its weakest member) */
  provider: ProviderName;
  matched: boolean;
  /** unified 0..1 score (−log10(FMR)/10) */
  score: number;
  /** estimated false-match rate */
  fmr: number;
  fmrExtrapolated: boolean;
  /** MEASURED: the calibration table was fitted on labelled pairs; DEFAULT: documented operating points */
  fmrSource: 'MEASURED' | 'DEFAULT';
  /** id of the table that mapped the score (null for checks decided before it was recorded) */
  calibrationTable: string | null;
  matchLevel: number;
  /** the FMR at or below which the policy accepts */
  threshold: number;
}

export interface LivenessResult {
  provider: ProviderName;
  live: boolean;
  /** probability that the capture is a live person */
  score: number;
  /** the policy's livenessMin */
  threshold: number;
  /** estimated share of attacks that score this high (the provider's liveness table); null without a table */
  apcer: number | null;
  /** the policy's livenessMaxApcer, when it decided (instead of livenessMin) */
  maxApcer?: number;
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
  /** the Face Liveness session whose capture stands in for the selfie */
  livenessSessionId: string | null;
  createdAt: Date;
  /** by when the check must be decided (its policy's deadlineMs) */
  deadlineAt: Date | null;
  completedAt: Date | null;
  /** a person's decision on the check (its own `status` stays the automated one); null: not reviewed */
  review?: CheckReview | null;
}

export const REVIEW_DECISIONS = ['ACCEPT', 'REJECT'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export interface CheckReview {
  decision: ReviewDecision;
  note: string;
  /** the API key that reviewed it */
  reviewerKeyId: string;
  at: Date;
}

/** What a check ends as: a review's decision when a person made one, else the automated status. */
export const finalStatusOf = (c: Pick<CheckRecord, 'status' | 'review'>): CheckStatus =>
  c.review ? (c.review.decision === 'ACCEPT' ? 'ACCEPTED' : 'REJECTED') : c.status;

/**
 * What a check was decided from, stored with it so that `replayPolicy` can decide it again under
 * another policy: each leg's raw provider numbers and quality findings (never images, never
 * templates), as the providers gave them.
 */
export interface StoredEvidence {
  version: 1;
  legs: Array<{
    answers: Array<'match' | 'liveness'>;
    consensus: boolean;
    minScore?: number;
    from: Array<{ provider: ProviderName; match?: RawFaceMatch; liveness?: RawLiveness; quality: ReasonCode[] }>;
  }>;
}

export type AttemptRole = 'primary' | 'fallback' | 'shadow' | 'consensus' | 'session';
export type AttemptOutcome = 'OK' | 'BAD_INPUT' | 'UNAUTHORIZED' | 'QUOTA_EXCEEDED' | 'TRANSIENT' | 'UNAVAILABLE' | 'TIMEOUT' | 'FAILED';

export interface AttemptRecord {
  id: string;
  checkId: string;
  tenantId: string;
  seq: number;
  provider: ProviderName;
  role: AttemptRole;
  /** the checks this call was asked for (match, liveness) */
  answers: Array<'match' | 'liveness'>;
  outcome: AttemptOutcome;
  latencyMs: number;
  errorCode: string | null;
  /** what this provider's result alone would have decided (shadow/consensus comparison) */
  decision: CheckStatus | null;
  /** the same, check by check (null for calls without an answer, and before it was recorded) */
  decisions: Partial<Record<'match' | 'liveness', CheckStatus>> | null;
  /** its unified match score, when it returned a match */
  unifiedScore: number | null;
  raw: Record<string, unknown>;
  createdAt: Date;
}

/** A Face Liveness session, as Verigate keeps it: whose it is, until when, and which check used it. */
export interface LivenessSessionRecord {
  id: string;
  tenantId: string;
  provider: ProviderName;
  createdAt: Date;
  expiresAt: Date;
  /** the check that used it (a session is single-use) */
  checkId: string | null;
  usedAt: Date | null;
}

/** Who is asking: the store filters every read and write by it. */
export type Scope = { readonly role: 'admin' } | { readonly role: 'tenant'; readonly tenantId: string };
export const ADMIN_SCOPE: Scope = { role: 'admin' };
