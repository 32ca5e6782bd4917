/**
 * One verification, end to end (see ARCHITECTURE.md):
 *   1. write the check row PENDING (an idempotent repeat returns the stored result instead)
 *   2. the tenant's policy (read by the same statement) 3. plan the providers (routing.ts)
 *   4. call them under the check's deadline: per-call timeout, retries of Transient errors with
 *      jittered backoff, fallback, circuit breakers
 *   5. calibrate → 6. decide           7. persist attempts + result in one transaction
 *   then shadow providers, off the response path.
 * A failure never leaves a missing check: it ends as ERROR with a reason, and the caller gets a
 * typed error that names the check.
 */
import {
  isProviderError,
  ProviderError,
  type Capability,
  type CheckOutcome,
  type CheckRequest,
  type ImageInput,
  type ProviderErrorKind,
  type ProviderName,
  type ReasonCode,
} from '../../providers/types';
import { VerigateError, type ErrorCode } from '../errors';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { CheckCompletion, NewAttempt, Store } from '../store/repositories';
import { livenessProbability, type CalibrationRegistry } from './calibration';
import { decide, type Decision, type Thresholds } from './decision';
import type { HealthBook } from './health';
import { defaultPolicy, type Policy, type Step, type StoredPolicy } from './policy';
import type { ProviderRegistry } from './registry';
import { plan, type Plan } from './routing';
import type { AttemptOutcome, AttemptRole, CheckKind, CheckRecord, ImageDigests } from './types';

export interface VerificationRequest {
  kind: CheckKind;
  /** the caller's tenant (from its API key: a tenant's keys go with it, ON DELETE CASCADE) */
  tenantId: string;
  requestId: string;
  referenceId?: string | null;
  idempotencyKey?: string | null;
  /** selfie / compareFaces source */
  probe?: ImageInput;
  /** document / compareFaces target */
  reference?: ImageInput;
  livenessSessionId?: string;
  digests: ImageDigests;
}

export interface OrchestratorOptions {
  defaultProvider: ProviderName;
  /** a check's deadline when its policy sets none */
  timeoutMs: number;
  log: Logger;
  metrics: Metrics;
  health: HealthBook;
  random?: () => number;
}

const OUTCOME_OF: Record<ProviderErrorKind, AttemptOutcome> = {
  BadInput: 'BAD_INPUT',
  Unauthorized: 'UNAUTHORIZED',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  Transient: 'TRANSIENT',
  Unavailable: 'UNAVAILABLE',
};

/** Which client-facing error a failed check answers with. */
const BAD_INPUT_CODES: Partial<Record<ReasonCode, ErrorCode>> = {
  NO_FACE: 'NO_FACE',
  MULTIPLE_FACES: 'MULTIPLE_FACES',
  BAD_IMAGE: 'BAD_IMAGE',
  LIVENESS_SESSION_EXPIRED: 'LIVENESS_SESSION_EXPIRED',
};

/** What every provider call of one check shares. */
interface CallSpec {
  req: VerificationRequest;
  wants: Pick<CheckRequest, 'match' | 'liveness'>;
  thresholds: Thresholds;
  /** epoch ms by which the check must be decided */
  deadline: number;
}

/** One call's result: the outcome, or the classified failure. */
type CallResult = { step: Step; attempt: NewAttempt } & ({ outcome: CheckOutcome; decision: Decision } | { failure: ProviderError });

export class Orchestrator {
  private readonly shadows = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly providers: ProviderRegistry,
    private readonly calibration: CalibrationRegistry,
    private readonly opts: OrchestratorOptions,
  ) {}

  async run(req: VerificationRequest): Promise<CheckRecord> {
    // the tenant's stored policy comes back with the inserted row (one statement)
    const { check, created, policy } = await this.store.checks.createPending({
      tenantId: req.tenantId,
      kind: req.kind,
      referenceId: req.referenceId,
      idempotencyKey: req.idempotencyKey,
      imageDigests: req.digests,
    });
    if (!created) return this.repeat(check, req);
    try {
      return await this.execute(check, req, this.effective(policy ?? null).policy);
    } catch (e) {
      if (e instanceof VerigateError) throw e;
      // a bug or a store failure after the check was written: it must not stay PENDING
      this.opts.log.error({ err: e, requestId: req.requestId, checkId: check.id }, 'check failed unexpectedly');
      await this.store.checks
        .complete(check, { status: 'ERROR', reasons: ['INTERNAL_ERROR'], provider: null, faceMatch: null, liveness: null }, [])
        .catch((err) => this.opts.log.error({ err, checkId: check.id }, 'could not mark check ERROR; start-up recovery will'));
      throw e;
    }
  }

  /** The tenant's current policy, read fresh (one indexed query) so every replica sees a change at once. */
  async policyFor(tenantId: string): Promise<{ policy: Policy; version: number | null }> {
    const [stored] = await this.store.policies.current([tenantId]);
    return this.effective(stored ?? null);
  }

  /** The stored policy, or the default for a tenant that has none. */
  private effective(stored: StoredPolicy | null): { policy: Policy; version: number | null } {
    return stored ? { policy: stored.policy, version: stored.version } : { policy: defaultPolicy(this.opts.defaultProvider), version: null };
  }

  /** Waits for shadow calls still running (tests, graceful shutdown). */
  async drainShadows(): Promise<void> {
    while (this.shadows.size) await Promise.allSettled([...this.shadows]);
  }

  private async execute(check: CheckRecord, req: VerificationRequest, policy: Policy): Promise<CheckRecord> {
    const wants = checksWanted(req.kind, policy);
    const thePlan = plan(policy, {
      tenantId: req.tenantId,
      referenceId: req.referenceId,
      needs: capabilitiesNeeded(wants, req),
      capabilitiesOf: (p) => (this.providers.has(p) ? this.providers.get(p).capabilities : undefined),
      random: this.opts.random ?? Math.random,
    });
    const spec: CallSpec = { req, wants, thresholds: policy.thresholds, deadline: Date.now() + (policy.deadlineMs ?? this.opts.timeoutMs) };
    const call = (step: Step, role: AttemptRole) => this.callWithRetries(step, role, spec);

    let results: CallResult[];
    let completion: CheckCompletion;
    if (thePlan.steps.length === 0) {
      results = [];
      completion = errorCompletion('PROVIDER_UNAVAILABLE', null);
    } else if (thePlan.mode === 'consensus') {
      results = (await Promise.all(thePlan.steps.map((s) => call(s, 'consensus')))).flat();
      completion = consensus(results, policy);
    } else {
      results = [];
      for (const [i, step] of thePlan.steps.entries()) {
        const tries = await call(step, i === 0 ? 'primary' : 'fallback');
        results.push(...tries);
        const last = tries[tries.length - 1];
        if ('decision' in last || last.failure.kind === 'BadInput' || Date.now() >= spec.deadline) break;
      }
      const last = results[results.length - 1];
      completion = 'decision' in last ? { ...last.decision, provider: last.step.provider } : errorCompletion(last.failure.reason, last.step.provider);
    }

    const done = await this.store.checks.complete(check, completion, results.map((r) => r.attempt));
    this.opts.metrics.checks.inc({ kind: done.kind, provider: done.provider ?? 'none', status: done.status });
    this.startShadows(done, req, wants, thePlan, policy);

    if (done.status === 'ERROR') throw this.clientError(done, results, thePlan);
    return done;
  }

  /** One step: the call and its retries (Transient errors only, jittered backoff, within the deadline). */
  private async callWithRetries(step: Step, role: AttemptRole, call: CallSpec): Promise<CallResult[]> {
    const results: CallResult[] = [];
    for (let attempt = 0; attempt <= step.retries; attempt++) {
      const result = await this.callOnce(step, role, call);
      results.push(result);
      if ('decision' in result || result.failure.kind !== 'Transient') break;
      const backoff = 50 * 2 ** attempt * (0.5 + Math.random());
      if (Date.now() + backoff >= call.deadline) break;
      await sleep(backoff);
    }
    return results;
  }

  private async callOnce(step: Step, role: AttemptRole, { req, wants, thresholds, deadline }: CallSpec): Promise<CallResult> {
    const name = step.provider;
    const started = performance.now();
    const attempt = (outcome: AttemptOutcome, extra: Partial<NewAttempt>): NewAttempt => ({
      provider: name,
      role,
      outcome,
      latencyMs: performance.now() - started,
      errorCode: null,
      decision: null,
      unifiedScore: null,
      raw: {},
      ...extra,
    });

    if (!this.opts.health.tryAcquire(name)) {
      const failure = new ProviderError(name, 'Unavailable', 'PROVIDER_UNAVAILABLE', `provider '${name}' is failing (circuit open)`);
      return { step, failure, attempt: attempt('UNAVAILABLE', { errorCode: 'CIRCUIT_OPEN' }) };
    }
    const timeoutMs = Math.max(1, Math.min(step.timeoutMs ?? Infinity, deadline - Date.now()));
    let outcome: CheckOutcome;
    try {
      outcome = await this.callProvider(name, req, wants, timeoutMs);
    } catch (e) {
      if (!isProviderError(e)) this.opts.log.error({ err: e, requestId: req.requestId, provider: name }, 'provider threw an unclassified error');
      const failure = isProviderError(e)
        ? e
        : new ProviderError(name, 'Transient', 'PROVIDER_ERROR', `provider '${name}' failed unexpectedly`, {}, { cause: e });
      const kind = failure.reason === 'TIMEOUT' ? 'TIMEOUT' : OUTCOME_OF[failure.kind];
      return this.settle({ step, failure, attempt: attempt(kind, { errorCode: failure.reason, raw: failure.raw }) });
    }
    // outside the provider's try: a calibration or decision bug is ours, not the provider's
    const { decision, calibrationTable } = this.decideOutcome(outcome, thresholds);
    // the calibration table that mapped the score (quality-conditioned tables choose per check)
    const raw = calibrationTable ? { ...outcome.raw, calibrationTable } : outcome.raw;
    const ok = attempt('OK', { raw, decision: decision.status, unifiedScore: decision.faceMatch?.score ?? null });
    return this.settle({ step, outcome, decision, attempt: ok });
  }

  /** Feeds a call's result to the circuit breaker and metrics. */
  private settle(result: CallResult): CallResult {
    const { provider, outcome, latencyMs } = result.attempt;
    const providerFault = 'failure' in result && (result.failure.kind === 'Transient' || result.failure.kind === 'Unavailable');
    this.opts.health.record(provider, providerFault ? 'failure' : 'ok', latencyMs);
    this.opts.metrics.providerCalls.observe({ provider, outcome }, latencyMs / 1000);
    return result;
  }

  /** Calls the provider with a timeout; a provider that ignores the abort still loses the race. */
  private async callProvider(
    name: ProviderName,
    req: VerificationRequest,
    wants: Pick<CheckRequest, 'match' | 'liveness'>,
    timeoutMs: number,
  ): Promise<CheckOutcome> {
    const provider = this.providers.get(name);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ProviderError(name, 'Transient', 'TIMEOUT', `provider '${name}' did not answer within ${Math.round(timeoutMs)} ms`);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      return await Promise.race([
        provider.check(
          { probe: req.probe, reference: req.reference, livenessSessionId: req.livenessSessionId, ...wants },
          { signal: controller.signal, requestId: req.requestId, tenantId: req.tenantId },
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private decideOutcome(outcome: CheckOutcome, thresholds: Thresholds): { decision: Decision; calibrationTable?: string } {
    const match = outcome.match ? this.calibration.unifyMatch(outcome.match, outcome.quality) : undefined;
    const live = outcome.liveness ? livenessProbability(outcome.liveness) : undefined;
    return { decision: decide(thresholds, match, live, outcome.quality), calibrationTable: match?.table };
  }

  /** Shadow providers: called after the answer is decided and stored, never changing or delaying it. */
  private startShadows(
    check: CheckRecord,
    req: VerificationRequest,
    wants: Pick<CheckRequest, 'match' | 'liveness'>,
    thePlan: Plan,
    policy: Policy,
  ): void {
    if (thePlan.shadows.length === 0) return;
    const spec: CallSpec = { req, wants, thresholds: policy.thresholds, deadline: Date.now() + (policy.deadlineMs ?? this.opts.timeoutMs) };
    const task = Promise.all(thePlan.shadows.map((s) => this.callOnce(s, 'shadow', spec)))
      .then((results) => this.store.checks.addAttempts(check, results.map((r) => r.attempt)))
      .catch((err) => this.opts.log.warn({ err, checkId: check.id }, 'shadow comparison not stored'));
    const tracked = task.finally(() => this.shadows.delete(tracked));
    this.shadows.add(tracked);
  }

  /** An idempotent repeat: the stored result, waiting for the first request if it is still running. */
  private async repeat(check: CheckRecord, req: VerificationRequest): Promise<CheckRecord> {
    if (check.kind !== req.kind) {
      throw new VerigateError('CONFLICT', `idempotencyKey was already used for a ${check.kind} check`, { checkId: check.id });
    }
    const scope = { role: 'tenant', tenantId: check.tenantId } as const;
    const until = Date.now() + this.opts.timeoutMs + 5000;
    let current: CheckRecord | null = check;
    while (current && current.status === 'PENDING' && Date.now() < until) {
      await sleep(25);
      current = await this.store.checks.get(scope, check.id);
    }
    return current ?? check;
  }

  private clientError(check: CheckRecord, results: CallResult[], thePlan: Plan): VerigateError {
    const failures = results.flatMap((r) => ('failure' in r ? [r.failure] : []));
    const badInput = failures.find((f) => f.kind === 'BadInput');
    const extra = { checkId: check.id, reasons: check.reasons };
    if (badInput) return new VerigateError(BAD_INPUT_CODES[badInput.reason] ?? 'BAD_USER_INPUT', badInput.message, { ...extra, provider: badInput.provider });
    const last = failures[failures.length - 1];
    const message = last
      ? last.message
      : `no provider can run this check (${thePlan.excluded.map((e) => `${e.provider}: ${e.why}`).join(', ') || 'policy names none'})`;
    return new VerigateError('PROVIDER_UNAVAILABLE', message, extra);
  }
}

function checksWanted(kind: CheckKind, policy: Policy): Pick<CheckRequest, 'match' | 'liveness'> {
  switch (kind) {
    case 'VERIFY_IDENTITY':
      return { match: policy.require.match, liveness: policy.require.liveness };
    case 'LIVENESS':
      return { match: false, liveness: true };
    case 'FACE_MATCH':
      return { match: true, liveness: false };
  }
}

function capabilitiesNeeded(wants: Pick<CheckRequest, 'match' | 'liveness'>, req: VerificationRequest): Set<Capability> {
  const needs = new Set<Capability>();
  if (wants.match) needs.add('face-match');
  // a liveness session is liveness done by the provider's own capture flow
  if (req.livenessSessionId) needs.add('liveness-session');
  else if (wants.liveness) needs.add('liveness');
  return needs;
}

const errorCompletion = (reason: ReasonCode, provider: ProviderName | null): CheckCompletion => ({
  status: 'ERROR',
  reasons: [reason],
  provider,
  faceMatch: null,
  liveness: null,
});

/**
 * Consensus: every provider must answer. `all`: they must reach the same decision; `minScore`:
 * every unified match score must reach minScore (and liveness pass). Disagreement is INCONCLUSIVE.
 * The reported match/liveness are the most conservative of the providers'.
 */
function consensus(results: CallResult[], policy: Policy): CheckCompletion {
  const finalOf = new Map<ProviderName, CallResult>();
  for (const r of results) finalOf.set(r.step.provider, r); // the last try of each provider
  const finals = [...finalOf.values()];
  const decisions: Decision[] = [];
  for (const r of finals) {
    if ('failure' in r) return errorCompletion(r.failure.reason, r.step.provider);
    decisions.push(r.decision);
  }
  const weakest = <T extends { score: number }>(xs: Array<T | null>) =>
    xs.filter((x): x is T => x !== null).sort((a, b) => a.score - b.score)[0] ?? null;
  const faceMatch = weakest(decisions.map((d) => d.faceMatch));
  const liveness = weakest(decisions.map((d) => d.liveness));
  const provider = finals[0].step.provider;
  const reasons = [...new Set(decisions.flatMap((d) => d.reasons))];
  const strategy = policy.strategy.type === 'consensus' ? policy.strategy : null;

  if (strategy?.mode === 'minScore') {
    const pass = decisions.every((d) => (d.faceMatch ? d.faceMatch.score >= strategy.minScore! : true) && (d.liveness ? d.liveness.live : true));
    if (pass) return { status: 'ACCEPTED', reasons: [], provider, faceMatch, liveness };
  }
  const statuses = new Set(decisions.map((d) => d.status));
  if (statuses.size === 1) return { status: decisions[0].status, reasons, provider, faceMatch, liveness };
  return { status: 'INCONCLUSIVE', reasons: ['PROVIDER_DISAGREEMENT', ...reasons], provider, faceMatch, liveness };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
