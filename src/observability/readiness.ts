/**
 * What `/readyz` answers. Ready = warmed up, the store answers, and every configured provider's own
 * health check passes — so a provider whose credentials are refused keeps the replica out of the
 * load balancer, and the body says which provider and why.
 *  - The store is asked on every probe (`SELECT 1`, bounded by a deadline); concurrent probes share
 *    one query, so a burst of probes costs one round trip.
 *  - Providers are asked at most every `providerTtlMs` (a remote health call is a network round
 *    trip); a probe in between reads the last answer.
 *  - Redis (when the limits live there) is pinged on every probe and reported, but does not make the
 *    replica unready: limits fail open by design (README, "Limits"), so requests still work.
 *  - A provider whose credentials a check saw refused (`Unauthorized`: a wrong FACIA_HASH_ID or AWS
 *    key fails every check) is unready until one of its checks succeeds, whatever its health
 *    endpoint says: neither remote health call proves the credentials.
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

  /** The provider as the app should use it: the same, with its checks' credential failures reported here. */
  watch(provider: Provider): Provider {
    this.providers.push(provider);
    const check: Provider['check'] = async (req, ctx) => {
      try {
        const outcome = await provider.check(req, ctx);
        if (this.refused.delete(provider.name)) this.opts.log.info({ provider: provider.name }, `provider ${provider.name} accepted its credentials again`);
        return outcome;
      } catch (e) {
        if (e instanceof ProviderError && e.kind === 'Unauthorized') {
          // the reason code, not the message: a provider's error text may echo what it was sent
          const detail = `credentials refused on a check (${e.reason})`;
          if (!this.refused.has(provider.name)) this.opts.log.error({ provider: provider.name, detail }, `provider ${provider.name} refused its credentials: /readyz answers 503 until a check succeeds`);
          this.refused.set(provider.name, detail);
        }
        throw e;
      }
    };
    // everything else (name, capabilities, health, a test provider's own fields) is the provider's own
    return Object.assign(Object.create(provider) as Provider, { check });
  }

  /** Providers are initialised: from now on the probes decide. Asks every provider once, and logs what fails. */
  async warmedUp(): Promise<void> {
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
    const ready = store.ok && Object.values(providers).every((p) => p.ok);
    const status = !ready ? 'unready' : redis && !redis.ok ? 'degraded' : 'ready';
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
        if (!now.ok && (before === undefined || before.ok)) this.opts.log.error({ provider: name, detail: now.detail }, `provider ${name} is unhealthy: /readyz answers 503 until it recovers`);
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
