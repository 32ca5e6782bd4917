/**
 * The check row's statements, on both stores: createPending brings back the tenant's current
 * policy with the inserted row and stores the check's deadline from it; complete() writes the
 * result, the evidence and the attempts as one statement, only for a PENDING check (a second
 * completion fails and adds no attempt); later attempts (shadows) are numbered after the existing
 * ones; a liveness session is claimed with the insert or nothing is stored; a waiter is woken by
 * the completion's NOTIFY, from another connection too.
 */
import type { Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { createStore, LivenessSessionRefused, type NewAttempt, type Store } from '../../src/store/repositories';
import { PolicySchema, type Policy } from '../../src/verification/policy';
import type { ProviderName } from '../../providers/types';
import { describeEachStore } from '../support/stores';

const policyOf = (provider: ProviderName, over: Record<string, unknown> = {}): Policy =>
  PolicySchema.parse({ strategy: { type: 'single', provider: { provider } }, ...over });

const attempt = (over: Partial<NewAttempt> = {}): NewAttempt => ({
  provider: 'local',
  role: 'primary',
  answers: ['match', 'liveness'],
  decisions: null,
  outcome: 'OK',
  latencyMs: 41.6,
  errorCode: null,
  decision: 'ACCEPTED',
  unifiedScore: 0.93,
  raw: { cosine: 0.71, probe: { box: [1, 2, 3, 4] } },
  ...over,
});

describeEachStore('check store', (kind) => {
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    db = await kind.open();
    await migrate(db);
    store = createStore(db);
  });
  afterAll(() => kind.dispose(db));

  if (kind.name === 'pglite') {
    it('runs PGlite with 16 MB of shared buffers (they are this process’s memory), its other start settings kept', async () => {
      expect(await db.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
      expect(await db.query('SHOW search_path')).toEqual([{ search_path: 'public' }]); // one of PGlite's own
    });
  }

  it('returns the tenant’s newest stored policy with a created check, none for a repeat', async () => {
    const t = await store.tenants.create('policy-with-insert');
    const first = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {} });
    expect(first).toMatchObject({ created: true, policy: null });

    await store.policies.put(t.id, policyOf('local'), 'test');
    await store.policies.put(t.id, policyOf('facia', { onPremOnly: true }), 'test');
    const second = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', idempotencyKey: 'k', imageDigests: {} });
    expect(second.policy).toMatchObject({ tenantId: t.id, version: 2, author: 'test', policy: { onPremOnly: true } });
    expect(second.check.status).toBe('PENDING');

    const repeat = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', idempotencyKey: 'k', imageDigests: {} });
    expect(repeat.created).toBe(false);
    expect(repeat.check.id).toBe(second.check.id);
  });

  it('completes a PENDING check with its attempts once; a second completion changes nothing', async () => {
    const t = await store.tenants.create('complete-once');
    const { check } = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {} });
    const result = { status: 'ACCEPTED' as const, reasons: [], provider: 'local' as const, faceMatch: null, liveness: null };
    const done = (await store.checks.complete(check, result, [attempt({ outcome: 'TRANSIENT', decision: null, unifiedScore: null, errorCode: 'TIMEOUT', raw: {} }), attempt()]))!;
    expect(done).toMatchObject({ id: check.id, status: 'ACCEPTED', provider: 'local' });
    expect(done.completedAt).toBeInstanceOf(Date);

    expect(await store.checks.complete(check, { ...result, status: 'ERROR', reasons: ['INTERNAL_ERROR'] }, [attempt()])).toBeNull();
    const scope = { role: 'tenant', tenantId: t.id } as const;
    expect((await store.checks.get(scope, check.id))?.status).toBe('ACCEPTED');
    const rows = await store.checks.attemptsFor(scope, [check.id]);
    expect(rows.map((a) => [a.seq, a.outcome, a.errorCode, a.latencyMs, a.unifiedScore])).toEqual([
      [1, 'TRANSIENT', 'TIMEOUT', 42, null],
      [2, 'OK', null, 42, 0.93],
    ]);
    expect(rows[1].raw).toEqual({ cosine: 0.71, probe: { box: [1, 2, 3, 4] } });

    await store.checks.addAttempts(done, [attempt({ provider: 'facia', role: 'shadow' })]);
    const all = await store.checks.attemptsFor(scope, [check.id]);
    expect(all.map((a) => [a.seq, a.provider, a.role])).toEqual([
      [1, 'local', 'primary'],
      [2, 'local', 'primary'],
      [3, 'facia', 'shadow'],
    ]);
  });

  it('stores the check deadline from its policy, else the default it is given', async () => {
    const t = await store.tenants.create('deadlines');
    const a = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {}, defaultDeadlineMs: 7000 });
    expect(a.check.deadlineAt!.getTime() - a.check.createdAt.getTime()).toBe(7000);
    await store.policies.put(t.id, policyOf('local', { deadlineMs: 1234 }), 'test');
    const b = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {}, defaultDeadlineMs: 7000 });
    expect(b.check.deadlineAt!.getTime() - b.check.createdAt.getTime()).toBe(1234);
  });

  it('claims a liveness session with the insert: unknown, foreign, used or expired → refused, nothing stored', async () => {
    const [t, other] = [await store.tenants.create('session-owner'), await store.tenants.create('session-other')];
    const now = Date.now();
    await store.sessions.create({ id: 'sess-1', tenantId: t.id, provider: 'rekognition', createdAt: new Date(now), expiresAt: new Date(now + 60_000) });
    await store.sessions.create({ id: 'sess-old', tenantId: t.id, provider: 'rekognition', createdAt: new Date(now - 120_000), expiresAt: new Date(now - 1000) });
    const count = async (tenantId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1', [tenantId]))[0].n;
    const refused = async (tenantId: string, id: string) =>
      store.checks.createPending({ tenantId, kind: 'VERIFY_IDENTITY', imageDigests: {}, livenessSessionId: id }).then(
        () => null,
        (e: unknown) => (e instanceof LivenessSessionRefused ? e.why : e),
      );

    expect(await refused(other.id, 'sess-1')).toBe('unknown'); // another tenant's session does not exist for it
    expect(await refused(t.id, 'sess-nope')).toBe('unknown');
    expect(await refused(t.id, 'sess-old')).toBe('expired');
    const first = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {}, livenessSessionId: 'sess-1' });
    expect(first.check.livenessSessionId).toBe('sess-1');
    expect(await refused(t.id, 'sess-1')).toBe('used');
    expect([await count(t.id), await count(other.id)]).toEqual([1, 0]);
    expect(await store.sessions.get({ role: 'tenant', tenantId: t.id }, 'sess-1')).toMatchObject({ checkId: first.check.id });
    expect(await store.sessions.get({ role: 'tenant', tenantId: other.id }, 'sess-1')).toBeNull();

    // a check that ends without a verdict gives the session back
    await store.checks.complete(first.check, { status: 'ERROR', reasons: ['TIMEOUT'], provider: 'rekognition', faceMatch: null, liveness: null }, []);
    expect(await store.sessions.get({ role: 'tenant', tenantId: t.id }, 'sess-1')).toMatchObject({ checkId: null, usedAt: null });
    const again = await store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', imageDigests: {}, livenessSessionId: 'sess-1' });
    await store.checks.complete(again.check, { status: 'REJECTED', reasons: ['LIVENESS_FAILED'], provider: 'rekognition', faceMatch: null, liveness: null }, []);
    expect(await refused(t.id, 'sess-1')).toBe('used');
  });

  it('wakes a waiter when the check completes, from another connection too, and stops at the deadline', async () => {
    const t = await store.tenants.create('waiters');
    const scope = { role: 'tenant', tenantId: t.id } as const;
    const { check } = await store.checks.createPending({ tenantId: t.id, kind: 'FACE_MATCH', imageDigests: {} });
    const started = Date.now();
    const waiting = store.checks.awaitCompletion(scope, check.id, started + 30_000);
    // the completing side: a second store on its own connection (another replica)
    const peer = kind.name === 'postgres' ? createStore(await kind.reopen!(db)) : store;
    try {
      await new Promise((r) => setImmediate(r));
      await peer.checks.complete(check, { status: 'ACCEPTED', reasons: [], provider: 'local', faceMatch: null, liveness: null, evidence: { version: 1, legs: [] } }, []);
      const woken = await waiting;
      expect(woken?.status).toBe('ACCEPTED');
      expect(Date.now() - started).toBeLessThan(15_000); // woken, far before its 30 s bound
    } finally {
      if (peer !== store) await peer.db.close();
    }
    const stuck = (await store.checks.createPending({ tenantId: t.id, kind: 'FACE_MATCH', imageDigests: {} })).check;
    expect((await store.checks.awaitCompletion(scope, stuck.id, Date.now() + 200))?.status).toBe('PENDING');
    const [row] = await db.query<{ evidence: unknown }>('SELECT evidence FROM checks WHERE id = $1', [check.id]);
    expect(row.evidence).toEqual({ version: 1, legs: [] });
  });

  it('sweeps checks past deadline + grace: TIMEOUT when their owner lives, INTERRUPTED when it is gone; one replica at a time', async () => {
    const t = await store.tenants.create('sweeps');
    const scope = { role: 'tenant', tenantId: t.id } as const;
    const [alive, dead] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const now = new Date();
    await store.checks.heartbeat(alive, now, now);
    await store.checks.heartbeat(dead, new Date(now.getTime() - 600_000), new Date(now.getTime() - 600_000));
    const pending = async (owner: string, deadlineMs: number) =>
      (await store.checks.createPending({ tenantId: t.id, kind: 'LIVENESS', imageDigests: {}, owner, defaultDeadlineMs: deadlineMs })).check;
    const late = await pending(alive, 100);
    const orphan = await pending(dead, 100);
    const running = await pending(alive, 60_000);
    const later = new Date(now.getTime() + 5_000);
    const waiter = store.checks.awaitCompletion(scope, orphan.id, Date.now() + 30_000);
    // (other tests of this file leave PENDING checks too: the sweep is for every tenant)
    const mine = new Set([late.id, orphan.id, running.id]);
    const swept = (await store.checks.sweep(2000, new Date(later.getTime() - 10_000), later)).filter((x) => mine.has(x.id));
    expect(swept.sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: late.id, reason: 'TIMEOUT' }, { id: orphan.id, reason: 'INTERRUPTED' }].sort((a, b) => a.id.localeCompare(b.id)));
    expect((await waiter)?.reasons).toEqual(['INTERRUPTED']); // woken by the sweep
    expect((await store.checks.get(scope, running.id))?.status).toBe('PENDING'); // within its own deadline: untouched
    expect((await store.checks.sweep(2000, new Date(later.getTime() - 10_000), later)).filter((x) => mine.has(x.id))).toEqual([]);
    if (kind.name === 'postgres') {
      // two replicas sweeping at once: the advisory lock lets one through
      const peer = createStore(await kind.reopen!(db));
      try {
        await pending(dead, 1);
        const both = await Promise.all([store.checks.sweep(0, later, new Date(later.getTime() + 1000)), peer.checks.sweep(0, later, new Date(later.getTime() + 1000))]);
        // one of the two swept (at least the check just made), the other found the lock taken
        expect(both.filter((x) => x.length > 0).length).toBe(1);
      } finally {
        await peer.db.close();
      }
    }
  });
});
