/**
 * What `/readyz` answers. Ready (200) = warmed up, the store answers, and no configured provider
 * has its credentials refused — a misconfigured replica stays out of the load balancer, and the
 * body says which provider and why. A provider whose health check fails makes the replica
 * `degraded`, still 200: an outage of one provider is what fallback policies and circuit breakers
 * are for, and taking every replica out would turn it into an outage of all.
 *  - The store is asked on every probe (`SELECT 1`, bounded by a deadline); concurrent probes share
 *    one query, so a burst of probes costs one round trip.
 *  - Providers' health is asked at most every `providerTtlMs` (a remote health call is a network
 *    round trip); a probe in between reads the last answer.
 *  - Credentials are proved once, when the providers are warm (`verifyCredentials`: a call that
 *    costs nothing but is signed), and then by every check: the provider caller reports each
 *    call's failure here (`observe`), and a provider whose credentials a check saw refused
 *    (`Unauthorized`) is unready until one of its checks succeeds.
 *  - Redis (when the limits live there) is pinged on every probe and reported as `degraded`:
 *    limits fail open by design (README, "Limits"), so requests still work.
 * A change of a provider's health is logged once, not on every probe.
 */
import Redis from 'ioredis';
import { ProviderError, type Provider, type ProviderHealth } from '../../providers/types';
import type { Db } from '../store/db';
import type { Logger } from './logger';

export interface ProbeResult {
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  /** HTTP status for /readyz */
  httpStatus: 200 | 503;
  body: {
    status: 'ready' | 'degraded' | 'starting' | 'unready';
    store?: ProbeResult;
    redis?: ProbeResult;
    providers?: Record<string, ProbeResult>;
  };
}

export interface ReadinessOptions {
  db: Db;
  log: Logger;
  /** the limits' Redis, when configured */
  redisUrl?: string;
  /** how long a provider's health answer stands (default 10 s) */
  providerTtlMs?: number;
  /** deadline of one store query, Redis ping or provider health call (default 3 s) */
  timeoutMs?: number;
}

export class Readiness {
  private warm = false;
  private providerHealth: Record<string, ProbeResult> = {};
  private providersCheckedAt = -Infinity;
  private providersInFlight?: Promise<void>;
  private storeInFlight?: Promise<ProbeResult>;
  private redis?: Redis;
  private readonly providers: Provider[] = [];
  /** provider → why its credentials were refused, until one of its checks succeeds */
  private readonly refused = new Map<string, string>();
  private readonly ttl: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ReadinessOptions) {
    this.ttl = opts.providerTtlMs ?? 10_000;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
  }

  /** The providers to watch (their health and credentials). */
  watch(providers: readonly Provider[]): void {
    this.providers.push(...providers);
  }

  /** One provider call's end, from the provider caller: a refusal of credentials, or a success that clears one. */
  observe(name: string, failure?: unknown): void {
    if (!failure) {
      if (this.refused.delete(name)) this.opts.log.info({ provider: name }, `provider ${name} accepted its credentials again`);
      return;
    }
    if (failure instanceof ProviderError && failure.kind === 'Unauthorized') {
      // the reason code, not the message: a provider's error text may echo what it was sent
      const detail = `credentials refused (${failure.reason})`;
      if (!this.refused.has(name)) this.opts.log.error({ provider: name, detail }, `provider ${name} refused its credentials: /readyz answers 503 until a check succeeds`);
      this.refused.set(name, detail);
    }
  }

  /** Providers are initialised: from now on the probes decide. Proves every provider's credentials once, asks their health, and logs what fails. */
  async warmedUp(): Promise<void> {
    await Promise.all(
      this.providers.map(async (p) => {
        if (!p.verifyCredentials) return;
        const signal = AbortSignal.timeout(this.timeoutMs);
        await deadline(p.verifyCredentials({ signal, requestId: 'readiness' }), this.timeoutMs, `${p.name}'s credentials check`).then(
          () => this.observe(p.name),
          (e: unknown) => this.observe(p.name, e),
        );
      }),
    );
    this.warm = true;
    await this.refreshProviders();
  }

  isWarm(): boolean {
    return this.warm;
  }

  async report(): Promise<ReadinessReport> {
    if (!this.warm) return { httpStatus: 503, body: { status: 'starting' } };
    const [store, redis] = await Promise.all([this.checkStore(), this.checkRedis(), this.providersFresh()]);
    const providers: Record<string, ProbeResult> = { ...this.providerHealth };
    for (const [name, detail] of this.refused) providers[name] = { ok: false, detail };
    const ready = store.ok && this.refused.size === 0;
    const degraded = (redis && !redis.ok) || Object.values(providers).some((p) => !p.ok);
    const status = !ready ? 'unready' : degraded ? 'degraded' : 'ready';
    return { httpStatus: ready ? 200 : 503, body: { status, store, ...(redis ? { redis } : {}), providers } };
  }

  async close(): Promise<void> {
    this.warm = false;
    this.redis?.disconnect();
  }

  private checkStore(): Promise<ProbeResult> {
    this.storeInFlight ??= deadline(this.opts.db.query('SELECT 1'), this.timeoutMs, 'the store')
      .then(
        () => ({ ok: true }),
        (e: Error) => ({ ok: false, detail: `${this.opts.db.kind}: ${e.message}` }),
      )
      .finally(() => (this.storeInFlight = undefined));
    return this.storeInFlight;
  }

  private async checkRedis(): Promise<ProbeResult | undefined> {
    if (!this.opts.redisUrl) return undefined;
    // its own connection: one ping per probe, never queued behind the limits' traffic
    this.redis ??= new Redis(this.opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: this.timeoutMs }).on('error', () => undefined);
    try {
      await this.redis.ping();
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: `${(e as Error).message} (rate limits and quotas are not enforced meanwhile)` };
    }
  }

  private providersFresh(): Promise<void> {
    return performance.now() - this.providersCheckedAt < this.ttl ? Promise.resolve() : this.refreshProviders();
  }

  private refreshProviders(): Promise<void> {
    this.providersInFlight ??= (async () => {
      const next: Record<string, ProbeResult> = {};
      await Promise.all(
        this.providers.map(async (p) => {
          const signal = AbortSignal.timeout(this.timeoutMs);
          const h = await deadline<ProviderHealth>(p.health({ signal, requestId: 'readiness' }), this.timeoutMs, `${p.name}'s health check`).catch(
            (e: Error): ProviderHealth => ({ ok: false, detail: e.message }),
          );
          next[p.name] = h.ok ? { ok: true } : { ok: false, detail: h.detail ?? 'health check failed' };
        }),
      );
      for (const [name, now] of Object.entries(next)) {
        const before = this.providerHealth[name];
        if (!now.ok && (before === undefined || before.ok)) this.opts.log.error({ provider: name, detail: now.detail }, `provider ${name} is unhealthy: /readyz says degraded until it recovers`);
        if (now.ok && before && !before.ok) this.opts.log.info({ provider: name }, `provider ${name} is healthy again`);
      }
      this.providerHealth = next;
      this.providersCheckedAt = performance.now();
    })().finally(() => (this.providersInFlight = undefined));
    return this.providersInFlight;
  }
}

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
