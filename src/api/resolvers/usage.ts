/** Usage metering: checks per hour or day by status and provider, latency, estimated cost. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, Float, ID, Int, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { badInput } from '../../errors';
import { UsageRepo, type BucketSize } from '../../store/usage';
import { PROVIDER_NAMES } from '../../../providers/types';
import type { Context } from '../context';
import { checkDate } from '../input-text';
import { CheckStatusEnum, ProviderEnum } from '../types';

export const UsageBucketEnum = { HOUR: 'HOUR', DAY: 'DAY' } as const;
registerEnumType(UsageBucketEnum, { name: 'UsageBucket', description: 'The span of one row of a usage report (UTC)' });

/** The most buckets one report may have, for each bucket size. */
const MAX_SPAN_MS: Record<BucketSize, number> = { HOUR: 31 * 86_400_000, DAY: 400 * 86_400_000 };

@ObjectType()
export class StatusCount {
  @Field(() => CheckStatusEnum) status!: string;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: "One provider's share of a usage row" })
export class ProviderUsage {
  @Field(() => ProviderEnum) provider!: string;
  @Field(() => Int, { description: 'Checks whose answer (the match, else liveness) it gave' }) checks!: number;
  @Field(() => Int, { description: 'Calls made to it: deciding, fallback, consensus and shadow' }) calls!: number;
  @Field(() => Int, { description: 'Calls that did not end OK' }) failedCalls!: number;
  @Field(() => Float, { nullable: true, description: 'Call latency, median' }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => Float, { nullable: true, description: 'calls × VERIGATE_PRICE_PER_CALL; null when the provider has no price' }) estimatedCost!: number | null;
}

@ObjectType({ description: "A tenant's checks in one bucket (or over the whole range)" })
export class UsageRow {
  @Field(() => ID) tenantId!: string;
  @Field({ description: "The bucket's first instant (UTC); for a total, the range's from" }) start!: Date;
  @Field(() => Int) checks!: number;
  @Field(() => [StatusCount], { description: 'Automated statuses (a review does not change them)' }) byStatus!: StatusCount[];
  @Field(() => Int, { description: 'Checks a person has reviewed' }) reviewed!: number;
  @Field(() => Float, { nullable: true, description: 'Created → completed, median, of the decided checks' }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => [ProviderUsage]) providers!: ProviderUsage[];
  @Field(() => Float, { nullable: true, description: 'The providers’ costs summed; null when a provider called has no price' }) estimatedCost!: number | null;
}

@ObjectType()
export class ProviderPrice {
  @Field(() => ProviderEnum) provider!: string;
  @Field(() => Float, { nullable: true, description: 'Per call; null: no price configured' }) pricePerCall!: number | null;
}

@ObjectType({ description: 'Checks, latency and estimated cost per tenant, by hour or day' })
export class UsageReport {
  @Field() from!: Date;
  @Field() to!: Date;
  @Field(() => UsageBucketEnum) bucket!: BucketSize;
  @Field(() => [UsageRow], { description: 'One row per tenant and bucket that had checks, oldest first' }) rows!: UsageRow[];
  @Field(() => [UsageRow], { description: 'One row per tenant over the whole range' }) totals!: UsageRow[];
  @Field(() => [ProviderPrice], { description: 'The prices the costs were estimated with (VERIGATE_PRICE_PER_CALL)' }) prices!: ProviderPrice[];
}

@Resolver()
export class UsageResolver {
  @Authorized()
  @Query(() => UsageReport, { description: "Usage from `from` to `to`: admins any tenant (or all); a tenant key its own only" })
  async usage(
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Ctx() ctx: Context,
    @Arg('bucket', () => UsageBucketEnum, { defaultValue: 'DAY' }) bucket: BucketSize = 'DAY',
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string,
  ): Promise<UsageReport> {
    checkDate(from, 'from');
    checkDate(to, 'to');
    if (!(from < to)) throw badInput('from must be before to', 'from');
    if (to.getTime() - from.getTime() > MAX_SPAN_MS[bucket]) throw badInput(`a report by ${bucket} spans at most ${MAX_SPAN_MS[bucket] / 86_400_000} days`, 'to');
    const repo = new UsageRepo(ctx.services.store.db);
    const prices = ctx.services.config.VERIGATE_PRICE_PER_CALL;
    const query = { tenantId: tenantId ?? undefined, from, to };
    const [rows, totals] = await Promise.all([repo.rows(ctx.scope, query, bucket, prices), repo.rows(ctx.scope, query, null, prices)]);
    return {
      from,
      to,
      bucket,
      rows,
      totals,
      prices: PROVIDER_NAMES.map((provider) => ({ provider, pricePerCall: prices[provider] ?? (provider === 'local' ? 0 : null) })),
    };
  }
}
