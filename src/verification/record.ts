/**
 * Stage `record`, at both ends of a check. Before any provider is called: the PENDING row with its
 * deadline, and the claim of its liveness session, in one transaction (store: createPending). After:
 * the result, its attempts and the evidence it was decided from, in one statement (store: complete)
 * — the evidence as the providers gave it, so that `replayPolicy` can decide the check again.
 */
import type { CheckOutcome, ProviderError, ProviderName } from '../../providers/types';
import { VerigateError } from '../errors';
import { HeaderMap } from '@apollo/server';
import { LivenessSessionRefused, QuotaExhausted, type CheckCompletion, type Store } from '../store/repositories';
import type { CallResult } from './call';
import type { VerificationRequest } from './orchestrator';
import type { Leg } from './plan';
import type { DocumentEvidence, StoredEvidence } from './types';

/** A leg's outcome: every call made, and the answers of the providers that decide it (or why none does). */
export interface LegRun {
  leg: Leg;
  calls: CallResult[];
  answers: Array<{ provider: ProviderName; outcome: CheckOutcome }>;
  failure?: ProviderError;
}

/**
 * The PENDING row (or, for an idempotent repeat, the stored check), with the tenant's daily quota
 * charged and its liveness session claimed in the same transaction: nothing is stored, and nothing
 * charged, when the quota is used up or the session refused; a repeat is never charged.
 */
export async function openCheck(store: Store, req: VerificationRequest, defaults: { deadlineMs: number; owner: string | null; queued: boolean }) {
  try {
    return await store.checks.createPending({
      tenantId: req.tenantId,
      kind: req.kind,
      referenceId: req.referenceId,
      idempotencyKey: req.idempotencyKey,
      imageDigests: req.digests,
      livenessSessionId: req.livenessSessionId,
      checksPerDay: req.checksPerDay,
      defaultDeadlineMs: defaults.deadlineMs,
      owner: defaults.owner,
      queued: defaults.queued,
    });
  } catch (e) {
    if (e instanceof QuotaExhausted) {
      const http = { status: 429, headers: new HeaderMap([['retry-after', String(e.retryAfterSeconds)]]) };
      throw new VerigateError('QUOTA_EXCEEDED', `Daily check quota of ${e.limit} used up`, { limit: 'checksPerDay', retryAfterSeconds: e.retryAfterSeconds, http });
    }
    if (!(e instanceof LivenessSessionRefused)) throw e;
    if (e.why === 'unknown') throw new VerigateError('NOT_FOUND', 'liveness session not found: create one with createLivenessSession', { field: 'livenessSessionId' });
    if (e.why === 'used') {
      throw new VerigateError('CONFLICT', 'this liveness session was already used by another check; a session is single-use: create a new one', {
        field: 'livenessSessionId',
        checkId: e.session!.checkId,
      });
    }
    throw new VerigateError('LIVENESS_SESSION_EXPIRED', `this liveness session expired at ${e.session!.expiresAt.toISOString()}: create a new one and complete it in time`, {
      field: 'livenessSessionId',
    });
  }
}

/** What the check was decided from: each leg's answers, raw, with their quality findings (and what the request brought to the document check). */
export function evidenceOf(runs: readonly LegRun[], document?: DocumentEvidence): StoredEvidence {
  return {
    version: 1,
    ...(document ? { document } : {}),
    legs: runs.map((r) => ({
      answers: r.leg.answers,
      consensus: r.leg.mode === 'consensus',
      ...(r.leg.minScore !== undefined ? { minScore: r.leg.minScore } : {}),
      from: r.answers.map(({ provider, outcome }) => ({
        provider,
        ...(outcome.match ? { match: outcome.match } : {}),
        ...(outcome.liveness ? { liveness: outcome.liveness } : {}),
        ...(outcome.document ? { document: outcome.document } : {}),
        quality: [...outcome.quality],
      })),
    })),
  };
}

/** A check no provider answered: ERROR with the failure's reason, and no evidence. */
export const failedCompletion = (failure: ProviderError): CheckCompletion => ({
  status: 'ERROR',
  reasons: [failure.reason],
  provider: failure.provider,
  faceMatch: null,
  liveness: null,
  document: null,
  evidence: null,
});
