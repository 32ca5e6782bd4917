/**
 * One verification, end to end (see ARCHITECTURE.md):
 *   1. write the check row PENDING        4. call the provider, under a deadline
 *   2. choose the tenant's provider        5. calibrate raw scores onto the unified scale
 *   3. (idempotent repeat → stored result) 6. decide, 7. persist attempts + result in one txn
 * A failure never leaves a missing check: it ends as ERROR with a reason, and the caller gets a
 * typed error that names the check.
 */
import {
  isProviderError,
  ProviderError,
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
import type { CheckCompletion, NewAttempt, Store, Tenant } from '../store/repositories';
import { livenessProbability, type CalibrationRegistry } from './calibration';
import { decide, DEFAULT_THRESHOLDS } from './decision';
import type { ProviderRegistry } from './registry';
import type { AttemptOutcome, CheckKind, CheckRecord, ImageDigests } from './types';

export interface VerificationRequest {
  kind: CheckKind;
  tenant: Tenant;
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
  timeoutMs: number;
  log: Logger;
  metrics: Metrics;
}

const WANTS: Record<CheckKind, Pick<CheckRequest, 'match' | 'liveness'>> = {
  VERIFY_IDENTITY: { match: true, liveness: true },
  LIVENESS: { match: false, liveness: true },
  FACE_MATCH: { match: true, liveness: false },
};

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

export class Orchestrator {
  constructor(
    private readonly store: Store,
    private readonly providers: ProviderRegistry,
    private readonly calibration: CalibrationRegistry,
    private readonly opts: OrchestratorOptions,
  ) {}

  async run(req: VerificationRequest): Promise<CheckRecord> {
    const { check, created } = await this.store.checks.createPending({
      tenantId: req.tenant.id,
      kind: req.kind,
      referenceId: req.referenceId,
      idempotencyKey: req.idempotencyKey,
      imageDigests: req.digests,
    });
    if (!created) return this.repeat(check, req);

    const providerName = req.tenant.provider ?? this.opts.defaultProvider;
    try {
      return await this.execute(check, providerName, req);
    } catch (e) {
      if (e instanceof VerigateError) throw e;
      // a bug or a store failure after the check was written: it must not stay PENDING
      this.opts.log.error({ err: e, requestId: req.requestId, checkId: check.id }, 'check failed unexpectedly');
      await this.store.checks
        .complete(check, { status: 'ERROR', reasons: ['INTERNAL_ERROR'], provider: providerName, faceMatch: null, liveness: null }, [])
        .catch((err) => this.opts.log.error({ err, checkId: check.id }, 'could not mark check ERROR; start-up recovery will'));
      throw e;
    }
  }

  private async execute(check: CheckRecord, providerName: ProviderName, req: VerificationRequest): Promise<CheckRecord> {
    const started = performance.now();
    let outcome: CheckOutcome | undefined;
    let failure: ProviderError | null = null;
    try {
      outcome = await this.call(providerName, req);
    } catch (e) {
      if (!isProviderError(e)) this.opts.log.error({ err: e, requestId: req.requestId, provider: providerName }, 'provider threw an unclassified error');
      failure = isProviderError(e) ? e : new ProviderError(providerName, 'Transient', 'PROVIDER_ERROR', `provider '${providerName}' failed unexpectedly`, {}, { cause: e });
    }
    const latencyMs = performance.now() - started;
    const attempt: NewAttempt = failure
      ? {
          provider: providerName,
          role: 'primary',
          outcome: failure.reason === 'TIMEOUT' ? 'TIMEOUT' : OUTCOME_OF[failure.kind],
          latencyMs,
          errorCode: failure.reason,
          raw: failure.raw,
        }
      : { provider: providerName, role: 'primary', outcome: 'OK', latencyMs, errorCode: null, raw: outcome!.raw };
    this.opts.metrics.providerCalls.observe({ provider: providerName, outcome: attempt.outcome }, latencyMs / 1000);

    const completion: CheckCompletion = failure
      ? { status: 'ERROR', reasons: [failure.reason], provider: providerName, faceMatch: null, liveness: null }
      : { ...this.decideOutcome(outcome!), provider: providerName };
    const done = await this.store.checks.complete(check, completion, [attempt]);
    this.opts.metrics.checks.inc({ kind: done.kind, provider: providerName, status: done.status });
    if (failure) throw this.clientError(failure, done);
    return done;
  }

  /** Calls the provider under the check's deadline; a provider that ignores the abort still loses the race. */
  private async call(name: ProviderName, req: VerificationRequest): Promise<CheckOutcome> {
    const provider = this.providers.get(name);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new ProviderError(name, 'Transient', 'TIMEOUT', `provider '${name}' did not answer within ${this.opts.timeoutMs} ms`);
        controller.abort(err);
        reject(err);
      }, this.opts.timeoutMs);
    });
    try {
      return await Promise.race([
        provider.check(
          { probe: req.probe, reference: req.reference, livenessSessionId: req.livenessSessionId, ...WANTS[req.kind] },
          { signal: controller.signal, requestId: req.requestId, tenantId: req.tenant.id },
        ),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private decideOutcome(outcome: CheckOutcome): Omit<CheckCompletion, 'provider'> {
    const match = outcome.match ? this.calibration.unifyMatch(outcome.match) : undefined;
    const live = outcome.liveness ? livenessProbability(outcome.liveness) : undefined;
    return decide(DEFAULT_THRESHOLDS, match, live, outcome.quality);
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
      await new Promise((r) => setTimeout(r, 25));
      current = await this.store.checks.get(scope, check.id);
    }
    return current ?? check;
  }

  private clientError(failure: ProviderError, check: CheckRecord): VerigateError {
    const extra = { checkId: check.id, reasons: check.reasons, provider: failure.provider };
    const code = failure.kind === 'BadInput' ? (BAD_INPUT_CODES[failure.reason] ?? 'BAD_USER_INPUT') : 'PROVIDER_UNAVAILABLE';
    return new VerigateError(code, failure.message, extra);
  }
}
