/**
 * Trustworthy verdicts over HTTP, with the real local engine and the real Facia and Rekognition
 * adapters against their wire-level emulators. Each of the seven findings of the verdicts issue
 * (fail-open, a loosening consensus, a broken provider switch, idempotency that ignored the
 * payload, liveness sessions that belonged to nobody, quality that never blocked, operator
 * calibration never used) is reproduced here as it was reported, and now answers right; then
 * routing per capability and policy replay.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createFaciaProvider } from '../../providers/facia';
import { createLocalProvider } from '../../providers/local';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { Provider } from '../../providers/types';
import { runCalibrate } from '../../src/eval';
import type { Db } from '../../src/store/db';
import { CalibrationRegistry } from '../../src/verification/calibration';
import {
  CheckDocument,
  CheckLivenessDocument,
  ChecksDocument,
  CreateLivenessSessionDocument,
  LivenessSessionDocument,
  ProvidersDocument,
  ReplayPolicyDocument,
  SetTenantPolicyDocument,
  SetTenantProviderDocument,
  VerifyIdentityDocument,
} from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { fallbackScorer, type Scorer } from '../fakes/scorer';
import { faceBase64, faceBytes, FACES_DIR } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';
import { eventually } from '../support/eventually';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
const OTHER_PERSON = 'face_recognition/examples/knn_examples/train/biden/biden.jpg';
/** a real selfie (liveness_labels.tsv: real) */
const LIVE_SELFIE = 'silent-face/image_T1.jpg';
/** a printed-photo attack the local liveness model flags (liveness_labels.tsv: spoof) */
const PRINT_ATTACK = 'silent-face/image_F1.jpg';

const defaults = CalibrationRegistry.loadDefaults();
const fmrOfFacia = (score: number) => defaults.unifyMatch({ score, scale: 'unit', calibration: 'facia/default' }).fmr;
/** the unit score whose FMR on a default table is `fmr` (bisection: the tables are monotone) */
function scoreAt(calibration: string, scale: 'unit' | 'percent', fmr: number): number {
  let [lo, hi] = [0, scale === 'unit' ? 1 : 100];
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (defaults.unifyMatch({ score: mid, scale, calibration }).fmr > fmr) lo = mid;
    else hi = mid;
  }
  return hi;
}

describe('trustworthy verdicts', () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let rek: RekognitionEmulator;
  let faciaScores: { similarity: number; liveness: number };
  let scoreFacia: Scorer;
  let rekSimilarity: number;

  beforeAll(async () => {
    db = await PGLITE.open();
    const faciaScorer: Scorer = (a, b) => scoreFacia(a, b);
    const rekScorer: Scorer = async () => ({ similarity: rekSimilarity, liveness: 0.97 });
    facia = await startFaciaEmulator({ scorer: faciaScorer });
    rek = await startRekognitionEmulator({ scorer: rekScorer });
    const providers: Provider[] = [
      createLocalProvider({ workers: 2 }),
      createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 5000 }),
      createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: rek.credentials }),
    ];
    h = await startHarness({ db, providers });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([facia?.close(), rek?.close()]);
    await PGLITE.dispose(db);
  });
  beforeEach(() => {
    facia.clearFaults();
    rek.clearFaults();
    faciaScores = { similarity: 0.99, liveness: 0.97 };
    scoreFacia = async () => faciaScores;
    rekSimilarity = 0.99;
  });

  const setPolicy = async (tenantId: string, policy: Record<string, unknown>) => {
    const res = await h.gql(SetTenantPolicyDocument, { tenantId, policy });
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.setTenantPolicy;
  };
  const verify = (key: string, input: Record<string, unknown>) => h.gql(VerifyIdentityDocument, { input: { document: faceBase64(DOCUMENT), ...input } as never }, key);
  /** a decided check, or a failure that names the error (not a TypeError on null data) */
  const verified = async (key: string, input: Record<string, unknown>) => {
    const r = await verify(key, input);
    if (!r.data) throw new Error(`verifyIdentity answered ${JSON.stringify(r.errors)}`);
    return r.data.verifyIdentity;
  };
  const checkCount = async (tenantId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1', [tenantId]))[0].n;
  /** a completed Face Liveness session of the tenant (the emulator plays the user) */
  const completedSession = async (key: string, result: { referenceImage?: Buffer; status?: 'SUCCEEDED' | 'FAILED'; confidence?: number } = { referenceImage: faceBytes(SELFIE) }) => {
    const res = await h.gql(CreateLivenessSessionDocument, {}, key);
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    const id = res.data.createLivenessSession.sessionId;
    rek.startSession(id);
    await rek.completeSession(id, result);
    return id;
  };

  describe('the seven findings', () => {
    it('1. fail-open: a FAILED Face Liveness session under require {liveness: false} is not ACCEPTED', async () => {
      const t = await h.tenant('finding-1', 'rekognition');
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'rekognition' } }, require: { liveness: false } });
      const session = await completedSession(t.key, { status: 'FAILED' });
      const r = (await verified(t.key, { livenessSessionId: session }));
      // the session brings its own liveness verdict (failed), and no selfie to match: never a pass
      expect(r.status).toBe('REJECTED');
      expect(r.reasons).toEqual(expect.arrayContaining(['LIVENESS_FAILED', 'EVIDENCE_MISSING']));
      expect(r.liveness).toMatchObject({ provider: 'rekognition', live: false });
      expect(r.faceMatch).toBeNull();
    });

    it('2. a consensus minScore never loosens: two providers at FMR 0.08 with minScore 0.05 → REJECTED', async () => {
      const t = await h.tenant('finding-2');
      await setPolicy(t.id, {
        strategy: { type: 'consensus', providers: [{ provider: 'facia' }, { provider: 'rekognition' }], mode: 'minScore', minScore: 0.05 },
        require: { liveness: false },
      });
      faciaScores = { similarity: scoreAt('facia/default', 'unit', 0.08), liveness: 0.97 };
      rekSimilarity = scoreAt('rekognition/default', 'percent', 0.08) / 100;
      const r = (await verified(t.key, { selfie: faceBase64(SELFIE) }));
      expect(r.faceMatch!.fmr).toBeCloseTo(0.08, 2);
      expect(r.faceMatch!.matched).toBe(false);
      expect(r).toMatchObject({ status: 'REJECTED', reasons: ['FACE_MISMATCH'] });
      expect(r.attempts.map((a) => [a.provider, a.role])).toEqual([['facia', 'consensus'], ['rekognition', 'consensus']]);
    });

    it('3. setTenantProvider(rekognition) gives a working policy: match on Rekognition, liveness on the local engine', async () => {
      const t = await h.tenant('finding-3');
      await h.gql(SetTenantProviderDocument, { tenantId: t.id, provider: 'rekognition' });
      const r = (await verified(t.key, { selfie: faceBase64(SELFIE) }));
      expect(r.status).toBe('ACCEPTED');
      expect(r.faceMatch).toMatchObject({ provider: 'rekognition', fmrSource: 'DEFAULT', calibrationTable: 'rekognition/default' });
      expect(r.liveness).toMatchObject({ provider: 'local', live: true });
      expect(r.attempts.map((a) => [a.provider, a.answers])).toEqual(expect.arrayContaining([['rekognition', ['match']], ['local', ['liveness']]]));
      expect(r.provider).toBe('rekognition');
    });

    it('4. the same idempotencyKey with another person’s selfie is a CONFLICT: nothing stored, no provider called', async () => {
      const t = await h.tenant('finding-4', 'facia');
      const first = (await verified(t.key, { selfie: faceBase64(SELFIE), idempotencyKey: 'order-1' }));
      const [checks, calls] = [await checkCount(t.id), facia.recorder.count('process_face')];
      const other = await verify(t.key, { selfie: faceBase64(OTHER_PERSON), idempotencyKey: 'order-1' });
      expect(other.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', field: 'idempotencyKey' });
      expect(other.errors?.[0].message).toContain('image');
      expect(JSON.stringify(other.errors)).not.toContain(first.id); // no other request's result leaks
      const otherRef = await verify(t.key, { selfie: faceBase64(SELFIE), idempotencyKey: 'order-1', referenceId: 'someone-else' });
      expect(otherRef.errors?.[0].extensions?.code).toBe('CONFLICT');
      expect([await checkCount(t.id), facia.recorder.count('process_face')]).toEqual([checks, calls]);
      // the same request again is the stored result
      const again = (await verified(t.key, { selfie: faceBase64(SELFIE), idempotencyKey: 'order-1' }));
      expect(again.id).toBe(first.id);
      expect(facia.recorder.count('process_face')).toBe(calls);
    });

    it('4. a repeat of a running check is woken by its completion (no polling), and waits no longer than its deadline', async () => {
      const t = await h.tenant('finding-4b', 'facia');
      facia.inject({ kind: 'latency', ms: 1500 }, { op: 'process_face' });
      const input = { selfie: faceBase64(SELFIE), idempotencyKey: 'slow-1' };
      const first = verify(t.key, input);
      await eventually('the first request stored its check', async () => (await checkCount(t.id)) === 1, 10_000);
      const queriesBefore = db.queries;
      const repeat = await verify(t.key, input);
      const firstDone = (await first).data!.verifyIdentity;
      expect(repeat.data!.verifyIdentity).toMatchObject({ id: firstDone.id, status: 'ACCEPTED' });
      // polling every 25 ms for ~1.5 s would read the row ~60 times; a woken waiter reads it twice
      expect(db.queries - queriesBefore).toBeLessThan(20);

      // a check that no process finishes (no owner runs it): the repeat is woken when the sweeper ends
      // it, just past its 500 ms deadline — not 25 s later
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'facia' } }, deadlineMs: 500 });
      const digests = (await h.app.services.store.checks.get({ role: 'admin' }, firstDone.id))!.imageDigests;
      await h.app.services.store.checks.createPending({ tenantId: t.id, kind: 'VERIFY_IDENTITY', idempotencyKey: 'orphan', imageDigests: digests, defaultDeadlineMs: 500 });
      const started = Date.now();
      const orphan = await verify(t.key, { selfie: faceBase64(SELFIE), idempotencyKey: 'orphan' });
      expect(orphan.data!.verifyIdentity).toMatchObject({ status: 'ERROR', reasons: ['INTERRUPTED'] });
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('5. liveness sessions are records: the tenant’s own, single-use, made through the provider caller', async () => {
      const [b, d] = [await h.tenant('finding-5-b', 'rekognition'), await h.tenant('finding-5-d', 'rekognition')];
      const session = await completedSession(b.key);
      const foreign = await verify(d.key, { livenessSessionId: session });
      expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'livenessSessionId' });
      expect(await checkCount(d.id)).toBe(0);
      expect((await h.gql(LivenessSessionDocument, { id: session }, d.key)).data!.livenessSession).toBeNull();
      expect((await h.gql(LivenessSessionDocument, { id: session }, b.key)).data!.livenessSession).toMatchObject({ provider: 'rekognition', state: 'OPEN', checkId: null });

      const used = (await verified(b.key, { livenessSessionId: session }));
      expect(used).toMatchObject({ status: 'ACCEPTED', livenessSessionId: session });
      expect(used.liveness?.provider).toBe('rekognition');
      const twice = await verify(b.key, { livenessSessionId: session });
      expect(twice.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', field: 'livenessSessionId' });
      expect((await h.gql(LivenessSessionDocument, { id: session }, b.key)).data!.livenessSession).toMatchObject({ state: 'USED', checkId: used.id });
      const unknown = await verify(b.key, { livenessSessionId: '6f1c2d7e-0000-4000-8000-000000000000' });
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');

      // checkLiveness takes a session too (liveness without a document)
      const live = (await h.gql(CheckLivenessDocument, { input: { livenessSessionId: await completedSession(b.key) } }, b.key)).data!.checkLiveness;
      expect(live).toMatchObject({ kind: 'LIVENESS', status: 'ACCEPTED', liveness: { provider: 'rekognition', live: true } });

      // residency applies: an onPremOnly tenant gets no cloud session
      await setPolicy(b.id, { strategy: { type: 'single', provider: { provider: 'local' } }, onPremOnly: true });
      const refused = await h.gql(CreateLivenessSessionDocument, {}, b.key);
      expect(refused.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
      expect(refused.errors?.[0].message).toContain('onPremOnly');
      await setPolicy(b.id, { strategy: { type: 'single', provider: { provider: 'rekognition' } }, routes: { liveness: { strategy: { type: 'single', provider: { provider: 'local' } } } } });

      // through the provider caller: its calls are metered like any provider call
      const metrics = await h.app.metrics.registry.getSingleMetricAsString('verigate_provider_call_duration_seconds');
      expect(metrics).toMatch(/provider="rekognition",outcome="OK"/);
      rek.injectError('ThrottlingException', { op: 'CreateFaceLivenessSession' });
      const throttled = await h.gql(CreateLivenessSessionDocument, {}, b.key);
      expect(throttled.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    });

    it('6. a heavily blurred selfie is not ACCEPTED (quality blocks by default; a policy may say otherwise)', async () => {
      const t = await h.tenant('finding-6');
      // measured: this selfie blurred (σ 3) still scores live 0.98 and matches its sharp self at cosine 0.93
      const blurred = (await sharp(faceBytes(LIVE_SELFIE)).blur(3).jpeg({ quality: 90 }).toBuffer()).toString('base64');
      const r = (await verified(t.key, { selfie: blurred, document: faceBase64(LIVE_SELFIE) }));
      expect(r.reasons).toContain('BLURRY');
      expect(r.status).toBe('INCONCLUSIVE');
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'local' } }, quality: { block: ['BLURRY'], outcome: 'REJECTED' } });
      expect((await verified(t.key, { selfie: blurred, document: faceBase64(LIVE_SELFIE) })).status).toBe('REJECTED');
    });

    it('7. an operator table from `verigate calibrate --provider facia` maps Facia scores and says so', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'verigate-calibration-'));
      const saved = { ...process.env };
      try {
        Object.assign(process.env, { FACIA_URL: facia.url, FACIA_HASH_ID: facia.hashId });
        scoreFacia = fallbackScorer; // impostors 0.05–0.35 (a hash of the two images), identical images 0.99
        const out: string[] = [];
        const code = await runCalibrate(['--pairs', join(FACES_DIR, 'pairs_face_recognition.tsv'), '--provider', 'facia', '--out', join(dir, 'facia.json')], (l) => out.push(l));
        expect(code).toBe(0);
        const table = JSON.parse(readFileSync(join(dir, 'facia.json'), 'utf8'));
        expect(table).toMatchObject({ id: 'facia/measured', scores: 'facia/default', origin: 'measured' });

        const local = await startHarness({
          db,
          providers: [createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 5000 })],
          env: { VERIGATE_CALIBRATION_DIR: dir, VERIGATE_DEFAULT_PROVIDER: 'facia' },
        });
        try {
          const shown = (await local.gql(ProvidersDocument, {})).data!.providers.find((p) => p.name === 'facia')!;
          expect(shown.matchCalibration).toMatchObject({ id: 'facia/measured', origin: 'measured', source: 'operator', impostorPairs: table.impostorPairs });
          const t = await local.tenant('finding-7');
          scoreFacia = async () => faciaScores;
          faciaScores = { similarity: 0.95, liveness: 0.97 };
          const r = (await local.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, t.key)).data!.verifyIdentity;
          expect(r.faceMatch).toMatchObject({ provider: 'facia', fmrSource: 'MEASURED', calibrationTable: 'facia/measured' });
          expect(r.faceMatch!.fmr).not.toBeCloseTo(fmrOfFacia(0.95), 8);
        } finally {
          await local.close();
        }
        // the default table says it is a default, in every result
        const t = await h.tenant('finding-7-default', 'facia');
        const r = (await verified(t.key, { selfie: faceBase64(SELFIE) }));
        expect(r.faceMatch).toMatchObject({ fmrSource: 'DEFAULT', calibrationTable: 'facia/default' });
        expect((await h.gql(ProvidersDocument, {})).data!.providers.find((p) => p.name === 'facia')!.matchCalibration).toMatchObject({ origin: 'default', source: 'package' });
      } finally {
        process.env = saved;
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('routing per capability', () => {
    it('refuses a print attack by local liveness while Rekognition says the faces match', async () => {
      const t = await h.tenant('routing-attack');
      await h.gql(SetTenantProviderDocument, { tenantId: t.id, provider: 'rekognition' });
      rekSimilarity = 0.999;
      const r = (await verified(t.key, { selfie: faceBase64(PRINT_ATTACK) }));
      expect(r.faceMatch).toMatchObject({ provider: 'rekognition', matched: true });
      expect(r.liveness).toMatchObject({ provider: 'local', live: false });
      expect(r.status).toBe('REJECTED');
      expect(r.reasons).toContain('LIVENESS_FAILED');
    });

    it('matches on Facia with liveness from a Rekognition Face Liveness session', async () => {
      const t = await h.tenant('routing-facia-session');
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'facia' } }, routes: { liveness: { strategy: { type: 'single', provider: { provider: 'rekognition' } } } } });
      const session = await completedSession(t.key);
      const before = facia.recorder.count('process_face');
      const r = (await verified(t.key, { livenessSessionId: session }));
      expect(r.status).toBe('ACCEPTED');
      expect(r.faceMatch?.provider).toBe('facia');
      expect(r.liveness?.provider).toBe('rekognition');
      expect(r.attempts.map((a) => [a.provider, a.role, a.answers])).toEqual([
        ['rekognition', 'session', ['liveness']],
        ['facia', 'primary', ['match']],
      ]);
      expect(facia.recorder.count('process_face')).toBe(before + 1);
    });

    it('runs everything on the local engine by default, in one call per image pair', async () => {
      const t = await h.tenant('routing-local');
      const r = (await verified(t.key, { selfie: faceBase64(SELFIE) }));
      expect(r).toMatchObject({ status: 'ACCEPTED', provider: 'local', faceMatch: { provider: 'local', fmrSource: 'MEASURED' }, liveness: { provider: 'local' } });
      expect(r.attempts.map((a) => [a.provider, a.answers])).toEqual([['local', ['match', 'liveness']]]);
    });

    it('warns of policy steps that can never run, and names the capability and the fix when a check cannot run', async () => {
      const t = await h.tenant('routing-warnings');
      const stored = await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'rekognition' } } });
      expect(stored.warnings.join('\n')).toMatch(/rekognition is never called for liveness in verifyIdentity: rekognition has no passive liveness/);
      const res = await verify(t.key, { selfie: faceBase64(SELFIE) });
      expect(res.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
      expect(res.errors?.[0].message).toMatch(/routes\.liveness/);
      // a shadow is asked for what it can answer: Rekognition shadows the match of a facia policy
      const shadowed = await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'facia' } }, shadow: [{ provider: 'rekognition' }] });
      const shadowWarnings = shadowed.warnings.filter((w) => w.startsWith('shadow'));
      expect(shadowWarnings.length).toBeGreaterThan(0);
      for (const w of shadowWarnings) expect(w).toMatch(/^shadow rekognition is never called for liveness/);
      const r = (await verified(t.key, { selfie: faceBase64(SELFIE) }));
      await h.app.services.orchestrator.drainShadows();
      const all = (await h.gql(CheckDocument, { id: r.id })).data!.check!;
      expect(all.attempts.map((a) => [a.provider, a.role, a.answers])).toEqual([
        ['facia', 'primary', ['match', 'liveness']],
        ['rekognition', 'shadow', ['match']],
      ]);
    });
  });

  describe('calibrated liveness', () => {
    it('reports the estimated APCER of every local liveness score, and decides by livenessMaxApcer when the policy states it', async () => {
      const t = await h.tenant('calibrated-liveness');
      const real = (await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(LIVE_SELFIE) } }, t.key)).data!.checkLiveness;
      expect(real.liveness).toMatchObject({ provider: 'local', live: true, maxApcer: null });
      expect(real.liveness!.apcer).toBeGreaterThanOrEqual(0);
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'local' } }, thresholds: { livenessMaxApcer: 0.05 } });
      const strict = (await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(LIVE_SELFIE) } }, t.key)).data!.checkLiveness;
      expect(strict.liveness).toMatchObject({ live: strict.liveness!.apcer! <= 0.05, maxApcer: 0.05 });
      const attack = (await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(PRINT_ATTACK) } }, t.key)).data!.checkLiveness;
      expect(attack.status).not.toBe('ACCEPTED');
      if (attack.liveness) expect(attack.liveness.apcer!).toBeGreaterThan(0.05);
    });
  });

  describe('policy replay', () => {
    it('re-decides stored checks under a stricter policy from their stored scores, calling no provider', async () => {
      const t = await h.tenant('replay', 'facia');
      const from = new Date(Date.now() - 1000).toISOString();
      // scores whose default-table FMRs are known: accept (≤ 1e-5), inconclusive, reject
      const plan: Array<{ similarity: number; liveness: number; expect: string }> = [
        { similarity: 0.99, liveness: 0.97, expect: 'ACCEPTED' },
        { similarity: 0.999, liveness: 0.97, expect: 'ACCEPTED' },
        { similarity: 0.99, liveness: 0.6, expect: 'ACCEPTED' },
        { similarity: 0.9, liveness: 0.97, expect: 'INCONCLUSIVE' },
        { similarity: 0.6, liveness: 0.97, expect: 'REJECTED' },
      ];
      for (const p of plan) {
        faciaScores = p;
        expect((await verified(t.key, { selfie: faceBase64(SELFIE) })).status).toBe(p.expect);
      }
      facia.inject({ kind: 'status', status: 500, body: 'oops' }, { op: 'process_face' });
      expect((await verify(t.key, { selfie: faceBase64(SELFIE) })).errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
      const to = new Date(Date.now() + 1000).toISOString();

      // stricter: accept only between the FMRs of 0.999 and 0.99, and liveness from 0.9
      const acceptFmr = (fmrOfFacia(0.99) + fmrOfFacia(0.999)) / 2;
      expect(fmrOfFacia(0.999)).toBeLessThan(acceptFmr);
      const stricter = { strategy: { type: 'single', provider: { provider: 'facia' } }, thresholds: { acceptFmr, inconclusiveFmr: 1e-3, livenessMin: 0.9 } };
      const calls = facia.recorder.count('process_face');
      const replay = (await h.gql(ReplayPolicyDocument, { tenantId: t.id, policy: stricter, from, to, first: 10 })).data!.replayPolicy;
      expect(facia.recorder.count('process_face')).toBe(calls);
      expect(replay).toMatchObject({ checks: 6, replayed: 5, withoutEvidence: 1, changed: 2 });
      const counts = Object.fromEntries(replay.transitions.map((x) => [`${x.from}→${x.to}`, x.count]));
      expect(counts).toEqual({ 'ACCEPTED→ACCEPTED': 1, 'ACCEPTED→INCONCLUSIVE': 1, 'ACCEPTED→REJECTED': 1, 'INCONCLUSIVE→INCONCLUSIVE': 1, 'REJECTED→REJECTED': 1 });
      expect(replay.changedChecks.map((c) => [c.from, c.to])).toEqual([['ACCEPTED', 'INCONCLUSIVE'], ['ACCEPTED', 'REJECTED']]);
      expect(replay.changedChecks[1].reasons).toContain('LIVENESS_FAILED');

      // the same policy as stored changes nothing; nothing was written
      const same = (await h.gql(ReplayPolicyDocument, { tenantId: t.id, policy: { strategy: { type: 'single', provider: { provider: 'facia' } } }, from, to })).data!.replayPolicy;
      expect(same).toMatchObject({ replayed: 5, changed: 0 });
      const stored = (await h.gql(ChecksDocument, { filter: { tenantId: t.id } })).data!.checks.edges.map((e) => e.node.status);
      expect(stored.sort()).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'ERROR', 'INCONCLUSIVE', 'REJECTED']);

      const invalid = await h.gql(ReplayPolicyDocument, { tenantId: t.id, policy: { strategy: { type: 'nope' } }, from, to });
      expect(invalid.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'policy' });
    });
  });
});
