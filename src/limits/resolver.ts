/** Admin operations on a tenant's limits and retention. Every change writes the audit log. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { actorOf, type Context } from '../api/context';
import { notFound } from '../errors';
import {
  effectiveLimits,
  serverDefaults,
  TenantLimitsRepo,
  validateOverrides,
  type EffectiveLimits,
  type StoredTenantLimits,
} from './settings';

@ObjectType({ description: 'The limits in force for a tenant (overrides merged over the server defaults)' })
export class EffectiveTenantLimits {
  @Field(() => Int, { description: 'Tokens per minute in the tenant bucket (a query root field costs 1, a mutation more)' })
  ratePerMinute!: number;
  @Field(() => Int, { description: 'Tenant bucket size: the largest burst' }) burst!: number;
  @Field(() => Int, { description: 'Tokens per minute for each API key of the tenant' }) keyRatePerMinute!: number;
  @Field(() => Int) keyBurst!: number;
  @Field(() => Int, { nullable: true, description: 'Checks per UTC day; null = unlimited' }) checksPerDay!: number | null;
  @Field(() => Int, { nullable: true, description: 'Days a check (and its attempts) is kept; null = forever' }) retentionDays!: number | null;
}

@ObjectType({ description: "A tenant's own limits; a null field means the server default" })
export class TenantLimits {
  @Field(() => ID) tenantId!: string;
  @Field(() => Int, { nullable: true }) ratePerMinute!: number | null;
  @Field(() => Int, { nullable: true }) burst!: number | null;
  @Field(() => Int, { nullable: true }) keyRatePerMinute!: number | null;
  @Field(() => Int, { nullable: true }) keyBurst!: number | null;
  @Field(() => Int, { nullable: true }) checksPerDay!: number | null;
  @Field(() => Int, { nullable: true }) retentionDays!: number | null;
  @Field(() => EffectiveTenantLimits) effective!: EffectiveLimits;
  @Field(() => Date, { nullable: true }) updatedAt!: Date | null;
}

@InputType({ description: 'Replaces all of a tenant’s overrides: a field left out or null goes back to the server default' })
export class TenantLimitsInput {
  @Field(() => Int, { nullable: true }) ratePerMinute?: number | null;
  @Field(() => Int, { nullable: true }) burst?: number | null;
  @Field(() => Int, { nullable: true }) keyRatePerMinute?: number | null;
  @Field(() => Int, { nullable: true }) keyBurst?: number | null;
  @Field(() => Int, { nullable: true }) checksPerDay?: number | null;
  @Field(() => Int, { nullable: true }) retentionDays?: number | null;
}

@Authorized('admin')
@Resolver()
export class LimitsResolver {
  @Query(() => TenantLimits, { description: "A tenant's rate limits, daily quota and retention" })
  async tenantLimits(@Arg('tenantId', () => ID) tenantId: string, @Ctx() ctx: Context): Promise<TenantLimits> {
    if (!(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
    return view(ctx, tenantId, await new TenantLimitsRepo(ctx.services.store.db).get(tenantId));
  }

  @Mutation(() => TenantLimits, {
    description: 'Set a tenant’s rate limits, daily quota and retention (applies on every replica within VERIGATE_LIMITS_CACHE_MS)',
  })
  async setTenantLimits(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('limits', () => TenantLimitsInput) limits: TenantLimitsInput,
    @Ctx() ctx: Context,
  ): Promise<TenantLimits> {
    const overrides = validateOverrides(limits);
    if (!(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
    const stored = await new TenantLimitsRepo(ctx.services.store.db).put(tenantId, overrides, actorOf(ctx));
    await ctx.services.store.audit.record(actorOf(ctx), 'tenant.setLimits', tenantId, tenantId, { ...overrides });
    return view(ctx, tenantId, stored);
  }
}

function view(ctx: Context, tenantId: string, stored: StoredTenantLimits | null): TenantLimits {
  const defaults = serverDefaults(ctx.services.config);
  return {
    tenantId,
    ratePerMinute: stored?.ratePerMinute ?? null,
    burst: stored?.burst ?? null,
    keyRatePerMinute: stored?.keyRatePerMinute ?? null,
    keyBurst: stored?.keyBurst ?? null,
    checksPerDay: stored?.checksPerDay ?? null,
    retentionDays: stored?.retentionDays ?? null,
    effective: effectiveLimits(defaults, stored),
    updatedAt: stored?.updatedAt ?? null,
  };
}
