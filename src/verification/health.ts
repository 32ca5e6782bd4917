/**
 * Provider health, per replica: a circuit breaker per provider (opens after consecutive Transient
 * failures, lets one probe through after a cool-down, closes on its success) and a sliding window
 * of recent calls for error rate and latency percentiles (the `providers` admin query).
 */
import type { ProviderName } from '../../providers/types';

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

interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  openedAt: number;
  probeInFlight: boolean;
  recent: Array<{ ok: boolean; latencyMs: number }>;
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
  private readonly circuits = new Map<ProviderName, Circuit>();

  constructor(
    private readonly opts: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
  ) {}

  /** May this provider be called now? In HALF_OPEN only one probe at a time is let through. */
  tryAcquire(name: ProviderName): boolean {
    const c = this.circuit(name);
    if (c.state === 'OPEN' && this.now() - c.openedAt >= this.opts.cooldownMs) c.state = 'HALF_OPEN';
    if (c.state === 'CLOSED') return true;
    if (c.state === 'HALF_OPEN' && !c.probeInFlight) {
      c.probeInFlight = true;
      return true;
    }
    return false;
  }

  record(name: ProviderName, result: CallResult, latencyMs: number): void {
    const c = this.circuit(name);
    c.recent.push({ ok: result === 'ok', latencyMs });
    if (c.recent.length > this.opts.window) c.recent.shift();
    const wasProbe = c.probeInFlight;
    c.probeInFlight = false;
    if (result === 'neutral') return;
    if (result === 'ok') {
      c.consecutiveFailures = 0;
      c.state = 'CLOSED';
      return;
    }
    c.consecutiveFailures++;
    if (wasProbe || c.consecutiveFailures >= this.opts.failureThreshold) {
      c.state = 'OPEN';
      c.openedAt = this.now();
    }
  }

  /** p95 latency of the provider's recent answered calls (null before any): what its calls usually need */
  okP95(name: ProviderName): number | null {
    const lat = this.circuit(name).recent.filter((r) => r.ok).map((r) => r.latencyMs).sort((a, b) => a - b);
    return lat.length ? lat[Math.min(lat.length - 1, Math.ceil(0.95 * lat.length) - 1)] : null;
  }

  stats(name: ProviderName): ProviderStats {
    const c = this.circuit(name);
    if (c.state === 'OPEN' && this.now() - c.openedAt >= this.opts.cooldownMs) c.state = 'HALF_OPEN';
    const lat = c.recent.map((r) => r.latencyMs).sort((a, b) => a - b);
    const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)] : null);
    return {
      state: c.state,
      consecutiveFailures: c.consecutiveFailures,
      calls: c.recent.length,
      errorRate: c.recent.length ? c.recent.filter((r) => !r.ok).length / c.recent.length : 0,
      p50Ms: pct(0.5),
      p95Ms: pct(0.95),
    };
  }

  private circuit(name: ProviderName): Circuit {
    let c = this.circuits.get(name);
    if (!c) {
      c = { state: 'CLOSED', consecutiveFailures: 0, openedAt: 0, probeInFlight: false, recent: [] };
      this.circuits.set(name, c);
    }
    return c;
  }
}
