/** Admin operations: tenants, keys, provider choice. Every change writes the audit log. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ProviderName } from '../../../providers/types';
import { badInput, notFound, VerigateError } from '../../errors';
import { TenantNameTaken } from '../../store/repositories';
import { actorOf, type Context } from '../context';
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

  @Mutation(() => Tenant)
  async createTenant(
    @Arg('name') name: string,
    @Ctx() ctx: Context,
    @Arg('provider', () => ProviderEnum, { nullable: true }) provider?: ProviderName,
  ) {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 200) throw badInput('name must be 1..200 characters', 'name');
    if (provider) this.assertConfigured(ctx, provider);
    try {
      const tenant = await ctx.services.store.tenants.create(trimmed, provider ?? null);
      await ctx.services.store.audit.record(actorOf(ctx), 'tenant.create', tenant.id, tenant.id, { name: trimmed, provider });
      return tenant;
    } catch (e) {
      if (e instanceof TenantNameTaken) throw new VerigateError('CONFLICT', e.message);
      throw e;
    }
  }

  @Mutation(() => CreatedApiKey, { description: 'The secret is shown once; only its hash is stored' })
  async createApiKey(
    @Arg('role', () => RoleEnum) role: 'tenant' | 'admin',
    @Ctx() ctx: Context,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string,
    @Arg('label', { nullable: true }) label?: string,
  ) {
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

  @Mutation(() => Tenant, { description: "Route the tenant's checks to this provider (null: the server default)" })
  async setTenantProvider(
    @Arg('tenantId', () => ID) tenantId: string,
    @Ctx() ctx: Context,
    @Arg('provider', () => ProviderEnum, { nullable: true }) provider?: ProviderName | null,
  ) {
    if (provider) this.assertConfigured(ctx, provider);
    const tenant = await ctx.services.store.tenants.setProvider(tenantId, provider ?? null);
    if (!tenant) throw notFound('tenant');
    await ctx.services.store.audit.record(actorOf(ctx), 'tenant.setProvider', tenant.id, tenant.id, { provider: provider ?? null });
    return tenant;
  }

  private assertConfigured(ctx: Context, provider: ProviderName) {
    if (!ctx.services.providers.has(provider)) {
      throw new VerigateError('PROVIDER_UNAVAILABLE', `provider '${provider}' is not configured on this server`, {
        configured: ctx.services.providers.names(),
      });
    }
  }
}
