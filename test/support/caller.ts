/**
 * The provider caller (src/verification/call.ts) around one adapter, as the orchestrator uses it:
 * for adapter tests of what the caller owns — the deadline — with the adapter's real transport.
 */
import type { CheckRequest, Provider, ProviderError } from '../../providers/types';
import { createLogger } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import { ProviderCaller } from '../../src/verification/call';
import { HealthBook } from '../../src/verification/health';
import { ProviderRegistry } from '../../src/verification/registry';

/** One check of `provider` through the caller; resolves to its classified failure (or throws if it answered). */
export async function failureThroughCaller(provider: Provider, req: CheckRequest, limits: { timeoutMs?: number; deadline?: number } = {}): Promise<ProviderError> {
  const caller = new ProviderCaller(new ProviderRegistry([provider]), { log: createLogger('silent'), metrics: new Metrics(), health: new HealthBook() });
  const result = await caller.call(provider.name, 'primary', { timeoutMs: limits.timeoutMs, deadline: limits.deadline ?? Date.now() + 60_000 }, { requestId: 'test' }, (p, ctx) => p.check(req, ctx));
  if (!('failure' in result)) throw new Error(`${provider.name} answered instead of failing`);
  return result.failure;
}
