/** Admin: tenant policies (versioned), provider health, and provider agreement from shadow/consensus runs. */
import 'reflect-metadata';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, Field, FieldResolver, Float, ID, Int, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { PROVIDER_NAMES, type ProviderName } from '../../../providers/types';
import { badInput, notFound, VerigateError } from '../../errors';
import { PolicySchema, providersOf, type Policy } from '../../verification/policy';
import { actorOf, type Context } from '../context';
import { ProviderEnum, Tenant } from '../types';

@ObjectType({ description: "A tenant's policy; version null = the server default (no policy stored yet)" })
export class TenantPolicy {
  @Field(() => ID) tenantId!: string;
  @Field(() => Int, { nullable: true }) version!: number | null;
  @Field(() => GraphQLJSONObject) policy!: Policy;
  @Field(() => String, { nullable: true }) author!: string | null;
  @Field(() => Date, { nullable: true }) createdAt!: Date | null;
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
}

@ObjectType({ description: 'How two providers compared on the same checks (shadow and consensus runs)' })
export class ProviderAgreement {
  @Field(() => ProviderEnum) providerA!: string;
  @Field(() => ProviderEnum) providerB!: string;
  @Field(() => Int, { description: 'checks both answered' }) checks!: number;
  @Field(() => Float, { description: 'share of those checks with the same decision' }) agreement!: number;
  @Field(() => Float, { nullable: true, description: 'Pearson correlation of their unified match scores' }) scoreCorrelation!: number | null;
}

@Authorized('admin')
@Resolver()
export class PolicyResolver {
  @Query(() => TenantPolicy)
  async tenantPolicy(@Arg('tenantId', () => ID) tenantId: string, @Ctx() ctx: Context): Promise<TenantPolicy> {
    await requireTenant(ctx, tenantId);
    const [stored] = await ctx.services.store.policies.current([tenantId]);
    if (stored) return stored;
    const { policy } = await ctx.services.orchestrator.policyFor(tenantId);
    return { tenantId, version: null, policy, author: null, createdAt: null };
  }

  @Query(() => [TenantPolicy], { description: 'Every version, newest first' })
  async policyHistory(@Arg('tenantId', () => ID) tenantId: string, @Ctx() ctx: Context): Promise<TenantPolicy[]> {
    await requireTenant(ctx, tenantId);
    return ctx.services.store.policies.history(tenantId);
  }

  @Mutation(() => TenantPolicy, { description: 'Validate and store a new policy version; applies to the next check' })
  async setTenantPolicy(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('policy', () => GraphQLJSONObject) input: Record<string, unknown>,
    @Ctx() ctx: Context,
  ): Promise<TenantPolicy> {
    await requireTenant(ctx, tenantId);
    const parsed = PolicySchema.safeParse(input);
    if (!parsed.success) {
      throw new VerigateError('BAD_USER_INPUT', 'policy is not valid', {
        field: 'policy',
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    return savePolicy(ctx, tenantId, parsed.data, 'policy.set');
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
  providers(@Ctx() ctx: Context): ProviderStatus[] {
    return PROVIDER_NAMES.map((name) => {
      const configured = ctx.services.providers.has(name);
      const stats = ctx.services.health.stats(name);
      return {
        name,
        configured,
        capabilities: configured ? [...ctx.services.providers.get(name).capabilities] : [],
        circuit: stats.state,
        ...stats,
      };
    });
  }

  @Query(() => [ProviderAgreement])
  async providerAgreement(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Ctx() ctx: Context,
  ): Promise<ProviderAgreement[]> {
    await requireTenant(ctx, tenantId);
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
    return stored.policy.strategy.type === 'single' ? stored.policy.strategy.provider.provider : null;
  }
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
  return stored;
}

/** Pairwise agreement of providers that answered the same checks. */
export function agreementOf(rows: Array<{ checkId: string; provider: ProviderName; decision: string; unifiedScore: number | null }>): ProviderAgreement[] {
  const byCheck = new Map<string, Map<ProviderName, { decision: string; score: number | null }>>();
  for (const r of rows) {
    const m = byCheck.get(r.checkId) ?? new Map();
    m.set(r.provider, { decision: r.decision, score: r.unifiedScore });
    byCheck.set(r.checkId, m);
  }
  const out: ProviderAgreement[] = [];
  PROVIDER_NAMES.forEach((a, i) =>
    PROVIDER_NAMES.slice(i + 1).forEach((b) => {
      const both = [...byCheck.values()].filter((m) => m.has(a) && m.has(b)).map((m) => [m.get(a)!, m.get(b)!]);
      if (both.length === 0) return;
      const scored = both.filter(([x, y]) => x.score !== null && y.score !== null).map(([x, y]) => [x.score!, y.score!]);
      out.push({
        providerA: a,
        providerB: b,
        checks: both.length,
        agreement: both.filter(([x, y]) => x.decision === y.decision).length / both.length,
        scoreCorrelation: pearson(scored),
      });
    }),
  );
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
