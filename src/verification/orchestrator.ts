/**
 * One verification, end to end (ARCHITECTURE.md), as its named stages:
 *
 *   record   the check row PENDING, with its deadline (store: createPending); an idempotent repeat
 *            gets the stored check instead, and a liveness session is claimed in the same transaction
 *   plan     the tenant's policy → legs, one per route of the checks it needs (plan.ts)
 *   call     each leg's providers through the one provider caller (call.ts)
 *   decide   the evidence contract over the calibrated answers (decide.ts)
 *   record   attempts + result + the evidence it was decided from, in one statement (store: complete)
 *   then the shadow providers, through the same caller, off the response path.
 *
 * A failure never leaves a missing check: it ends as ERROR with a reason, and the caller gets a
 * typed error that names the check.
 */
import { ProviderError, type CheckOutcome, type CheckRequest, type ImageInput, type ProviderName, type ReasonCode } from '../../providers/types';
import { VerigateError, type ErrorCode } from '../errors';
import { imageFromBytes } from '../images';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { CheckCompletion, NewAttempt, Store } from '../store/repositories';
import { ProviderCaller, type CallResult } from './call';
import { livenessProbability, type CalibrationRegistry } from './calibration';
import { decide, rulesOf, type Answer, type LegEvidence } from './decide';
import type { HealthBook } from './health';
import { explainExclusions, plan, type Leg, type Plan, type PlanFacts } from './plan';
import { CLOUD_PROVIDERS, policyForProvider, routeOf, stepsOf, type Policy, type StoredPolicy } from './policy';
import type { CheckFeed } from '../queue/check-feed';
import type { CheckJob, CheckQueue } from '../queue/check-queue';
import type { CheckImages, ImageStash } from '../queue/image-stash';
import { evidenceOf, failedCompletion, openCheck, type LegRun } from './record';
import type { ProviderRegistry } from './registry';
import type { Applicant } from '../../providers/local/document/applicant';
import type { AttemptRole, CheckKind, CheckRecord, ChipEvidence, DocumentEvidence, ImageDigests, LivenessSessionRecord, StoredEvidence } from './types';

/** What a verifyIdentity request brings to its document check besides the document image. */
export interface DocumentInput {
  applicant?: Applicant;
  /** the chip as the edge verified it (passive authentication) */
  chip?: ChipEvidence;
  /** a verified chip's face (DG2, as JPEG): the match's reference instead of the printed photo. Never stored. */
  chipFace?: ImageInput;
}

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
  /** a liveness session made by createLivenessSession: its capture stands in for the selfie */
  livenessSessionId?: string;
  digests: ImageDigests;
  /** applicant data and a chip, for the document check */
  document?: DocumentInput;
  /** the tenant's daily quota (null: unlimited), charged when the check is stored */
  checksPerDay?: number | null;
}

export interface OrchestratorOptions {
  defaultProvider: ProviderName;
  /** this process runs checks (VERIGATE_ROLE all or worker); an API-only process hands every check to the queue */
  runsChecks: boolean;
  /** this process, as the owner of the checks it runs (the sweeper tells a dead owner's checks from late ones) */
  processId: string;
  /** a check's deadline when its policy sets none */
  timeoutMs: number;
  log: Logger;
  metrics: Metrics;
  health: HealthBook;
  random?: () => number;
  /** told of every provider call's end (readiness watches for refused credentials) */
  observe?: (provider: ProviderName, failure?: ProviderError) => void;
  /** where ended checks are announced (GraphQL subscriptions) */
  feed?: CheckFeed;
}

/** How long an idempotent repeat waits past the first check's deadline before answering with what is stored. */
const REPEAT_GRACE_MS = 5000;
/** Images of a queued check outlive its deadline by this much (time for the sweeper to end it). */
const STASH_MARGIN_MS = 30_000;
/** How long a decided check's images wait for its shadow job. */
const SHADOW_TTL_MS = 120_000;

/** Which client-facing error a failed check answers with. */
const BAD_INPUT_CODES: Partial<Record<ReasonCode, ErrorCode>> = {
  NO_FACE: 'NO_FACE',
  MULTIPLE_FACES: 'MULTIPLE_FACES',
  BAD_IMAGE: 'BAD_IMAGE',
  LIVENESS_SESSION_EXPIRED: 'LIVENESS_SESSION_EXPIRED',
};

export class Orchestrator {
  private readonly caller: ProviderCaller;
  private readonly facts: PlanFacts;

  constructor(
    private readonly store: Store,
    private readonly providers: ProviderRegistry,
    private readonly calibration: CalibrationRegistry,
    private readonly queue: CheckQueue,
    /** the images of queued checks (exposed for tests and the benchmark: nothing may remain) */
    readonly images: ImageStash,
    private readonly opts: OrchestratorOptions,
  ) {
    this.caller = new ProviderCaller(providers, opts);
    this.facts = {
      capabilities: (p) => providers.find(p)?.capabilities,
      needsDocument: (p) => providers.find(p)?.needsDocument ?? false,
      random: opts.random ?? Math.random,
    };
  }

  /**
   * A check answered when decided. Stored first; then run here — or, in a process that runs no
   * checks (VERIGATE_ROLE=api), handed to the queue and waited for.
   */
  async run(req: VerificationRequest): Promise<CheckRecord> {
    const opened = await openCheck(this.store, req, this.storing());
    if (!opened.created) return this.repeat(opened.check, req);
    if (!this.opts.runsChecks) {
      await this.hand(opened.check, req);
      return syncAnswer(await this.awaitDecided(opened.check));
    }
    return this.decideCheck(opened.check, this.effective(opened.policy ?? null).policy, req);
  }

  /**
   * An async check: validated, stored PENDING (quota, session, idempotency as for `run`), handed to
   * the queue, and answered at once. A repeat answers the stored check as it stands.
   */
  async submit(req: VerificationRequest): Promise<CheckRecord> {
    const opened = await openCheck(this.store, req, this.storing());
    if (!opened.created) {
      assertSameRequest(opened.check, req);
      return opened.check;
    }
    await this.hand(opened.check, req);
    return opened.check;
  }

  /**
   * A queued job, in whichever process takes it: a check to run (claimed by this process, its
   * images taken from the stash), or the shadow calls of a decided check. Ends with the images
   * deleted, whatever happened; a check that is no longer PENDING is left alone (never run twice).
   */
  async execute(job: CheckJob): Promise<void> {
    if (job.kind === 'shadows') return this.runShadows(job);
    const check = await this.store.checks.claim(job.checkId, this.opts.processId);
    if (!check) return this.images.delete([job.checkId]);
    const images = await this.images.get(check.id); // a Redis failure throws: the queue tries the job again
    if (!images) {
      // the images outlived their TTL (the check waited past its deadline): nothing to run it on
      await this.finish(check, errorOnly('INTERRUPTED'));
      return;
    }
    const req: VerificationRequest = { ...requestOf(check), ...images, requestId: job.requestId };
    try {
      await this.decideCheck(check, (await this.policyFor(check.tenantId)).policy, req);
    } catch (e) {
      if (!(e instanceof VerigateError)) throw e; // a typed error is the check's own answer, stored with it
    } finally {
      await this.images.delete([check.id]);
    }
  }

  /** How a check is stored: owned by this process if it runs it here, else left to the shared queue. */
  private storing() {
    const queued = !this.opts.runsChecks;
    return { deadlineMs: this.opts.timeoutMs, owner: queued ? null : this.opts.processId, queued };
  }

  /** The images into the stash (until the check's deadline and a margin), the job into the queue. */
  private async hand(check: CheckRecord, req: VerificationRequest): Promise<void> {
    const deadline = check.deadlineAt?.getTime() ?? Date.now() + this.opts.timeoutMs;
    try {
      await this.images.put(check.id, { probe: req.probe, reference: req.reference, document: req.document }, deadline - Date.now() + STASH_MARGIN_MS);
      await this.queue.enqueue({ kind: 'check', checkId: check.id, tenantId: check.tenantId, requestId: req.requestId }, () => this.store.checks.queuedBacklog(check.tenantId));
    } catch (e) {
      // the check was accepted: it ends ERROR with a reason, never missing and never PENDING for ever
      this.opts.log.error({ err: e, checkId: check.id }, 'could not queue the check');
      await this.images.delete([check.id]).catch(() => undefined);
      await this.finish(check, errorOnly('QUEUE_UNAVAILABLE'));
      throw new VerigateError('PROVIDER_UNAVAILABLE', 'the check could not be queued; it is stored ERROR/QUEUE_UNAVAILABLE', { checkId: check.id, reasons: ['QUEUE_UNAVAILABLE'] });
    }
  }

  /** A check another process runs, once decided (bounded by its deadline and the sweeper's grace). */
  private async awaitDecided(check: CheckRecord): Promise<CheckRecord> {
    const until = (check.deadlineAt?.getTime() ?? check.createdAt.getTime() + this.opts.timeoutMs) + REPEAT_GRACE_MS;
    return (await this.store.checks.awaitCompletion({ role: 'tenant', tenantId: check.tenantId }, check.id, until)) ?? check;
  }

  /** Stages plan → call → decide → record for a stored PENDING check, then its shadows. */
  private async decideCheck(check: CheckRecord, policy: Policy, req: VerificationRequest): Promise<CheckRecord> {
    try {
      // plan: the tenant's policy into legs
      const session = req.livenessSessionId ? await this.store.sessions.get({ role: 'tenant', tenantId: req.tenantId }, req.livenessSessionId) : null;
      const documentData = documentEvidenceOf(req);
      const thePlan = plan(policy, { kind: req.kind, tenantId: req.tenantId, referenceId: req.referenceId, hasDocument: Boolean(req.reference), session: session ?? undefined, document: documentData?.requested }, this.facts);
      // call: every leg's providers, under the check's deadline
      const { runs, probe } = await this.callLegs(thePlan, req, check.deadlineAt?.getTime() ?? Date.now() + this.opts.timeoutMs);
      // decide: the evidence contract (the document judged on the day the check was made)
      const documentRules = { evidence: documentData, now: check.createdAt };
      const completion = this.conclude(policy, thePlan, runs, documentRules);
      // record: result, attempts and evidence in one statement
      const attempts = runs.flatMap((r) => r.calls.map((c) => this.attemptOf(c, r.leg.answers, policy, documentRules)));
      const done = await this.finish(check, completion, attempts);
      if (!done) throw await this.overtaken(check);
      // shadows compare against what decided: a verified chip's face where it stood in for the printed photo
      if (runs.some((r) => r.leg.shadows.length)) await this.queueShadows(done, { probe, reference: req.document?.chipFace ?? req.reference }, req.requestId);
      if (done.status === 'ERROR') throw clientError(done, runs);
      return done;
    } catch (e) {
      if (e instanceof VerigateError) throw e;
      // a bug or a store failure after the check was written: it must not stay PENDING
      this.opts.log.error({ err: e, requestId: req.requestId, checkId: check.id }, 'check failed unexpectedly');
      await this.finish(check, errorOnly('INTERNAL_ERROR')).catch((err) => this.opts.log.error({ err, checkId: check.id }, 'could not mark check ERROR; the sweeper will'));
      throw e;
    }
  }

  /** The stage `record` at the end: the result stored (null if the check was no longer PENDING), counted, and announced to the live feed. */
  private async finish(check: CheckRecord, completion: CheckCompletion, attempts: NewAttempt[] = []): Promise<CheckRecord | null> {
    const done = await this.store.checks.complete(check, completion, attempts);
    if (!done) return null;
    this.opts.metrics.checks.inc({ kind: done.kind, provider: done.provider ?? 'none', status: done.status });
    // the answer does not wait for the live feed (Redis may be slow or down: subscribers miss it, the webhook outbox does not)
    void this.opts.feed?.publish(done).catch((err: unknown) => this.opts.log.warn({ err, checkId: done.id }, 'live feed did not take the check; subscribers miss it'));
    return done;
  }

  /** The tenant's current policy, read fresh (one indexed query) so every replica sees a change at once. */
  async policyFor(tenantId: string): Promise<{ policy: Policy; version: number | null }> {
    const [stored] = await this.store.policies.current([tenantId]);
    return this.effective(stored ?? null);
  }

  /** A working policy that sends what it can to `provider` (setTenantProvider, and tenants without a policy). */
  policyForProvider(provider: ProviderName, base?: Policy): Policy {
    return policyForProvider(provider, this.facts, base);
  }

  /** Waits until the queue has nothing waiting or running (tests; graceful shutdown closes the queue). */
  async drainShadows(): Promise<void> {
    await this.queue.drain();
  }

  /**
   * A Face Liveness session for the tenant's frontend, from the provider its liveness route names
   * (else any that has sessions), never a cloud provider under onPremOnly; made through the provider
   * caller (breaker, metrics, deadline) and recorded as the tenant's, single-use, until it expires.
   */
  async createLivenessSession(tenantId: string, requestId: string): Promise<LivenessSessionRecord> {
    const { policy } = await this.policyFor(tenantId);
    const named = stepsOf(routeOf(policy, 'liveness').strategy).map((s) => s.provider);
    const candidates = this.providers
      .names()
      .filter((p) => this.facts.capabilities(p)?.has('liveness-session') && !(policy.onPremOnly && CLOUD_PROVIDERS.has(p)))
      .sort((a, b) => Number(named.includes(b)) - Number(named.includes(a)));
    if (candidates.length === 0) {
      throw new VerigateError('PROVIDER_UNAVAILABLE', `no provider for liveness sessions is available to this tenant (Rekognition Face Liveness${policy.onPremOnly ? ', which onPremOnly excludes' : ' is not configured'})`);
    }
    let last: ProviderError | undefined;
    for (const name of candidates) {
      const deadline = Date.now() + this.opts.timeoutMs;
      const made = await this.caller.call(name, 'session', { deadline }, { requestId, tenantId }, (p, ctx) => p.createLivenessSession!(ctx));
      if ('failure' in made) {
        last = made.failure;
        continue;
      }
      const createdAt = new Date();
      return this.store.sessions.create({ id: made.value.sessionId, tenantId, provider: name, createdAt, expiresAt: made.value.expiresAt ?? createdAt });
    }
    throw new VerigateError('PROVIDER_UNAVAILABLE', last!.message, { provider: last!.provider });
  }

  /**
   * A check that was no longer PENDING when its result came: the sweeper ended it past its
   * deadline (its stored ERROR stands), or it was erased (eraseSubject) while it ran.
   */
  private async overtaken(check: CheckRecord): Promise<VerigateError> {
    const stored = await this.store.checks.get({ role: 'tenant', tenantId: check.tenantId }, check.id);
    if (!stored) return new VerigateError('CONFLICT', 'this check was erased (eraseSubject) while it ran; nothing of it is stored', { checkId: check.id });
    return new VerigateError('PROVIDER_UNAVAILABLE', `the check ran past its deadline and was ended ${stored.status}/${stored.reasons.join(',')}`, { checkId: check.id, reasons: stored.reasons });
  }

  /** The tenant's stored policy, or the server default's working policy for a tenant that has none. */
  private effective(stored: StoredPolicy | null): { policy: Policy; version: number | null } {
    return stored ? { policy: stored.policy, version: stored.version } : { policy: this.policyForProvider(this.opts.defaultProvider), version: null };
  }

  /**
   * An idempotent repeat: the stored check, once decided. The key holds only for the same request
   * (kind, images, referenceId, liveness session): other content is a CONFLICT, and nothing runs.
   * A repeat of a check still running is woken by its completion, and waits no longer than its
   * deadline (+ grace).
   */
  private async repeat(existing: CheckRecord, req: VerificationRequest): Promise<CheckRecord> {
    assertSameRequest(existing, req);
    return existing.status === 'PENDING' ? this.awaitDecided(existing) : existing;
  }

  // ── call ──────────────────────────────────────────────────────────────────

  /** The session's leg first (its capture is the selfie of the match), then the others in parallel. */
  private async callLegs(thePlan: Plan, req: VerificationRequest, deadline: number): Promise<{ runs: LegRun[]; probe?: ImageInput }> {
    const runs: LegRun[] = [];
    let probe = req.probe;
    const sessionLeg = thePlan.legs.find((l) => l.fromSession);
    if (sessionLeg) {
      const run = await this.callLeg(thePlan, sessionLeg, { ...req, probe: undefined }, deadline);
      runs.push(run);
      const image = run.answers[0]?.outcome.sessionImage;
      if (image) probe = await imageFromBytes(image, 'livenessSession');
    }
    const rest = thePlan.legs.filter((l) => !l.fromSession);
    // a failed session leaves no selfie: the match has no evidence (the decider says so)
    const withProbe = rest.filter((l) => probe || !sessionLeg);
    runs.push(...(await Promise.all(withProbe.map((leg) => this.callLeg(thePlan, leg, { ...req, probe }, deadline)))));
    return { runs, probe };
  }

  private async callLeg(thePlan: Plan, leg: Leg, req: VerificationRequest, deadline: number): Promise<LegRun> {
    // a verified chip's face is the match's reference; the MRZ is still read from the printed page
    const chipFace = req.document?.chipFace;
    const document = leg.answers.includes('document');
    const checkReq: CheckRequest = {
      probe: req.probe,
      reference: chipFace ?? req.reference,
      match: leg.answers.includes('match'),
      liveness: leg.answers.includes('liveness'),
      ...(document ? { document, ...(chipFace ? { page: req.reference } : {}) } : {}),
      ...(leg.fromSession ? { livenessSessionId: req.livenessSessionId } : {}),
    };
    const ctx = { requestId: req.requestId, tenantId: req.tenantId };
    if (leg.steps.length === 0) {
      const named = thePlan.excluded.find((e) => !e.shadow && leg.answers.includes(e.capability))?.provider ?? this.opts.defaultProvider;
      const failure = new ProviderError(named, 'Unavailable', 'PROVIDER_UNAVAILABLE', `no provider can run this check: ${explainExclusions(thePlan, leg)}`);
      return { leg, calls: [], answers: [], failure };
    }
    if (leg.mode === 'consensus') {
      const calls = (await Promise.all(leg.steps.map((s) => this.caller.check(s, 'consensus', checkReq, deadline, ctx)))).flat();
      const finals = leg.steps.map((s) => calls.filter((c) => c.step.provider === s.provider).at(-1)!);
      const failed = finals.find((f) => 'failure' in f);
      if (failed && 'failure' in failed) return { leg, calls, answers: [], failure: failed.failure };
      return { leg, calls, answers: finals.map((f) => ({ provider: f.step.provider, outcome: (f as { value: CheckOutcome }).value })) };
    }
    const calls: CallResult[] = [];
    for (const [i, step] of leg.steps.entries()) {
      const role: AttemptRole = leg.fromSession ? 'session' : i === 0 ? 'primary' : 'fallback';
      const tries = await this.caller.check(step, role, checkReq, deadline, ctx);
      calls.push(...tries);
      const last = tries[tries.length - 1];
      if ('value' in last) return { leg, calls, answers: [{ provider: step.provider, outcome: last.value }] };
      if (last.failure.kind === 'BadInput' || Date.now() >= deadline) break;
    }
    const last = calls[calls.length - 1] as { failure: ProviderError };
    return { leg, calls, answers: [], failure: last.failure };
  }

  // ── decide ────────────────────────────────────────────────────────────────

  private conclude(policy: Policy, thePlan: Plan, runs: LegRun[], document: DocumentContext): CheckCompletion {
    const failed = runs.find((r) => r.failure?.kind === 'BadInput') ?? runs.find((r) => r.failure);
    if (failed?.failure) return failedCompletion(failed.failure);
    const evidence = evidenceOf(runs, document.evidence);
    const decision = decide(rulesOf(policy, thePlan.required, document), this.legsOf(evidence));
    const provider = decision.faceMatch?.provider ?? decision.liveness?.provider ?? runs.find((r) => r.answers.length)?.answers[0].provider ?? null;
    return { ...decision, provider, evidence };
  }

  /** Stored evidence on today's calibration tables: what the decider reads (replay reads the same). */
  legsOf(evidence: StoredEvidence): LegEvidence[] {
    return evidence.legs.map((l) => ({
      answers: l.answers,
      consensus: l.consensus,
      minScore: l.minScore,
      from: l.from.map((a) => this.answerOf(a.provider, a)),
    }));
  }

  private answerOf(provider: ProviderName, o: Pick<CheckOutcome, 'match' | 'liveness' | 'document' | 'quality'>): Answer {
    return {
      provider,
      ...(o.match ? { match: this.calibration.unifyMatch(o.match, o.quality) } : {}),
      ...(o.document ? { document: o.document } : {}),
      ...(o.liveness ? { liveness: livenessProbability(o.liveness), livenessApcer: this.calibration.livenessApcer(o.liveness) } : {}),
      quality: o.quality,
    };
  }

  /**
   * An attempt row; an answered call also says what its provider's answer alone would have decided,
   * overall and per check (the agreement report compares providers check by check).
   */
  private attemptOf(c: CallResult, answers: Leg['answers'], policy: Policy, document?: DocumentContext): NewAttempt {
    const base: NewAttempt = { ...c.record, answers: [...answers], decision: null, decisions: null, unifiedScore: null };
    if (!('value' in c)) return base;
    const answer = this.answerOf(c.record.provider, c.value);
    const alone = (required: Leg['answers']) => decide(rulesOf(policy, required, document), [{ answers: required, consensus: false, from: [answer] }]).status;
    // the table that mapped the score (quality-conditioned tables choose per check)
    const raw = answer.match ? { ...c.record.raw, calibrationTable: answer.match.table } : c.record.raw;
    const decisions = Object.fromEntries(answers.map((check) => [check, alone([check])]));
    return { ...base, raw, decision: alone(answers), decisions, unifiedScore: answer.match?.score ?? null };
  }

  // ── shadows ───────────────────────────────────────────────────────────────

  /**
   * Shadow providers: a job of their own after the check is decided and stored, so they never
   * change or delay its answer and a crash does not lose them; the images stay in the stash until
   * the job has run.
   */
  private async queueShadows(check: CheckRecord, images: CheckImages, requestId: string): Promise<void> {
    try {
      await this.images.put(check.id, images, SHADOW_TTL_MS);
      await this.queue.enqueue({ kind: 'shadows', checkId: check.id, tenantId: check.tenantId, requestId }, async () => 0);
    } catch (err) {
      await this.images.delete([check.id]).catch(() => undefined);
      this.opts.log.warn({ err, checkId: check.id }, 'shadow comparison not queued');
    }
  }

  private async runShadows(job: CheckJob): Promise<void> {
    try {
      const check = await this.store.checks.get({ role: 'admin' }, job.checkId);
      const images = await this.images.get(job.checkId);
      if (!check || !images) return;
      const { policy } = await this.policyFor(check.tenantId);
      const req: VerificationRequest = { ...requestOf(check), ...images, livenessSessionId: undefined, requestId: job.requestId };
      const thePlan = plan(policy, { kind: req.kind, tenantId: req.tenantId, referenceId: req.referenceId, hasDocument: Boolean(req.reference) }, this.facts);
      const deadline = Date.now() + (policy.deadlineMs ?? this.opts.timeoutMs);
      const ctx = { requestId: job.requestId, tenantId: check.tenantId };
      const attempts = await Promise.all(
        thePlan.legs.flatMap((leg) =>
          leg.shadows.map(async ({ step, answers }) => {
            const checkReq: CheckRequest = { probe: req.probe, reference: req.reference, match: answers.includes('match'), liveness: answers.includes('liveness') };
            const [result] = await this.caller.check({ ...step, retries: 0 }, 'shadow', checkReq, deadline, ctx);
            return this.attemptOf(result, answers, policy);
          }),
        ),
      );
      await this.store.checks.addAttempts(check, attempts);
    } finally {
      await this.images.delete([job.checkId]);
    }
  }
}

const errorOnly = (reason: ReasonCode): CheckCompletion => ({ status: 'ERROR', reasons: [reason], provider: null, faceMatch: null, liveness: null, document: null });

/** What the decider needs of the document besides the providers' answers. */
type DocumentContext = { evidence?: DocumentEvidence; now: Date };

/** What a request brought to its document check, as it is stored with the evidence (never the chip's face). */
function documentEvidenceOf(req: VerificationRequest): DocumentEvidence | undefined {
  const d = req.document;
  if (!d || (!d.applicant && !d.chip)) return undefined;
  return { requested: true, ...(d.applicant ? { applicant: d.applicant } : {}), ...(d.chip ? { chip: d.chip } : {}) };
}

/** A stored check as the synchronous API answers it: decided, or its typed error. */
function syncAnswer(check: CheckRecord): CheckRecord {
  if (check.status !== 'ERROR') return check;
  const reason = check.reasons[0];
  const code = (reason && BAD_INPUT_CODES[reason]) || 'PROVIDER_UNAVAILABLE';
  throw new VerigateError(code, `the check ended ERROR (${check.reasons.join(', ')})`, { checkId: check.id, reasons: check.reasons });
}

/** The request a stored check was made from (its images come from the stash). */
function requestOf(c: CheckRecord): Omit<VerificationRequest, 'requestId'> {
  return { kind: c.kind, tenantId: c.tenantId, referenceId: c.referenceId, idempotencyKey: c.idempotencyKey, livenessSessionId: c.livenessSessionId ?? undefined, digests: c.imageDigests };
}

function assertSameRequest(existing: CheckRecord, req: VerificationRequest): void {
  const differs = differenceOf(existing, req);
  if (differs) {
    throw new VerigateError('CONFLICT', `idempotencyKey was already used for a request with another ${differs}; use a new key for a new request`, { field: 'idempotencyKey' });
  }
}

/** Which part of a repeated request differs from the check its idempotencyKey made, if any (the chip and the applicant's data count). */
function differenceOf(c: CheckRecord, req: VerificationRequest): string | null {
  if (c.kind !== req.kind) return `kind (${c.kind})`;
  const fields = ['selfie', 'document', 'source', 'target'] as const;
  if (fields.some((f) => (c.imageDigests[f] ?? null) !== (req.digests[f] ?? null))) return 'image';
  if ((c.imageDigests.chip ?? null) !== (req.digests.chip ?? null)) return 'chip';
  if ((c.imageDigests.applicant ?? null) !== (req.digests.applicant ?? null)) return 'applicant';
  if ((c.referenceId ?? null) !== (req.referenceId ?? null)) return 'referenceId';
  if ((c.livenessSessionId ?? null) !== (req.livenessSessionId ?? null)) return 'livenessSessionId';
  return null;
}

function clientError(check: CheckRecord, runs: LegRun[]): VerigateError {
  const failures = runs.flatMap((r) => (r.failure ? [r.failure] : []));
  const badInput = failures.find((f) => f.kind === 'BadInput');
  const extra = { checkId: check.id, reasons: check.reasons };
  if (badInput) return new VerigateError(BAD_INPUT_CODES[badInput.reason] ?? 'BAD_USER_INPUT', badInput.message, { ...extra, provider: badInput.provider });
  return new VerigateError('PROVIDER_UNAVAILABLE', failures[0]?.message ?? 'no provider answered this check', extra);
}
