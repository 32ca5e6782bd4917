/**
 * A tenant's policy: which providers decide and how, as data. Validated by zod, stored versioned
 * (store/PolicyRepo), read fresh for every check — so a change made on any replica applies to the
 * next check everywhere, with no cache to invalidate. Reading it is one indexed query.
 */
import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from '../../providers/types';
import type { Thresholds } from './decision';

/** Providers that send images off the premises; `onPremOnly` never calls them. */
export const CLOUD_PROVIDERS: ReadonlySet<ProviderName> = new Set(['rekognition']);

const Step = z
  .object({
    provider: z.enum(PROVIDER_NAMES),
    /** per-call timeout (bounded by the check's deadline) */
    timeoutMs: z.number().int().min(1).max(120_000).optional(),
    /** extra tries after a Transient error, with jittered backoff */
    retries: z.number().int().min(0).max(5).default(0),
  })
  .strict();
export type Step = z.infer<typeof Step>;

const Strategy = z.discriminatedUnion('type', [
  z.object({ type: z.literal('single'), provider: Step }).strict(),
  /** in order; move on after Transient/Unavailable/timeouts, never after BadInput */
  z.object({ type: z.literal('fallback'), providers: z.array(Step).min(1).max(5) }).strict(),
  /** weighted A/B; sticky per referenceId when one is given */
  z
    .object({
      type: z.literal('split'),
      arms: z.array(Step.extend({ weight: z.number().positive() }).strict()).min(2).max(5),
    })
    .strict(),
  /** several providers; all must accept (`all`), or every unified score ≥ minScore */
  z
    .object({
      type: z.literal('consensus'),
      providers: z.array(Step).min(2).max(5),
      mode: z.enum(['all', 'minScore']).default('all'),
      minScore: z.number().min(0).max(1).optional(),
    })
    .strict()
    .refine((c) => c.mode !== 'minScore' || c.minScore !== undefined, { message: 'minScore mode needs minScore' }),
]);

export const PolicySchema = z
  .object({
    strategy: Strategy,
    /** called after the decision, stored for comparison, never deciding nor delaying the answer */
    shadow: z.array(Step).max(3).default([]),
    /** verifyIdentity: which checks must pass */
    require: z.object({ match: z.boolean().default(true), liveness: z.boolean().default(true) }).strict().default({ match: true, liveness: true }),
    /** never send an image to a cloud provider, whatever else the policy says */
    onPremOnly: z.boolean().default(false),
    thresholds: z
      .object({
        acceptFmr: z.number().gt(0).max(1).default(1e-5),
        inconclusiveFmr: z.number().gt(0).max(1).default(1e-3),
        livenessMin: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .refine((t) => t.acceptFmr <= t.inconclusiveFmr, { message: 'acceptFmr must not exceed inconclusiveFmr' })
      .default({ acceptFmr: 1e-5, inconclusiveFmr: 1e-3, livenessMin: 0.5 }),
    /** the whole check's deadline (default: the server's provider timeout) */
    deadlineMs: z.number().int().min(100).max(300_000).optional(),
  })
  .strict();

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyThresholds = Thresholds;

export function defaultPolicy(provider: ProviderName): Policy {
  return PolicySchema.parse({ strategy: { type: 'single', provider: { provider } } });
}

/** The providers a policy may call (deciding or shadow), for checking them against configuration. */
export function providersOf(p: Policy): ProviderName[] {
  const s = p.strategy;
  const steps = s.type === 'single' ? [s.provider] : s.type === 'split' ? s.arms : s.providers;
  return [...new Set([...steps, ...p.shadow].map((x) => x.provider))];
}

export interface StoredPolicy {
  tenantId: string;
  version: number;
  policy: Policy;
  author: string;
  createdAt: Date;
}
