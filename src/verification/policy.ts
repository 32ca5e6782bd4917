/**
 * A tenant's policy: which providers decide each capability and how, as data. Validated by zod,
 * stored versioned (store/PolicyRepo), read fresh for every check — so a change made on any
 * replica applies to the next check everywhere, with no cache to invalidate.
 *
 * Routing per capability: `strategy` (+ `shadow`) is the route of every capability the check
 * needs; `routes.match` / `routes.liveness` override it for one capability. Capabilities that share
 * a route are asked of a provider in one call (Facia answers match and liveness together);
 * capabilities on different routes are asked separately, in parallel.
 *
 * `document` (the MRZ of the document page) is routed the same way, but only the local engine has
 * it: without `routes.document` it goes to the local engine, whatever the tenant's face provider.
 */
import { z } from 'zod';
import { PROVIDER_NAMES, type Capability, type ProviderName } from '../../providers/types';

/** Providers that send images off the premises; `onPremOnly` never calls them. */
export const CLOUD_PROVIDERS: ReadonlySet<ProviderName> = new Set(['rekognition']);

/** What a policy routes and requires: the checks a verification is made of. */
export const ROUTED = ['match', 'liveness', 'document'] as const;
export type Routed = (typeof ROUTED)[number];

/** The provider capability that answers each routed check (a liveness session is routed apart). */
export const CAPABILITY_OF: Record<Routed, Capability> = { match: 'face-match', liveness: 'liveness', document: 'document' };

/** Quality findings a policy may block on (providers report them in `reasons`). */
export const BLOCKABLE = ['FACE_TOO_SMALL', 'BLURRY', 'EXTREME_POSE', 'INSUFFICIENT_CONTEXT'] as const;
export type Blockable = (typeof BLOCKABLE)[number];

/**
 * Blocked unless a policy says otherwise: the findings that make a score meaningless. A blurred or
 * strongly turned face aligns badly, so its embedding and its liveness score say little; a face
 * with too little context around it cannot be judged live. FACE_TOO_SMALL alone is reported but
 * not blocked: the local engine calibrates such matches on their own table, and liveness on a face
 * too small to judge comes back without a score (EVIDENCE_MISSING) instead.
 */
export const DEFAULT_QUALITY_BLOCK: readonly Blockable[] = ['BLURRY', 'EXTREME_POSE', 'INSUFFICIENT_CONTEXT'];

const Step = z
  .object({
    provider: z.enum(PROVIDER_NAMES),
    /** per-call timeout (bounded by the check's deadline; default: the provider's own) */
    timeoutMs: z.number().int().min(1).max(120_000).optional(),
    /** extra tries after a Transient error, with jittered backoff */
    retries: z.number().int().min(0).max(5).default(0),
  })
  .strict();
export type Step = z.infer<typeof Step>;

export const StrategySchema = z.discriminatedUnion('type', [
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
  /**
   * Several providers, all asked; a consensus is never looser than any of its members: it accepts
   * only when every member accepts (`all`), and in `minScore` mode every unified match score must
   * also reach `minScore`. Members that decide differently add PROVIDER_DISAGREEMENT.
   */
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
export type Strategy = z.infer<typeof StrategySchema>;

/** Shadow providers: called after the decision, stored for comparison, never deciding nor delaying the answer. */
const Shadow = z.array(Step).max(3).default([]);

const Route = z.object({ strategy: StrategySchema, shadow: Shadow }).strict();
export type Route = z.infer<typeof Route>;

export const PolicySchema = z
  .object({
    /** the route of every capability without its own in `routes` */
    strategy: StrategySchema,
    shadow: Shadow,
    /** a route of its own for one capability, e.g. match on Rekognition, liveness on the local engine */
    routes: z.object({ match: Route.optional(), liveness: Route.optional(), document: Route.optional() }).strict().default({}),
    /** verifyIdentity: which checks must pass (checkLiveness needs liveness, compareFaces a match) */
    require: z
      .object({ match: z.boolean().default(true), liveness: z.boolean().default(true) })
      .strict()
      .default({ match: true, liveness: true })
      .refine((r) => r.match || r.liveness, { message: 'a policy must require a match, liveness, or both' }),
    /** never send an image to a cloud provider, whatever else the policy says */
    onPremOnly: z.boolean().default(false),
    thresholds: z
      .object({
        acceptFmr: z.number().gt(0).max(1).default(1e-5),
        inconclusiveFmr: z.number().gt(0).max(1).default(1e-3),
        livenessMin: z.number().min(0).max(1).default(0.5),
        /**
         * the share of attacks the tenant accepts passing (estimated APCER at the score, from the
         * provider's liveness table); where a provider has no table, livenessMin applies
         */
        livenessMaxApcer: z.number().min(0).max(1).optional(),
      })
      .strict()
      .refine((t) => t.acceptFmr <= t.inconclusiveFmr, { message: 'acceptFmr must not exceed inconclusiveFmr' })
      .default({ acceptFmr: 1e-5, inconclusiveFmr: 1e-3, livenessMin: 0.5 }),
    /** quality findings that stop a check from passing, and what it becomes instead */
    quality: z
      .object({
        block: z.array(z.enum(BLOCKABLE)).default([...DEFAULT_QUALITY_BLOCK]),
        outcome: z.enum(['INCONCLUSIVE', 'REJECTED']).default('INCONCLUSIVE'),
      })
      .strict()
      .default({ block: [...DEFAULT_QUALITY_BLOCK], outcome: 'INCONCLUSIVE' }),
    /** the whole check's deadline (default: the server's provider timeout) */
    deadlineMs: z.number().int().min(100).max(300_000).optional(),
    /**
     * verifyIdentity: the document's MRZ (read from the document image). Checked when `require`, or
     * when the request carries `applicant` or `chip`; `minimumAge` from the document's date of
     * birth; an expired document is refused when `rejectExpired`.
     */
    document: z
      .object({
        require: z.boolean().default(false),
        minimumAge: z.number().int().min(1).max(150).optional(),
        rejectExpired: z.boolean().default(true),
      })
      .strict()
      .default({ require: false, rejectExpired: true }),
    /** manual review (`reviewCheck`): a person may decide INCONCLUSIVE checks only, or any decided check */
    review: z.object({ anyStatus: z.boolean().default(false) }).strict().default({ anyStatus: false }),
  })
  .strict();

export type Policy = z.infer<typeof PolicySchema>;
export type Thresholds = Policy['thresholds'];
export type QualityRule = Policy['quality'];

/** The route a capability takes under this policy. */
export function routeOf(p: Policy, c: Routed): Route {
  if (c === 'document') return p.routes.document ?? LOCAL_ROUTE;
  return p.routes[c] ?? { strategy: p.strategy, shadow: p.shadow };
}

export const stepsOf = (s: Strategy): Step[] => (s.type === 'single' ? [s.provider] : s.type === 'split' ? s.arms : s.providers);

/** The providers a policy may call (deciding or shadow), for checking them against configuration. */
export function providersOf(p: Policy): ProviderName[] {
  const routes = [{ strategy: p.strategy, shadow: p.shadow }, ...Object.values(p.routes)].filter((r) => r !== undefined);
  return [...new Set(routes.flatMap((r) => [...stepsOf(r.strategy), ...r.shadow]).map((x) => x.provider))];
}

/** What a provider can do, as the planner and the policy builder need to know it. */
export interface ProviderFacts {
  capabilities(p: ProviderName): ReadonlySet<Capability> | undefined;
}

/**
 * A working policy that routes to `provider` what it can do: the match always, liveness when it
 * has passive liveness; otherwise liveness goes to the best configured provider that has it (the
 * local engine first, never a cloud provider under onPremOnly). `base` keeps its other settings.
 * This is what `setTenantProvider` stores and what a tenant without a policy runs.
 */
export function policyForProvider(provider: ProviderName, facts: ProviderFacts, base?: Policy): Policy {
  const keep = base ?? PolicySchema.parse({ strategy: single(provider) });
  const policy: Policy = { ...keep, strategy: single(provider), shadow: [], routes: {} };
  if (facts.capabilities(provider)?.has('liveness')) return policy;
  const preferred: ProviderName[] = ['local', ...PROVIDER_NAMES.filter((p) => p !== 'local')];
  const live = preferred.find((p) => facts.capabilities(p)?.has('liveness') && !(policy.onPremOnly && CLOUD_PROVIDERS.has(p)));
  return live ? { ...policy, routes: { liveness: { strategy: single(live), shadow: [] } } } : policy;
}

const single = (provider: ProviderName): Strategy => ({ type: 'single', provider: { provider, retries: 0 } });

/** The document's route when the policy names none: the local engine (the one provider that reads MRZs). */
const LOCAL_ROUTE: Route = { strategy: single('local'), shadow: [] };

/** The provider that answers the match when one alone does (the tenant's `provider` field); null for several. */
export function matchProvider(p: Policy): ProviderName | null {
  const s = routeOf(p, 'match').strategy;
  return s.type === 'single' ? s.provider.provider : null;
}

export interface StoredPolicy {
  tenantId: string;
  version: number;
  policy: Policy;
  author: string;
  createdAt: Date;
}
