/**
 * Manual review and usage metering over real HTTP, on both stores, with a scripted provider (the
 * browser suite, test/console, runs the same API through the local engine on real faces):
 * - reviewCheck: the automated status stays, `review` and `finalStatus` are added; INCONCLUSIVE
 *   only unless the policy's review.anyStatus; one review per check, also when two race; the audit
 *   entry and the `check.reviewed` hook commit with the review or not at all; nothing echoed.
 * - reviewQueue: unreviewed INCONCLUSIVE checks, oldest first, cursor paging, per tenant.
 * - usage: counts by status and provider, latency percentiles, cost at the configured prices,
 *   hour and day buckets; a tenant key reads its own usage only.
 */
import { print } from 'graphql';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/store/db';
import { PolicySchema } from '../../src/verification/policy';
import {
  ApiKeysDocument,
  CompareFacesDocument,
  ReviewCheckDocument,
  ReviewQueueDocument,
  SetTenantPolicyDocument,
  UsageDocument,
} from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider, type ScriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';

const SOURCE = faceBase64('face_recognition/examples/knn_examples/test/obama1.jpg');
const TARGET = faceBase64('idenfy-documents/BarackHusseinObama.jpg');
/** scripted match scores (SCRIPTED_TABLE) → status under the default thresholds */
const SCORE = { ACCEPTED: 0.99, INCONCLUSIVE: 0.5, REJECTED: 0.05 } as const;

describeEachStore('review and usage', (store) => {
  let db: Db;
  let h: Harness;
  let provider: ScriptedProvider;
  let acme: { id: string; key: string };
  let other: { id: string; key: string };

  /** one compareFaces check of `tenant`, scripted to end `status` */
  async function check(tenant: { key: string }, status: keyof typeof SCORE): Promise<string> {
    provider.behave(async () => outcome(SCORE[status], undefined, { scripted: status }));
    const res = await h.gql(CompareFacesDocument, { input: { source: SOURCE, target: TARGET } }, tenant.key);
    expect(res.data?.compareFaces.status).toBe(status);
    return res.data!.compareFaces.id;
  }

  beforeAll(async () => {
    db = await store.open();
    provider = scriptedProvider('local');
    h = await startHarness({ db, providers: [provider], calibration: scriptedCalibration(), env: { VERIGATE_PRICE_PER_CALL: '{"local":0.25}' } });
    acme = await h.tenant('acme', 'local');
    other = await h.tenant('other', 'local');
  });
  afterAll(async () => {
    await h?.close();
    await store.dispose(db);
  });

  describe('reviewCheck', () => {
    it('keeps the automated status, adds the review and finalStatus, audits it, and refuses a second review', async () => {
      const id = await check(acme, 'INCONCLUSIVE');
      const res = await h.gql(ReviewCheckDocument, { id, decision: 'ACCEPT', note: '  document photo and selfie match on inspection  ' });
      expect(res.errors).toBeUndefined();
      const reviewed = res.data!.reviewCheck;
      expect(reviewed).toMatchObject({ id, status: 'INCONCLUSIVE', finalStatus: 'ACCEPTED', review: { decision: 'ACCEPT', note: 'document photo and selfie match on inspection' } });
      expect(Date.parse(reviewed.review!.at)).toBeGreaterThan(Date.now() - 60_000);

      const audit = (await h.app.services.store.audit.list(20)).filter((a) => a.action === 'check.review' && a.target === id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ tenantId: acme.id, actor: `key:${reviewed.review!.reviewerKeyId}`, detail: { decision: 'ACCEPT', status: 'INCONCLUSIVE' } });
      expect(JSON.stringify(audit[0].detail)).not.toContain('inspection'); // the note stays with the check (erased with it)

      const again = await h.gql(ReviewCheckDocument, { id, decision: 'REJECT', note: 'second opinion' });
      expect(again.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'ALREADY_REVIEWED' });
      // the queue is for admins
      const own = await h.gql(ReviewQueueDocument, { first: 5 }, acme.key);
      expect(own.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('of two reviews at once, exactly one is stored', async () => {
      const id = await check(acme, 'INCONCLUSIVE');
      const both = await Promise.all(
        (['ACCEPT', 'REJECT'] as const).map((decision) => h.gql(ReviewCheckDocument, { id, decision, note: `race ${decision}` })),
      );
      const won = both.filter((r) => r.data?.reviewCheck);
      expect(won).toHaveLength(1);
      expect(both.find((r) => r.errors)?.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'ALREADY_REVIEWED' });
      expect((await h.app.services.store.audit.list(50)).filter((a) => a.action === 'check.review' && a.target === id)).toHaveLength(1);
    });

    it('commits the review, its audit entry and the check.reviewed hook together, or none of them', async () => {
      const id = await check(acme, 'INCONCLUSIVE');
      const seen: string[] = [];
      h.app.services.onCheckReviewed = async (tx, c) => {
        seen.push(`${c.id}:${c.review?.decision}`);
        await tx.query('SELECT 1');
        throw new Error('outbox write failed');
      };
      try {
        const failed = await h.gql(ReviewCheckDocument, { id, decision: 'REJECT', note: 'not the same person' });
        expect(failed.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      } finally {
        delete h.app.services.onCheckReviewed;
      }
      expect(seen).toEqual([`${id}:REJECT`]);
      expect((await h.app.services.store.checks.get({ role: 'admin' }, id))?.review).toBeNull();
      expect((await h.app.services.store.audit.list(50)).filter((a) => a.action === 'check.review' && a.target === id)).toHaveLength(0);
      // and the check can still be reviewed
      const ok = await h.gql(ReviewCheckDocument, { id, decision: 'REJECT', note: 'not the same person' });
      expect(ok.data?.reviewCheck).toMatchObject({ status: 'INCONCLUSIVE', finalStatus: 'REJECTED' });
    });

    it('refuses a decided check unless the policy sets review.anyStatus', async () => {
      const id = await check(acme, 'ACCEPTED');
      const refused = await h.gql(ReviewCheckDocument, { id, decision: 'REJECT', note: 'fraud ring, reported later' });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'NOT_REVIEWABLE', status: 'ACCEPTED' });
      const set = await h.gql(SetTenantPolicyDocument, { tenantId: acme.id, policy: { strategy: { type: 'single', provider: { provider: 'local' } }, review: { anyStatus: true } } });
      expect(set.errors).toBeUndefined();
      const ok = await h.gql(ReviewCheckDocument, { id, decision: 'REJECT', note: 'fraud ring, reported later' });
      expect(ok.data?.reviewCheck).toMatchObject({ status: 'ACCEPTED', finalStatus: 'REJECTED' });
      await h.gql(SetTenantPolicyDocument, { tenantId: acme.id, policy: { strategy: { type: 'single', provider: { provider: 'local' } } } });
    });

    it('answers NOT_FOUND, FORBIDDEN and BAD_USER_INPUT without repeating the input', async () => {
      const id = await check(other, 'INCONCLUSIVE');
      expect((await h.gql(ReviewCheckDocument, { id: '00000000-0000-4000-8000-000000000000', decision: 'ACCEPT', note: 'x' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await h.gql(ReviewCheckDocument, { id, decision: 'ACCEPT', note: 'mine' }, other.key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const marker = 'SECRET-NOTE-MARKER-';
      for (const note of ['   ', marker.repeat(120)]) {
        const res = await fetch(h.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
          body: JSON.stringify({ query: print(ReviewCheckDocument), variables: { id, decision: 'ACCEPT', note } }),
        });
        const text = await res.text();
        expect(JSON.parse(text).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'note' });
        expect(text).not.toContain(marker);
      }
      expect((await h.app.services.store.checks.get({ role: 'admin' }, id))?.review).toBeNull();
    });
  });

  describe('reviewQueue', () => {
    it('lists unreviewed INCONCLUSIVE checks oldest first, page by page, per tenant', async () => {
      const mine = [await check(other, 'INCONCLUSIVE'), await check(other, 'INCONCLUSIVE'), await check(other, 'INCONCLUSIVE')];
      await check(other, 'REJECTED');
      const pages: string[] = [];
      let after: string | null | undefined;
      for (;;) {
        const res = await h.gql(ReviewQueueDocument, { first: 2, after, tenantId: other.id });
        expect(res.errors).toBeUndefined();
        const q = res.data!.reviewQueue;
        for (const e of q.edges) expect(e.node).toMatchObject({ tenantId: other.id, status: 'INCONCLUSIVE', review: null });
        pages.push(...q.edges.map((e) => e.node.id));
        if (!q.pageInfo.hasNextPage) break;
        after = q.pageInfo.endCursor;
      }
      // the earlier test's unreviewed check of this tenant comes first
      expect(pages.slice(-3)).toEqual(mine);
      expect(pages).toHaveLength(4);

      await h.gql(ReviewCheckDocument, { id: mine[0], decision: 'ACCEPT', note: 'looked fine' });
      const after1 = (await h.gql(ReviewQueueDocument, { first: 10, tenantId: other.id })).data!.reviewQueue.edges.map((e) => e.node.id);
      expect(after1).not.toContain(mine[0]);
      expect(after1).toHaveLength(3);
      const all = (await h.gql(ReviewQueueDocument, { first: 100 })).data!.reviewQueue.edges.map((e) => e.node.createdAt);
      expect([...all].sort()).toEqual(all);
      expect((await h.gql(ReviewQueueDocument, { first: 2, after: 'bm90LWEtY3Vyc29y' })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    });
  });

  describe('usage', () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();

    it('counts checks by status and provider, with latency and cost, in hour and day buckets', async () => {
      const t = await h.tenant('metered', 'local');
      for (const s of ['ACCEPTED', 'ACCEPTED', 'REJECTED', 'INCONCLUSIVE'] as const) await check(t, s);
      // a shadow call is a call too: billed, counted, not answering
      await h.gql(SetTenantPolicyDocument, { tenantId: t.id, policy: { strategy: { type: 'single', provider: { provider: 'local' } }, shadow: [{ provider: 'local' }] } });
      await check(t, 'ACCEPTED');
      await h.gql(ReviewCheckDocument, { id: await check(t, 'INCONCLUSIVE'), decision: 'REJECT', note: 'blurred document' });
      // shadow attempts are stored after the answer: wait for them, not for a fixed time
      const stored = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts WHERE tenant_id = $1', [t.id]))[0].n;
      for (const until = Date.now() + 10_000; (await stored()) < 8 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));

      for (const bucket of ['DAY', 'HOUR'] as const) {
        const res = await h.gql(UsageDocument, { tenantId: t.id, from, to, bucket });
        expect(res.errors).toBeUndefined();
        const u = res.data!.usage;
        const [total] = u.totals;
        expect(total).toMatchObject({ tenantId: t.id, checks: 6, reviewed: 1, start: from });
        expect(Object.fromEntries(total.byStatus.map((s) => [s.status, s.count]))).toEqual({ ACCEPTED: 3, REJECTED: 1, INCONCLUSIVE: 2 });
        expect(total.providers).toEqual([{ provider: 'local', calls: 8, estimatedCost: 2 }]);
        expect(total.estimatedCost).toBe(2);
        expect(u.rows.reduce((s, r) => s + r.checks, 0)).toBe(6);
        for (const r of u.rows) {
          const start = new Date(r.start);
          expect(bucket === 'DAY' ? start.getTime() % 86_400_000 : start.getTime() % 3_600_000).toBe(0);
          expect(r.p50Ms).not.toBeNull();
          expect(r.p95Ms!).toBeGreaterThanOrEqual(r.p50Ms!);
          expect(r.providers[0]).toMatchObject({ provider: 'local', failedCalls: 0 });
        }
        expect(u.prices.find((p) => p.provider === 'local')?.pricePerCall).toBe(0.25);
        expect(u.prices.find((p) => p.provider === 'rekognition')?.pricePerCall).toBeNull();
      }
    });

    it('lets a tenant key read its own usage only', async () => {
      const own = await h.gql(UsageDocument, { from, to }, other.key);
      expect(own.errors).toBeUndefined();
      expect(own.data!.usage.totals.map((r) => r.tenantId)).toEqual([other.id]);
      const foreign = await h.gql(UsageDocument, { tenantId: acme.id, from, to }, other.key);
      expect(foreign.data!.usage.rows).toEqual([]);
      expect(foreign.data!.usage.totals).toEqual([]);
      const everyone = await h.gql(UsageDocument, { from, to });
      expect(everyone.data!.usage.totals.map((r) => r.tenantId)).toEqual(expect.arrayContaining([acme.id, other.id]));
    });

    it('refuses ranges it cannot answer', async () => {
      const bad = async (v: { from: string; to: string; bucket?: 'HOUR' | 'DAY' }) => (await h.gql(UsageDocument, v)).errors?.[0].extensions;
      expect(await bad({ from: to, to: from })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
      expect(await bad({ from: '2020-01-01T00:00:00Z', to: '2020-03-01T00:00:00Z', bucket: 'HOUR' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
      expect(await bad({ from: '0001-01-01T00:00:00Z', to })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    });
  });

  it('apiKeys lists a tenant’s keys, never their secrets', async () => {
    const res = await h.gql(ApiKeysDocument, { tenantId: acme.id });
    expect(res.data!.apiKeys).toHaveLength(1);
    expect(res.data!.apiKeys[0]).toMatchObject({ tenantId: acme.id, role: 'tenant', revokedAt: null });
    expect(acme.key.startsWith(res.data!.apiKeys[0].prefix)).toBe(true);
    expect(JSON.stringify(res)).not.toContain(acme.key);
    expect((await h.gql(ApiKeysDocument, {}, acme.key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('configuration and policy for review and usage', () => {
  it('VERIGATE_PRICE_PER_CALL is a JSON object of provider → price, checked at start-up', () => {
    expect(loadConfig({ VERIGATE_PRICE_PER_CALL: '{"rekognition":0.001,"facia":0.002,"local":0}' }).VERIGATE_PRICE_PER_CALL).toEqual({ rekognition: 0.001, facia: 0.002, local: 0 });
    expect(loadConfig({}).VERIGATE_PRICE_PER_CALL).toEqual({});
    expect(() => loadConfig({ VERIGATE_PRICE_PER_CALL: 'rekognition=0.001' })).toThrow(/VERIGATE_PRICE_PER_CALL: must be a JSON object/);
    expect(() => loadConfig({ VERIGATE_PRICE_PER_CALL: '{"azure":1}' })).toThrow(/VERIGATE_PRICE_PER_CALL/);
    expect(() => loadConfig({ VERIGATE_PRICE_PER_CALL: '{"facia":-1}' })).toThrow(/VERIGATE_PRICE_PER_CALL\.facia/);
  });

  it('a policy allows review of INCONCLUSIVE checks only unless review.anyStatus', () => {
    const base = { strategy: { type: 'single', provider: { provider: 'local' } } };
    expect(PolicySchema.parse(base).review).toEqual({ anyStatus: false });
    expect(PolicySchema.parse({ ...base, review: { anyStatus: true } }).review).toEqual({ anyStatus: true });
    expect(PolicySchema.safeParse({ ...base, review: { anyStatus: 'yes' } }).success).toBe(false);
    expect(PolicySchema.safeParse({ ...base, review: { everyone: true } }).success).toBe(false);
  });
});
