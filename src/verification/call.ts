/**
 * Stage `call`: the one provider caller. Every provider call — deciding, shadow, liveness-session
 * creation — goes through here, so deadline, retries, circuit breaker and metrics live in one
 * place and the adapters only translate wire formats and classify failures:
 *
 *   - deadline: min(the step's timeoutMs, the provider's own, what is left of the check's deadline);
 *     at the deadline the call's signal aborts with a Transient TIMEOUT, and the caller answers even
 *     if the adapter does not;
 *   - retries: Transient failures only, jittered exponential backoff, never past the deadline;
 *   - breaker: a call is refused (Unavailable, CIRCUIT_OPEN) while the provider's circuit is open;
 *     its result feeds the circuit — as a fault only when it is the provider's (see `blame`);
 *   - metrics: one observation per call, by provider and outcome.
 */
import {
  isProviderError,
  ProviderError,
  type CallContext,
  type CheckOutcome,
  type CheckRequest,
  type Provider,
  type ProviderErrorKind,
  type ProviderName,
} from '../../providers/types';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { CallResult as CallResultKind, HealthBook } from './health';
import type { Step } from './policy';
import type { ProviderRegistry } from './registry';
import type { AttemptOutcome, AttemptRole } from './types';

/** One call as the audit trail keeps it. */
export interface CallRecord {
  provider: ProviderName;
  role: AttemptRole;
  outcome: AttemptOutcome;
  latencyMs: number;
  errorCode: string | null;
  /** the provider's own numbers (never images) */
  raw: Record<string, unknown>;
}

export type Called<T> = { record: CallRecord } & ({ value: T } | { failure: ProviderError });
export type CallResult = Called<CheckOutcome> & { step: Step };

export interface CallerOptions {
  log: Logger;
  metrics: Metrics;
  health: HealthBook;
  random?: () => number;
  /** told of every call's end: its failure, or none (readiness watches for refused credentials) */
  observe?: (provider: ProviderName, failure?: ProviderError) => void;
}

const OUTCOME_OF: Record<ProviderErrorKind, AttemptOutcome> = {
  BadInput: 'BAD_INPUT',
  Unauthorized: 'UNAUTHORIZED',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  Transient: 'TRANSIENT',
  Unavailable: 'UNAVAILABLE',
};

export class ProviderCaller {
  constructor(
    private readonly providers: ProviderRegistry,
    private readonly opts: CallerOptions,
  ) {}

  /** One step of a plan: the call and its retries. */
  async check(step: Step, role: AttemptRole, req: CheckRequest, deadline: number, ctx: Omit<CallContext, 'signal'>): Promise<CallResult[]> {
    const results: CallResult[] = [];
    for (let attempt = 0; attempt <= step.retries; attempt++) {
      const result = await this.call(step.provider, role, { timeoutMs: step.timeoutMs, deadline }, ctx, (p, c) => p.check(req, c));
      results.push({ ...result, step });
      if (!('failure' in result) || result.failure.kind !== 'Transient') break;
      const backoff = 50 * 2 ** attempt * (0.5 + (this.opts.random ?? Math.random)());
      if (Date.now() + backoff >= deadline) break;
      await sleep(backoff);
    }
    return results;
  }

  /**
   * One call of `fn` on provider `name`, under the breaker and the deadline; every failure comes
   * back classified (an unclassified throw is a Transient PROVIDER_ERROR, and logged).
   */
  async call<T>(
    name: ProviderName,
    role: AttemptRole,
    limits: { timeoutMs?: number; deadline: number },
    ctx: Omit<CallContext, 'signal'>,
    fn: (provider: Provider, ctx: CallContext) => Promise<T>,
  ): Promise<Called<T>> {
    const t0 = performance.now();
    const record = (outcome: AttemptOutcome, errorCode: string | null = null, raw: Record<string, unknown> = {}): CallRecord => ({
      provider: name,
      role,
      outcome,
      latencyMs: performance.now() - t0,
      errorCode,
      raw,
    });
    const provider = this.providers.find(name);
    if (!provider) {
      const failure = new ProviderError(name, 'Unavailable', 'PROVIDER_UNAVAILABLE', `provider '${name}' is not configured on this server`);
      return { failure, record: record('UNAVAILABLE', 'NOT_CONFIGURED') };
    }
    if (!(await this.opts.health.tryAcquire(name))) {
      const failure = new ProviderError(name, 'Unavailable', 'PROVIDER_UNAVAILABLE', `provider '${name}' is failing (circuit open)`);
      return { failure, record: record('UNAVAILABLE', 'CIRCUIT_OPEN') };
    }
    const timeoutMs = Math.max(1, Math.min(limits.timeoutMs ?? Infinity, provider.timeoutMs ?? Infinity, limits.deadline - Date.now()));
    // a provider with a queue of its own says when the work starts; for the others it starts now
    let started = !provider.queues;
    let result: Called<T>;
    try {
      const value = await withDeadline(name, timeoutMs, (signal) => fn(provider, { ...ctx, signal, began: () => (started = true) }));
      result = { value, record: record('OK', null, rawOf(value)) };
    } catch (e) {
      if (!isProviderError(e)) this.opts.log.error({ err: e, requestId: ctx.requestId, provider: name }, 'provider threw an unclassified error');
      const failure = isProviderError(e) ? e : new ProviderError(name, 'Transient', 'PROVIDER_ERROR', `provider '${name}' failed unexpectedly`, {}, { cause: e });
      const outcome = failure.reason === 'TIMEOUT' ? 'TIMEOUT' : OUTCOME_OF[failure.kind];
      result = { failure, record: record(outcome, failure.reason, failure.raw) };
    }
    const verdict = 'failure' in result ? blame(result.failure, { started, timeoutMs, usual: this.opts.health.okP95(name) }) : 'ok';
    await this.opts.health.record(name, verdict, result.record.latencyMs);
    this.opts.observe?.(name, 'failure' in result ? result.failure : undefined);
    this.opts.metrics.providerCalls.observe({ provider: name, outcome: result.record.outcome }, result.record.latencyMs / 1000);
    return result;
  }
}

/** A deadline shorter than this never counts against a provider (a tenant's `timeoutMs: 1`). */
const MIN_FAULT_TIMEOUT_MS = 100;

/**
 * Whose failure it is, for the circuit breaker. The provider's: 5xx, resets, crashes, and deadlines
 * missed while it was working on a call given at least the time its calls usually need (their
 * recent p95). Nobody's (neutral): deadlines missed while the call waited in the provider's queue,
 * or too short for the provider, and calls the caller cancelled. Not a fault (ok): refusals of the
 * input, credentials or quota — they are the tenant's, and never open the circuit.
 */
export function blame(failure: ProviderError, call: { started: boolean; timeoutMs: number; usual: number | null }): CallResultKind {
  if (failure.kind !== 'Transient' && failure.kind !== 'Unavailable') return 'ok';
  if (failure.reason === 'INTERRUPTED') return 'neutral';
  if (failure.reason === 'TIMEOUT') {
    if (!call.started) return 'neutral';
    if (call.timeoutMs < Math.max(MIN_FAULT_TIMEOUT_MS, call.usual ?? 0)) return 'neutral';
  }
  return 'failure';
}

/** The outcome's audit numbers; other values (a session id) keep none. */
const rawOf = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && 'raw' in v && typeof (v as CheckOutcome).raw === 'object' ? { ...(v as CheckOutcome).raw } : {};

/**
 * Runs `fn` with a signal that aborts at the deadline with a Transient TIMEOUT; a provider that
 * ignores the signal still loses the race.
 */
async function withDeadline<T>(name: ProviderName, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
    const call = fn(controller.signal);
    call.catch(() => undefined); // when the deadline wins the race
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
