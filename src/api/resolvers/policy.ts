/** Admin: tenant policies (versioned), provider health, and provider agreement from shadow/consensus runs. */
import 'reflect-metadata';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, Field, FieldResolver, Float, ID, Int, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { PROVIDER_NAMES, type ProviderName } from '../../../providers/types';
import { badInput, notFound, VerigateError } from '../../errors';
import { policyWarnings } from '../../verification/plan';
import { replayPolicy } from '../../verification/replay';
import { matchProvider, PolicySchema, providersOf, type Policy } from '../../verification/policy';
import { actorOf, type Context } from '../context';
import { checkDate } from '../input-text';
import { CapabilityCheckEnum, CheckStatusEnum, FaceMatch, Liveness, ProviderEnum, ReasonCodeEnum, Tenant } from '../types';

@ObjectType({ description: "A tenant's policy; version null = the server default (no policy stored yet)" })
export class TenantPolicy {
  @Field(() => ID) tenantId!: string;
  @Field(() => Int, { nullable: true }) version!: number | null;
  @Field(() => GraphQLJSONObject) policy!: Policy;
  @Field(() => String, { nullable: true }) author!: string | null;
  @Field(() => Date, { nullable: true }) createdAt!: Date | null;
  @Field(() => [String], { description: 'What this policy can never do on this server (a provider it names skipped for a check, and why), with the fix' })
  warnings!: string[];
}

@ObjectType({ description: 'The calibration table that maps a provider\'s scores now' })
export class CalibrationInfo {
  @Field({ description: 'Table id' }) id!: string;
  @Field({ description: 'measured (fitted on labelled pairs) or default (documented operating points, not a measurement)' }) origin!: string;
  @Field({ description: 'package (committed with Verigate) or operator (VERIGATE_CALIBRATION_DIR)' }) source!: string;
  @Field(() => Int, { description: 'Impostor pairs it was fitted on (0 for a default)' }) impostorPairs!: number;
  @Field(() => String, { nullable: true, description: 'The table used instead for checks with a quality finding' }) whenQualityFindings!: string | null;
}

@ObjectType({ description: 'A provider as this replica sees it' })
export class ProviderStatus {
  @Field(() => ProviderEnum) name!: string;
  @Field() configured!: boolean;
  @Field(() => [String]) capabilities!: string[];
  @Field({ description: 'CLOSED, OPEN or HALF_OPEN' }) circuit!: string;
  @Field(() => Int) consecutiveFailures!: number;
  @Field(() => Int, { description: 'calls in the recent window' }) calls!: number;
  @Field(() => Float) errorRate!: number;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => CalibrationInfo, { nullable: true, description: 'The table that maps its match scores' }) matchCalibration!: CalibrationInfo | null;
}

const MAX_SCORE_PAIRS = 500;

@ObjectType({ description: "Two providers' unified match scores on one check" })
export class ScorePair {
  @Field(() => ID) checkId!: string;
  @Field(() => Float) a!: number;
  @Field(() => Float) b!: number;
  @Field({ description: 'They decided the same' }) agree!: boolean;
}

@ObjectType({ description: 'How two providers compared on the same checks (shadow and consensus runs)' })
export class ProviderAgreement {
  @Field(() => CapabilityCheckEnum, { description: 'The check they are compared on' }) check!: string;
  @Field(() => ProviderEnum) providerA!: string;
  @Field(() => ProviderEnum) providerB!: string;
  @Field(() => Int, { description: 'checks both answered' }) checks!: number;
  @Field(() => Float, { description: 'share of those checks with the same decision' }) agreement!: number;
  @Field(() => Float, { nullable: true, description: 'Pearson correlation of their unified match scores' }) scoreCorrelation!: number | null;
  @Field(() => [ScorePair], { description: `Their unified match scores check by check (match only; at most ${MAX_SCORE_PAIRS})` }) scores!: ScorePair[];
}

@ObjectType()
export class StatusTransition {
  @Field(() => CheckStatusEnum) from!: string;
  @Field(() => CheckStatusEnum) to!: string;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: 'A stored check whose status the replayed policy changes' })
export class ReplayedCheck {
  @Field(() => ID) id!: string;
  @Field() createdAt!: Date;
  @Field(() => CheckStatusEnum) from!: string;
  @Field(() => CheckStatusEnum) to!: string;
  @Field(() => [ReasonCodeEnum]) reasons!: string[];
  @Field(() => FaceMatch, { nullable: true }) faceMatch!: FaceMatch | null;
  @Field(() => Liveness, { nullable: true }) liveness!: Liveness | null;
}

@ObjectType({ description: 'What a policy would have decided on stored checks (no provider called, nothing written)' })
export class PolicyReplay {
  @Field(() => Int, { description: 'Decided checks in the range' }) checks!: number;
  @Field(() => Int, { description: 'Decided again from their stored evidence' }) replayed!: number;
  @Field(() => Int, { description: 'Counted apart: no stored evidence (ERROR checks, checks decided before evidence was kept), or none for a check the policy requires' })
  withoutEvidence!: number;
  @Field(() => Int, { description: 'Replayed checks whose status changes' }) changed!: number;
  @Field(() => [StatusTransition], { description: 'Replayed checks by old → new status' }) transitions!: StatusTransition[];
  @Field(() => [ReplayedCheck], { description: 'The first `first` changed checks, oldest first' }) changedChecks!: ReplayedCheck[];
}

@Authorized('admin')
@Resolver()
export class PolicyResolver {
  @Query(() => TenantPolicy)
  async tenantPolicy(@Arg('tenantId', () => ID) tenantId: string, @Ctx() ctx: Context): Promise<TenantPolicy> {
    await requireTenant(ctx, tenantId);
    const [stored] = await ctx.services.store.policies.current([tenantId]);
    if (stored) return withWarnings(ctx, stored);
    const { policy } = await ctx.services.orchestrator.policyFor(tenantId);
    return withWarnings(ctx, { tenantId, version: null, policy, author: null, createdAt: null });
  }

  @Query(() => [TenantPolicy], { description: 'Every version, newest first' })
  async policyHistory(@Arg('tenantId', () => ID) tenantId: string, @Ctx() ctx: Context): Promise<TenantPolicy[]> {
    await requireTenant(ctx, tenantId);
    return (await ctx.services.store.policies.history(tenantId)).map((p) => withWarnings(ctx, p));
  }

  @Mutation(() => TenantPolicy, { description: 'Validate and store a new policy version; applies to the next check' })
  async setTenantPolicy(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('policy', () => GraphQLJSONObject) input: Record<string, unknown>,
    @Ctx() ctx: Context,
  ): Promise<TenantPolicy> {
    await requireTenant(ctx, tenantId);
    return savePolicy(ctx, tenantId, parsePolicy(input), 'policy.set');
  }

  @Mutation(() => TenantPolicy, { description: 'Store an earlier version again, as the newest' })
  async rollbackTenantPolicy(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('version', () => Int) version: number,
    @Ctx() ctx: Context,
  ): Promise<TenantPolicy> {
    await requireTenant(ctx, tenantId);
    const old = await ctx.services.store.policies.get(tenantId, version);
    if (!old) throw notFound(`policy version ${version}`);
    return savePolicy(ctx, tenantId, PolicySchema.parse(old.policy), 'policy.rollback', { toVersion: version });
  }

  @Query(() => [ProviderStatus], { description: "Circuit state, error rate and latency of each provider on this replica" })
  providers(@Ctx() ctx: Context): Promise<ProviderStatus[]> {
    return Promise.all(PROVIDER_NAMES.map(async (name) => {
      const provider = ctx.services.providers.find(name);
      const stats = await ctx.services.health.stats(name);
      const key = provider?.calibration?.match;
      return {
        name,
        configured: Boolean(provider),
        capabilities: provider ? [...provider.capabilities] : [],
        circuit: stats.state,
        ...stats,
        matchCalibration: key ? ctx.services.calibration.describe(key) : null,
      };
    }));
  }

  @Query(() => PolicyReplay, {
    description: "Decide the tenant's stored checks again under `policy`, from their stored evidence: see what a change would do before setTenantPolicy",
  })
  async replayPolicy(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('policy', () => GraphQLJSONObject) input: Record<string, unknown>,
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
  ): Promise<PolicyReplay> {
    await requireTenant(ctx, tenantId);
    checkDate(from, 'from');
    checkDate(to, 'to');
    if (!(from < to)) throw badInput('from must be before to', 'from');
    if (first < 0 || first > 100) throw badInput('first must be between 0 and 100', 'first');
    const policy = parsePolicy(input);
    return replayPolicy(ctx.services.store.db, (e) => ctx.services.orchestrator.legsOf(e), { tenantId, policy, from, to, first });
  }

  @Query(() => [ProviderAgreement])
  async providerAgreement(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Ctx() ctx: Context,
  ): Promise<ProviderAgreement[]> {
    await requireTenant(ctx, tenantId);
    checkDate(from, 'from');
    checkDate(to, 'to');
    if (!(from < to)) throw badInput('from must be before to', 'from');
    const rows = await ctx.services.store.checks.comparableAttempts(tenantId, from, to);
    return agreementOf(rows);
  }
}

@Resolver(() => Tenant)
export class TenantResolver {
  @FieldResolver(() => ProviderEnum, { nullable: true, description: 'The provider of a single-provider policy (server default without a policy); null for multi-provider policies' })
  async provider(@Root() tenant: Tenant, @Ctx() ctx: Context): Promise<ProviderName | null> {
    const stored = await ctx.loaders.policyByTenant.load(tenant.id);
    if (!stored) return ctx.services.config.VERIGATE_DEFAULT_PROVIDER;
    return matchProvider(stored.policy);
  }
}

function parsePolicy(input: Record<string, unknown>): Policy {
  const parsed = PolicySchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new VerigateError('BAD_USER_INPUT', 'policy is not valid', {
    field: 'policy',
    issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

async function requireTenant(ctx: Context, tenantId: string) {
  if (!(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
}

/** Stores a policy after checking every provider it names is configured here; writes the audit log. */
export async function savePolicy(
  ctx: Context,
  tenantId: string,
  policy: Policy,
  action: string,
  detail: Record<string, unknown> = {},
): Promise<TenantPolicy> {
  const missing = providersOf(policy).filter((p) => !ctx.services.providers.has(p));
  if (missing.length) {
    throw new VerigateError('PROVIDER_UNAVAILABLE', `not configured on this server: ${missing.join(', ')}`, {
      configured: ctx.services.providers.names(),
    });
  }
  const stored = await ctx.services.store.policies.put(tenantId, policy, actorOf(ctx));
  await ctx.services.store.audit.record(actorOf(ctx), action, tenantId, `policy:${stored.version}`, { ...detail, policy });
  return withWarnings(ctx, stored);
}

function withWarnings(ctx: Context, p: Omit<TenantPolicy, 'warnings'>): TenantPolicy {
  const providers = ctx.services.providers;
  const warnings = policyWarnings(p.policy, {
    capabilities: (n) => providers.find(n)?.capabilities,
    needsDocument: (n) => providers.find(n)?.needsDocument ?? false,
  });
  return { ...p, warnings };
}

type Comparable = { checkId: string; provider: ProviderName; decisions: Partial<Record<'match' | 'liveness', string>>; unifiedScore: number | null };

/** Pairwise agreement of providers that answered the same checks, check by check (match, liveness). */
export function agreementOf(rows: Comparable[]): ProviderAgreement[] {
  const byCheck = new Map<string, Map<ProviderName, Comparable>>();
  for (const r of rows) {
    const m = byCheck.get(r.checkId) ?? new Map();
    m.set(r.provider, r);
    byCheck.set(r.checkId, m);
  }
  const out: ProviderAgreement[] = [];
  for (const check of ['match', 'liveness'] as const) {
    PROVIDER_NAMES.forEach((a, i) =>
      PROVIDER_NAMES.slice(i + 1).forEach((b) => {
        const both = [...byCheck.values()].filter((m) => m.get(a)?.decisions[check] && m.get(b)?.decisions[check]).map((m) => [m.get(a)!, m.get(b)!]);
        if (both.length === 0) return;
        const withScores = check === 'match' ? both.filter(([x, y]) => x.unifiedScore !== null && y.unifiedScore !== null) : [];
        const scored = withScores.map(([x, y]) => [x.unifiedScore!, y.unifiedScore!]);
        out.push({
          check,
          providerA: a,
          providerB: b,
          checks: both.length,
          agreement: both.filter(([x, y]) => x.decisions[check] === y.decisions[check]).length / both.length,
          scoreCorrelation: pearson(scored),
          scores: withScores.slice(0, MAX_SCORE_PAIRS).map(([x, y]) => ({ checkId: x.checkId, a: x.unifiedScore!, b: y.unifiedScore!, agree: x.decisions[check] === y.decisions[check] })),
        });
      }),
    );
  }
  return out;
}

function pearson(pairs: number[][]): number | null {
  const n = pairs.length;
  if (n < 2) return null;
  const mean = (k: 0 | 1) => pairs.reduce((s, p) => s + p[k], 0) / n;
  const [mx, my] = [mean(0), mean(1)];
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}
