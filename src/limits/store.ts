/**
 * Where limit state lives, behind one small interface: token buckets (rates) and fixed-window
 * counters (quotas), charged all-or-nothing. `MemoryLimitStore` serves one replica; the Redis
 * store (./redis.ts) runs the same algorithm as one Lua script so replicas share the limits.
 */

/** A token bucket: holds up to `capacity` tokens, refilled continuously at `refillPerSecond`. */
export interface BucketCharge {
  kind: 'rate';
  key: string;
  capacity: number;
  refillPerSecond: number;
  cost: number;
}

/** A fixed-window counter: at most `limit` units per window (windows align to the epoch, so a day is a UTC day). */
export interface WindowCharge {
  kind: 'quota';
  key: string;
  limit: number;
  windowSeconds: number;
  cost: number;
}

export type Charge = BucketCharge | WindowCharge;

export type Verdict =
  | { allowed: true }
  | {
      allowed: false;
      /** which limit refused (the one that clears last when several do) */
      kind: 'rate' | 'quota';
      key: string;
      /** whole seconds until the charge would fit, at least 1 */
      retryAfterSeconds: number;
    };

export interface LimitStore {
  readonly kind: 'memory' | 'redis';
  /** Charges every limit or none: a refusal by one leaves the others untouched. `dryRun`: the verdict only, nothing charged. */
  consume(charges: readonly Charge[], opts?: { dryRun?: boolean }): Promise<Verdict>;
  close(): Promise<void>;
}

interface BucketState {
  tokens: number;
  at: number;
  full: number;
}
interface WindowState {
  window: number;
  count: number;
  end: number;
}

/** One process, one Map per kind. Idle buckets are swept once they would be full again. */
export class MemoryLimitStore implements LimitStore {
  readonly kind = 'memory' as const;
  private readonly buckets = new Map<string, BucketState>();
  private readonly windows = new Map<string, WindowState>();

  constructor(private readonly now: () => number = Date.now) {}

  async consume(charges: readonly Charge[], opts: { dryRun?: boolean } = {}): Promise<Verdict> {
    const now = this.now() / 1000;
    let refusal: Verdict = { allowed: true };
    const updates: Array<() => void> = [];
    for (const c of charges) {
      if (c.kind === 'rate') {
        const s = this.buckets.get(c.key);
        const tokens = s ? Math.min(c.capacity, s.tokens + Math.max(0, now - s.at) * c.refillPerSecond) : c.capacity;
        if (tokens < c.cost) refusal = worse(refusal, c, (c.cost - tokens) / c.refillPerSecond);
        updates.push(() => this.buckets.set(c.key, { tokens: tokens - c.cost, at: now, full: now + c.capacity / c.refillPerSecond }));
      } else {
        const window = Math.floor(now / c.windowSeconds);
        const s = this.windows.get(c.key);
        const count = s && s.window === window ? s.count : 0;
        if (count + c.cost > c.limit) refusal = worse(refusal, c, (window + 1) * c.windowSeconds - now);
        updates.push(() => this.windows.set(c.key, { window, count: count + c.cost, end: (window + 1) * c.windowSeconds }));
      }
    }
    if (!refusal.allowed || opts.dryRun) return refusal;
    for (const u of updates) u();
    if (this.buckets.size + this.windows.size > 10_000) this.sweep(now);
    return refusal;
  }

  private sweep(now: number) {
    for (const [k, s] of this.buckets) if (s.full <= now) this.buckets.delete(k);
    for (const [k, s] of this.windows) if (s.end <= now) this.windows.delete(k);
  }

  async close(): Promise<void> {
    this.buckets.clear();
    this.windows.clear();
  }
}

function worse(current: Verdict, c: Charge, seconds: number): Verdict {
  const retryAfterSeconds = Math.max(1, Math.ceil(seconds));
  if (!current.allowed && current.retryAfterSeconds >= retryAfterSeconds) return current;
  return { allowed: false, kind: c.kind, key: c.key, retryAfterSeconds };
}
