/**
 * Provider health: a circuit breaker per provider (opens after consecutive failures of the
 * provider's own, lets one probe through after a cool-down, closes on its success) and, per
 * replica, a sliding window of recent calls for error rate and latency percentiles (the
 * `providers` admin query).
 *
 * The circuits live in a CircuitStore: in this process (MemoryCircuits), or in Redis when it is
 * configured (src/verification/redis-circuits.ts), so that every replica sees a provider's
 * circuit open as soon as one has opened it. If Redis fails, the replica falls back to its own
 * circuits and logs it: the breaker must not become the outage.
 */
import type { ProviderName } from '../../providers/types';
import type { Logger } from '../observability/logger';

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
/**
 * `failure` = the provider's fault (5xx, reset, an engine crash, a deadline it usually meets missed
 * while working); `ok` includes answers that refuse the input (BadInput); `neutral` = a failure that
 * says nothing about the provider (the call waited in a queue, or the caller's deadline was shorter
 * than the provider usually needs): it neither opens nor closes the circuit.
 */
export type CallResult = 'ok' | 'failure' | 'neutral';

export interface BreakerOptions {
  /** consecutive failures that open the circuit */
  failureThreshold: number;
  /** how long it stays open before one probe is let through */
  cooldownMs: number;
  /** calls kept for error rate and percentiles */
  window: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, cooldownMs: 30_000, window: 200 };

/** Where circuits live. Every method is atomic for one provider. */
export interface CircuitStore {
  readonly kind: 'memory' | 'redis';
  /** May this provider be called now? In HALF_OPEN one probe at a time is let through. */
  acquire(name: ProviderName, opts: BreakerOptions): Promise<boolean>;
  /** A call's result (a HALF_OPEN probe's result closes or reopens the circuit). */
  record(name: ProviderName, result: CallResult, opts: BreakerOptions): Promise<void>;
  read(name: ProviderName, opts: BreakerOptions): Promise<{ state: CircuitState; consecutiveFailures: number }>;
  close?(): Promise<void>;
}

interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  openedAt: number;
  probeInFlight: boolean;
}

/** The circuits of one process. */
export class MemoryCircuits implements CircuitStore {
  readonly kind = 'memory' as const;
  private readonly circuits = new Map<ProviderName, Circuit>();

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(name: ProviderName, opts: BreakerOptions): Promise<boolean> {
    const c = this.circuit(name, opts);
    if (c.state === 'CLOSED') return true;
    if (c.state === 'HALF_OPEN' && !c.probeInFlight) {
      c.probeInFlight = true;
      return true;
    }
    return false;
  }

  async record(name: ProviderName, result: CallResult, opts: BreakerOptions): Promise<void> {
    const c = this.circuit(name, opts);
    const wasProbe = c.probeInFlight;
    c.probeInFlight = false;
    if (result === 'neutral') return;
    if (result === 'ok') {
      c.consecutiveFailures = 0;
      c.state = 'CLOSED';
      return;
    }
    c.consecutiveFailures++;
    if (wasProbe || c.consecutiveFailures >= opts.failureThreshold) {
      c.state = 'OPEN';
      c.openedAt = this.now();
    }
  }

  async read(name: ProviderName, opts: BreakerOptions) {
    const c = this.circuit(name, opts);
    return { state: c.state, consecutiveFailures: c.consecutiveFailures };
  }

  private circuit(name: ProviderName, opts: BreakerOptions): Circuit {
    let c = this.circuits.get(name);
    if (!c) {
      c = { state: 'CLOSED', consecutiveFailures: 0, openedAt: 0, probeInFlight: false };
      this.circuits.set(name, c);
    }
    if (c.state === 'OPEN' && this.now() - c.openedAt >= opts.cooldownMs) c.state = 'HALF_OPEN';
    return c;
  }
}

export interface ProviderStats {
  state: CircuitState;
  consecutiveFailures: number;
  calls: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export class HealthBook {
  private readonly recent = new Map<ProviderName, Array<{ ok: boolean; latencyMs: number }>>();
  private readonly fallback: MemoryCircuits;

  constructor(
    private readonly opts: BreakerOptions = DEFAULT_BREAKER,
    now: () => number = Date.now,
    private readonly circuits: CircuitStore = new MemoryCircuits(now),
    private readonly log?: Logger,
  ) {
    this.fallback = circuits instanceof MemoryCircuits ? circuits : new MemoryCircuits(now);
  }

  /** May this provider be called now? */
  tryAcquire(name: ProviderName): Promise<boolean> {
    return this.shared((c) => c.acquire(name, this.opts));
  }

  async record(name: ProviderName, result: CallResult, latencyMs: number): Promise<void> {
    const recent = this.window(name);
    recent.push({ ok: result === 'ok', latencyMs });
    if (recent.length > this.opts.window) recent.shift();
    await this.shared((c) => c.record(name, result, this.opts));
  }

  /** p95 latency of the provider's recent answered calls (null before any): what its calls usually need */
  okP95(name: ProviderName): number | null {
    const lat = this.window(name).filter((r) => r.ok).map((r) => r.latencyMs).sort((a, b) => a - b);
    return lat.length ? lat[Math.min(lat.length - 1, Math.ceil(0.95 * lat.length) - 1)] : null;
  }

  async stats(name: ProviderName): Promise<ProviderStats> {
    const circuit = await this.shared((c) => c.read(name, this.opts));
    const recent = this.window(name);
    const lat = recent.map((r) => r.latencyMs).sort((a, b) => a - b);
    const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)] : null);
    return {
      ...circuit,
      calls: recent.length,
      errorRate: recent.length ? recent.filter((r) => !r.ok).length / recent.length : 0,
      p50Ms: pct(0.5),
      p95Ms: pct(0.95),
    };
  }

  close(): Promise<void> {
    return this.circuits.close?.() ?? Promise.resolve();
  }

  /** The shared circuits; this replica's own while they fail. */
  private async shared<T>(fn: (c: CircuitStore) => Promise<T>): Promise<T> {
    try {
      return await fn(this.circuits);
    } catch (err) {
      this.log?.error({ err, store: this.circuits.kind }, 'circuit store failed; this replica uses its own circuits');
      return fn(this.fallback);
    }
  }

  private window(name: ProviderName) {
    let w = this.recent.get(name);
    if (!w) {
      w = [];
      this.recent.set(name, w);
    }
    return w;
  }
}
