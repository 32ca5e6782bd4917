/**
 * Async checks over HTTP with the real local engine: `async: true` answers PENDING at once and the
 * check is decided by the queue's job handler — in this process (the embedded default), or, with
 * BullMQ on the real Redis, by a separate worker app while an API-only app hands it every check.
 * Idempotency, quota and the images in flight behave as for synchronous checks. (Fairness across
 * tenants: test/reliability/queue.test.ts.)
 */
import { createLocalProvider } from '../../providers/local';
import type { Db } from '../../src/store/db';
import { CheckDocument, SetTenantLimitsDocument, VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { PGLITE, POSTGRES } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
const input = (extra: Record<string, unknown> = {}) => ({ input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT), async: true, ...extra } as never });

describe('async checks, in one process (memory queue)', () => {
  let db: Db;
  let h: Harness;

  beforeAll(async () => {
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [createLocalProvider({ workers: 2 })] });
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
  });

  const decided = (id: string) => h.app.services.store.checks.awaitCompletion({ role: 'admin' }, id, Date.now() + 30_000);

  it('answers PENDING at once, then the queue decides the check as a synchronous one would be', async () => {
    const t = await h.tenant('async-one');
    const res = (await h.gql(VerifyIdentityDocument, input(), t.key)).data!.verifyIdentity;
    expect(res).toMatchObject({ status: 'PENDING', faceMatch: null, completedAt: null });
    const done = await decided(res.id);
    expect(done).toMatchObject({ status: 'ACCEPTED', provider: 'local' });
    const stored = (await h.gql(CheckDocument, { id: res.id }, t.key)).data!.check!;
    expect(stored.faceMatch?.provider).toBe('local');
    expect(stored.attempts.map((a) => [a.provider, a.outcome])).toEqual([['local', 'OK']]);
    expect(await h.app.services.orchestrator.images.size()).toBe(0); // the images went with the job
  });

  it('keeps idempotency, the quota and the typed refusals of synchronous checks', async () => {
    const t = await h.tenant('async-keys');
    await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits: { checksPerDay: 1 } });
    const first = (await h.gql(VerifyIdentityDocument, input({ idempotencyKey: 'a-1' }), t.key)).data!.verifyIdentity;
    const again = (await h.gql(VerifyIdentityDocument, input({ idempotencyKey: 'a-1' }), t.key)).data!.verifyIdentity;
    expect(again.id).toBe(first.id);
    const other = await h.gql(VerifyIdentityDocument, input({ idempotencyKey: 'a-1', referenceId: 'someone-else' }), t.key);
    expect(other.errors?.[0].extensions?.code).toBe('CONFLICT');
    const over = await h.gql(VerifyIdentityDocument, input(), t.key);
    expect(over.errors?.[0].extensions?.code).toBe('QUOTA_EXCEEDED');
    const bad = await h.gql(VerifyIdentityDocument, input({ selfie: Buffer.from('not an image').toString('base64') }), t.key);
    expect(bad.errors?.[0].extensions?.code).toBe('UNSUPPORTED_IMAGE_FORMAT');
    expect((await decided(first.id))?.status).toBe('ACCEPTED');
  });
});

const pgUrl = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

(pgUrl ? describe : describe.skip)('async checks across processes (BullMQ on Redis, PostgreSQL): an API-only app and a worker app', () => {
  let db: Db;
  let api: Harness;
  let worker: Harness;
  const local = scriptedProvider('local');

  beforeAll(async () => {
    db = await POSTGRES.open();
    // one queue of their own in the shared Redis
    const env = { DATABASE_URL: pgUrl!, REDIS_URL, VERIGATE_QUEUE: 'redis', VERIGATE_REDIS_PREFIX: `test-${process.pid}-${Date.now()}:` };
    worker = await startHarness({ db, providers: [local], calibration: scriptedCalibration(), env: { ...env, VERIGATE_ROLE: 'worker' } });
    api = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env: { ...env, VERIGATE_ROLE: 'api' } });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    if (db) await POSTGRES.dispose(db);
  });

  it('decides an async check in the worker, and answers a synchronous one through the queue too', async () => {
    const t = await api.tenant('split-roles');
    const calls = local.calls.length;
    const submitted = await api.gql(VerifyIdentityDocument, input(), t.key);
    expect(submitted.errors).toBeUndefined();
    const queued = submitted.data!.verifyIdentity;
    expect(queued.status).toBe('PENDING');
    expect((await api.app.services.store.checks.awaitCompletion({ role: 'admin' }, queued.id, Date.now() + 30_000))?.status).toBe('ACCEPTED');
    const sync = await api.gql(VerifyIdentityDocument, input({ async: false }), t.key);
    expect(sync.data?.verifyIdentity.status).toBe('ACCEPTED');
    expect(local.calls.length).toBe(calls + 2); // both ran in the worker's provider
    expect(await api.app.services.orchestrator.images.size()).toBe(0);
    // a check refused by the worker's provider answers the API's caller with its typed error
    local.behave(async () => {
      throw Object.assign(new (await import('../../providers/types')).ProviderError('local', 'BadInput', 'NO_FACE', 'no face'), {});
    });
    const refused = await api.gql(VerifyIdentityDocument, input({ async: false }), t.key);
    local.behave(async (req) => outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined));
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'NO_FACE', reasons: ['NO_FACE'] });
  });
});
