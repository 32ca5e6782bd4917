/**
 * Usage metering: a tenant's checks per hour or day, by status and by provider, their latency, and
 * what the provider calls cost at the configured prices. Read from the checks and their attempts
 * (nothing is counted twice: a check is counted in the bucket it was created in, with all of its
 * calls, shadows and fallbacks included — each was a billed call). A tenant scope sees its own rows
 * only, as for checks.
 */
import { PROVIDER_NAMES, type ProviderName } from '../../providers/types';
import { CHECK_STATUSES, type CheckStatus, type Scope } from '../verification/types';
import type { Db } from './db';
import { isUuid } from './repositories';

export type BucketSize = 'HOUR' | 'DAY';
export type Prices = Partial<Record<ProviderName, number>>;

export interface ProviderUsage {
  provider: ProviderName;
  /** checks whose answer (the match, else liveness) this provider gave */
  checks: number;
  /** calls made to it for these checks: deciding, fallback, consensus and shadow */
  calls: number;
  /** calls that did not end OK */
  failedCalls: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** calls × the provider's price; null when it has none */
  estimatedCost: number | null;
}

export interface UsageRow {
  tenantId: string;
  /** the bucket's first instant (UTC); for a total, the range's `from` */
  start: Date;
  checks: number;
  byStatus: Array<{ status: CheckStatus; count: number }>;
  /** checks a person has reviewed */
  reviewed: number;
  /** created → completed of the decided checks */
  p50Ms: number | null;
  p95Ms: number | null;
  providers: ProviderUsage[];
  /** the providers' costs summed; null when a provider that was called has no price */
  estimatedCost: number | null;
}

export interface UsageQuery {
  tenantId?: string;
  from: Date;
  to: Date;
}

type Row = Record<string, any>;

const STATUS_COUNTS = CHECK_STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}')::int AS "${s}"`).join(', ');
/** a sum of prices without binary-fraction noise (0.1 + 0.2) */
const money = (x: number) => Math.round(x * 1e9) / 1e9;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class UsageRepo {
  constructor(private readonly db: Db) {}

  /** One row per tenant and bucket with checks (oldest first), or per tenant over the range when `bucket` is null. */
  async rows(scope: Scope, q: UsageQuery, bucket: BucketSize | null, prices: Prices): Promise<UsageRow[]> {
    const params: unknown[] = [q.from, q.to];
    const where = ['created_at >= $1', 'created_at < $2'];
    if (scope.role === 'tenant') where.push(`tenant_id = $${params.push(scope.tenantId)}`);
    if (q.tenantId !== undefined) {
      if (!isUuid(q.tenantId)) return [];
      where.push(`tenant_id = $${params.push(q.tenantId)}`);
    }
    const start = bucket ? `date_trunc('${bucket === 'HOUR' ? 'hour' : 'day'}', created_at, 'UTC')` : '$1::timestamptz';
    const scoped = `WITH c AS (SELECT *, ${start} AS bucket FROM checks WHERE ${where.join(' AND ')})`;
    const p = (f: number, col: string) => `percentile_cont(${f}) WITHIN GROUP (ORDER BY ${col})`;
    const checkMs = 'extract(epoch FROM completed_at - created_at) * 1000';
    const [checks, answered, calls] = await Promise.all([
      this.db.query<Row>(
        `${scoped} SELECT tenant_id, bucket, count(*)::int AS checks, ${STATUS_COUNTS}, count(reviewed_at)::int AS reviewed,
           ${p(0.5, checkMs)} AS p50, ${p(0.95, checkMs)} AS p95
         FROM c GROUP BY tenant_id, bucket ORDER BY bucket, tenant_id`,
        params,
      ),
      this.db.query<Row>(`${scoped} SELECT tenant_id, bucket, provider, count(*)::int AS n FROM c WHERE provider IS NOT NULL GROUP BY 1, 2, 3`, params),
      this.db.query<Row>(
        `${scoped} SELECT c.tenant_id, c.bucket, a.provider, count(*)::int AS calls, count(*) FILTER (WHERE a.outcome <> 'OK')::int AS failed,
           ${p(0.5, 'a.latency_ms')} AS p50, ${p(0.95, 'a.latency_ms')} AS p95
         FROM c JOIN attempts a ON a.check_id = c.id GROUP BY 1, 2, 3`,
        params,
      ),
    ]);
    const key = (r: Row) => `${r.tenant_id}|${new Date(r.bucket).toISOString()}`;
    const providers = new Map<string, Map<ProviderName, ProviderUsage>>();
    const usageOf = (r: Row) => {
      const m = providers.get(key(r)) ?? new Map<ProviderName, ProviderUsage>();
      providers.set(key(r), m);
      const name = r.provider as ProviderName;
      const u = m.get(name) ?? { provider: name, checks: 0, calls: 0, failedCalls: 0, p50Ms: null, p95Ms: null, estimatedCost: null };
      m.set(name, u);
      return u;
    };
    for (const r of answered) usageOf(r).checks = r.n;
    for (const r of calls) {
      const u = usageOf(r);
      const price = prices[u.provider] ?? (u.provider === 'local' ? 0 : undefined);
      Object.assign(u, { calls: r.calls, failedCalls: r.failed, p50Ms: num(r.p50), p95Ms: num(r.p95), estimatedCost: price === undefined ? null : money(r.calls * price) });
    }
    return checks.map((r: Row) => {
      const used = [...(providers.get(key(r))?.values() ?? [])].sort((a, b) => PROVIDER_NAMES.indexOf(a.provider) - PROVIDER_NAMES.indexOf(b.provider));
      const costs = used.filter((u) => u.calls > 0).map((u) => u.estimatedCost);
      return {
        tenantId: r.tenant_id,
        start: new Date(r.bucket),
        checks: r.checks,
        byStatus: CHECK_STATUSES.map((status) => ({ status, count: r[status] as number })).filter((s) => s.count > 0),
        reviewed: r.reviewed,
        p50Ms: num(r.p50),
        p95Ms: num(r.p95),
        providers: used,
        estimatedCost: costs.includes(null) ? null : money((costs as number[]).reduce((s, c) => s + c, 0)),
      };
    });
  }
}
