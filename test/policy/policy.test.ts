/**
 * Per-tenant policy over HTTP, with the real local engine and the real Facia and Rekognition
 * adapters talking to their wire-level emulators: fallback and circuit breaking, consensus,
 * shadow, weighted split, residency, live changes and rollback.
 */
import sharp from 'sharp';
import { createFaciaProvider } from '../../providers/facia';
import { createLocalProvider } from '../../providers/local';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { Provider } from '../../providers/types';
import type { Db } from '../../src/store/db';
import {
  CheckDocument,
  PolicyHistoryDocument,
  ProviderAgreementDocument,
  ProvidersDocument,
  RollbackTenantPolicyDocument,
  SetTenantPolicyDocument,
  TenantPolicyDocument,
  VerifyIdentityDocument,
} from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import type { Scorer } from '../fakes/scorer';
import { faceBase64 } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';

// a same-person pair the local engine accepts (knn_examples: train vs test image of one person)
const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';

const COOLDOWN_MS = 30_000;
/** how far the breaker's clock is ahead of the wall clock */
let skew = 0;
const fixed = (similarity: number): Scorer => async () => ({ similarity, liveness: 0.97 });

describe('tenant policy', () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let rek: RekognitionEmulator;
  let faciaScore = 0.99;
  let tenant: { id: string; key: string };
  let grey: string;

  beforeAll(async () => {
    db = await PGLITE.open();
    facia = await startFaciaEmulator({ scorer: async (a, b) => fixed(faciaScore)(a, b) });
    rek = await startRekognitionEmulator({ scorer: fixed(0.99) });
    const providers: Provider[] = [
      createLocalProvider({ workers: 2 }),
      createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 5000 }),
      createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: rek.credentials }),
    ];
    // the split test sends 1,000 checks as fast as the gateway answers them (over 100/s): it is
    // about routing, not the rate limiter (test/reliability/limits.test.ts), so the limits are raised
    const unlimited = { VERIGATE_TENANT_RATE_PER_MINUTE: '100000000', VERIGATE_TENANT_BURST: '100000000', VERIGATE_KEY_RATE_PER_MINUTE: '100000000', VERIGATE_KEY_BURST: '100000000' };
    // the breaker's clock is the test's: the cool-down passes when the test says so, however slow the machine
    h = await startHarness({ db, providers, breaker: { failureThreshold: 3, cooldownMs: COOLDOWN_MS, now: () => Date.now() + skew }, env: unlimited });
    tenant = await h.tenant('policy-tenant');
    grey = (await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } }).jpeg().toBuffer()).toString('base64');
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([facia?.close(), rek?.close()]);
    await PGLITE.dispose(db);
  });
  beforeEach(() => {
    facia.clearFaults();
    rek.clearFaults();
    faciaScore = 0.99;
  });

  const setPolicy = async (policy: Record<string, unknown>, t = tenant) => {
    const res = await h.gql(SetTenantPolicyDocument, { tenantId: t.id, policy });
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.setTenantPolicy;
  };
  const verify = (extra: Record<string, string> = {}, t = tenant, selfie = faceBase64(SELFIE)) =>
    h.gql(VerifyIdentityDocument, { input: { selfie, document: faceBase64(DOCUMENT), ...extra } }, t.key);
  const faciaCalls = () => facia.recorder.count('process_face');
  const rekCalls = () => rek.recorder.count();

  it('falls back to the local engine within the timeout when Facia hangs, and breaks the circuit', async () => {
    await setPolicy({ strategy: { type: 'fallback', providers: [{ provider: 'facia', timeoutMs: 300 }, { provider: 'local' }] } });
    facia.inject({ kind: 'hang' }, { times: 100, op: 'process_face' });

    for (let i = 0; i < 3; i++) {
      const r = (await verify()).data!.verifyIdentity;
      expect(r).toMatchObject({ status: 'ACCEPTED', provider: 'local' });
      expect(r.attempts.map((a) => [a.provider, a.role, a.outcome])).toEqual([
        ['facia', 'primary', 'TIMEOUT'],
        ['local', 'fallback', 'OK'],
      ]);
      // Facia was given up at its 300 ms step timeout, not the check's 20 s deadline
      expect(r.attempts[0].latencyMs).toBeLessThan(2000);
    }
    // three consecutive timeouts: the circuit is open and Facia is not called at all
    const before = faciaCalls();
    const skipped = (await verify()).data!.verifyIdentity;
    expect(skipped.attempts[0]).toMatchObject({ provider: 'facia', outcome: 'UNAVAILABLE', errorCode: 'CIRCUIT_OPEN' });
    expect(skipped.status).toBe('ACCEPTED');
    expect(faciaCalls()).toBe(before);
    const open = (await h.gql(ProvidersDocument, {})).data!.providers.find((p) => p.name === 'facia')!;
    expect(open).toMatchObject({ circuit: 'OPEN', consecutiveFailures: 3 });
    expect(open.errorRate).toBeGreaterThan(0);

    // after the cool-down one probe goes through; Facia has recovered, so the circuit closes
    facia.clearFaults();
    skew += COOLDOWN_MS + 100;
    const probe = (await verify()).data!.verifyIdentity;
    expect(probe).toMatchObject({ status: 'ACCEPTED', provider: 'facia' });
    expect((await h.gql(ProvidersDocument, {})).data!.providers.find((p) => p.name === 'facia')!.circuit).toBe('CLOSED');
  });

  it('retries a Transient error on the same provider, and never falls back after bad input', async () => {
    await setPolicy({ strategy: { type: 'fallback', providers: [{ provider: 'facia', retries: 1 }, { provider: 'local' }] } });
    facia.inject({ kind: 'status', status: 502, body: 'bad gateway' }, { op: 'process_face' });
    const r = (await verify()).data!.verifyIdentity;
    expect(r.provider).toBe('facia');
    expect(r.attempts.map((a) => a.outcome)).toEqual(['TRANSIENT', 'OK']);

    await setPolicy({ strategy: { type: 'fallback', providers: [{ provider: 'local' }, { provider: 'facia' }] } });
    const before = faciaCalls();
    const res = await verify({}, tenant, grey);
    expect(res.errors?.[0].extensions?.code).toBe('NO_FACE');
    expect(faciaCalls()).toBe(before);
  });

  it('answers as the strictest member when consensus providers disagree, and decides when they agree', async () => {
    await setPolicy({ strategy: { type: 'consensus', providers: [{ provider: 'local' }, { provider: 'facia' }] } });
    faciaScore = 0.05;
    const split = (await verify()).data!.verifyIdentity;
    // local accepts, Facia rejects: a consensus is never looser than any member
    expect(split.status).toBe('REJECTED');
    expect(split.reasons).toEqual(expect.arrayContaining(['FACE_MISMATCH', 'PROVIDER_DISAGREEMENT']));
    expect(split.faceMatch?.provider).toBe('facia');
    expect(split.attempts.map((a) => a.role)).toEqual(['consensus', 'consensus']);

    faciaScore = 0.99;
    expect((await verify()).data!.verifyIdentity).toMatchObject({ status: 'ACCEPTED', reasons: [] });
  });

  it('stores shadow results without changing or delaying the decision', async () => {
    const t = await h.tenant('shadow-tenant');
    await setPolicy({ strategy: { type: 'single', provider: { provider: 'local' } }, shadow: [{ provider: 'facia' }] }, t);
    faciaScore = 0.05; // the shadow disagrees
    let release!: () => void;
    facia.inject({ kind: 'gate', released: new Promise<void>((r) => (release = r)) }, { op: 'process_face' });
    const from = new Date(Date.now() - 1000).toISOString();
    const r = (await verify({}, t)).data!.verifyIdentity;
    // answered while the shadow's call is still held at Facia: the answer did not wait for it
    expect(r).toMatchObject({ status: 'ACCEPTED', provider: 'local' });
    expect(r.attempts.map((a) => a.role)).toEqual(['primary']);
    release();

    await h.app.services.orchestrator.drainShadows();
    const stored = (await h.gql(CheckDocument, { id: r.id })).data!.check!;
    expect(stored.status).toBe('ACCEPTED');
    expect(stored.attempts.map((a) => [a.provider, a.role, a.outcome])).toEqual([
      ['local', 'primary', 'OK'],
      ['facia', 'shadow', 'OK'],
    ]);
    const agreement = await h.gql(ProviderAgreementDocument, { tenantId: t.id, from, to: new Date(Date.now() + 1000).toISOString() });
    // compared check by check: they disagree on the match, agree on liveness
    expect(agreement.data!.providerAgreement).toEqual([
      expect.objectContaining({ check: 'match', providerA: 'local', providerB: 'facia', checks: 1, agreement: 0 }),
      expect.objectContaining({ check: 'liveness', providerA: 'local', providerB: 'facia', checks: 1, agreement: 1 }),
    ]);
  });

  it('never calls a cloud provider under onPremOnly, even when the policy lists it', async () => {
    await setPolicy({
      onPremOnly: true,
      strategy: { type: 'fallback', providers: [{ provider: 'rekognition' }, { provider: 'local' }] },
      shadow: [{ provider: 'rekognition' }],
      require: { liveness: false },
    });
    const before = rekCalls();
    const r = (await verify()).data!.verifyIdentity;
    await h.app.services.orchestrator.drainShadows();
    expect(r).toMatchObject({ status: 'ACCEPTED', provider: 'local' });
    expect(rekCalls()).toBe(before);

    await setPolicy({ onPremOnly: true, strategy: { type: 'single', provider: { provider: 'rekognition' } }, require: { liveness: false } });
    const refused = await verify();
    expect(refused.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.errors?.[0].message).toContain('onPremOnly');
    expect(rekCalls()).toBe(before);
  });

  it('applies a change to the next check, keeps every version, and rolls back', async () => {
    const t = await h.tenant('switch-tenant');
    const v1 = await setPolicy({ strategy: { type: 'single', provider: { provider: 'facia' } } }, t);
    expect((await verify({}, t)).data!.verifyIdentity.provider).toBe('facia');
    // Rekognition has no passive liveness (it uses Face Liveness sessions): match only here
    const v2 = await setPolicy({ strategy: { type: 'single', provider: { provider: 'rekognition' } }, require: { liveness: false } }, t);
    expect(v2.version).toBe(v1.version! + 1);
    expect((await verify({}, t)).data!.verifyIdentity.provider).toBe('rekognition');

    const back = await h.gql(RollbackTenantPolicyDocument, { tenantId: t.id, version: v1.version! });
    expect(back.data!.rollbackTenantPolicy.version).toBe(v2.version! + 1);
    expect((await verify({}, t)).data!.verifyIdentity.provider).toBe('facia');

    const history = (await h.gql(PolicyHistoryDocument, { tenantId: t.id })).data!.policyHistory;
    expect(history.map((p) => p.version)).toEqual([3, 2, 1]);
    expect(history[0].author).toMatch(/^key:/);
    expect((await h.gql(TenantPolicyDocument, { tenantId: t.id })).data!.tenantPolicy.version).toBe(3);
    const audit = await db.query<{ action: string }>('SELECT action FROM audit_log WHERE tenant_id = $1 ORDER BY at', [t.id]);
    expect(audit.map((a) => a.action)).toEqual(['tenant.create', 'apiKey.create', 'policy.set', 'policy.set', 'policy.rollback']);
  });

  it('refuses invalid policies with the reasons, and providers this server lacks', async () => {
    const bad = await h.gql(SetTenantPolicyDocument, { tenantId: tenant.id, policy: { strategy: { type: 'split', arms: [{ provider: 'local', weight: 1 }] } } });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'policy' });
    expect(JSON.stringify(bad.errors?.[0].extensions?.issues)).toContain('strategy.arms');
    const typo = await h.gql(SetTenantPolicyDocument, { tenantId: tenant.id, policy: { strategy: { type: 'single', provider: { provider: 'local' } }, onPremOnyl: true } });
    expect(typo.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const unknownTenant = await h.gql(TenantPolicyDocument, { tenantId: '6f1c2d7e-0000-4000-8000-000000000000' });
    expect(unknownTenant.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('splits 70/30 within ±5% over 1,000 checks, sticky per referenceId', async () => {
    const t = await h.tenant('split-tenant');
    await setPolicy({ strategy: { type: 'split', arms: [{ provider: 'facia', weight: 70 }, { provider: 'rekognition', weight: 30 }] }, require: { liveness: false } }, t);
    const small = (await sharp(Buffer.from(faceBase64(SELFIE), 'base64')).resize(96).jpeg().toBuffer()).toString('base64');
    const counts = { facia: 0, rekognition: 0 } as Record<string, number>;
    const one = async (extra: Record<string, string>) => {
      const r = await h.gql(VerifyIdentityDocument, { input: { selfie: small, document: small, ...extra } }, t.key);
      return r.data!.verifyIdentity.provider!;
    };
    for (let i = 0; i < 1000; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => one({})));
      for (const p of batch) counts[p]++;
    }
    expect(counts.facia + counts.rekognition).toBe(1000);
    expect(Math.abs(counts.facia / 1000 - 0.7)).toBeLessThanOrEqual(0.05);

    for (const ref of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const arms = new Set(await Promise.all(Array.from({ length: 6 }, () => one({ referenceId: ref }))));
      expect(arms.size).toBe(1);
    }
  });
});
