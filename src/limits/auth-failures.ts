/**
 * Failed API key lookups per client address. Each unknown or revoked key costs the store one
 * indexed query; after VERIGATE_AUTH_FAILURES_PER_MINUTE of them in a minute (a fixed window in the
 * limit store, so replicas sharing Redis share the count) the address is refused with
 * RATE_LIMITED before any lookup, valid key or not, until the window ends. Successful lookups cost
 * nothing. The address is the TCP peer: behind a proxy that is the proxy, so set the limit with it
 * in mind (or 0 to turn this off). If the limit store fails, requests go through (logged).
 */
import { VerigateError } from '../errors';
import type { Logger } from '../observability/logger';
import type { LimitStore, WindowCharge } from './store';

const WINDOW_SECONDS = 60;

export class AuthFailureLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly perMinute: number,
    private readonly log: Logger,
  ) {}

  private charge(address: string): WindowCharge {
    return { kind: 'quota', key: `authfail:${address}`, limit: this.perMinute, windowSeconds: WINDOW_SECONDS, cost: 1 };
  }

  /** Throws RATE_LIMITED (extensions.retryAfterSeconds) while the address has used up its failures. */
  async assertAllowed(address: string): Promise<void> {
    if (this.perMinute === 0) return;
    const verdict = await this.store.consume([this.charge(address)], { dryRun: true }).catch((err: unknown) => {
      this.log.error({ err, store: this.store.kind }, 'limit store failed; key lookup allowed');
      return { allowed: true } as const;
    });
    if (verdict.allowed) return;
    this.log.warn({ address, retryAfterSeconds: verdict.retryAfterSeconds }, 'address refused after failed key lookups');
    throw new VerigateError('RATE_LIMITED', 'Too many failed API key attempts from this address', {
      limit: 'authFailures',
      retryAfterSeconds: verdict.retryAfterSeconds,
    });
  }

  async recordFailure(address: string): Promise<void> {
    if (this.perMinute === 0) return;
    await this.store.consume([this.charge(address)]).catch((err: unknown) => {
      this.log.error({ err, store: this.store.kind }, 'limit store failed; failed key lookup not counted');
    });
  }
}
