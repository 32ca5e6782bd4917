/**
 * Rate limits, enforced in one place: an Apollo plugin that runs once the operation is known
 * (parsed, validated, auth'd key in the context) and before anything executes. Per request it
 * charges the tenant's token bucket and the API key's, all-or-nothing: a query costs 1 token per
 * root field, a mutation VERIGATE_MUTATION_COST per root field — in full: a request that costs more
 * than a bucket holds can never pass and is a BAD_REQUEST. A mutation that verifies (its root field
 * returns a check) must be the request's only root field (BAD_REQUEST otherwise).
 * A refusal is `RATE_LIMITED` (HTTP 429) with `extensions.retryAfterSeconds` and a `Retry-After`
 * header. Admin keys are not metered; requests without a key are refused by auth anyway. If the
 * limit store fails (Redis down), the request goes through and it is logged: limits protect the
 * service, they must not become its outage.
 *
 * The daily check quota is not charged here but where the check is stored, in the same transaction
 * (store: createPending): only stored checks count, and idempotent repeats and CONFLICTs are free.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getNamedType, Kind, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Context } from '../api/context';
import type { Config } from '../config';
import { VerigateError } from '../errors';
import type { Logger } from '../observability/logger';
import type { Db } from '../store/db';
import { effectiveLimits, serverDefaults, TenantLimitsRepo, type EffectiveLimits } from './settings';
import type { LimitStore } from './store';

/** The GraphQL type whose creation is a check (counted against the daily quota). */
const CHECK_TYPE = 'VerificationResult';

export interface RequestCharge {
  /** tokens taken from the tenant's and the key's buckets */
  tokens: number;
  /** root fields */
  fields: number;
  /** root fields that create a check */
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
  if (op.operation !== 'mutation') return { tokens: Math.max(1, names.length), fields: names.length, checks: 0, checkFields: [] };
  const fields = schema.getMutationType()?.getFields() ?? {};
  const checkFields = responseNames.filter((_, i) => fields[names[i]] && getNamedType(fields[names[i]].type).name === CHECK_TYPE);
  return { tokens: Math.max(1, names.length) * mutationCost, fields: names.length, checks: checkFields.length, checkFields };
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

export function limitsPlugin(opts: { store: LimitStore; limits: TenantLimitsCache; mutationCost: number; log: Logger }): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, schema }) {
          const p = contextValue.principal;
          if (!operation) return;
          const fragments = Object.fromEntries(
            document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])),
          );
          const charge = chargeOf(schema, operation, fragments, opts.mutationCost);
          if (charge.checks > 0 && charge.fields > 1) {
            throw new VerigateError('BAD_REQUEST', `a verification (${charge.checkFields.join(', ')}) must be the only root field of its request: send one check per request`, {
              http: { status: 400 },
            });
          }
          if (p?.role !== 'tenant' || !p.tenantId) return;
          let verdict;
          try {
            const l = await opts.limits.get(p.tenantId);
            const capacity = Math.min(l.burst, l.keyBurst);
            if (charge.tokens > capacity) {
              throw new VerigateError('BAD_REQUEST', `this request costs ${charge.tokens} tokens, more than the rate limit ever allows at once (${capacity}); send fewer root fields`, {
                limit: l.burst <= l.keyBurst ? 'tenant' : 'key',
                http: { status: 400 },
              });
            }
            verdict = await opts.store.consume([
              { kind: 'rate', key: `t:${p.tenantId}`, capacity: l.burst, refillPerSecond: l.ratePerMinute / 60, cost: charge.tokens },
              { kind: 'rate', key: `k:${p.keyId}`, capacity: l.keyBurst, refillPerSecond: l.keyRatePerMinute / 60, cost: charge.tokens },
            ]);
          } catch (err) {
            if (err instanceof VerigateError) throw err;
            contextValue.log.error({ err, store: opts.store.kind }, 'limit store failed; request allowed');
            return;
          }
          if (verdict.allowed) return;
          const { retryAfterSeconds } = verdict;
          const http = { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) };
          contextValue.log.warn({ tenantId: p.tenantId, keyId: p.keyId, limit: verdict.key.split(':')[0], retryAfterSeconds }, 'request refused by a limit');
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
