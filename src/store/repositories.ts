/**
 * Repositories. Tenant isolation lives here: every read and write of checks and attempts takes a
 * `Scope`, and a tenant scope always adds `tenant_id = …` — resolvers cannot forget it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ProviderName } from '../../providers/types';
import type {
  AttemptRecord,
  CheckKind,
  CheckRecord,
  CheckStatus,
  FaceMatchResult,
  ImageDigests,
  LivenessSessionRecord,
  Scope,
  StoredEvidence,
} from '../verification/types';
import { PolicySchema, type Policy, type StoredPolicy } from '../verification/policy';
import type { Db, Queryable } from './db';
import { WebhookRepo } from './webhooks';

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

export interface ApiKey {
  id: string;
  tenantId: string | null;
  role: 'tenant' | 'admin';
  prefix: string;
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

type Row = Record<string, any>;

const toTenant = (r: Row): Tenant => ({ id: r.id, name: r.name, createdAt: r.created_at });
const toKey = (r: Row): ApiKey => ({
  id: r.id,
  tenantId: r.tenant_id,
  role: r.role,
  prefix: r.prefix,
  label: r.label,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});
export const toCheck = (r: Row): CheckRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  referenceId: r.reference_id,
  idempotencyKey: r.idempotency_key,
  kind: r.kind,
  status: r.status,
  reasons: r.reasons ?? [],
  provider: r.provider,
  faceMatch: r.face_match && withLegacyFields(r.face_match, r.provider),
  liveness: r.liveness && { provider: r.provider, ...r.liveness },
  document: r.document ?? null,
  imageDigests: r.image_digests ?? {},
  livenessSessionId: r.liveness_session_id ?? null,
  createdAt: r.created_at,
  deadlineAt: r.deadline_at ?? null,
  completedAt: r.completed_at,
  review: r.reviewed_at ? { decision: r.review_decision, note: r.review_note, reviewerKeyId: r.reviewer_key_id, at: r.reviewed_at } : null,
});

/**
 * A face match stored before results named their provider and table: the check's provider gave
 * it, and only the local engine's tables were measured then (operator tables were not loaded).
 */
function withLegacyFields(m: Partial<FaceMatchResult>, provider: ProviderName): FaceMatchResult {
  return { provider, fmrSource: provider === 'local' ? 'MEASURED' : 'DEFAULT', calibrationTable: null, ...m } as FaceMatchResult;
}
const toAttempt = (r: Row): AttemptRecord => ({
  id: r.id,
  checkId: r.check_id,
  tenantId: r.tenant_id,
  seq: r.seq,
  provider: r.provider,
  role: r.role,
  answers: r.answers ?? [],
  outcome: r.outcome,
  latencyMs: r.latency_ms,
  errorCode: r.error_code,
  decision: r.decision,
  decisions: r.decisions ?? null,
  unifiedScore: r.unified_score,
  raw: r.raw ?? {},
  createdAt: r.created_at,
});

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export class TenantRepo {
  constructor(private readonly db: Db) {}

  async create(name: string): Promise<Tenant> {
    const rows = await this.db.query(
      'INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
      [randomUUID(), name, new Date()],
    );
    if (!rows[0]) throw new TenantNameTaken(name);
    return toTenant(rows[0]);
  }

  async byIds(ids: readonly string[]): Promise<Tenant[]> {
    const rows = await this.db.query('SELECT * FROM tenants WHERE id = ANY($1::uuid[])', [ids]);
    return rows.map(toTenant);
  }

  async get(id: string): Promise<Tenant | null> {
    if (!isUuid(id)) return null;
    return (await this.byIds([id]))[0] ?? null;
  }

  async list(): Promise<Tenant[]> {
    return (await this.db.query('SELECT * FROM tenants ORDER BY created_at, id')).map(toTenant);
  }
}

export class TenantNameTaken extends Error {
  constructor(readonly tenantName: string) {
    super(`a tenant named '${tenantName}' exists already`);
  }
}

export class ApiKeyRepo {
  constructor(private readonly db: Db) {}

  /** Creates a key; the secret is returned once and only its SHA-256 is stored. */
  async create(role: 'tenant' | 'admin', tenantId: string | null, label: string | null = null, secret?: string) {
    const key = secret ?? `vg_${role === 'admin' ? 'adm' : 'tnt'}_${randomBytes(24).toString('base64url')}`;
    const rows = await this.db.query(
      `INSERT INTO api_keys (id, tenant_id, role, key_hash, prefix, label, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [randomUUID(), tenantId, role, hashKey(key), key.slice(0, 10), label, new Date()],
    );
    return { apiKey: toKey(rows[0]), secret: key };
  }

  /** Ensures a known secret exists as an admin key (bootstrap); no-op if present. */
  async ensureAdmin(secret: string): Promise<void> {
    await this.db.query(
      `INSERT INTO api_keys (id, tenant_id, role, key_hash, prefix, label, created_at)
       VALUES ($1, NULL, 'admin', $2, $3, 'bootstrap', $4) ON CONFLICT (key_hash) DO NOTHING`,
      [randomUUID(), hashKey(secret), secret.slice(0, 10), new Date()],
    );
  }

  async findActive(secret: string): Promise<ApiKey | null> {
    const rows = await this.db.query('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hashKey(secret)]);
    return rows[0] ? toKey(rows[0]) : null;
  }

  async revoke(id: string): Promise<ApiKey | null> {
    if (!isUuid(id)) return null;
    const rows = await this.db.query(
      'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
      [id, new Date()],
    );
    return rows[0] ? toKey(rows[0]) : null;
  }

  /** A tenant's keys (revoked ones too), newest first; admin keys with no tenant. */
  async list(tenantId: string | null): Promise<ApiKey[]> {
    if (tenantId !== null && !isUuid(tenantId)) return [];
    const rows =
      tenantId === null
        ? await this.db.query('SELECT * FROM api_keys WHERE tenant_id IS NULL ORDER BY created_at DESC, id')
        : await this.db.query('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id', [tenantId]);
    return rows.map(toKey);
  }

  /** How many admin keys can be used (start-up warns when none: nobody could create tenants or keys). */
  async activeAdmins(): Promise<number> {
    const rows = await this.db.query<{ n: number }>("SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL");
    return rows[0].n;
  }
}

export interface CheckFilter {
  status?: CheckStatus;
  provider?: ProviderName;
  referenceId?: string;
  tenantId?: string;
  from?: Date;
  to?: Date;
}

export interface NewCheck {
  tenantId: string;
  kind: CheckKind;
  referenceId?: string | null;
  idempotencyKey?: string | null;
  imageDigests: ImageDigests;
  /** claimed by the new check in the same transaction (single use) */
  livenessSessionId?: string | null;
  /** the check's deadline when its tenant's policy sets none */
  defaultDeadlineMs?: number;
  /** the tenant's checks per UTC day: charged in the transaction that stores the check, never for a repeat */
  checksPerDay?: number | null;
  /** the process running the check (the sweeper tells a dead owner's checks from late ones); null: not yet taken */
  owner?: string | null;
  /** handed to the shared queue: a worker that dies leaves it to the queue to run again, not to the sweeper */
  queued?: boolean;
}

/** The tenant's daily quota is used up: nothing was stored. */
export class QuotaExhausted extends Error {
  constructor(
    readonly limit: number,
    /** whole seconds until the next UTC day */
    readonly retryAfterSeconds: number,
  ) {
    super(`daily quota of ${limit} checks used up`);
  }
}

/** Rolls a transaction back when the insert found the idempotency key taken (a repeat: nothing charged). */
const REPEAT = Symbol('repeat');

/** Why a liveness session cannot be used: unknown to this tenant, used by another check, or expired. */
export class LivenessSessionRefused extends Error {
  constructor(
    readonly why: 'unknown' | 'used' | 'expired',
    readonly session: LivenessSessionRecord | null,
  ) {
    super(`liveness session ${why}`);
  }
}

export type NewAttempt = Omit<AttemptRecord, 'id' | 'checkId' | 'tenantId' | 'createdAt' | 'seq'>;

export type CheckCompletion = Pick<CheckRecord, 'status' | 'reasons' | 'provider' | 'faceMatch' | 'liveness' | 'document'> & {
  /** what the decision was made from (replayPolicy); null when no provider answered */
  evidence?: StoredEvidence | null;
};

/**
 * The webhook outbox, as a CTE of the statement that ends a check: one delivery per endpoint of the
 * check's tenant that takes the event (check.completed, or check.failed for ERROR; `type` names
 * another), written in the same transaction as the result, so no event is lost. The payload is the
 * unified result (never raw provider numbers, never images); the event id is derived from the check
 * and the event type, so a delivery tried again, or redelivered, carries the same id (receivers
 * deduplicate on it).
 */
export function outbox(done: string, at: string, type = `CASE WHEN d.status = 'ERROR' THEN 'check.failed' ELSE 'check.completed' END`): string {
  const eventId = `md5(d.id::text || ':' || ${type})::uuid`;
  return `outbox AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, check_id, event_id, event_type, payload, next_attempt_at, created_at)
    SELECT gen_random_uuid(), e.id, d.tenant_id, d.id, ${eventId}, ${type},
      jsonb_build_object('id', ${eventId}, 'type', ${type}, 'createdAt', ${at}::timestamptz, 'data', jsonb_build_object('check', jsonb_build_object(
        'id', d.id, 'tenantId', d.tenant_id, 'referenceId', d.reference_id, 'kind', d.kind, 'status', d.status, 'reasons', to_jsonb(d.reasons),
        'provider', d.provider, 'faceMatch', d.face_match, 'liveness', d.liveness, 'createdAt', d.created_at, 'completedAt', d.completed_at)
        || CASE WHEN d.review_decision IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(
          'review', jsonb_build_object('decision', d.review_decision, 'reviewedAt', d.reviewed_at),
          'finalStatus', CASE d.review_decision WHEN 'ACCEPT' THEN 'ACCEPTED' ELSE 'REJECTED' END) END)),
      ${at}, ${at}
    FROM ${done} d JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.deleted_at IS NULL AND (${type}) = ANY(e.events)
    RETURNING 1
  )`;
}

/**
 * A column for the statement that holds `outbox(…)`: NOTIFYs WEBHOOK_DUE_CHANNEL (once, at commit)
 * when the outbox wrote a delivery. The webhook deliverers listen there, not to every completion:
 * a check whose tenant has no endpoint costs them no statement.
 */
export const WEBHOOKS_DUE = `(SELECT count(pg_notify('verigate_webhook_due', '')) FROM (SELECT 1 FROM outbox LIMIT 1) o) AS webhooks_due`;
/** NOTIFY channel on which deliveries written to the webhook outbox are announced (WEBHOOKS_DUE). */
export const WEBHOOK_DUE_CHANNEL = 'verigate_webhook_due';

/** The `check.reviewed` event of a check just reviewed, written in the review's transaction (src/store/review.ts). */
export async function outboxReviewed(tx: Queryable, checkId: string, at: Date): Promise<void> {
  // the NOTIFYs (sent at commit) wake what waits on the check, and the webhook deliverers if a delivery was written
  await tx.query(`WITH d AS (SELECT * FROM checks WHERE id = $1), ${outbox('d', '$2', "'check.reviewed'")} SELECT pg_notify('${CHECK_DONE_CHANNEL}', $1::text), ${WEBHOOKS_DUE}`, [checkId, at]);
}

/** NOTIFY channel on which a completed check's id is announced (idempotent repeats wait on it). */
export const CHECK_DONE_CHANNEL = 'verigate_check_done';

/** A position in the newest-first order of checks: opaque to clients. */
interface Cursor {
  createdAt: Date;
  id: string;
}
export const encodeCursor = (c: CheckRecord) => Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
export function decodeCursor(s: string): Cursor | null {
  const [at, id] = Buffer.from(s, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  const year = createdAt.getUTCFullYear();
  return isUuid(id ?? '') && !Number.isNaN(createdAt.getTime()) && year >= 1900 && year <= 9999 ? { createdAt, id } : null;
}

/** A check's deadline when neither its policy nor the caller sets one. */
const DEFAULT_DEADLINE_MS = 20_000;

/** How long an idempotencyKey returns the stored result instead of starting a new check. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export class CheckRepo {
  constructor(private readonly db: Db) {}

  /**
   * Writes the check PENDING before any provider is called. With an idempotency key, a second
   * insert for the same tenant and key returns the existing check instead (`created: false`).
   * A created check comes with its tenant's current stored policy (null: none stored), read by
   * the same statement — the orchestrator needs it next, and on PGlite every statement is CPU on
   * the event loop.
   */
  async createPending(c: NewCheck): Promise<{ check: CheckRecord; created: boolean; policy?: StoredPolicy | null }> {
    const now = new Date();
    if (c.idempotencyKey) {
      // a key is remembered for IDEMPOTENCY_WINDOW_MS; after that it starts a new check
      await this.db.query(
        'UPDATE checks SET idempotency_key = NULL WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at < $3',
        [c.tenantId, c.idempotencyKey, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS)],
      );
    }
    for (;;) {
      const made =
        c.livenessSessionId || c.checksPerDay
          ? await this.db
              .transaction(async (tx) => {
                const inserted = await this.insertPending(tx, c, now);
                if (!inserted) throw REPEAT;
                if (c.checksPerDay) await chargeQuota(tx, c.tenantId, c.checksPerDay, now);
                if (c.livenessSessionId) await claimSession(tx, c.tenantId, c.livenessSessionId, inserted.check.id, now);
                return inserted;
              })
              .catch((e: unknown) => (e === REPEAT ? null : Promise.reject(e)))
          : await this.insertPending(this.db, c, now);
      if (made) return made;
      const existing = await this.db.query('SELECT * FROM checks WHERE tenant_id = $1 AND idempotency_key = $2', [
        c.tenantId,
        c.idempotencyKey,
      ]);
      // (gone between the two statements — erased or purged: insert again)
      if (existing[0]) return { check: toCheck(existing[0]), created: false };
    }
  }

  /** The tenant's checks of this UTC day, as charged (a refused request charges nothing). */
  async quotaUsed(tenantId: string, at = new Date()): Promise<number> {
    const rows = await this.db.query<{ used: number }>('SELECT used FROM quota_usage WHERE tenant_id = $1 AND day = $2::date', [tenantId, utcDay(at)]);
    return rows[0]?.used ?? 0;
  }

  /**
   * The PENDING row, its deadline from the tenant's policy, and that policy, in one statement;
   * null when the idempotency key is taken.
   */
  private async insertPending(q: Queryable, c: NewCheck, now: Date) {
    const rows = await q.query(
      `WITH p AS (SELECT * FROM policies WHERE tenant_id = $2 ORDER BY version DESC LIMIT 1),
       created AS (
         INSERT INTO checks (id, tenant_id, reference_id, idempotency_key, kind, status, image_digests, liveness_session_id, created_at, deadline_at, owner, queued)
         SELECT $1, $2, $3, $4, $5, 'PENDING', $6, $7, $8,
                $8::timestamptz + COALESCE((SELECT (policy->>'deadlineMs')::int FROM p), $9::int) * interval '1 millisecond', $10, $11
         ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *
       )
       SELECT created.*, p.version AS policy_version, p.policy AS policy_document, p.author AS policy_author, p.created_at AS policy_created_at
       FROM created LEFT JOIN p ON true`,
      [
        randomUUID(),
        c.tenantId,
        c.referenceId ?? null,
        c.idempotencyKey ?? null,
        c.kind,
        JSON.stringify(c.imageDigests),
        c.livenessSessionId ?? null,
        now,
        c.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS,
        c.owner ?? null,
        c.queued ?? false,
      ],
    );
    const r = rows[0];
    if (!r) return null;
    const policy = r.policy_version === null ? null : toPolicy({ tenant_id: r.tenant_id, version: r.policy_version, policy: r.policy_document, author: r.policy_author, created_at: r.policy_created_at });
    return { check: toCheck(r), created: true as const, policy };
  }

  /**
   * Attempts, the final result and the evidence it was decided from in one transaction — one
   * statement: the UPDATE of the PENDING row and the INSERT of its attempts are data-modifying CTEs
   * of the same statement, which commits or fails as a whole; the attempts join on the updated row,
   * so a check that is no longer PENDING gets none. The check's id is announced on
   * CHECK_DONE_CHANNEL when it commits. (One round trip instead of BEGIN/UPDATE/INSERT/COMMIT: on
   * PGlite every statement is CPU on the event loop.)
   */
  /** null when the check is no longer PENDING (swept past its deadline, or erased). */
  async complete(check: CheckRecord, result: CheckCompletion, attempts: readonly NewAttempt[]): Promise<CheckRecord | null> {
    const now = new Date();
    const rows = await this.db.query(
      `WITH done AS (
         UPDATE checks SET status = $3, reasons = $4, provider = $5, face_match = $6, liveness = $7, completed_at = $8, evidence = $10, document = $11
         WHERE id = $1 AND tenant_id = $2 AND status = 'PENDING' RETURNING *
       ), attempts_in AS (
         INSERT INTO attempts (${ATTEMPT_COLUMNS})
         SELECT a.id, done.id, done.tenant_id, a.seq, ${ATTEMPT_FIELDS}, $8 FROM done, ${ATTEMPT_RECORDSET('$9')}
       ), released AS (
         -- a check that ended without a verdict gives its liveness session back (single use means one verdict)
         UPDATE liveness_sessions SET check_id = NULL, used_at = NULL FROM done
         WHERE liveness_sessions.check_id = done.id AND done.status = 'ERROR'
       ), ${outbox('done', '$8')}
       SELECT done.*, pg_notify('${CHECK_DONE_CHANNEL}', done.id::text) AS notified, ${WEBHOOKS_DUE} FROM done`,
      [
        check.id,
        check.tenantId,
        result.status,
        result.reasons,
        result.provider,
        result.faceMatch ? JSON.stringify(result.faceMatch) : null,
        result.liveness ? JSON.stringify(result.liveness) : null,
        now,
        attemptsJson(attempts, 1),
        result.evidence ? JSON.stringify(result.evidence) : null,
        result.document ? JSON.stringify(result.document) : null,
      ],
    );
    return rows[0] ? toCheck(rows[0]) : null;
  }

  /**
   * The check once it is no longer PENDING, or as it is at `until` (epoch ms): woken by the NOTIFY
   * of its completion, from this process or another on the same database — never polled.
   */
  async awaitCompletion(scope: Scope, id: string, until: number): Promise<CheckRecord | null> {
    let wake!: () => void;
    const woken = new Promise<void>((r) => (wake = r));
    const stop = await this.db.listen(CHECK_DONE_CHANNEL, (payload) => payload === id && wake());
    let timer: NodeJS.Timeout | undefined;
    try {
      // read after listening: a completion between the two cannot be missed
      const now = await this.get(scope, id);
      if (!now || now.status !== 'PENDING') return now;
      await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
      return await this.get(scope, id);
    } finally {
      clearTimeout(timer);
      await stop();
    }
  }

  /** Attempts that come after the check completed (shadow calls), numbered after the existing ones. */
  async addAttempts(check: CheckRecord, attempts: readonly NewAttempt[]): Promise<void> {
    if (attempts.length === 0) return;
    await this.db.transaction(async (tx) => {
      const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts WHERE check_id = $1', [check.id]);
      await tx.query(
        `INSERT INTO attempts (${ATTEMPT_COLUMNS})
         SELECT a.id, $1, $2, a.seq, ${ATTEMPT_FIELDS}, $3 FROM ${ATTEMPT_RECORDSET('$4')}`,
        [check.id, check.tenantId, new Date(), attemptsJson(attempts, n + 1)],
      );
    });
  }

  async get(scope: Scope, id: string): Promise<CheckRecord | null> {
    if (!isUuid(id)) return null;
    const rows =
      scope.role === 'admin'
        ? await this.db.query('SELECT * FROM checks WHERE id = $1', [id])
        : await this.db.query('SELECT * FROM checks WHERE id = $1 AND tenant_id = $2', [id, scope.tenantId]);
    return rows[0] ? toCheck(rows[0]) : null;
  }

  /** Newest first; `first + 1` rows are read to know whether another page follows. */
  async list(
    scope: Scope,
    filter: CheckFilter,
    first: number,
    after?: string,
  ): Promise<{ checks: CheckRecord[]; hasNextPage: boolean }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (scope.role === 'tenant') add('tenant_id = ?', scope.tenantId);
    if (filter.tenantId !== undefined) {
      if (!isUuid(filter.tenantId)) return { checks: [], hasNextPage: false };
      add('tenant_id = ?', filter.tenantId);
    }
    if (filter.status) add('status = ?', filter.status);
    if (filter.provider) add('provider = ?', filter.provider);
    if (filter.referenceId !== undefined) add('reference_id = ?', filter.referenceId);
    if (filter.from) add('created_at >= ?', filter.from);
    if (filter.to) add('created_at < ?', filter.to);
    if (after !== undefined) {
      const cursor = decodeCursor(after);
      if (!cursor) throw new BadCursor();
      params.push(cursor.createdAt, cursor.id);
      where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(first + 1);
    const rows = await this.db.query(
      `SELECT * FROM checks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return { checks: rows.slice(0, first).map(toCheck), hasNextPage: rows.length > first };
  }

  /** Attempts of many checks in one query (DataLoader batch), filtered by scope. */
  async attemptsFor(scope: Scope, checkIds: readonly string[]): Promise<AttemptRecord[]> {
    const rows =
      scope.role === 'admin'
        ? await this.db.query('SELECT * FROM attempts WHERE check_id = ANY($1::uuid[]) ORDER BY check_id, seq', [checkIds])
        : await this.db.query(
            'SELECT * FROM attempts WHERE check_id = ANY($1::uuid[]) AND tenant_id = $2 ORDER BY check_id, seq',
            [checkIds, scope.tenantId],
          );
    return rows.map(toAttempt);
  }

  /** OK attempts with a decision, for comparing providers on the same checks (shadow, consensus). */
  async comparableAttempts(tenantId: string, from: Date, to: Date) {
    const rows = await this.db.query(
      `SELECT check_id, provider, decision, decisions, unified_score FROM attempts
       WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND outcome = 'OK' AND decision IS NOT NULL`,
      [tenantId, from, to],
    );
    return rows.map((r: Row) => ({
      checkId: r.check_id as string,
      provider: r.provider as ProviderName,
      // attempts stored before per-check decisions: a match score says the decision was the match's
      decisions: (r.decisions ?? { [r.unified_score !== null ? 'match' : 'liveness']: r.decision }) as Partial<Record<'match' | 'liveness', string>>,
      unifiedScore: r.unified_score as number | null,
    }));
  }

  /**
   * Ends the checks still PENDING that no process will finish: those `graceMs` past their own
   * deadline (ERROR/TIMEOUT when their owner process still lives, ERROR/INTERRUPTED when it does not),
   * and those whose owner process has not been seen since `aliveSince` (it died: ERROR/INTERRUPTED
   * at once, the client has lost its answer anyway). Their liveness sessions are given back and their
   * ids NOTIFYed (idempotent repeats wake with the final state). One replica at a time (a
   * transaction-scoped advisory lock; another replica's sweep returns []). A live replica's check is
   * never ended before its deadline.
   */
  async sweep(graceMs: number, aliveSince: Date, now = new Date()): Promise<Array<{ id: string; reason: 'TIMEOUT' | 'INTERRUPTED' }>> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(7242002) AS locked');
      if (!locked) return [];
      const rows = await tx.query<{ id: string; reason: 'TIMEOUT' | 'INTERRUPTED' }>(
        `WITH alive AS (SELECT id FROM processes WHERE seen_at >= $3),
         swept AS (
           UPDATE checks SET status = 'ERROR', completed_at = $1,
             reasons = ARRAY[CASE WHEN owner IN (SELECT id FROM alive) THEN 'TIMEOUT' ELSE 'INTERRUPTED' END]
           WHERE status = 'PENDING' AND (
             COALESCE(deadline_at, created_at + $4 * interval '1 millisecond') + $2 * interval '1 millisecond' < $1
             OR (owner IS NOT NULL AND NOT queued AND owner NOT IN (SELECT id FROM alive)))
           RETURNING id, reasons[1] AS reason
         ), released AS (
           UPDATE liveness_sessions SET check_id = NULL, used_at = NULL FROM swept WHERE liveness_sessions.check_id = swept.id
         ), ended AS (
           SELECT * FROM checks WHERE id IN (SELECT id FROM swept)
         ), ${outbox('(SELECT c.id, c.tenant_id, c.reference_id, c.kind, \'ERROR\'::text AS status, ARRAY[s.reason] AS reasons, c.provider, c.face_match, c.liveness, c.created_at, $1::timestamptz AS completed_at, c.review_decision, c.reviewed_at FROM ended c JOIN swept s ON s.id = c.id)', '$1')}
         SELECT id, reason, pg_notify('${CHECK_DONE_CHANNEL}', id::text) AS notified, ${WEBHOOKS_DUE} FROM swept`,
        [now, graceMs, aliveSince, DEFAULT_DEADLINE_MS],
      );
      return rows.map((r) => ({ id: r.id, reason: r.reason }));
    });
  }

  /** These checks, whoever's (the sweeper announces those it ended). */
  async byIds(ids: readonly string[]): Promise<CheckRecord[]> {
    return ids.length ? (await this.db.query('SELECT * FROM checks WHERE id = ANY($1::uuid[])', [ids])).map(toCheck) : [];
  }

  /** A PENDING check taken by process `owner` to run it; null when it is no longer PENDING. */
  async claim(id: string, owner: string): Promise<CheckRecord | null> {
    const rows = await this.db.query("UPDATE checks SET owner = $2 WHERE id = $1 AND status = 'PENDING' RETURNING *", [id, owner]);
    return rows[0] ? toCheck(rows[0]) : null;
  }

  /** The tenant's checks waiting in the shared queue (a new job's turn among the tenant's). */
  async queuedBacklog(tenantId: string): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number }>("SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1 AND status = 'PENDING' AND queued AND owner IS NULL", [tenantId]);
    return n;
  }

  /** This process is alive (the sweeper's test of a check's owner). */
  async heartbeat(processId: string, startedAt: Date, now = new Date()): Promise<void> {
    await this.db.query(
      'INSERT INTO processes (id, started_at, seen_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET seen_at = $3',
      [processId, startedAt, now],
    );
  }

  /** Forget processes not seen for a day (their checks were swept long ago). */
  async forgetProcesses(before: Date): Promise<void> {
    await this.db.query('DELETE FROM processes WHERE seen_at < $1', [before]);
  }
}

export class BadCursor extends Error {
  constructor() {
    super('invalid cursor');
  }
}

/**
 * Attempts go to the database as one JSON array (one parameter, whatever their number), unpacked
 * by jsonb_to_recordset. Numbered from `firstSeq`; ids are made here.
 */
const ATTEMPT_COLUMNS = 'id, check_id, tenant_id, seq, provider, role, answers, outcome, latency_ms, error_code, decision, decisions, unified_score, raw, created_at';
const ATTEMPT_FIELDS = 'a.provider, a.role, a.answers, a.outcome, a.latency_ms, a.error_code, a.decision, a.decisions, a.unified_score, a.raw';
const ATTEMPT_RECORDSET = (param: string) =>
  `jsonb_to_recordset(${param}::jsonb) AS a(id uuid, seq integer, provider text, role text, answers text[], outcome text, latency_ms integer,
     error_code text, decision text, decisions jsonb, unified_score double precision, raw jsonb)`;

function attemptsJson(attempts: readonly NewAttempt[], firstSeq: number): string {
  return JSON.stringify(
    attempts.map((a, i) => ({
      id: randomUUID(),
      seq: firstSeq + i,
      provider: a.provider,
      role: a.role,
      answers: a.answers ?? [],
      outcome: a.outcome,
      latency_ms: Math.round(a.latencyMs),
      error_code: a.errorCode,
      decision: a.decision,
      decisions: a.decisions,
      unified_score: a.unifiedScore,
      raw: a.raw ?? {},
    })),
  );
}

/** One audit entry, written through `q`: a transaction's, when the entry must commit with the change it records. */
export async function recordAudit(q: Queryable, actor: string, action: string, tenantId: string | null, target: string | null, detail: Record<string, unknown> = {}) {
  await q.query(
    'INSERT INTO audit_log (id, at, actor, action, tenant_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [randomUUID(), new Date(), actor, action, tenantId, target, JSON.stringify(detail)],
  );
}

export class AuditRepo {
  constructor(private readonly db: Db) {}

  async record(actor: string, action: string, tenantId: string | null, target: string | null, detail: Record<string, unknown> = {}) {
    await recordAudit(this.db, actor, action, tenantId, target, detail);
  }

  async list(limit = 100): Promise<Array<{ at: Date; actor: string; action: string; tenantId: string | null; target: string | null; detail: Record<string, unknown> }>> {
    const rows = await this.db.query('SELECT * FROM audit_log ORDER BY at DESC LIMIT $1', [limit]);
    return rows.map((r: Row) => ({ at: r.at, actor: r.actor, action: r.action, tenantId: r.tenant_id, target: r.target, detail: r.detail }));
  }
}

/** Versioned tenant policies: every change is a new version; rollback writes the old one again. */
export class PolicyRepo {
  constructor(private readonly db: Db) {}

  /** The newest version for each tenant that has one. */
  async current(tenantIds: readonly string[]): Promise<StoredPolicy[]> {
    const rows = await this.db.query(
      `SELECT DISTINCT ON (tenant_id) * FROM policies WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id, version DESC`,
      [tenantIds],
    );
    return rows.map(toPolicy);
  }

  async history(tenantId: string): Promise<StoredPolicy[]> {
    if (!isUuid(tenantId)) return [];
    return (await this.db.query('SELECT * FROM policies WHERE tenant_id = $1 ORDER BY version DESC', [tenantId])).map(toPolicy);
  }

  async get(tenantId: string, version: number): Promise<StoredPolicy | null> {
    if (!isUuid(tenantId)) return null;
    const rows = await this.db.query('SELECT * FROM policies WHERE tenant_id = $1 AND version = $2', [tenantId, version]);
    return rows[0] ? toPolicy(rows[0]) : null;
  }

  /** Appends the next version (the primary key makes a concurrent writer fail rather than overwrite). */
  async put(tenantId: string, policy: Policy, author: string): Promise<StoredPolicy> {
    const rows = await this.db.query(
      `INSERT INTO policies (tenant_id, version, policy, author, created_at)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM policies WHERE tenant_id = $1
       RETURNING *`,
      [tenantId, JSON.stringify(policy), author, new Date()],
    );
    return toPolicy(rows[0]);
  }
}

/** Stored policies are read through the schema, so a version stored before a field existed gets its default. */
const toPolicy = (r: Row): StoredPolicy => ({
  tenantId: r.tenant_id,
  version: r.version,
  policy: PolicySchema.parse(r.policy),
  author: r.author,
  createdAt: r.created_at,
});

const toSession = (r: Row): LivenessSessionRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  provider: r.provider,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  checkId: r.check_id,
  usedAt: r.used_at,
});

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** One more of the tenant's checks today, or QuotaExhausted (the caller's transaction rolls back). */
async function chargeQuota(tx: Queryable, tenantId: string, limit: number, now: Date): Promise<void> {
  const rows = await tx.query(
    `INSERT INTO quota_usage (tenant_id, day, used) VALUES ($1, $2::date, 1)
     ON CONFLICT (tenant_id, day) DO UPDATE SET used = quota_usage.used + 1 WHERE quota_usage.used < $3
     RETURNING used`,
    [tenantId, utcDay(now), limit],
  );
  if (rows[0]) return;
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  throw new QuotaExhausted(limit, Math.max(1, Math.ceil((midnight - now.getTime()) / 1000)));
}

/** Marks the tenant's session used by `checkId`, or throws why it cannot be (the caller's transaction rolls back). */
async function claimSession(tx: Queryable, tenantId: string, sessionId: string, checkId: string, now: Date): Promise<void> {
  const claimed = await tx.query(
    `UPDATE liveness_sessions SET check_id = $3, used_at = $4
     WHERE id = $1 AND tenant_id = $2 AND check_id IS NULL AND expires_at > $4 RETURNING id`,
    [sessionId, tenantId, checkId, now],
  );
  if (claimed[0]) return;
  const [row] = await tx.query('SELECT * FROM liveness_sessions WHERE id = $1 AND tenant_id = $2', [sessionId, tenantId]);
  const session = row ? toSession(row) : null;
  throw new LivenessSessionRefused(!session ? 'unknown' : session.checkId ? 'used' : 'expired', session);
}

/** Liveness sessions: created by a tenant, used once by that tenant's check, then kept as a record. */
export class LivenessSessionRepo {
  constructor(private readonly db: Db) {}

  async create(s: Omit<LivenessSessionRecord, 'checkId' | 'usedAt'>): Promise<LivenessSessionRecord> {
    const rows = await this.db.query(
      'INSERT INTO liveness_sessions (id, tenant_id, provider, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [s.id, s.tenantId, s.provider, s.createdAt, s.expiresAt],
    );
    return toSession(rows[0]);
  }

  /** A tenant sees its own sessions only; admins any. */
  async get(scope: Scope, id: string): Promise<LivenessSessionRecord | null> {
    const rows =
      scope.role === 'admin'
        ? await this.db.query('SELECT * FROM liveness_sessions WHERE id = $1', [id])
        : await this.db.query('SELECT * FROM liveness_sessions WHERE id = $1 AND tenant_id = $2', [id, scope.tenantId]);
    return rows[0] ? toSession(rows[0]) : null;
  }
}

export interface Store {
  db: Db;
  webhooks: WebhookRepo;
  tenants: TenantRepo;
  policies: PolicyRepo;
  keys: ApiKeyRepo;
  checks: CheckRepo;
  sessions: LivenessSessionRepo;
  audit: AuditRepo;
}

export const createStore = (db: Db): Store => ({
  db,
  webhooks: new WebhookRepo(db),
  tenants: new TenantRepo(db),
  policies: new PolicyRepo(db),
  keys: new ApiKeyRepo(db),
  checks: new CheckRepo(db),
  sessions: new LivenessSessionRepo(db),
  audit: new AuditRepo(db),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);
