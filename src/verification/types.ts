/** The domain's result types: what a check is, whichever provider ran it. */
import type { Applicant } from '../../providers/local/document/applicant';
import type { MrzDocument, MrzRead } from '../../providers/local/document/mrz';
import type { ProviderName, RawFaceMatch, RawLiveness, ReasonCode } from '../../providers/types';

/** A check a policy routes to providers (policy.ts ROUTED). */
export type CheckPart = 'match' | 'liveness' | 'document';

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

/**
 * What the document says: from its printed MRZ (`MRZ`), or from its chip's DG1 when passive
 * authentication held (`CHIP`). Personal data: returned to the tenant, never in webhooks or logs.
 */
export type DocumentResult = Omit<MrzDocument, 'format' | 'fields' | 'lines'> & { source: 'MRZ' | 'CHIP' };

/** The chip as the edge verified it (passive authentication), kept with the check's evidence. */
export interface ChipEvidence {
  /** CHIP_VERIFIED, or what failed (CHIP_MRZ_MISMATCH is decided later, against the printed MRZ) */
  reasons: ReasonCode[];
  verified: boolean;
  /** DG1's MRZ lines (personal data) */
  dg1Mrz: string[];
}

export interface ImageDigests {
  selfie?: string;
  document?: string;
  source?: string;
  target?: string;
  /** SHA-256 of the chip's files (DG1, DG2, SOD) as received */
  chip?: string;
  /** SHA-256 of the applicant's data: only what an idempotent repeat is compared by (not shown) */
  applicant?: string;
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
  /** the document's data, when its MRZ was read (verifyIdentity with a document check) */
  document?: DocumentResult | null;
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
    answers: CheckPart[];
    consensus: boolean;
    minScore?: number;
    /** `document`: the MRZ as read (personal data: this evidence is the tenant's, like the result) */
    from: Array<{ provider: ProviderName; match?: RawFaceMatch; liveness?: RawLiveness; document?: MrzRead; quality: ReasonCode[] }>;
  }>;
  /** what the request brought to the document check (its applicant data, its chip as verified) */
  document?: DocumentEvidence;
}

export interface DocumentEvidence {
  /** the request carried applicant data or a chip: the document check is required whatever the policy */
  requested: boolean;
  applicant?: Applicant;
  chip?: ChipEvidence;
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
  /** the checks this call was asked for (match, liveness, document) */
  answers: CheckPart[];
  outcome: AttemptOutcome;
  latencyMs: number;
  errorCode: string | null;
  /** what this provider's result alone would have decided (shadow/consensus comparison) */
  decision: CheckStatus | null;
  /** the same, check by check (null for calls without an answer, and before it was recorded) */
  decisions: Partial<Record<CheckPart, CheckStatus>> | null;
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
