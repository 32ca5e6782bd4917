/** Admin operations: tenants, keys, provider choice. Every change writes the audit log. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ProviderName } from '../../../providers/types';
import { badInput, notFound, VerigateError } from '../../errors';
import { TenantNameTaken } from '../../store/repositories';
import { actorOf, type Context } from '../context';
import { savePolicy } from './policy';
import { CreatedApiKey, ProviderEnum, RoleEnum, Tenant, ApiKeyInfo } from '../types';

@Authorized('admin')
@Resolver()
export class AdminResolver {
  @Query(() => [Tenant])
  tenants(@Ctx() ctx: Context) {
    return ctx.services.store.tenants.list();
  }

  @Query(() => Tenant, { nullable: true })
  tenant(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.store.tenants.get(id);
  }

  @Mutation(() => Tenant, { description: 'A new tenant; with provider, its first policy routes every check there' })
  async createTenant(
    @Arg('name') name: string,
    @Ctx() ctx: Context,
    @Arg('provider', () => ProviderEnum, { nullable: true }) provider?: ProviderName,
  ) {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 200) throw badInput('name must be 1..200 characters', 'name');
    if (provider && !ctx.services.providers.has(provider)) throw notConfigured(ctx, provider);
    let tenant;
    try {
      tenant = await ctx.services.store.tenants.create(trimmed);
    } catch (e) {
      if (e instanceof TenantNameTaken) throw new VerigateError('CONFLICT', e.message);
      throw e;
    }
    await ctx.services.store.audit.record(actorOf(ctx), 'tenant.create', tenant.id, tenant.id, { name: trimmed });
    if (provider) await savePolicy(ctx, tenant.id, ctx.services.orchestrator.policyForProvider(provider), 'policy.set');
    return tenant;
  }

  @Query(() => [ApiKeyInfo], { description: "A tenant's API keys, revoked ones too, newest first (no tenantId: the admin keys); never their secrets" })
  apiKeys(@Ctx() ctx: Context, @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string) {
    return ctx.services.store.keys.list(tenantId ?? null);
  }

  @Mutation(() => CreatedApiKey, { description: 'The secret is shown once; only its hash is stored' })
  async createApiKey(
    @Arg('role', () => RoleEnum) role: 'tenant' | 'admin',
    @Ctx() ctx: Context,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string,
    @Arg('label', { nullable: true }) label?: string,
  ) {
    if (label !== undefined && label !== null && (label.trim().length === 0 || label.length > 200)) throw badInput('label must be 1..200 characters', 'label');
    if (role === 'tenant' && !tenantId) throw badInput('a tenant key needs tenantId', 'tenantId');
    if (role === 'admin' && tenantId) throw badInput('an admin key belongs to no tenant', 'tenantId');
    if (tenantId && !(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
    const created = await ctx.services.store.keys.create(role, tenantId ?? null, label ?? null);
    await ctx.services.store.audit.record(actorOf(ctx), 'apiKey.create', tenantId ?? null, created.apiKey.id, { role });
    return created;
  }

  @Mutation(() => ApiKeyInfo)
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: Context) {
    const key = await ctx.services.store.keys.revoke(id);
    if (!key) throw notFound('API key');
    await ctx.services.store.audit.record(actorOf(ctx), 'apiKey.revoke', key.tenantId, key.id);
    return key;
  }

  @Mutation(() => Tenant, {
    description:
      "Route the tenant's checks to this provider (a new policy version; thresholds and other settings kept): the match, and liveness when it has passive liveness — otherwise liveness goes to the best provider that has it (the local engine first). null: the server default",
  })
  async setTenantProvider(
    @Arg('tenantId', () => ID) tenantId: string,
    @Ctx() ctx: Context,
    @Arg('provider', () => ProviderEnum, { nullable: true }) provider?: ProviderName | null,
  ) {
    const tenant = await ctx.services.store.tenants.get(tenantId);
    if (!tenant) throw notFound('tenant');
    const { policy } = await ctx.services.orchestrator.policyFor(tenantId);
    const chosen = provider ?? ctx.services.config.VERIGATE_DEFAULT_PROVIDER;
    if (!ctx.services.providers.has(chosen)) throw notConfigured(ctx, chosen);
    await savePolicy(ctx, tenantId, ctx.services.orchestrator.policyForProvider(chosen, policy), 'tenant.setProvider', { provider: provider ?? null });
    return tenant;
  }
}

function notConfigured(ctx: Context, provider: ProviderName) {
  return new VerigateError('PROVIDER_UNAVAILABLE', `provider '${provider}' is not configured on this server`, {
    configured: ctx.services.providers.names(),
  });
}
