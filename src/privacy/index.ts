/**
 * Privacy: how long checks are kept, and erasing one person on request.
 *
 * - `purgeExpired` deletes each tenant's checks (and their attempts) older than its retention
 *   (tenant_limits.retention_days, else VERIGATE_RETENTION_DAYS; neither = kept), in batches,
 *   never a PENDING check. `RetentionJob` runs it every VERIGATE_PURGE_INTERVAL_MS from the app;
 *   the CLI or an admin (`purgeExpiredChecks`) can run it once.
 * - `eraseSubject` deletes every check and attempt of one `referenceId` of one tenant.
 * Both write the audit log. The log keeps the SHA-256 of an erased referenceId, not the id itself.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../observability/logger';
import type { Db, Queryable } from '../store/db';
import type { AuditRepo } from '../store/repositories';
import { TenantLimitsRepo } from '../limits/settings';

export interface Deleted {
  checks: number;
  attempts: number;
}

export interface PurgeResult extends Deleted {
  /** tenants that lost at least one check */
  tenants: number;
}

const DAY_MS = 86_400_000;

/** Deletes these checks' attempts and webhook deliveries (they carry the result), then the checks; counts checks and attempts. */
async function deleteChecks(tx: Queryable, where: string, params: unknown[]): Promise<Deleted> {
  const ids = (await tx.query<{ id: string }>(`SELECT id FROM checks WHERE ${where} FOR UPDATE SKIP LOCKED`, params)).map((r) => r.id);
  if (ids.length === 0) return { checks: 0, attempts: 0 };
  await tx.query('DELETE FROM webhook_deliveries WHERE check_id = ANY($1::uuid[])', [ids]);
  const [a] = await tx.query<{ n: number }>(
    'WITH d AS (DELETE FROM attempts WHERE check_id = ANY($1::uuid[]) RETURNING 1) SELECT count(*)::int AS n FROM d',
    [ids],
  );
  const [c] = await tx.query<{ n: number }>('WITH d AS (DELETE FROM checks WHERE id = ANY($1::uuid[]) RETURNING 1) SELECT count(*)::int AS n FROM d', [
    ids,
  ]);
  return { checks: c.n, attempts: a.n };
}

export async function purgeExpired(
  db: Db,
  audit: AuditRepo,
  opts: { defaultDays: number | null; now?: Date; batch?: number; actor?: string },
): Promise<PurgeResult> {
  const now = (opts.now ?? new Date()).getTime();
  const batch = opts.batch ?? 1000;
  const total: PurgeResult = { checks: 0, attempts: 0, tenants: 0 };
  for (const { tenantId, days } of await new TenantLimitsRepo(db).retention(opts.defaultDays)) {
    const olderThan = new Date(now - days * DAY_MS);
    const mine: Deleted = { checks: 0, attempts: 0 };
    for (;;) {
      const d = await db.transaction((tx) =>
        deleteChecks(tx, `tenant_id = $1 AND created_at < $2 AND status <> 'PENDING' ORDER BY created_at LIMIT $3`, [tenantId, olderThan, batch]),
      );
      mine.checks += d.checks;
      mine.attempts += d.attempts;
      if (d.checks < batch) break;
    }
    if (mine.checks === 0) continue;
    await audit.record(opts.actor ?? 'system:retention', 'retention.purge', tenantId, tenantId, { ...mine, retentionDays: days, olderThan: olderThan.toISOString() });
    total.checks += mine.checks;
    total.attempts += mine.attempts;
    total.tenants++;
  }
  return total;
}

export const referenceDigest = (referenceId: string) => createHash('sha256').update(referenceId).digest('hex');

/** Deletes one subject's checks and attempts (all of them, in one transaction) and audits it. */
export async function eraseSubject(db: Db, audit: AuditRepo, actor: string, tenantId: string, referenceId: string): Promise<Deleted> {
  const deleted = await db.transaction(async (tx) => {
    const total: Deleted = { checks: 0, attempts: 0 };
    // SKIP LOCKED would miss a row another transaction holds; wait for it instead
    const ids = (await tx.query<{ id: string }>('SELECT id FROM checks WHERE tenant_id = $1 AND reference_id = $2 FOR UPDATE', [tenantId, referenceId])).map(
      (r) => r.id,
    );
    if (ids.length) {
      const d = await deleteChecks(tx, 'id = ANY($1::uuid[])', [ids]);
      total.checks = d.checks;
      total.attempts = d.attempts;
    }
    return total;
  });
  await audit.record(actor, 'subject.erase', tenantId, `reference-sha256:${referenceDigest(referenceId)}`, { ...deleted });
  return deleted;
}

/** The purge on a timer: started by the app, stopped on close; runs never overlap. */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly run: () => Promise<PurgeResult>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One run now (or the one already under way). */
  tick(): Promise<unknown> {
    this.running ??= this.run()
      .then((r) => {
        if (r.checks) this.log.info({ ...r }, 'retention purge');
        return r;
      })
      .catch((err) => this.log.error({ err }, 'retention purge failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
