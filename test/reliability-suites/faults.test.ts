/**
 * Provider faults over real HTTP, through the real Facia and Rekognition adapters talking to their
 * wire-level emulators: latency spikes, 5xx, connection resets, malformed JSON, slow drip bodies and
 * providers that never answer — one at a time and mixed under concurrency. Every check ends in a
 * defined status (ACCEPTED / REJECTED / INCONCLUSIVE / ERROR, never PENDING) within its deadline,
 * none is lost (one row per accepted request), and the server stays healthy. With a fallback policy
 * (facia 500 ms → local engine) the same faults on Facia are absorbed: every check is ACCEPTED.
 */
import { createFaciaProvider } from '../../providers/facia';
import { createLocalProvider } from '../../providers/local';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { Db } from '../../src/store/db';
import { CompareFacesDocument, ProvidersDocument, SetTenantPolicyDocument, VerifyIdentityDocument } from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import type { Fault } from '../fakes/faults';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { faceBase64 } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';
import { countRows } from './support';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
/** a check's deadline (VERIGATE_PROVIDER_TIMEOUT_MS) */
const DEADLINE_MS = 2000;
/** generous slack on top of the deadline for the whole HTTP round trip (60 concurrent requests queue on a busy 2-core box) */
const SLACK_MS = 20_000;
/** slack for the check itself: created (PENDING) → completed, as stored */
const STORE_SLACK_MS = 3000;
const FALLBACK_DEADLINE_MS = 60_000;
const DEFINED = ['ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR'];
const fixed = async () => ({ similarity: 0.99, liveness: 0.97 });

/** every fault kind the emulators can inject, with a spike below and one beyond the deadline */
const FAULTS: Array<[string, Fault]> = [
  ['latency spike 300 ms', { kind: 'latency', ms: 300 }],
  ['latency beyond the deadline', { kind: 'latency', ms: DEADLINE_MS + 1000 }],
  ['HTTP 500', { kind: 'status', status: 500, body: 'internal error' }],
  ['HTTP 503', { kind: 'status', status: 503, body: '{"message":"Service Unavailable"}' }],
  ['connection reset', { kind: 'reset' }],
  ['malformed JSON', { kind: 'malformed' }],
  ['slow drip body', { kind: 'drip', intervalMs: 40 }],
  ['never answers', { kind: 'hang' }],
];

interface Outcome {
  ms: number;
  checkId?: string;
  status?: string;
  code?: string;
  http: number;
}

describe('provider faults over HTTP', () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let rek: RekognitionEmulator;
  let onFacia: { id: string; key: string };
  let onRek: { id: string; key: string };
  const selfie = faceBase64(SELFIE);
  const document = faceBase64(DOCUMENT);
  const tally = { checks: 0, faults: 0 };

  beforeAll(async () => {
    db = await PGLITE.open();
    facia = await startFaciaEmulator({ scorer: fixed });
    rek = await startRekognitionEmulator({ scorer: fixed });
    h = await startHarness({
      db,
      providers: [
        createLocalProvider({ workers: 1 }),
        createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 1500 }),
        createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: rek.credentials }),
      ],
      env: { VERIGATE_PROVIDER_TIMEOUT_MS: String(DEADLINE_MS) },
      // the circuit breaker stays out of the way (it has its own suite in test/policy): under concurrency
      // the fast failures would open it and turn the rest into CIRCUIT_OPEN, hiding the faults under test
      breaker: { failureThreshold: 10_000, cooldownMs: 200 },
    });
    onFacia = await h.tenant('faults-facia', 'facia');
    onRek = await h.tenant('faults-rekognition', 'rekognition');
  }, 120_000);
  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`fault suite: ${tally.checks} checks proven stored in a defined status in time (0 lost), ${tally.faults} provider faults injected`);
    await h?.close();
    await Promise.all([facia?.close(), rek?.close()]);
    await PGLITE.dispose(db);
  });
  beforeEach(async () => {
    facia.clearFaults();
    rek.clearFaults();
    await new Promise((r) => setTimeout(r, 250)); // let an open circuit from the previous test cool down
  });

  const timed = async (send: () => ReturnType<Harness['gql']>, field: 'verifyIdentity' | 'compareFaces'): Promise<Outcome> => {
    const started = Date.now();
    const res = await send();
    const data = (res.data as Record<string, { id: string; status: string }> | null | undefined)?.[field];
    const ext = res.errors?.[0]?.extensions;
    return { ms: Date.now() - started, http: res.status, checkId: data?.id ?? ext?.checkId, status: data?.status, code: ext?.code };
  };
  const verifyOn = (t: { key: string }) => timed(() => h.gql(VerifyIdentityDocument, { input: { selfie, document } }, t.key), 'verifyIdentity');
  const compareOn = (t: { key: string }) => timed(() => h.gql(CompareFacesDocument, { input: { source: selfie, target: document } }, t.key), 'compareFaces');

  /** Every answer names a stored check in a defined status, within the deadline; rows grew by exactly the answers. */
  const expectAllDefined = async (outcomes: Outcome[], rowsBefore: number, deadlineMs = DEADLINE_MS) => {
    const problems: string[] = [];
    for (const [i, o] of outcomes.entries()) {
      if (o.http >= 500) problems.push(`#${i}: HTTP ${o.http} (${o.code})`);
      if (!o.checkId) problems.push(`#${i}: no check named (${o.code})`);
      if (o.status && !DEFINED.includes(o.status)) problems.push(`#${i}: status ${o.status}`);
      if (o.code && !['PROVIDER_UNAVAILABLE', 'BAD_IMAGE'].includes(o.code)) problems.push(`#${i}: code ${o.code}`);
      if (o.ms > deadlineMs + SLACK_MS) problems.push(`#${i}: took ${o.ms} ms`);
    }
    expect(problems).toEqual([]);
    const ids = outcomes.map((o) => o.checkId!);
    expect(new Set(ids).size).toBe(ids.length);
    const rows = await db.query<{ id: string; status: string; created_at: Date; completed_at: Date | null }>(
      'SELECT id, status, created_at, completed_at FROM checks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.filter((r) => !DEFINED.includes(r.status) || r.completed_at === null)).toEqual([]);
    // each check ended within its deadline, measured on the stored row (PENDING written → completed)
    const late = rows.filter((r) => r.completed_at!.getTime() - r.created_at.getTime() > deadlineMs + STORE_SLACK_MS);
    expect(late.map((r) => `${r.id}: ${r.completed_at!.getTime() - r.created_at.getTime()} ms`)).toEqual([]);
    expect(await countRows(db, 'checks')).toBe(rowsBefore + outcomes.length);
    expect(await countRows(db, 'checks', "status = 'PENDING'")).toBe(0);
    expect((await fetch(h.url.replace(/\/graphql$/, '/healthz'))).status).toBe(200);
    tally.checks += outcomes.length; // counted once proven stored, defined and in time
  };

  it.each(FAULTS)('Facia: %s → a defined status within the deadline, one row', async (_name, fault) => {
    const before = await countRows(db, 'checks');
    facia.inject(fault, { op: 'process_face' });
    tally.faults++;
    const o = await verifyOn(onFacia);
    await expectAllDefined([o], before);
    if (fault.kind === 'latency' && fault.ms < DEADLINE_MS) expect(o.status).toBe('ACCEPTED');
    else expect(o.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it.each(FAULTS)('Rekognition: %s → a defined status within the deadline, one row', async (_name, fault) => {
    const before = await countRows(db, 'checks');
    rek.inject(fault, { op: 'CompareFaces' });
    tally.faults++;
    const o = await compareOn(onRek);
    await expectAllDefined([o], before);
    if (fault.kind === 'latency' && fault.ms < DEADLINE_MS) expect(o.status).toBe('ACCEPTED');
    else expect(o.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('40 concurrent Facia checks and 20 concurrent Rekognition checks with mixed faults: all defined, none lost', async () => {
    const before = await countRows(db, 'checks');
    // 5 of each fault kind on Facia (40 calls), and 20 of the 40 Rekognition calls faulted; the rest answer normally
    const faciaFaults = FAULTS.flatMap(([, f]) => Array.from({ length: 5 }, () => f));
    shuffle(faciaFaults).forEach((f) => facia.inject(f, { op: 'process_face' }));
    const rekFaults = shuffle([...FAULTS.map(([, f]) => f), ...FAULTS.map(([, f]) => f), { kind: 'latency', ms: 0 } as Fault, { kind: 'latency', ms: 0 } as Fault, { kind: 'latency', ms: 0 } as Fault, { kind: 'latency', ms: 0 } as Fault]);
    rekFaults.forEach((f) => rek.inject(f, { op: 'CompareFaces' }));
    tally.faults += faciaFaults.length + rekFaults.filter((f) => !(f.kind === 'latency' && f.ms === 0)).length;

    const outcomes = await Promise.all([
      ...Array.from({ length: 40 }, () => verifyOn(onFacia)),
      ...Array.from({ length: 20 }, () => compareOn(onRek)),
    ]);
    await expectAllDefined(outcomes, before);
    // the faults really happened: some checks failed, and the ones that met no fault (or a short spike) passed
    expect(outcomes.filter((o) => o.code === 'PROVIDER_UNAVAILABLE').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status === 'ACCEPTED').length).toBeGreaterThan(0);
    // afterwards the server still verifies
    facia.clearFaults();
    await new Promise((r) => setTimeout(r, 250));
    const after = await verifyOn(onFacia);
    expect(after.status).toBe('ACCEPTED');
  }, 120_000);

  it('absorbs the same faults on Facia with a fallback policy (facia 500 ms → local): every check ACCEPTED', async () => {
    const t = await h.tenant('faults-fallback');
    const set = await h.gql(SetTenantPolicyDocument, {
      tenantId: t.id,
      // the check deadline is raised from the suite's 2 s: ~21 fallbacks queue on one local worker
      policy: { strategy: { type: 'fallback', providers: [{ provider: 'facia', timeoutMs: 500 }, { provider: 'local' }] }, deadlineMs: FALLBACK_DEADLINE_MS },
    });
    expect(set.errors).toBeUndefined();
    const before = await countRows(db, 'checks');
    // 24 concurrent checks: 3 of each fault kind on Facia
    const faults = shuffle(FAULTS.flatMap(([, f]) => Array.from({ length: 3 }, () => f)));
    faults.forEach((f) => facia.inject(f, { op: 'process_face' }));
    tally.faults += faults.length;
    const outcomes = await Promise.all(faults.map(() => verifyOn(t)));
    await expectAllDefined(outcomes, before, FALLBACK_DEADLINE_MS);
    expect(outcomes.map((o) => o.status ?? o.code)).toEqual(faults.map(() => 'ACCEPTED'));

    const attempts = await db.query<{ check_id: string; provider: string; role: string; outcome: string }>(
      'SELECT check_id, provider, role, outcome FROM attempts WHERE check_id = ANY($1::uuid[]) ORDER BY check_id, seq',
      [outcomes.map((o) => o.checkId)],
    );
    const fellBack = new Set(attempts.filter((a) => a.provider === 'local' && a.role === 'fallback' && a.outcome === 'OK').map((a) => a.check_id));
    // every fault except the short spike sends the check to the local engine (3 × 7 kinds at least)
    expect(fellBack.size).toBeGreaterThanOrEqual(21);
    expect(attempts.filter((a) => a.provider === 'facia' && a.outcome !== 'OK').length).toBeGreaterThanOrEqual(21);
  }, 180_000);
});

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

describe('breakers that mean the provider', () => {
  let db: Db;
  let facia: FaciaEmulator;
  let replicas: Harness[];
  const selfie = faceBase64(SELFIE);
  const document = faceBase64(DOCUMENT);
  // two replicas on one database and one Redis: a prefix of their own, so no other run's circuits are theirs
  const env = { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', VERIGATE_REDIS_PREFIX: `test-${process.pid}-${Date.now()}:`, VERIGATE_DEFAULT_PROVIDER: 'facia' };

  beforeAll(async () => {
    db = await PGLITE.open();
    facia = await startFaciaEmulator({ scorer: fixed });
    const make = () =>
      startHarness({ db, providers: [createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 3000 })], env, breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
    replicas = [await make(), await make()];
  });
  afterAll(async () => {
    for (const r of replicas ?? []) await r.close();
    await facia?.close();
    await PGLITE.dispose(db);
  });
  beforeEach(() => facia.clearFaults());

  const circuit = async (h: Harness) => (await h.gql(ProvidersDocument, {})).data!.providers.find((p) => p.name === 'facia')!;
  const verify = (h: Harness, key: string) => h.gql(VerifyIdentityDocument, { input: { selfie, document } }, key);

  it('never opens on a tenant’s own tiny timeouts, nor on refused input, and other tenants are served', async () => {
    const [r1] = replicas;
    const hasty = await r1.tenant('hasty');
    await r1.gql(SetTenantPolicyDocument, { tenantId: hasty.id, policy: { strategy: { type: 'single', provider: { provider: 'facia', timeoutMs: 1, retries: 5 } } } });
    facia.inject({ kind: 'latency', ms: 50 }, { times: 100, op: 'process_face' });
    for (let i = 0; i < 3; i++) expect((await verify(r1, hasty.key)).errors?.[0].extensions?.reasons).toEqual(['TIMEOUT']);
    facia.clearFaults();
    facia.inject({ kind: 'status', status: 400, body: '{"error": "Invalid or corrupt selfie image"}' }, { times: 6, op: 'process_face' });
    const sloppy = await r1.tenant('sloppy');
    for (let i = 0; i < 6; i++) expect((await verify(r1, sloppy.key)).errors?.[0].extensions?.code).toBe('BAD_IMAGE');
    expect(await circuit(r1)).toMatchObject({ circuit: 'CLOSED' });
    const other = await r1.tenant('other');
    expect((await verify(r1, other.key)).data?.verifyIdentity.status).toBe('ACCEPTED');
  });

  it('opens on the provider’s own faults, for every replica at once (shared through Redis)', async () => {
    const [r1, r2] = replicas;
    const t = await r1.tenant('shared-circuit');
    facia.inject({ kind: 'status', status: 500, body: 'down' }, { times: 3, op: 'process_face' });
    for (let i = 0; i < 3; i++) expect((await verify(r1, t.key)).errors?.[0].extensions?.reasons).toEqual(['PROVIDER_UNAVAILABLE']);
    expect(await circuit(r2)).toMatchObject({ circuit: 'OPEN', consecutiveFailures: 3 });
    const calls = facia.recorder.count('process_face');
    const refused = await verify(r2, t.key);
    expect(refused.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.errors?.[0].message).toMatch(/circuit open/);
    expect(facia.recorder.count('process_face')).toBe(calls); // replica 2 never called Facia
  });
});

