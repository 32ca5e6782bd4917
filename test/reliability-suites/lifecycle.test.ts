/**
 * Crash and drain.
 *  (a) A check left PENDING by a crash becomes ERROR/INTERRUPTED when the app starts: on both
 *      stores with a row aged through the store, and for real — a server process killed with
 *      SIGKILL mid-check, then started again on the same data directory.
 *  (b) Graceful drain of the real CLI server (`node dist/src/main.js serve`): SIGTERM while a slow
 *      check is in flight — that request completes with its result, new connections are refused,
 *      the process exits 0, and the check is stored completed.
 * The slow/hanging provider is the Facia emulator (FACIA_URL/FACIA_HASH_ID) with injected latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../src/store/migrations';
import { createStore } from '../../src/store/repositories';
import { openDb, type Db } from '../../src/store/db';
import { CheckDocument, ChecksDocument, VerifyIdentityDocument } from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, startHarness } from '../support/harness';
import { ensureBuilt, freshConnection, startProcess, type Proc } from '../support/process';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';
import { post, sleep } from './support';
import { print } from 'graphql';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';

describeEachStore('start-up recovery of checks left PENDING', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await kind.dispose(db);
  });

  it('marks PENDING checks past their deadline ERROR/INTERRUPTED at start-up, and leaves young ones and completed ones alone', async () => {
    await migrate(db);
    const store = createStore(db);
    const tenant = await store.tenants.create('crashed-tenant');
    const { secret } = await store.keys.create('tenant', tenant.id);
    const pending = (ref: string) => store.checks.createPending({ tenantId: tenant.id, kind: 'VERIFY_IDENTITY', referenceId: ref, imageDigests: { selfie: 'a'.repeat(64) } });
    const age = (id: string, ms: number) =>
      db.query("UPDATE checks SET created_at = $2, deadline_at = $2::timestamptz + interval '20 seconds' WHERE id = $1", [id, new Date(Date.now() - ms)]);
    const { check: old } = await pending('old');
    const { check: older } = await pending('older');
    const { check: young } = await pending('young');
    const { check: done } = await pending('done');
    await store.checks.complete(done, { status: 'ACCEPTED', reasons: [], provider: 'local', faceMatch: null, liveness: null }, []);
    await age(old.id, 10 * 60_000);
    await age(older.id, 24 * 3_600_000);
    await age(done.id, 10 * 60_000);

    // the app starts: checks past their deadline (+ 2 s) with no live owner are a crash's leftovers
    const h = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env: { VERIGATE_PROVIDER_TIMEOUT_MS: '1000' } });
    try {
      for (const c of [old, older]) {
        const got = (await h.gql(CheckDocument, { id: c.id }, secret)).data?.check;
        expect(got).toMatchObject({ status: 'ERROR', reasons: ['INTERRUPTED'] });
        expect(got?.completedAt).toBeTruthy();
      }
      expect((await h.gql(CheckDocument, { id: young.id }, secret)).data?.check?.status).toBe('PENDING');
      expect((await h.gql(CheckDocument, { id: done.id }, secret)).data?.check).toMatchObject({ status: 'ACCEPTED', reasons: [] });
    } finally {
      await h.close();
    }
  });
});

describe('the real server process: crash and graceful drain', () => {
  let facia: FaciaEmulator;
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const selfie = faceBase64(SELFIE);
  const document = faceBase64(DOCUMENT);
  const body = JSON.stringify({ query: print(VerifyIdentityDocument), variables: { input: { selfie, document } } });

  beforeAll(async () => {
    ensureBuilt();
    facia = await startFaciaEmulator({ scorer: async () => ({ similarity: 0.99, liveness: 0.97 }) });
  }, 240_000);
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await facia?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const serverEnv = (dataDir: string, extra: Record<string, string> = {}) => ({
    VERIGATE_DATA_DIR: dataDir,
    VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    VERIGATE_PROVIDERS: 'facia',
    VERIGATE_DEFAULT_PROVIDER: 'facia',
    FACIA_URL: facia.url,
    FACIA_HASH_ID: facia.hashId,
    ...extra,
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'verigate-lifecycle-'));
    dirs.push(d);
    return d;
  };
  const gqlOn = async (p: Proc, query: string, variables: Record<string, unknown>, key = ADMIN_KEY) => (await post(`${p.url}/graphql`, { query, variables }, { key })).json;
  const tenantOn = async (p: Proc, name: string) => {
    const t = await gqlOn(p, 'mutation($n: String!) { createTenant(name: $n) { id } }', { n: name });
    const k = await gqlOn(p, 'mutation($t: ID!) { createApiKey(role: tenant, tenantId: $t) { secret } }', { t: t.data.createTenant.id });
    return { id: t.data.createTenant.id as string, key: k.data.createApiKey.secret as string };
  };
  const inFlight = async (before: number) => {
    const until = Date.now() + 10_000;
    while (facia.recorder.count('process_face') <= before && Date.now() < until) await sleep(10);
    expect(facia.recorder.count('process_face')).toBe(before + 1);
  };

  it('SIGTERM drains: the in-flight check completes with its result, new connections are refused, exit 0, check stored', async () => {
    const dataDir = tmp();
    const p = await startProcess(serverEnv(dataDir));
    procs.push(p);
    const t = await tenantOn(p, 'drain-tenant');
    facia.clearFaults();
    facia.inject({ kind: 'latency', ms: 2500 }, { op: 'process_face' });
    const calls = facia.recorder.count('process_face');
    const started = Date.now();
    const slow = fetch(`${p.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body }).then(
      async (r) => ({ status: r.status, json: (await r.json()) as any, at: Date.now(), error: undefined as string | undefined }),
      (e: Error & { cause?: Error }) => ({ status: 0, json: undefined as any, at: Date.now(), error: `${e.message}: ${e.cause?.message}` }),
    );
    await inFlight(calls); // the check is PENDING, its provider call under way
    p.child.kill('SIGTERM');
    // new connections are refused while the in-flight request is still running
    // (a connection racing the close can sit in the accept backlog and be reset: ECONNRESET; keep
    // trying until the closed listener refuses outright)
    let refused: { status?: number; error?: string } = {};
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      refused = await freshConnection(p.url);
      if (refused.error === 'ECONNREFUSED') break;
      await sleep(20);
    }
    const refusedAt = Date.now();
    expect({ error: refused.error, log: refused.error === 'ECONNREFUSED' ? '' : p.log().slice(-3000) }).toEqual({ error: 'ECONNREFUSED', log: '' });

    const answer = await slow;
    // on failure, show what the server said (its log holds no images or keys)
    expect({ error: answer.error, log: answer.error ? p.log().slice(-3000) : '' }).toEqual({ error: undefined, log: '' });
    expect(answer.at).toBeGreaterThan(refusedAt); // it was still in flight when connections were already refused
    expect(answer.at - started).toBeGreaterThanOrEqual(2400);
    expect(answer.status).toBe(200);
    expect(answer.json.errors).toBeUndefined();
    expect(answer.json.data.verifyIdentity).toMatchObject({ status: 'ACCEPTED', provider: 'facia' });
    const checkId: string = answer.json.data.verifyIdentity.id;

    const exit = await Promise.race([p.exited, new Promise((r) => setTimeout(r, 30_000).unref()).then(() => ({ code: -1, signal: null }))]);
    expect({ ...exit, log: exit.code === 0 ? '' : p.log().slice(-3000) }).toEqual({ code: 0, signal: null, log: '' });
    expect(p.log()).toMatch(/draining in-flight requests/);

    // the stored check, read from the data directory the process left behind
    const db = await openDb({ dataDir });
    try {
      const rows = await db.query<{ status: string; completed_at: Date | null }>('SELECT status, completed_at FROM checks WHERE id = $1', [checkId]);
      expect(rows).toHaveLength(1);
      expect(rows[0].status).toBe('ACCEPTED');
      expect(rows[0].completed_at).toBeTruthy();
      expect(await db.query("SELECT id FROM checks WHERE status = 'PENDING'")).toEqual([]);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('a server killed (SIGKILL) mid-check leaves a PENDING check that the next server ends ERROR/INTERRUPTED, long before its deadline', async () => {
    const dataDir = tmp();
    // first life: the provider never answers and the deadline is long, so the check stays PENDING
    const first = await startProcess(serverEnv(dataDir, { VERIGATE_PROVIDER_TIMEOUT_MS: '60000' }));
    procs.push(first);
    const t = await tenantOn(first, 'crash-tenant');
    facia.clearFaults();
    facia.inject({ kind: 'hang' }, { op: 'process_face' });
    const calls = facia.recorder.count('process_face');
    const lost = fetch(`${first.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body, signal: AbortSignal.timeout(30_000) })
      .then((r) => ({ status: r.status }))
      .catch((e: Error) => ({ error: e.name }));
    await inFlight(calls);
    await sleep(300); // the PENDING row is committed before the provider is called; give the store a moment
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await lost).toHaveProperty('error'); // the client lost its answer with the process

    // second life: the dead process stops saying it is alive; once it has missed its heartbeats
    // (10 s), the new server's sweeper ends its check, 50 s before the check's own deadline
    facia.clearFaults();
    const second = await startProcess(serverEnv(dataDir, { VERIGATE_SWEEP_INTERVAL_MS: '500' }));
    procs.push(second);
    const listChecks = async () => (await gqlOn(second, print(ChecksDocument), { first: 10 }, t.key)).data.checks.edges.map((e: any) => e.node);
    const until = Date.now() + 30_000;
    while ((await listChecks())[0]?.status === 'PENDING' && Date.now() < until) await sleep(200);
    const checks = await listChecks();
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ status: 'ERROR', reasons: ['INTERRUPTED'], tenantId: t.id });
    expect(new Date(checks[0].completedAt).getTime()).toBeLessThan(new Date(checks[0].deadlineAt).getTime());
    expect(second.log()).toMatch(/checks no process will finish ended ERROR/);
    // and the restarted server works
    const ok = await gqlOn(second, print(VerifyIdentityDocument), { input: { selfie, document } }, t.key);
    expect(ok.data?.verifyIdentity).toMatchObject({ status: 'ACCEPTED' });
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
