/**
 * Circuits shared by replicas through Redis: one hash per provider (state, consecutive failures,
 * when it opened, whether a probe is out and since when), changed only by Lua scripts on Redis's
 * own clock, so replicas agree on the order of events and on time. A probe that never reports
 * (its replica died) is given up after a cool-down, and another replica may probe.
 */
import Redis from 'ioredis';
import type { ProviderName } from '../../providers/types';
import type { BreakerOptions, CallResult, CircuitState, CircuitStore } from './health';
import { closeRedis } from '../redis';

/** Now in ms (Redis TIME); the hash, with OPEN turned HALF_OPEN once the cool-down has passed. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooldown = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'state', 'failures', 'openedAt', 'probe', 'probeAt')
local state = h[1] or 'CLOSED'
local failures = tonumber(h[2] or '0')
local probe = h[4] == '1' and now - tonumber(h[5] or '0') < cooldown
if state == 'OPEN' and now - tonumber(h[3] or '0') >= cooldown then state = 'HALF_OPEN' end
`;

const ACQUIRE = `${PRELUDE}
if state == 'CLOSED' then return 1 end
if state == 'HALF_OPEN' and not probe then
  redis.call('HSET', KEYS[1], 'state', 'HALF_OPEN', 'probe', '1', 'probeAt', now)
  return 1
end
return 0
`;

/** ARGV: cooldown, result (ok | failure | neutral), threshold */
const RECORD = `${PRELUDE}
local result = ARGV[2]
local wasProbe = h[4] == '1'
redis.call('HSET', KEYS[1], 'probe', '0')
if result == 'neutral' then return 1 end
if result == 'ok' then
  redis.call('HSET', KEYS[1], 'state', 'CLOSED', 'failures', 0)
  return 1
end
failures = failures + 1
if wasProbe or failures >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'OPEN', 'failures', failures, 'openedAt', now)
else
  redis.call('HSET', KEYS[1], 'state', state, 'failures', failures)
end
return 1
`;

const READ = `${PRELUDE}
return {state, failures}
`;

type WithScripts = Redis & {
  circuitAcquire(numKeys: number, ...args: Array<string | number>): Promise<number>;
  circuitRecord(numKeys: number, ...args: Array<string | number>): Promise<number>;
  circuitRead(numKeys: number, ...args: Array<string | number>): Promise<[string, number]>;
};

export class RedisCircuits implements CircuitStore {
  readonly kind = 'redis' as const;
  private readonly redis: WithScripts;
  /** settles on the first connect or failure (at most timeoutMs): only start-up waits for Redis */
  private readonly firstConnect: Promise<void>;

  constructor(
    url: string,
    private readonly prefix = 'verigate:circuits:',
    timeoutMs = 500,
  ) {
    // no offline queue: while Redis is unreachable a call fails at once and the replica uses its own circuits
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: timeoutMs, enableOfflineQueue: false }) as WithScripts;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('circuitAcquire', { lua: ACQUIRE });
    this.redis.defineCommand('circuitRecord', { lua: RECORD });
    this.redis.defineCommand('circuitRead', { lua: READ });
    this.firstConnect = new Promise((resolve) => {
      const done = () => resolve();
      this.redis.once('ready', done);
      this.redis.once('error', done);
      setTimeout(done, timeoutMs).unref();
    });
  }

  async acquire(name: ProviderName, opts: BreakerOptions): Promise<boolean> {
    await this.firstConnect;
    return (await this.redis.circuitAcquire(1, this.prefix + name, opts.cooldownMs)) === 1;
  }

  async record(name: ProviderName, result: CallResult, opts: BreakerOptions): Promise<void> {
    await this.firstConnect;
    await this.redis.circuitRecord(1, this.prefix + name, opts.cooldownMs, result, opts.failureThreshold);
  }

  async read(name: ProviderName, opts: BreakerOptions): Promise<{ state: CircuitState; consecutiveFailures: number }> {
    await this.firstConnect;
    const [state, failures] = await this.redis.circuitRead(1, this.prefix + name, opts.cooldownMs);
    return { state: state as CircuitState, consecutiveFailures: Number(failures) };
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}
