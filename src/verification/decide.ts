/**
 * Stage `decide`: the evidence contract. A pure function from what the policy requires and the
 * calibrated evidence each provider returned to ACCEPTED / REJECTED / INCONCLUSIVE:
 *
 *   - every required check (match, liveness) needs a number from every provider that decides it;
 *     a missing one is never a pass: INCONCLUSIVE with EVIDENCE_MISSING;
 *   - a match accepts at FMR ≤ acceptFmr, is INCONCLUSIVE up to inconclusiveFmr, else REJECTED;
 *     liveness accepts at probability ≥ livenessMin, else REJECTED;
 *   - a consensus is never looser than any member: its status is the strictest of its members'
 *     (PROVIDER_DISAGREEMENT when they differ), and `minScore` only adds a bar;
 *   - a quality finding the policy blocks turns a pass into the policy's quality outcome;
 *   - the document: an MRZ not found or invalid is INCONCLUSIVE; an expired document (rejectExpired),
 *     a name or date of birth unlike the applicant's, an age below minimumAge, a chip whose signature
 *     or hashes fail or whose DG1 is not the printed MRZ are REJECTED. A verified chip's DG1 is what
 *     the applicant and the policy are judged against (it cannot be misread); CHIP_VERIFIED and
 *     CHIP_UNTRUSTED_ISSUER are reported without changing the verdict (an untrusted chip is simply
 *     not used);
 *   - the check's status is the strictest of its parts (REJECTED > INCONCLUSIVE > ACCEPTED), and
 *     with nothing required nothing is accepted.
 * Provider failures (no answer at all) never reach here: the orchestrator ends those checks ERROR.
 */
import { documentReasons, type Applicant } from '../../providers/local/document/applicant';
import { mrzOfLines, type MrzDocument, type MrzRead } from '../../providers/local/document/mrz';
import type { ProviderName, ReasonCode } from '../../providers/types';
import type { UnifiedMatch } from './calibration';
import type { Policy, QualityRule, Routed, Thresholds } from './policy';
import type { CheckStatus, ChipEvidence, DocumentEvidence, DocumentResult, FaceMatchResult, LivenessResult } from './types';

export type Verdict = Exclude<CheckStatus, 'PENDING' | 'ERROR'>;

/** The default thresholds: accept at FMR ≤ 1e-5, INCONCLUSIVE up to 1e-3, liveness at probability ≥ 0.5. */
export const DEFAULT_THRESHOLDS: Thresholds = { acceptFmr: 1e-5, inconclusiveFmr: 1e-3, livenessMin: 0.5 };

/** What one provider said, on the unified scale. */
export interface Answer {
  provider: ProviderName;
  match?: UnifiedMatch;
  /** probability that the capture is a live person */
  liveness?: number;
  /** the estimated APCER at that score (the provider's liveness table), null without a table */
  livenessApcer?: number | null;
  /** the MRZ of the document page, as read */
  document?: MrzRead;
  /** quality findings on the images it analysed */
  quality: readonly ReasonCode[];
}

/** The answers of the providers that decide some checks: one (sequence) or every member (consensus). */
export interface LegEvidence {
  answers: readonly Routed[];
  consensus: boolean;
  minScore?: number;
  from: readonly Answer[];
}

export interface Rules {
  required: readonly Routed[];
  thresholds: Thresholds;
  quality: QualityRule;
  /** what the document is judged by (without it, a required document check has no evidence) */
  document?: DocumentRules;
}

export interface DocumentRules {
  policy: Policy['document'];
  applicant?: Applicant;
  chip?: ChipEvidence;
  /** the day the check was made: age and expiry are judged on it */
  now: Date;
}

/** The decider's rules under `policy` for the checks `required`; the document's, with what the request brought and the check's day. */
export function rulesOf(policy: Policy, required: Rules['required'], document?: { evidence?: DocumentEvidence; now: Date }): Rules {
  return {
    required,
    thresholds: policy.thresholds,
    quality: policy.quality,
    ...(document ? { document: { policy: policy.document, applicant: document.evidence?.applicant, chip: document.evidence?.chip, now: document.now } } : {}),
  };
}

export interface Decision {
  status: Verdict;
  reasons: ReasonCode[];
  faceMatch: FaceMatchResult | null;
  liveness: LivenessResult | null;
  /** what the document says (null without a document check, or with no MRZ found) */
  document: DocumentResult | null;
}

const STRICTNESS: Record<Verdict, number> = { ACCEPTED: 0, INCONCLUSIVE: 1, REJECTED: 2 };
export const stricter = (a: Verdict, b: Verdict): Verdict => (STRICTNESS[b] > STRICTNESS[a] ? b : a);

export function decide(rules: Rules, legs: readonly LegEvidence[]): Decision {
  const t = rules.thresholds;
  let status: Verdict = 'ACCEPTED';
  const reasons = new Set<ReasonCode>();
  const worsen = (s: Verdict, why?: ReasonCode) => {
    status = stricter(status, s);
    if (why) reasons.add(why);
  };
  let faceMatch: FaceMatchResult | null = null;
  let liveness: LivenessResult | null = null;
  let document: DocumentResult | null = null;

  if (rules.required.length === 0) worsen('INCONCLUSIVE', 'EVIDENCE_MISSING');
  for (const check of rules.required) {
    const leg = legs.find((l) => l.answers.includes(check));
    if (!leg || leg.from.length === 0) {
      worsen('INCONCLUSIVE', 'EVIDENCE_MISSING');
      continue;
    }
    const verdicts: Verdict[] = [];
    for (const a of leg.from) {
      if (check === 'document') {
        const d = judgeDocument(a.document, rules.document);
        verdicts.push(d.status);
        worsen(d.status);
        d.reasons.forEach((r) => reasons.add(r));
        document ??= d.result;
        continue;
      }
      const v = check === 'match' ? judgeMatch(a.match, t, leg.minScore) : judgeLiveness(a, t);
      verdicts.push(v.status);
      worsen(v.status, v.reason);
    }
    if (new Set(verdicts).size > 1) reasons.add('PROVIDER_DISAGREEMENT');
    // the result shows the weakest member's numbers (for one provider, its own)
    if (check === 'match') {
      const weakest = minBy(leg.from.filter((a) => a.match), (a) => a.match!.score);
      if (weakest) faceMatch = faceMatchOf(weakest.provider, weakest.match!, t);
    } else if (check === 'liveness') {
      const weakest = minBy(leg.from.filter((a) => a.liveness !== undefined), (a) => a.liveness!);
      if (weakest) liveness = livenessOf(weakest, t);
    }
  }

  // findings of every provider that decided: reported always, blocking as the policy says
  const findings = new Set(legs.filter((l) => l.answers.some((c) => rules.required.includes(c))).flatMap((l) => l.from.flatMap((a) => a.quality)));
  for (const f of findings) {
    reasons.add(f);
    if ((rules.quality.block as readonly string[]).includes(f)) worsen(rules.quality.outcome);
  }
  return { status, reasons: [...reasons], faceMatch, liveness, document };
}

/** Chip findings that refuse the check: the chip is not authentic (an untrusted issuer is only reported: its chip is not used). */
const CHIP_REFUSALS: readonly ReasonCode[] = ['CHIP_SIGNATURE_INVALID', 'CHIP_HASH_MISMATCH'];

/**
 * The document check: the printed MRZ must be found and valid (else INCONCLUSIVE); a chip given
 * must be authentic and hold the printed MRZ; the applicant's data and the policy's age and expiry
 * rules are judged on the verified chip's DG1 when there is one, else on the printed MRZ.
 */
function judgeDocument(read: MrzRead | undefined, rules: DocumentRules | undefined): { status: Verdict; reasons: ReasonCode[]; result: DocumentResult | null } {
  if (!read || !rules) return { status: 'INCONCLUSIVE', reasons: ['EVIDENCE_MISSING'], result: null };
  let status: Verdict = 'ACCEPTED';
  const reasons = new Set<ReasonCode>();
  const worsen = (s: Verdict, why: ReasonCode) => {
    status = stricter(status, s);
    reasons.add(why);
  };
  const printed = read.found && read.document.mrzValid ? read.document : undefined;
  if (!read.found) worsen('INCONCLUSIVE', 'MRZ_NOT_FOUND');
  else if (!read.document.mrzValid) worsen('INCONCLUSIVE', 'MRZ_INVALID');

  let fromChip: MrzDocument | undefined;
  const chip = rules.chip;
  if (chip) {
    for (const r of chip.reasons) {
      if (CHIP_REFUSALS.includes(r)) worsen('REJECTED', r);
      else if (r === 'CHIP_UNTRUSTED_ISSUER') reasons.add(r);
    }
    const mismatch = printed !== undefined && chip.dg1Mrz.join('') !== printed.lines.join('');
    if (mismatch) worsen('REJECTED', 'CHIP_MRZ_MISMATCH');
    if (chip.verified && !mismatch) {
      reasons.add('CHIP_VERIFIED');
      const dg1 = mrzOfLines(chip.dg1Mrz, rules.now);
      if (dg1.found && dg1.document.mrzValid) fromChip = dg1.document;
    }
  }

  const source = fromChip ?? printed;
  if (source) {
    const policy = { rejectExpired: rules.policy.rejectExpired, minimumAge: rules.policy.minimumAge };
    for (const r of documentReasons({ found: true, document: expiredOn(source, rules.now) }, rules.applicant, policy, rules.now)) worsen('REJECTED', r);
  }
  const shown = source ?? (read.found ? read.document : undefined);
  return { status, reasons: [...reasons], result: shown ? documentResultOf(expiredOn(shown, rules.now), fromChip ? 'CHIP' : 'MRZ') : null };
}

/** The document with `expired` as of `now` (the check's day: a replay judges it on the same day). */
function expiredOn(doc: MrzDocument, now: Date): MrzDocument {
  const today = now.toISOString().slice(0, 10);
  return { ...doc, expired: doc.expiryDate ? doc.expiryDate < today : null };
}

function documentResultOf(d: MrzDocument, source: DocumentResult['source']): DocumentResult {
  const { type, issuer, number, surname, givenNames, nationality, dateOfBirth, sex, expiryDate, mrzValid, expired } = d;
  return { type, issuer, number, surname, givenNames, nationality, dateOfBirth, sex, expiryDate, mrzValid, expired, source };
}

function judgeMatch(m: UnifiedMatch | undefined, t: Thresholds, minScore?: number): { status: Verdict; reason?: ReasonCode } {
  if (!m || !Number.isFinite(m.fmr) || !Number.isFinite(m.score)) return { status: 'INCONCLUSIVE', reason: 'EVIDENCE_MISSING' };
  if (m.fmr > t.inconclusiveFmr) return { status: 'REJECTED', reason: 'FACE_MISMATCH' };
  if (m.fmr > t.acceptFmr) return { status: 'INCONCLUSIVE', reason: 'MATCH_INCONCLUSIVE' };
  if (minScore !== undefined && m.score < minScore) return { status: 'INCONCLUSIVE', reason: 'MATCH_INCONCLUSIVE' };
  return { status: 'ACCEPTED' };
}

function judgeLiveness(a: Answer, t: Thresholds): { status: Verdict; reason?: ReasonCode } {
  if (a.liveness === undefined || !Number.isFinite(a.liveness)) return { status: 'INCONCLUSIVE', reason: 'EVIDENCE_MISSING' };
  return isLive(a, t) ? { status: 'ACCEPTED' } : { status: 'REJECTED', reason: 'LIVENESS_FAILED' };
}

/** Live by the policy's attack rate where the provider has a liveness table and the policy states one, else by livenessMin. */
function isLive(a: Answer, t: Thresholds): boolean {
  const apcer = a.livenessApcer;
  if (t.livenessMaxApcer !== undefined && apcer !== undefined && apcer !== null && Number.isFinite(apcer)) return apcer <= t.livenessMaxApcer;
  return a.liveness! >= t.livenessMin;
}

function livenessOf(a: Answer, t: Thresholds): LivenessResult {
  const byApcer = t.livenessMaxApcer !== undefined && a.livenessApcer !== undefined && a.livenessApcer !== null;
  return {
    provider: a.provider,
    live: isLive(a, t),
    score: a.liveness!,
    threshold: t.livenessMin,
    apcer: a.livenessApcer ?? null,
    ...(byApcer ? { maxApcer: t.livenessMaxApcer } : {}),
  };
}

export function faceMatchOf(provider: ProviderName, m: UnifiedMatch, t: Thresholds): FaceMatchResult {
  return {
    provider,
    matched: m.fmr <= t.acceptFmr,
    score: m.score,
    fmr: m.fmr,
    fmrExtrapolated: m.extrapolated,
    fmrSource: m.origin === 'measured' ? 'MEASURED' : 'DEFAULT',
    calibrationTable: m.table,
    matchLevel: m.matchLevel,
    threshold: t.acceptFmr,
  };
}

function minBy<T>(xs: readonly T[], f: (x: T) => number): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (best === undefined || f(x) < f(best)) best = x;
  return best;
}
