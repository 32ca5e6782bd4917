/** Abuse limits: the store chosen by config (memory on one replica, Redis when replicas share limits). */
import type { Config } from '../config';
import { RedisLimitStore } from './redis';
import { MemoryLimitStore, type LimitStore } from './store';

export function createLimitStore(config: Config): LimitStore {
  const kind = config.VERIGATE_LIMITS_STORE ?? (config.REDIS_URL ? 'redis' : 'memory');
  return kind === 'redis' ? new RedisLimitStore(config.REDIS_URL!) : new MemoryLimitStore();
}

export { limitsPlugin, TenantLimitsCache, chargeOf } from './plugin';
export { MemoryLimitStore, type LimitStore, type Charge, type Verdict } from './store';
export { RedisLimitStore } from './redis';
export { AuthFailureLimiter } from './auth-failures';
export * from './settings';
