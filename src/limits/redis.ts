/**
 * The limit store shared by replicas: the same all-or-nothing charge as `MemoryLimitStore`, run
 * as one Lua script so it is atomic in Redis. Time comes from Redis (`TIME`), not from each
 * replica's clock, so skewed replicas still agree on a bucket.
 */
import Redis from 'ioredis';
import type { Charge, LimitStore, Verdict } from './store';
import { closeRedis } from '../redis';

/*
 * KEYS: one hash per limit. ARGV: for each key, four values: kind (0 rate, 1 quota), then
 *   rate:  capacity, refillPerSecond, cost      quota: limit, windowSeconds, cost
 * and last a dry-run flag ('1': the verdict only, nothing written).
 * Returns {1} when charged, or {0, index (1-based), retryAfterSeconds} when refused.
 */
const CONSUME = `
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local worst, worstRetry = 0, -1
local pending = {}
for i = 1, #KEYS do
  local o = (i - 1) * 4
  local kind, a, b, cost = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
  local retry = -1
  if kind == 0 then
    local s = redis.call('HMGET', KEYS[i], 'tokens', 'at')
    local tokens = a
    if s[1] then tokens = math.min(a, tonumber(s[1]) + math.max(0, now - tonumber(s[2])) * b) end
    if tokens < cost then retry = (cost - tokens) / b end
    pending[i] = { tokens - cost, math.ceil(a / b) + 1 }
  else
    local window = math.floor(now / b)
    local s = redis.call('HMGET', KEYS[i], 'window', 'count')
    local count = 0
    if s[1] and tonumber(s[1]) == window then count = tonumber(s[2]) end
    if count + cost > a then retry = (window + 1) * b - now end
    pending[i] = { window, count + cost, math.ceil((window + 1) * b - now) + 1 }
  end
  if retry >= 0 and retry > worstRetry then worst, worstRetry = i, retry end
end
if worst > 0 then return { 0, worst, math.max(1, math.ceil(worstRetry)) } end
if ARGV[#KEYS * 4 + 1] == '1' then return { 1 } end
for i = 1, #KEYS do
  if tonumber(ARGV[(i - 1) * 4 + 1]) == 0 then
    redis.call('HSET', KEYS[i], 'tokens', tostring(pending[i][1]), 'at', tostring(now))
    redis.call('EXPIRE', KEYS[i], pending[i][2])
  else
    redis.call('HSET', KEYS[i], 'window', pending[i][1], 'count', pending[i][2])
    redis.call('EXPIRE', KEYS[i], pending[i][3])
  end
end
return { 1 }
`;

/** KEYS[1]: a quota hash; ARGV: windowSeconds, cost. Decrements the count if it is this window's. */
type WithConsume = Redis & {
  verigateConsume(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
};

export class RedisLimitStore implements LimitStore {
  readonly kind = 'redis' as const;
  private readonly redis: WithConsume;
  /** settles on the first connect or the first failure (at most timeoutMs): only start-up waits for Redis */
  private readonly firstConnect: Promise<void>;

  constructor(
    url: string,
    private readonly prefix = 'verigate:limits:',
    timeoutMs = 1000,
  ) {
    // no offline queue: while Redis is unreachable a charge fails at once (and the plugin lets the request through)
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: timeoutMs, enableOfflineQueue: false }) as WithConsume;
    this.redis.on('error', () => undefined); // surfaced per command; the plugin decides what a failure means
    this.redis.defineCommand('verigateConsume', { lua: CONSUME });
    this.firstConnect = new Promise((resolve) => {
      const done = () => resolve();
      this.redis.once('ready', done);
      this.redis.once('error', done);
      setTimeout(done, timeoutMs).unref();
    });
  }

  async consume(charges: readonly Charge[], opts: { dryRun?: boolean } = {}): Promise<Verdict> {
    if (charges.length === 0) return { allowed: true };
    await this.firstConnect;
    const keys = charges.map((c) => this.prefix + c.key);
    const args = charges.flatMap((c) =>
      c.kind === 'rate' ? [0, c.capacity, c.refillPerSecond, c.cost] : [1, c.limit, c.windowSeconds, c.cost],
    );
    const [ok, index, retry] = await this.redis.verigateConsume(keys.length, ...keys, ...args, opts.dryRun ? '1' : '0');
    if (ok === 1) return { allowed: true };
    const c = charges[index - 1];
    return { allowed: false, kind: c.kind, key: c.key, retryAfterSeconds: retry };
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}
