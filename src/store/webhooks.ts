/**
 * Webhook endpoints and their deliveries (the outbox). Deliveries are written by the statement that
 * ends a check (repositories.ts: `outbox`); here they are claimed by a deliverer (one process at a
 * time per delivery: a lease in `next_attempt_at`, taken with SKIP LOCKED), settled, and listed.
 * Every read and write takes a Scope: a tenant sees and changes its own endpoints only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Scope } from '../verification/types';
import type { Db } from './db';

export const WEBHOOK_EVENTS = ['check.completed', 'check.failed', 'check.reviewed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  createdAt: Date;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  tenantId: string;
  eventId: string;
  eventType: WebhookEvent;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  latencyMs: number | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A delivery claimed for one attempt, with what it takes to send it. */
export interface DueDelivery extends WebhookDelivery {
  url: string;
  secret: string;
  payload: unknown;
}

type Row = Record<string, any>;

const toEndpoint = (r: Row): WebhookEndpoint => ({ id: r.id, tenantId: r.tenant_id, url: r.url, events: r.events, description: r.description, createdAt: r.created_at });
const toDelivery = (r: Row): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  tenantId: r.tenant_id,
  eventId: r.event_id,
  eventType: r.event_type,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastStatusCode: r.last_status,
  lastError: r.last_error,
  latencyMs: r.last_latency_ms,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;
/** The scope as a parameter: null for admins (every tenant), else the tenant's id. */
const scoped = (scope: Scope) => (scope.role === 'admin' ? null : scope.tenantId);
/** `tenant_id` matches the scope given as parameter `$n` */
const inScope = (n: number) => `($${n}::uuid IS NULL OR tenant_id = $${n}::uuid)`;

export class WebhookRepo {
  constructor(private readonly db: Db) {}

  /** A new endpoint and its signing secret (returned here only: shown once). */
  async create(e: { tenantId: string; url: string; events: WebhookEvent[]; description: string | null; createdBy: string }): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const secret = newSecret();
    const rows = await this.db.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, secret, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [randomUUID(), e.tenantId, e.url, e.events, e.description, secret, new Date(), e.createdBy],
    );
    return { endpoint: toEndpoint(rows[0]), secret };
  }

  async get(scope: Scope, id: string): Promise<WebhookEndpoint | null> {
    const rows = await this.db.query(`SELECT * FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL AND ${inScope(2)}`, [id, scoped(scope)]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async list(scope: Scope, tenantId?: string): Promise<WebhookEndpoint[]> {
    const rows = await this.db.query(
      `SELECT * FROM webhook_endpoints WHERE deleted_at IS NULL AND ${inScope(2)} AND ($1::uuid IS NULL OR tenant_id = $1) ORDER BY created_at, id`,
      [tenantId ?? null, scoped(scope)],
    );
    return rows.map(toEndpoint);
  }

  async rotateSecret(scope: Scope, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string } | null> {
    const secret = newSecret();
    const rows = await this.db.query(`UPDATE webhook_endpoints SET secret = $2 WHERE id = $1 AND deleted_at IS NULL AND ${inScope(3)} RETURNING *`, [id, secret, scoped(scope)]);
    return rows[0] ? { endpoint: toEndpoint(rows[0]), secret } : null;
  }

  /** Deleted endpoints take no new event; their pending deliveries end FAILED. */
  async delete(scope: Scope, id: string): Promise<WebhookEndpoint | null> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(`UPDATE webhook_endpoints SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL AND ${inScope(3)} RETURNING *`, [id, new Date(), scoped(scope)]);
      if (!rows[0]) return null;
      await tx.query("UPDATE webhook_deliveries SET status = 'FAILED', failed_at = $2, last_error = 'endpoint deleted' WHERE endpoint_id = $1 AND status = 'PENDING'", [id, new Date()]);
      return toEndpoint(rows[0]);
    });
  }

  /** Newest first; `first + 1` rows read to know whether another page follows. */
  async deliveries(scope: Scope, endpointId: string, first: number, after?: { createdAt: Date; id: string }): Promise<{ deliveries: WebhookDelivery[]; hasNextPage: boolean }> {
    const rows = await this.db.query(
      `SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND ${inScope(3)}
         ${after ? 'AND (created_at, id) < ($4, $5)' : ''}
       ORDER BY created_at DESC, id DESC LIMIT $2`,
      [endpointId, first + 1, scoped(scope), ...(after ? [after.createdAt, after.id] : [])],
    );
    return { deliveries: rows.slice(0, first).map(toDelivery), hasNextPage: rows.length > first };
  }

  /** The delivery sent again from now, as a new attempt (the same event id). */
  async redeliver(scope: Scope, id: string, now = new Date()): Promise<WebhookDelivery | null> {
    const rows = await this.db.query(
      `UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = $2, failed_at = NULL
       WHERE id = $1 AND ${inScope(3)} AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL)
       RETURNING *`,
      [id, now, scoped(scope)],
    );
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  /**
   * Up to `limit` deliveries due now, each leased to the caller for `leaseMs` (another process
   * skips it meanwhile; if the caller dies, the lease lapses and another takes it).
   */
  async claimDue(limit: number, leaseMs: number, now = new Date()): Promise<DueDelivery[]> {
    const rows = await this.db.query(
      `WITH due AS (
         SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
       FROM due, webhook_endpoints e WHERE d.id = due.id AND e.id = d.endpoint_id
       RETURNING d.*, e.url, e.secret`,
      [now, limit, new Date(now.getTime() + leaseMs)],
    );
    return rows.map((r: Row) => ({ ...toDelivery(r), url: r.url as string, secret: r.secret as string, payload: r.payload }));
  }

  /** The end of one attempt: delivered, tried again at `retryAt`, or failed for good (retryAt null). */
  async settle(id: string, result: { ok: boolean; statusCode: number | null; error: string | null; latencyMs: number; retryAt: Date | null }, now = new Date()): Promise<void> {
    const status: DeliveryStatus = result.ok ? 'DELIVERED' : result.retryAt ? 'PENDING' : 'FAILED';
    await this.db.query(
      `UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4, last_latency_ms = $5,
         delivered_at = CASE WHEN $2 = 'DELIVERED' THEN $6 ELSE delivered_at END,
         failed_at = CASE WHEN $2 = 'FAILED' THEN $6 ELSE failed_at END,
         next_attempt_at = COALESCE($7, next_attempt_at)
       WHERE id = $1`,
      [id, status, result.statusCode, result.error, Math.round(result.latencyMs), now, result.retryAt],
    );
  }
}
