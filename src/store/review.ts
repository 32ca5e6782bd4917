/**
 * Manual review: a person decides a check the automation could not (INCONCLUSIVE), or any decided
 * check when the tenant's policy allows it (`review.anyStatus`). The check keeps its automated
 * `status`; the review is stored beside it and `finalStatusOf` reads both. The review, its audit
 * entry and whatever the `check.reviewed` hook writes commit in one transaction.
 */
import { PolicySchema } from '../verification/policy';
import type { CheckRecord, CheckReview, ReviewDecision, Scope } from '../verification/types';
import type { Db, Queryable } from './db';
import { BadCursor, decodeCursor, isUuid, recordAudit, toCheck } from './repositories';

/**
 * Hook point for the `check.reviewed` event (webhooks, subscriptions): called inside the review's
 * transaction with the reviewed check, so an outbox row written through `tx` commits with the
 * review or not at all. Wired in src/app.ts (Services.onCheckReviewed).
 */
export type CheckReviewedHook = (tx: Queryable, check: CheckRecord) => Promise<void>;

/** Why a check cannot be reviewed: it has a review already, or its status is not open to review. */
export class ReviewRefused extends Error {
  constructor(
    readonly why: 'ALREADY_REVIEWED' | 'NOT_REVIEWABLE',
    readonly status: CheckRecord['status'],
  ) {
    super(
      why === 'ALREADY_REVIEWED'
        ? 'the check has been reviewed already'
        : status === 'PENDING'
          ? 'the check is not decided yet'
          : `only INCONCLUSIVE checks may be reviewed (this one is ${status}; the tenant's policy can allow any with review.anyStatus)`,
    );
  }
}

export interface NewReview {
  decision: ReviewDecision;
  note: string;
  reviewerKeyId: string;
  /** who, as the audit log names actors (`key:<id>`) */
  actor: string;
}

export class ReviewRepo {
  constructor(private readonly db: Db) {}

  /** The reviewed check; null when no such check is in scope; ReviewRefused when it cannot be reviewed. */
  async review(scope: Scope, id: string, r: NewReview, onReviewed?: CheckReviewedHook): Promise<CheckRecord | null> {
    if (!isUuid(id)) return null;
    return this.db.transaction(async (tx) => {
      // the row is locked until commit: of two reviews at once, the second finds the first's
      const [row] = await tx.query(
        `SELECT c.*, (SELECT policy FROM policies p WHERE p.tenant_id = c.tenant_id ORDER BY version DESC LIMIT 1) AS current_policy
         FROM checks c WHERE c.id = $1 ${scope.role === 'tenant' ? 'AND c.tenant_id = $2' : ''} FOR UPDATE OF c`,
        scope.role === 'tenant' ? [id, scope.tenantId] : [id],
      );
      if (!row) return null;
      const check = toCheck(row);
      if (check.review) throw new ReviewRefused('ALREADY_REVIEWED', check.status);
      const anyStatus = row.current_policy ? PolicySchema.parse(row.current_policy).review.anyStatus : false;
      if (check.status === 'PENDING' || (check.status !== 'INCONCLUSIVE' && !anyStatus)) throw new ReviewRefused('NOT_REVIEWABLE', check.status);
      const review: CheckReview = { decision: r.decision, note: r.note, reviewerKeyId: r.reviewerKeyId, at: new Date() };
      const [updated] = await tx.query(
        `UPDATE checks SET review_decision = $2, review_note = $3, reviewer_key_id = $4, reviewed_at = $5
         WHERE id = $1 AND reviewed_at IS NULL RETURNING *`,
        [id, review.decision, review.note, review.reviewerKeyId, review.at],
      );
      const reviewed = toCheck(updated);
      // the note stays with the check (erased with it); the audit log keeps no free text about a person
      await recordAudit(tx, r.actor, 'check.review', check.tenantId, check.id, { decision: r.decision, status: check.status });
      await onReviewed?.(tx, reviewed);
      return reviewed;
    });
  }

  /** INCONCLUSIVE checks no one has reviewed, oldest first; `first + 1` rows tell whether more follow. */
  async queue(scope: Scope, first: number, after?: string, tenantId?: string): Promise<{ checks: CheckRecord[]; hasNextPage: boolean }> {
    const where = ["status = 'INCONCLUSIVE'", 'reviewed_at IS NULL'];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      where.push(sql.replace(/\?/g, () => `$${params.push(values.shift())}`));
    };
    if (scope.role === 'tenant') add('tenant_id = ?', scope.tenantId);
    if (tenantId !== undefined) {
      if (!isUuid(tenantId)) return { checks: [], hasNextPage: false };
      add('tenant_id = ?', tenantId);
    }
    if (after !== undefined) {
      const cursor = decodeCursor(after);
      if (!cursor) throw new BadCursor();
      add('(created_at, id) > (?, ?)', cursor.createdAt, cursor.id);
    }
    const rows = await this.db.query(`SELECT * FROM checks WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT $${params.push(first + 1)}`, params);
    return { checks: rows.slice(0, first).map(toCheck), hasNextPage: rows.length > first };
  }
}
