/**
 * Per-request context: who is calling (from the API key), the store scope that follows from it,
 * and fresh DataLoaders. Built once per request in one place (src/server.ts calls `buildContext`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthChecker } from 'type-graphql';
import { forbidden, unauthenticated, VerigateError } from '../errors';
import type { Logger } from '../observability/logger';
import type { ApiKey } from '../store/repositories';
import type { Scope } from '../verification/types';
import { createLoaders, type Loaders } from './loaders';
import type { Uploads } from './multipart';
import type { Services } from './services';

export interface Principal {
  keyId: string;
  role: 'tenant' | 'admin';
  tenantId: string | null;
}

export interface Context {
  requestId: string;
  principal: Principal | null;
  /** the store scope of this caller (admins: everything; tenants: their own rows) */
  scope: Scope;
  loaders: Loaders;
  services: Services;
  log: Logger;
  /** a multipart request's files, by the token its variables hold in their place (api/multipart) */
  uploads?: Uploads;
}

export function apiKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw unauthenticated('Authorization header must be "Bearer <key>"');
    return m[1];
  }
  const x = headers['x-api-key'];
  return Array.isArray(x) ? x[0] : x;
}

/** `address`: the client's, for the limit on failed key lookups (src/limits/auth-failures.ts). */
export async function buildContext(services: Services, headers: IncomingHttpHeaders, requestId: string = randomUUID(), address = 'unknown'): Promise<Context> {
  const key = apiKeyFrom(headers);
  let principal: Principal | null = null;
  if (key !== undefined) {
    await services.authFailures?.assertAllowed(address);
    const found: ApiKey | null = await services.store.keys.findActive(key);
    if (!found) {
      await services.authFailures?.recordFailure(address);
      throw unauthenticated('Unknown or revoked API key');
    }
    principal = { keyId: found.id, role: found.role, tenantId: found.tenantId };
  }
  const scope: Scope =
    principal?.role === 'tenant' && principal.tenantId
      ? { role: 'tenant', tenantId: principal.tenantId }
      : principal?.role === 'admin'
        ? { role: 'admin' }
        : // no key: a scope that matches nothing (every operation needs a key anyway)
          { role: 'tenant', tenantId: '00000000-0000-0000-0000-000000000000' };
  return {
    requestId,
    principal,
    scope,
    loaders: createLoaders(services.store, scope),
    services,
    log: services.log.child({ requestId }),
  };
}

/** `@Authorized()` = any valid key; `@Authorized('admin')` / `@Authorized('tenant')` = that role. */
export const authChecker: AuthChecker<Context> = ({ context }, roles) => {
  if (!context.principal) throw unauthenticated();
  if (roles.length > 0 && !roles.includes(context.principal.role)) {
    throw forbidden(roles.includes('admin') ? 'This operation needs an admin key' : 'This operation needs a tenant key');
  }
  return true;
};

/** The caller's tenant id (tenant keys only). */
export function tenantOf(ctx: Context): string {
  if (ctx.principal?.role !== 'tenant' || !ctx.principal.tenantId) throw forbidden('This operation needs a tenant key');
  return ctx.principal.tenantId;
}

export const actorOf = (ctx: Context) => (ctx.principal ? `key:${ctx.principal.keyId}` : 'anonymous');
