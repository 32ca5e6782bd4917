/**
 * Decision: unified scores + the tenant's thresholds → ACCEPTED / REJECTED / INCONCLUSIVE, with
 * reason codes that say which test failed. Pure functions; the orchestrator supplies the inputs.
 */
import type { ReasonCode } from '../../providers/types';
import type { UnifiedMatch } from './calibration';
import type { CheckStatus, FaceMatchResult, LivenessResult } from './types';

export interface Thresholds {
  /** accept a match at FMR ≤ this */
  acceptFmr: number;
  /** between acceptFmr and this: INCONCLUSIVE; above: REJECTED */
  inconclusiveFmr: number;
  /** minimum probability of a live capture */
  livenessMin: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { acceptFmr: 1e-5, inconclusiveFmr: 1e-3, livenessMin: 0.5 };

export interface Decision {
  status: Exclude<CheckStatus, 'PENDING' | 'ERROR'>;
  reasons: ReasonCode[];
  faceMatch: FaceMatchResult | null;
  liveness: LivenessResult | null;
}

export function decide(
  t: Thresholds,
  match: UnifiedMatch | undefined,
  livenessProbability: number | undefined,
  quality: readonly ReasonCode[] = [],
): Decision {
  const reasons: ReasonCode[] = [];
  let status: Decision['status'] = 'ACCEPTED';
  const worsen = (s: Decision['status']) => {
    if (s === 'REJECTED' || (s === 'INCONCLUSIVE' && status === 'ACCEPTED')) status = s;
  };

  let faceMatch: FaceMatchResult | null = null;
  if (match) {
    faceMatch = {
      matched: match.fmr <= t.acceptFmr,
      score: match.score,
      fmr: match.fmr,
      fmrExtrapolated: match.extrapolated,
      matchLevel: match.matchLevel,
      threshold: t.acceptFmr,
    };
    if (match.fmr > t.inconclusiveFmr) {
      worsen('REJECTED');
      reasons.push('FACE_MISMATCH');
    } else if (match.fmr > t.acceptFmr) {
      worsen('INCONCLUSIVE');
      reasons.push('MATCH_INCONCLUSIVE');
    }
  }

  let liveness: LivenessResult | null = null;
  if (livenessProbability !== undefined) {
    liveness = { live: livenessProbability >= t.livenessMin, score: livenessProbability, threshold: t.livenessMin };
    if (!liveness.live) {
      worsen('REJECTED');
      reasons.push('LIVENESS_FAILED');
    }
  }

  // quality findings are reported, never silently dropped; the policy decides whether they block
  for (const q of quality) if (!reasons.includes(q)) reasons.push(q);
  return { status, reasons, faceMatch, liveness };
}
