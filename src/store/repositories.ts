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
  ImageDigests,
  Scope,
} from '../verification/types';
import type { Policy, StoredPolicy } from '../verification/policy';
import type { Db } from './db';

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
const toCheck = (r: Row): CheckRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  referenceId: r.reference_id,
  idempotencyKey: r.idempotency_key,
  kind: r.kind,
  status: r.status,
  reasons: r.reasons ?? [],
  provider: r.provider,
  faceMatch: r.face_match,
  liveness: r.liveness,
  imageDigests: r.image_digests ?? {},
  createdAt: r.created_at,
  completedAt: r.completed_at,
});
const toAttempt = (r: Row): AttemptRecord => ({
  id: r.id,
  checkId: r.check_id,
  tenantId: r.tenant_id,
  seq: r.seq,
  provider: r.provider,
  role: r.role,
  outcome: r.outcome,
  latencyMs: r.latency_ms,
  errorCode: r.error_code,
  decision: r.decision,
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
}

export type NewAttempt = Omit<AttemptRecord, 'id' | 'checkId' | 'tenantId' | 'createdAt' | 'seq'>;

export type CheckCompletion = Pick<CheckRecord, 'status' | 'reasons' | 'provider' | 'faceMatch' | 'liveness'>;

/** A position in the newest-first order of checks: opaque to clients. */
interface Cursor {
  createdAt: Date;
  id: string;
}
export const encodeCursor = (c: CheckRecord) => Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
export function decodeCursor(s: string): Cursor | null {
  const [at, id] = Buffer.from(s, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  return isUuid(id ?? '') && !Number.isNaN(createdAt.getTime()) ? { createdAt, id } : null;
}

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
      const rows = await this.db.query(
        `WITH created AS (
           INSERT INTO checks (id, tenant_id, reference_id, idempotency_key, kind, status, image_digests, created_at)
           VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7)
           ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *
         )
         SELECT created.*, p.version AS policy_version, p.policy AS policy_document, p.author AS policy_author, p.created_at AS policy_created_at
         FROM created LEFT JOIN LATERAL (
           SELECT * FROM policies WHERE policies.tenant_id = created.tenant_id ORDER BY version DESC LIMIT 1
         ) p ON true`,
        [randomUUID(), c.tenantId, c.referenceId ?? null, c.idempotencyKey ?? null, c.kind, JSON.stringify(c.imageDigests), now],
      );
      if (rows[0]) {
        const r = rows[0];
        const policy = r.policy_version === null ? null : toPolicy({ tenant_id: r.tenant_id, version: r.policy_version, policy: r.policy_document, author: r.policy_author, created_at: r.policy_created_at });
        return { check: toCheck(r), created: true, policy };
      }
      const existing = await this.db.query('SELECT * FROM checks WHERE tenant_id = $1 AND idempotency_key = $2', [
        c.tenantId,
        c.idempotencyKey,
      ]);
      // (gone between the two statements — erased or purged: insert again)
      if (existing[0]) return { check: toCheck(existing[0]), created: false };
    }
  }

  /**
   * Attempts and the final result in one transaction — one statement: the UPDATE of the PENDING row
   * and the INSERT of its attempts are data-modifying CTEs of the same statement, which commits or
   * fails as a whole; the attempts join on the updated row, so a check that is no longer PENDING
   * gets none. (One round trip instead of BEGIN/UPDATE/INSERT/COMMIT: on PGlite every statement is
   * CPU on the event loop.)
   */
  async complete(check: CheckRecord, result: CheckCompletion, attempts: readonly NewAttempt[]): Promise<CheckRecord> {
    const now = new Date();
    const rows = await this.db.query(
      `WITH done AS (
         UPDATE checks SET status = $3, reasons = $4, provider = $5, face_match = $6, liveness = $7, completed_at = $8
         WHERE id = $1 AND tenant_id = $2 AND status = 'PENDING' RETURNING *
       ), attempts_in AS (
         INSERT INTO attempts (${ATTEMPT_COLUMNS})
         SELECT a.id, done.id, done.tenant_id, a.seq, ${ATTEMPT_FIELDS}, $8 FROM done, ${ATTEMPT_RECORDSET('$9')}
       )
       SELECT * FROM done`,
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
      ],
    );
    if (!rows[0]) throw new Error(`check ${check.id} is not PENDING any more`);
    return toCheck(rows[0]);
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
      `SELECT check_id, provider, decision, unified_score FROM attempts
       WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND outcome = 'OK' AND decision IS NOT NULL`,
      [tenantId, from, to],
    );
    return rows.map((r: Row) => ({ checkId: r.check_id as string, provider: r.provider as ProviderName, decision: r.decision as string, unifiedScore: r.unified_score as number | null }));
  }

  /** Checks left PENDING by a crash become ERROR/INTERRUPTED (run at start-up, before serving). */
  async interruptPending(olderThan: Date): Promise<number> {
    const rows = await this.db.query(
      `UPDATE checks SET status = 'ERROR', reasons = ARRAY['INTERRUPTED'], completed_at = $2
       WHERE status = 'PENDING' AND created_at < $1 RETURNING id`,
      [olderThan, new Date()],
    );
    return rows.length;
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
const ATTEMPT_COLUMNS = 'id, check_id, tenant_id, seq, provider, role, outcome, latency_ms, error_code, decision, unified_score, raw, created_at';
const ATTEMPT_FIELDS = 'a.provider, a.role, a.outcome, a.latency_ms, a.error_code, a.decision, a.unified_score, a.raw';
const ATTEMPT_RECORDSET = (param: string) =>
  `jsonb_to_recordset(${param}::jsonb) AS a(id uuid, seq integer, provider text, role text, outcome text, latency_ms integer,
     error_code text, decision text, unified_score double precision, raw jsonb)`;

function attemptsJson(attempts: readonly NewAttempt[], firstSeq: number): string {
  return JSON.stringify(
    attempts.map((a, i) => ({
      id: randomUUID(),
      seq: firstSeq + i,
      provider: a.provider,
      role: a.role,
      outcome: a.outcome,
      latency_ms: Math.round(a.latencyMs),
      error_code: a.errorCode,
      decision: a.decision,
      unified_score: a.unifiedScore,
      raw: a.raw ?? {},
    })),
  );
}

export class AuditRepo {
  constructor(private readonly db: Db) {}

  async record(actor: string, action: string, tenantId: string | null, target: string | null, detail: Record<string, unknown> = {}) {
    await this.db.query(
      'INSERT INTO audit_log (id, at, actor, action, tenant_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [randomUUID(), new Date(), actor, action, tenantId, target, JSON.stringify(detail)],
    );
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

const toPolicy = (r: Row): StoredPolicy => ({
  tenantId: r.tenant_id,
  version: r.version,
  policy: r.policy,
  author: r.author,
  createdAt: r.created_at,
});

export interface Store {
  db: Db;
  tenants: TenantRepo;
  policies: PolicyRepo;
  keys: ApiKeyRepo;
  checks: CheckRepo;
  audit: AuditRepo;
}

export const createStore = (db: Db): Store => ({
  db,
  tenants: new TenantRepo(db),
  policies: new PolicyRepo(db),
  keys: new ApiKeyRepo(db),
  checks: new CheckRepo(db),
  audit: new AuditRepo(db),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);
