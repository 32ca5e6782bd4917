/**
 * The check row's statements, on both stores: createPending brings back the tenant's current
 * policy with the inserted row; complete() writes the result and the attempts as one statement,
 * only for a PENDING check (a second completion fails and adds no attempt); later attempts
 * (shadows) are numbered after the existing ones.
 */
import type { Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { createStore, type NewAttempt, type Store } from '../../src/store/repositories';
import { defaultPolicy } from '../../src/verification/policy';
import { describeEachStore } from '../support/stores';

const attempt = (over: Partial<NewAttempt> = {}): NewAttempt => ({
  provider: 'local',
  role: 'primary',
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

    await store.policies.put(t.id, defaultPolicy('local'), 'test');
    await store.policies.put(t.id, { ...defaultPolicy('facia'), onPremOnly: true }, 'test');
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
    const done = await store.checks.complete(check, result, [attempt({ outcome: 'TRANSIENT', decision: null, unifiedScore: null, errorCode: 'TIMEOUT', raw: {} }), attempt()]);
    expect(done).toMatchObject({ id: check.id, status: 'ACCEPTED', provider: 'local' });
    expect(done.completedAt).toBeInstanceOf(Date);

    await expect(store.checks.complete(check, { ...result, status: 'ERROR', reasons: ['INTERNAL_ERROR'] }, [attempt()])).rejects.toThrow(/not PENDING/);
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
});
