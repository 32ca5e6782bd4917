/**
 * Policy replay: what a policy would have decided on a tenant's stored checks, before an admin
 * makes it the tenant's policy. Each decided check is decided again, by the same pure decider,
 * from the evidence stored with it (the providers' raw numbers, mapped by today's calibration
 * tables), under the new policy's requirements, thresholds, quality rule and consensus bar. No
 * provider is called, and nothing is written.
 *
 * The providers that answered stay those that answered: replay tells what the new rules do to
 * these answers, not what other providers would have said. Checks it cannot decide again are
 * counted apart: those without stored evidence (ERROR checks, and checks decided before evidence
 * was kept) and those whose evidence lacks a check the new policy requires.
 *
 * The document is decided again from the MRZ reading stored with the check (and the applicant's
 * data and chip result its request brought), on the day the check was made: raising minimumAge
 * refuses the holders it would have refused then.
 */
import type { Db } from '../store/db';
import { decide, rulesOf, type LegEvidence } from './decide';
import { requiredChecks } from './plan';
import { routeOf, type Policy } from './policy';
import type { CheckKind, CheckStatus, FaceMatchResult, LivenessResult, StoredEvidence } from './types';
import type { ReasonCode } from '../../providers/types';

export interface ReplayedCheck {
  id: string;
  createdAt: Date;
  from: CheckStatus;
  to: CheckStatus;
  reasons: ReasonCode[];
  faceMatch: FaceMatchResult | null;
  liveness: LivenessResult | null;
}

export interface ReplayResult {
  /** decided checks in the range (PENDING ones are left out) */
  checks: number;
  replayed: number;
  /** counted apart: no stored evidence, or none for a check the new policy requires */
  withoutEvidence: number;
  /** replayed checks whose status changes */
  changed: number;
  transitions: Array<{ from: CheckStatus; to: CheckStatus; count: number }>;
  /** the first `first` changed checks, oldest first */
  changedChecks: ReplayedCheck[];
}

/** Rows are read in pages of this many, so a long range never sits in memory at once. */
const PAGE = 500;

export async function replayPolicy(
  db: Db,
  legsOf: (e: StoredEvidence) => LegEvidence[],
  q: { tenantId: string; policy: Policy; from: Date; to: Date; first: number },
): Promise<ReplayResult> {
  const result: ReplayResult = { checks: 0, replayed: 0, withoutEvidence: 0, changed: 0, transitions: [], changedChecks: [] };
  const counts = new Map<string, number>();
  let after: { createdAt: Date; id: string } | null = null;
  for (;;) {
    const rows: Array<{ id: string; kind: CheckKind; status: CheckStatus; evidence: StoredEvidence | null; liveness_session_id: string | null; created_at: Date }> = await db.query(
      `SELECT id, kind, status, evidence, liveness_session_id, created_at FROM checks
       WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND status <> 'PENDING'
         ${after ? 'AND (created_at, id) > ($5, $6)' : ''}
       ORDER BY created_at, id LIMIT $4`,
      [q.tenantId, q.from, q.to, PAGE, ...(after ? [after.createdAt, after.id] : [])],
    );
    for (const r of rows) {
      result.checks++;
      const required = requiredChecks(r.kind, q.policy, r.liveness_session_id !== null, r.evidence?.document?.requested ?? false);
      if (!r.evidence || !required.every((c) => r.evidence!.legs.some((l) => l.answers.includes(c) && l.from.length > 0))) {
        result.withoutEvidence++;
        continue;
      }
      const legs = legsOf(r.evidence).map((l) => ({ ...l, minScore: minScoreOf(q.policy, l) }));
      // the document is judged on the day the check was made, with what its request brought
      const d = decide(rulesOf(q.policy, required, { evidence: r.evidence.document, now: r.created_at }), legs);
      result.replayed++;
      const key = `${r.status}>${d.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (d.status === r.status) continue;
      result.changed++;
      if (result.changedChecks.length < q.first) {
        result.changedChecks.push({ id: r.id, createdAt: r.created_at, from: r.status, to: d.status, reasons: d.reasons, faceMatch: d.faceMatch, liveness: d.liveness });
      }
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1];
    after = { createdAt: last.created_at, id: last.id };
  }
  result.transitions = [...counts].map(([k, count]) => {
    const [from, to] = k.split('>') as [CheckStatus, CheckStatus];
    return { from, to, count };
  });
  return result;
}

/** A consensus leg takes the new policy's `minScore` when its route is a minScore consensus. */
function minScoreOf(policy: Policy, leg: LegEvidence): number | undefined {
  const s = routeOf(policy, leg.answers[0]).strategy;
  return leg.consensus && s.type === 'consensus' && s.mode === 'minScore' ? s.minScore : undefined;
}
