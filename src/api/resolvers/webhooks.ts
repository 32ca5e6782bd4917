/**
 * Webhook endpoints and their deliveries, for tenants (their own) and admins (any tenant's, naming
 * it). The signing secret is shown once, when an endpoint is made or its secret rotated.
 */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { badInput, notFound } from '../../errors';
import { isUuid } from '../../store/repositories';
import type { WebhookDelivery, WebhookEndpoint as Endpoint, WebhookEvent } from '../../store/webhooks';
import { allowList, resolveTarget, WebhookRefused } from '../../webhooks/deliverer';
import { actorOf, type Context } from '../context';

/** GraphQL names of the events (a dot is not allowed in an enum value). */
const EVENT_ENUM = { CHECK_COMPLETED: 'check.completed', CHECK_FAILED: 'check.failed', CHECK_REVIEWED: 'check.reviewed' } as const;
registerEnumType(EVENT_ENUM, {
  name: 'WebhookEvent',
  description: 'CHECK_COMPLETED: a check decided (ACCEPTED, REJECTED, INCONCLUSIVE); CHECK_FAILED: a check ended ERROR; CHECK_REVIEWED: a person decided a check (review, finalStatus)',
});
const DELIVERY_STATUS = { PENDING: 'PENDING', DELIVERED: 'DELIVERED', FAILED: 'FAILED' } as const;
registerEnumType(DELIVERY_STATUS, { name: 'WebhookDeliveryStatus' });

@ObjectType({ description: 'Where a tenant receives signed events' })
export class WebhookEndpoint {
  @Field(() => ID) id!: string;
  @Field(() => ID) tenantId!: string;
  @Field() url!: string;
  @Field(() => [EVENT_ENUM]) events!: string[];
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field() createdAt!: Date;
}

@ObjectType()
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field({ description: 'Signs every event (Verigate-Signature): shown once, keep it' }) secret!: string;
}

@ObjectType({ description: 'One event sent, or being sent, to an endpoint' })
export class WebhookDeliveryInfo {
  @Field(() => ID) id!: string;
  @Field(() => ID) endpointId!: string;
  @Field(() => ID, { description: 'The event id (the same on every attempt and redelivery)' }) eventId!: string;
  @Field(() => EVENT_ENUM) eventType!: string;
  @Field(() => DELIVERY_STATUS) status!: string;
  @Field(() => Int) attempts!: number;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt' }) lastStatusCode!: number | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Int, { nullable: true, description: 'Duration of the last attempt' }) latencyMs!: number | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) deliveredAt!: Date | null;
  @Field({ description: 'When it is tried next (PENDING)' }) nextAttemptAt!: Date;
}

@ObjectType()
class WebhookDeliveryEdge {
  @Field() cursor!: string;
  @Field(() => WebhookDeliveryInfo) node!: WebhookDeliveryInfo;
}

@ObjectType()
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge]) edges!: WebhookDeliveryEdge[];
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@InputType()
export class WebhookEndpointInput {
  @Field({ description: 'http(s) URL; a private, loopback or link-local address is refused unless the operator allows it' }) url!: string;
  @Field(() => [EVENT_ENUM]) events!: WebhookEvent[];
  @Field({ nullable: true }) description?: string;
  @Field(() => ID, { nullable: true, description: 'Admins: the tenant (a tenant key makes its own)' }) tenantId?: string;
}

const cursorOf = (d: WebhookDelivery) => Buffer.from(`${d.createdAt.toISOString()}|${d.id}`).toString('base64url');
function decode(after: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(after, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  if (!isUuid(id ?? '') || Number.isNaN(createdAt.getTime())) throw badInput('after is not a cursor from this API', 'after');
  return { createdAt, id };
}

@Authorized()
@Resolver()
export class WebhookResolver {
  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new endpoint: events of the tenant’s checks are POSTed to it, signed' })
  async createWebhookEndpoint(@Arg('input') input: WebhookEndpointInput, @Ctx() ctx: Context): Promise<WebhookEndpointWithSecret> {
    const tenantId = await tenantFor(ctx, input.tenantId);
    if (input.url.length > 2048) throw badInput('url must be at most 2048 characters', 'url');
    if (input.events.length === 0) throw badInput('name at least one event', 'events');
    if (input.description !== undefined && input.description !== null && input.description.length > 500) throw badInput('description must be at most 500 characters', 'description');
    try {
      await resolveTarget(input.url, allowList(ctx.services.config.VERIGATE_WEBHOOK_ALLOW));
    } catch (e) {
      if (e instanceof WebhookRefused) throw badInput(`url refused: ${e.message}`, 'url');
      throw e;
    }
    const made = await ctx.services.store.webhooks.create({ tenantId, url: input.url, events: [...new Set(input.events)], description: input.description ?? null, createdBy: actorOf(ctx) });
    await ctx.services.store.audit.record(actorOf(ctx), 'webhook.create', tenantId, made.endpoint.id, { events: made.endpoint.events });
    return made;
  }

  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new signing secret, at once (the old one stops signing)' })
  async rotateWebhookSecret(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<WebhookEndpointWithSecret> {
    const rotated = isUuid(id) ? await ctx.services.store.webhooks.rotateSecret(ctx.scope, id) : null;
    if (!rotated) throw notFound('webhook endpoint');
    await ctx.services.store.audit.record(actorOf(ctx), 'webhook.rotateSecret', rotated.endpoint.tenantId, id);
    return rotated;
  }

  @Mutation(() => WebhookEndpoint, { description: 'No more events to it; its pending deliveries end FAILED' })
  async deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<Endpoint> {
    const deleted = isUuid(id) ? await ctx.services.store.webhooks.delete(ctx.scope, id) : null;
    if (!deleted) throw notFound('webhook endpoint');
    await ctx.services.store.audit.record(actorOf(ctx), 'webhook.delete', deleted.tenantId, id);
    return deleted;
  }

  @Query(() => [WebhookEndpoint], { description: "A tenant's endpoints (admins: every tenant's, or one's)" })
  async webhookEndpoints(@Ctx() ctx: Context, @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string): Promise<Endpoint[]> {
    if (tenantId !== undefined && tenantId !== null && !isUuid(tenantId)) return [];
    return ctx.services.store.webhooks.list(ctx.scope, tenantId ?? undefined);
  }

  @Query(() => WebhookDeliveryConnection, { description: 'Deliveries to an endpoint, newest first' })
  async webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<WebhookDeliveryConnection> {
    if (first < 1 || first > 100) throw badInput('first must be between 1 and 100', 'first');
    if (!isUuid(endpointId)) return { edges: [], hasNextPage: false, endCursor: null };
    const page = await ctx.services.store.webhooks.deliveries(ctx.scope, endpointId, first, after ? decode(after) : undefined);
    const edges = page.deliveries.map((d) => ({ cursor: cursorOf(d), node: d }));
    return { edges, hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null };
  }

  @Mutation(() => WebhookDeliveryInfo, { description: 'Send a delivery again, now (the same event id)' })
  async redeliverWebhook(@Arg('deliveryId', () => ID) deliveryId: string, @Ctx() ctx: Context): Promise<WebhookDelivery> {
    const again = isUuid(deliveryId) ? await ctx.services.store.webhooks.redeliver(ctx.scope, deliveryId) : null;
    if (!again) throw notFound('webhook delivery');
    await ctx.services.store.audit.record(actorOf(ctx), 'webhook.redeliver', again.tenantId, deliveryId);
    ctx.services.webhooks?.wake();
    return again;
  }
}

/** The tenant an endpoint is for: a tenant key's own; an admin must name an existing tenant. */
async function tenantFor(ctx: Context, tenantId?: string | null): Promise<string> {
  const p = ctx.principal!;
  if (p.role === 'tenant') {
    if (tenantId && tenantId !== p.tenantId) throw notFound('tenant');
    return p.tenantId!;
  }
  if (!tenantId) throw badInput('an admin names the tenant (tenantId)', 'tenantId');
  if (!(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
  return tenantId;
}
