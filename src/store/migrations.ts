/**
 * The one migration set, for PGlite and PostgreSQL alike. Append only: never edit a migration
 * that has shipped. Applied under an advisory lock so replicas starting together don't race.
 */
import type { Db } from './db';

export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: 'initial',
    sql: `
      CREATE TABLE tenants (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('tenant', 'admin')),
        key_hash text NOT NULL UNIQUE,
        prefix text NOT NULL,
        label text,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        CHECK (role = 'admin' OR tenant_id IS NOT NULL)
      );
      CREATE TABLE checks (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        reference_id text,
        idempotency_key text,
        kind text NOT NULL,
        status text NOT NULL,
        reasons text[] NOT NULL DEFAULT '{}',
        provider text,
        face_match jsonb,
        liveness jsonb,
        image_digests jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL,
        completed_at timestamptz
      );
      CREATE INDEX checks_tenant_created ON checks (tenant_id, created_at DESC, id DESC);
      CREATE INDEX checks_created ON checks (created_at DESC, id DESC);
      CREATE INDEX checks_reference ON checks (tenant_id, reference_id);
      CREATE INDEX checks_pending ON checks (status) WHERE status = 'PENDING';
      CREATE UNIQUE INDEX checks_idempotency ON checks (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE TABLE attempts (
        id uuid PRIMARY KEY,
        check_id uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL,
        seq integer NOT NULL,
        provider text NOT NULL,
        role text NOT NULL,
        outcome text NOT NULL,
        latency_ms integer NOT NULL,
        error_code text,
        decision text,
        unified_score double precision,
        raw jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL
      );
      CREATE INDEX attempts_check ON attempts (check_id, seq);
      CREATE INDEX attempts_tenant_created ON attempts (tenant_id, created_at);
      CREATE TABLE policies (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        version integer NOT NULL,
        policy jsonb NOT NULL,
        author text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, version)
      );
      CREATE TABLE audit_log (
        id uuid PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        tenant_id uuid,
        target text,
        detail jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX audit_log_at ON audit_log (at DESC);
    `,
  },
  {
    id: 2,
    name: 'tenant limits and retention',
    sql: `
      CREATE TABLE tenant_limits (
        tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        rate_per_minute integer,
        burst integer,
        key_rate_per_minute integer,
        key_burst integer,
        checks_per_day integer,
        retention_days integer,
        updated_at timestamptz NOT NULL,
        updated_by text NOT NULL
      )
    `,
  },
  {
    id: 3,
    name: 'evidence, deadlines and liveness sessions',
    sql: `
      ALTER TABLE checks ADD COLUMN evidence jsonb;
      ALTER TABLE checks ADD COLUMN deadline_at timestamptz;
      ALTER TABLE checks ADD COLUMN liveness_session_id text;
      ALTER TABLE attempts ADD COLUMN answers text[];
      ALTER TABLE attempts ADD COLUMN decisions jsonb;
      CREATE INDEX checks_pending_deadline ON checks (deadline_at) WHERE status = 'PENDING';
      CREATE TABLE liveness_sessions (
        id text PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        provider text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        check_id uuid,
        used_at timestamptz
      );
      CREATE INDEX liveness_sessions_tenant ON liveness_sessions (tenant_id, created_at)
    `,
  },
  {
    id: 4,
    name: 'daily quota usage, check owners and process heartbeats',
    sql: `
      CREATE TABLE quota_usage (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        day date NOT NULL,
        used integer NOT NULL,
        PRIMARY KEY (tenant_id, day)
      );
      ALTER TABLE checks ADD COLUMN owner uuid;
      ALTER TABLE checks ADD COLUMN queued boolean NOT NULL DEFAULT false;
      CREATE TABLE processes (
        id uuid PRIMARY KEY,
        started_at timestamptz NOT NULL,
        seen_at timestamptz NOT NULL
      )
    `,
  },
  {
    id: 5,
    name: 'webhook endpoints and the outbox of deliveries',
    sql: `
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        url text NOT NULL,
        events text[] NOT NULL,
        description text,
        secret text NOT NULL,
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        deleted_at timestamptz
      );
      CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE deleted_at IS NULL;
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL,
        check_id uuid NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'PENDING',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_status integer,
        last_error text,
        last_latency_ms integer,
        created_at timestamptz NOT NULL,
        delivered_at timestamptz,
        failed_at timestamptz
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
      CREATE INDEX webhook_deliveries_check ON webhook_deliveries (check_id)
    `,
  },
  {
    id: 6,
    name: 'manual review of checks',
    sql: `
      ALTER TABLE checks ADD COLUMN review_decision text CHECK (review_decision IN ('ACCEPT', 'REJECT'));
      ALTER TABLE checks ADD COLUMN review_note text;
      ALTER TABLE checks ADD COLUMN reviewer_key_id uuid;
      ALTER TABLE checks ADD COLUMN reviewed_at timestamptz;
      CREATE INDEX checks_review_queue ON checks (created_at, id) WHERE status = 'INCONCLUSIVE' AND reviewed_at IS NULL;
      CREATE INDEX checks_tenant_review_queue ON checks (tenant_id, created_at, id) WHERE status = 'INCONCLUSIVE' AND reviewed_at IS NULL
    `,
  },
  {
    id: 7,
    name: 'the document read for a check (MRZ or chip): personal data, never in webhook payloads',
    sql: `
      ALTER TABLE checks ADD COLUMN document jsonb
    `,
  },
];

export async function migrate(db: Db): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7242001)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await tx.query<{ id: number }>('SELECT id FROM schema_migrations')).map((r) => r.id));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      for (const stmt of m.sql.split(';').map((s) => s.trim()).filter(Boolean)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.id);
    }
    return applied;
  });
}

export async function pendingMigrations(db: Db): Promise<number> {
  const rows = await db
    .query<{ id: number }>('SELECT id FROM schema_migrations')
    .catch(() => [] as { id: number }[]);
  const done = new Set(rows.map((r) => r.id));
  return MIGRATIONS.filter((m) => !done.has(m.id)).length;
}
