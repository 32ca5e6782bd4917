/**
 * Planning: from a policy to the providers to call, in order. Residency (`onPremOnly`), the
 * server's configuration and the capabilities a check needs are applied here, to deciding and
 * shadow providers alike, so nothing later can send an image where the policy forbids it.
 * Circuit state is checked at call time by the orchestrator (it changes between calls).
 */
import { createHash } from 'node:crypto';
import type { Capability, ProviderName } from '../../providers/types';
import { CLOUD_PROVIDERS, type Policy, type Step } from './policy';

export interface Plan {
  /** `sequence`: first success decides (single, fallback, split); `consensus`: all are asked */
  mode: 'sequence' | 'consensus';
  steps: Step[];
  shadows: Step[];
  /** providers the policy named but the plan left out, and why (kept in the audit trail) */
  excluded: Array<{ provider: ProviderName; why: 'onPremOnly' | 'not-configured' | 'lacks-capability' }>;
}

export interface PlanContext {
  tenantId: string;
  referenceId?: string | null;
  needs: ReadonlySet<Capability>;
  capabilitiesOf: (p: ProviderName) => ReadonlySet<Capability> | undefined;
  random: () => number;
}

export function plan(policy: Policy, ctx: PlanContext): Plan {
  const excluded: Plan['excluded'] = [];
  const usable = (steps: readonly Step[]) =>
    steps.filter((s) => {
      const caps = ctx.capabilitiesOf(s.provider);
      const why = policy.onPremOnly && CLOUD_PROVIDERS.has(s.provider)
        ? 'onPremOnly'
        : !caps
          ? 'not-configured'
          : [...ctx.needs].some((n) => !caps.has(n))
            ? 'lacks-capability'
            : null;
      if (why && !excluded.some((e) => e.provider === s.provider)) excluded.push({ provider: s.provider, why });
      return why === null;
    });

  const s = policy.strategy;
  const shadows = usable(policy.shadow);
  switch (s.type) {
    case 'single':
      return { mode: 'sequence', steps: usable([s.provider]), shadows, excluded };
    case 'fallback':
      return { mode: 'sequence', steps: usable(s.providers), shadows, excluded };
    case 'consensus':
      return { mode: 'consensus', steps: usable(s.providers), shadows, excluded };
    case 'split': {
      const arms = usable(s.arms) as Array<Step & { weight: number }>;
      const point = ctx.referenceId ? stickyPoint(ctx.tenantId, ctx.referenceId) : ctx.random();
      return { mode: 'sequence', steps: arms.length ? [pickArm(arms, point)] : [], shadows, excluded };
    }
  }
}

/** A point in [0, 1) fixed by tenant and referenceId: the same person always lands in the same arm. */
export function stickyPoint(tenantId: string, referenceId: string): number {
  const h = createHash('sha256').update(`${tenantId}\u0000${referenceId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function pickArm<T extends { weight: number }>(arms: readonly T[], point: number): T {
  const total = arms.reduce((sum, a) => sum + a.weight, 0);
  let acc = 0;
  for (const arm of arms) {
    acc += arm.weight / total;
    if (point < acc) return arm;
  }
  return arms[arms.length - 1];
}
