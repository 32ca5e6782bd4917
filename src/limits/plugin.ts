/**
 * Abuse limits, enforced in one place: an Apollo plugin that runs once the operation is known
 * (parsed, validated, auth'd key in the context) and before anything executes. Per request it
 * charges, all-or-nothing:
 *   - the tenant's token bucket and the API key's token bucket: a query costs 1 token per root
 *     field, a mutation VERIGATE_MUTATION_COST per root field;
 *   - the tenant's daily quota of checks: one per root mutation field that returns a check. A field
 *     that ends without a check being stored (refused input: not base64, not an image, too large…)
 *     is given back once the response is known, so only accepted checks count.
 * A refusal is `RATE_LIMITED` / `QUOTA_EXCEEDED` (HTTP 429) with `extensions.retryAfterSeconds`
 * and a `Retry-After` header. Admin keys are not metered; requests without a key are refused by
 * auth anyway. If the limit store fails (Redis down), the request goes through and it is logged:
 * limits protect the service, they must not become its outage.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getNamedType, Kind, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Context } from '../api/context';
import type { Config } from '../config';
import { VerigateError } from '../errors';
import type { Logger } from '../observability/logger';
import type { Db } from '../store/db';
import { effectiveLimits, serverDefaults, TenantLimitsRepo, type EffectiveLimits } from './settings';
import type { Charge, LimitStore, WindowCharge } from './store';

/** The GraphQL type whose creation is a check (counted against the daily quota). */
const CHECK_TYPE = 'VerificationResult';
/** quota window: a UTC day */
const DAY = 86_400;

export interface RequestCharge {
  /** tokens taken from the tenant's and the key's buckets */
  tokens: number;
  /** checks counted against the daily quota */
  checks: number;
  /** response names (alias or field name) of the root fields that create a check */
  checkFields: string[];
}

/** What an operation costs: root fields (fragments at the root expanded), weighted by operation type. */
export function chargeOf(schema: GraphQLSchema, op: OperationDefinitionNode, fragments: Record<string, { selectionSet: SelectionSetNode }>, mutationCost: number): RequestCharge {
  const names: string[] = [];
  const responseNames: string[] = [];
  const collect = (set: SelectionSetNode, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (!sel.name.value.startsWith('__')) {
          names.push(sel.name.value);
          responseNames.push(sel.alias?.value ?? sel.name.value);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet, seen);
      else if (fragments[sel.name.value] && !seen.has(sel.name.value)) collect(fragments[sel.name.value].selectionSet, new Set([...seen, sel.name.value]));
    }
  };
  collect(op.selectionSet, new Set());
  if (op.operation !== 'mutation') return { tokens: Math.max(1, names.length), checks: 0, checkFields: [] };
  const fields = schema.getMutationType()?.getFields() ?? {};
  const checkFields = responseNames.filter((_, i) => fields[names[i]] && getNamedType(fields[names[i]].type).name === CHECK_TYPE);
  return { tokens: Math.max(1, names.length) * mutationCost, checks: checkFields.length, checkFields };
}

export class TenantLimitsCache {
  private readonly cache = new Map<string, { at: number; limits: EffectiveLimits }>();
  private readonly repo: TenantLimitsRepo;
  private readonly defaults: EffectiveLimits;

  constructor(db: Db, config: Config, private readonly ttlMs: number) {
    this.repo = new TenantLimitsRepo(db);
    this.defaults = serverDefaults(config);
  }

  async get(tenantId: string): Promise<EffectiveLimits> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.limits;
    const limits = effectiveLimits(this.defaults, await this.repo.get(tenantId));
    if (this.ttlMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(tenantId, { at: Date.now(), limits });
    }
    return limits;
  }
}

/**
 * How many of the check fields charged to the quota stored a check: a non-null result, or an error
 * naming its check (`extensions.checkId`: the check was stored and ended ERROR).
 */
export function checksStored(result: { data?: Record<string, unknown> | null; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }, checkFields: readonly string[]): number {
  const answered = checkFields.filter((name) => result.data?.[name] != null).length;
  const failedStored = (result.errors ?? []).filter((e) => typeof e.extensions?.checkId === 'string').length;
  return answered + failedStored;
}

export function limitsPlugin(opts: { store: LimitStore; limits: TenantLimitsCache; mutationCost: number; log: Logger }): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      /** the quota charge taken for this request, and the response names of the fields it paid for */
      let charged: { quota: WindowCharge; fields: string[] } | undefined;
      return {
        async willSendResponse({ response, contextValue }) {
          if (!charged || response.body.kind !== 'single') return;
          const unused = charged.quota.cost - checksStored(response.body.singleResult, charged.fields);
          if (unused <= 0) return;
          await opts.store.refund({ ...charged.quota, cost: unused }).catch((err: unknown) => {
            contextValue.log.error({ err, store: opts.store.kind }, 'quota refund failed; the refused checks stay counted');
          });
        },
        async didResolveOperation({ contextValue, operation, document, schema }) {
          const p = contextValue.principal;
          if (p?.role !== 'tenant' || !p.tenantId || !operation) return;
          const fragments = Object.fromEntries(
            document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])),
          );
          const charge = chargeOf(schema, operation, fragments, opts.mutationCost);
          let verdict;
          try {
            const l = await opts.limits.get(p.tenantId);
            const charges: Charge[] = [
              { kind: 'rate', key: `t:${p.tenantId}`, capacity: l.burst, refillPerSecond: l.ratePerMinute / 60, cost: Math.min(charge.tokens, l.burst) },
              { kind: 'rate', key: `k:${p.keyId}`, capacity: l.keyBurst, refillPerSecond: l.keyRatePerMinute / 60, cost: Math.min(charge.tokens, l.keyBurst) },
            ];
            const quota: WindowCharge | undefined =
              charge.checks > 0 && l.checksPerDay !== null
                ? { kind: 'quota', key: `q:${p.tenantId}`, limit: l.checksPerDay, windowSeconds: DAY, cost: charge.checks }
                : undefined;
            if (quota) charges.push(quota);
            verdict = await opts.store.consume(charges);
            if (verdict.allowed && quota) charged = { quota, fields: charge.checkFields };
          } catch (err) {
            contextValue.log.error({ err, store: opts.store.kind }, 'limit store failed; request allowed');
            return;
          }
          if (verdict.allowed) return;
          const { retryAfterSeconds } = verdict;
          const http = { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) };
          contextValue.log.warn({ tenantId: p.tenantId, keyId: p.keyId, limit: verdict.key.split(':')[0], retryAfterSeconds }, 'request refused by a limit');
          if (verdict.kind === 'quota') {
            throw new VerigateError('QUOTA_EXCEEDED', 'Daily check quota exhausted', { limit: 'checksPerDay', retryAfterSeconds, http });
          }
          const tenantWide = verdict.key.startsWith('t:');
          throw new VerigateError('RATE_LIMITED', `Too many requests for this ${tenantWide ? 'tenant' : 'API key'}`, {
            limit: tenantWide ? 'tenant' : 'key',
            retryAfterSeconds,
            http,
          });
        },
      };
    },
  };
}
