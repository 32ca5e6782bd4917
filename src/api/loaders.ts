/** DataLoaders, created per request with the caller's scope (STYLE.md §6). */
import DataLoader from 'dataloader';
import type { Store, Tenant } from '../store/repositories';
import type { StoredPolicy } from '../verification/policy';
import type { AttemptRecord, Scope } from '../verification/types';

export interface Loaders {
  attemptsByCheck: DataLoader<string, AttemptRecord[]>;
  tenantById: DataLoader<string, Tenant | null>;
  policyByTenant: DataLoader<string, StoredPolicy | null>;
}

export function createLoaders(store: Store, scope: Scope): Loaders {
  return {
    attemptsByCheck: new DataLoader(async (ids) => {
      const rows = await store.checks.attemptsFor(scope, ids);
      const byCheck = new Map<string, AttemptRecord[]>(ids.map((id) => [id, []]));
      for (const a of rows) byCheck.get(a.checkId)?.push(a);
      return ids.map((id) => byCheck.get(id)!);
    }),
    tenantById: new DataLoader(async (ids) => {
      const rows = await store.tenants.byIds(ids);
      const byId = new Map(rows.map((t) => [t.id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    policyByTenant: new DataLoader(async (ids) => {
      const rows = await store.policies.current(ids);
      const byTenant = new Map(rows.map((p) => [p.tenantId, p]));
      return ids.map((id) => byTenant.get(id) ?? null);
    }),
  };
}
