/**
 * Per-tenant limits and retention, set by admins and stored in `tenant_limits` (migration 2).
 * A null field means "the server default" (the VERIGATE_* variables); `effectiveLimits` merges
 * the two. Input is checked here, once, and every bad value names its field.
 */
import { badInput } from '../errors';
import type { Config } from '../config';
import type { Db } from '../store/db';
import { isUuid } from '../store/repositories';

export const LIMIT_FIELDS = ['ratePerMinute', 'burst', 'keyRatePerMinute', 'keyBurst', 'checksPerDay', 'retentionDays'] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];
export type LimitOverrides = { [K in LimitField]: number | null };

/** Inclusive bounds of each override. */
export const LIMIT_RANGES: Record<LimitField, readonly [number, number]> = {
  ratePerMinute: [1, 100_000_000],
  burst: [1, 10_000_000],
  keyRatePerMinute: [1, 100_000_000],
  keyBurst: [1, 10_000_000],
  checksPerDay: [1, 1_000_000_000],
  retentionDays: [1, 36_500],
};

export interface StoredTenantLimits extends LimitOverrides {
  tenantId: string;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface EffectiveLimits {
  /** tokens per minute; a query costs 1 token per root field, a mutation VERIGATE_MUTATION_COST */
  ratePerMinute: number;
  burst: number;
  keyRatePerMinute: number;
  keyBurst: number;
  /** checks per UTC day; null = unlimited */
  checksPerDay: number | null;
  /** days a check is kept; null = forever */
  retentionDays: number | null;
}

export const NO_OVERRIDES: LimitOverrides = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, null])) as LimitOverrides;

export function validateOverrides(input: Partial<Record<LimitField, number | null | undefined>>): LimitOverrides {
  const out = { ...NO_OVERRIDES };
  for (const field of LIMIT_FIELDS) {
    const v = input[field];
    if (v === undefined || v === null) continue;
    const [min, max] = LIMIT_RANGES[field];
    if (!Number.isInteger(v) || v < min || v > max) throw badInput(`${field} must be an integer in ${min}..${max} (or null for the server default)`, field);
    out[field] = v;
  }
  return out;
}

export function serverDefaults(config: Config): EffectiveLimits {
  return {
    ratePerMinute: config.VERIGATE_TENANT_RATE_PER_MINUTE,
    burst: config.VERIGATE_TENANT_BURST,
    keyRatePerMinute: config.VERIGATE_KEY_RATE_PER_MINUTE,
    keyBurst: config.VERIGATE_KEY_BURST,
    checksPerDay: config.VERIGATE_TENANT_CHECKS_PER_DAY ?? null,
    retentionDays: config.VERIGATE_RETENTION_DAYS ?? null,
  };
}

export function effectiveLimits(defaults: EffectiveLimits, overrides: LimitOverrides | null): EffectiveLimits {
  if (!overrides) return defaults;
  const out = { ...defaults };
  for (const f of LIMIT_FIELDS) if (overrides[f] !== null) out[f] = overrides[f];
  return out;
}

type Row = Record<string, any>;
const COLUMNS: Record<LimitField, string> = {
  ratePerMinute: 'rate_per_minute',
  burst: 'burst',
  keyRatePerMinute: 'key_rate_per_minute',
  keyBurst: 'key_burst',
  checksPerDay: 'checks_per_day',
  retentionDays: 'retention_days',
};
const toStored = (r: Row): StoredTenantLimits => ({
  tenantId: r.tenant_id,
  ...(Object.fromEntries(LIMIT_FIELDS.map((f) => [f, r[COLUMNS[f]] === null ? null : Number(r[COLUMNS[f]])])) as LimitOverrides),
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export class TenantLimitsRepo {
  constructor(private readonly db: Db) {}

  /** The stored overrides (all null when the tenant never had any). */
  async get(tenantId: string): Promise<StoredTenantLimits | null> {
    if (!isUuid(tenantId)) return null;
    const rows = await this.db.query('SELECT * FROM tenant_limits WHERE tenant_id = $1', [tenantId]);
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Replaces the tenant's overrides (fields left out go back to the server default). */
  async put(tenantId: string, overrides: LimitOverrides, actor: string): Promise<StoredTenantLimits> {
    const cols = LIMIT_FIELDS.map((f) => COLUMNS[f]);
    const rows = await this.db.query(
      `INSERT INTO tenant_limits (tenant_id, ${cols.join(', ')}, updated_at, updated_by)
       VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')}, $${cols.length + 2}, $${cols.length + 3})
       ON CONFLICT (tenant_id) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')},
         updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
       RETURNING *`,
      [tenantId, ...LIMIT_FIELDS.map((f) => overrides[f]), new Date(), actor],
    );
    return toStored(rows[0]);
  }

  /** Each tenant's retention in days, where it has one (its own, else `defaultDays`). */
  async retention(defaultDays: number | null): Promise<Array<{ tenantId: string; days: number }>> {
    const rows = await this.db.query<{ id: string; days: number | null }>(
      `SELECT t.id, COALESCE(l.retention_days, $1::int) AS days
         FROM tenants t LEFT JOIN tenant_limits l ON l.tenant_id = t.id`,
      [defaultDays],
    );
    return rows.filter((r) => r.days !== null).map((r) => ({ tenantId: r.id, days: Number(r.days) }));
  }
}
