/**
 * Tenants on Facia and on Rekognition, over HTTP, through the real adapters and their wire-level
 * emulators (scores from the local engine, as the emulators do by default): unified, calibrated
 * results; the Face Liveness session flow; every documented failure ends as a typed error and a
 * stored ERROR check — none is lost.
 */
import { createFaciaProvider } from '../../providers/facia';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { Db } from '../../src/store/db';
import { CheckDocument, CompareFacesDocument, CreateLivenessSessionDocument, VerifyIdentityDocument } from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import type { Fault } from '../fakes/faults';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { closeLocalScorer, defaultScorerName } from '../fakes/scorer';
import { faceBase64, faceBytes } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';

const SAME = ['face_recognition/examples/knn_examples/test/obama1.jpg', 'face_recognition/examples/knn_examples/train/obama/obama.jpg'];
const SESSION_TTL_MS = 2000; // AWS: 3 minutes; shortened so the expiry test need not wait
const DIFFERENT = ['face_recognition/examples/knn_examples/test/obama1.jpg', 'face_recognition/examples/knn_examples/train/biden/biden.jpg'];

describe('Facia and Rekognition tenants over HTTP', () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let rek: RekognitionEmulator;
  let faciaTenant: { id: string; key: string };
  let rekTenant: { id: string; key: string };

  beforeAll(async () => {
    db = await PGLITE.open();
    facia = await startFaciaEmulator();
    rek = await startRekognitionEmulator({ sessionTtlMs: SESSION_TTL_MS });
    h = await startHarness({
      db,
      providers: [
        createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 1500 }),
        createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: rek.credentials }),
      ],
      env: { VERIGATE_DEFAULT_PROVIDER: 'facia', VERIGATE_PROVIDER_TIMEOUT_MS: '3000' },
    });
    // the emulators score with the local engine, loaded on first use: load it now, not inside
    // the first check's 1.5 s Facia deadline (under load that check timed out)
    await defaultScorerName();
    faciaTenant = await h.tenant('on-facia', 'facia');
    rekTenant = await h.tenant('on-rekognition', 'rekognition');
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([facia?.close(), rek?.close(), closeLocalScorer()]);
    await PGLITE.dispose(db);
  });
  beforeEach(() => {
    facia.clearFaults();
    rek.clearFaults();
  });

  const verify = (key: string, [selfie, document]: string[], extra: Record<string, string> = {}) =>
    h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(selfie), document: faceBase64(document), ...extra } }, key);

  it('gives a Facia tenant calibrated, unified results', async () => {
    const same = (await verify(faciaTenant.key, SAME)).data!.verifyIdentity;
    expect(same).toMatchObject({ provider: 'facia', status: 'ACCEPTED' });
    expect(same.faceMatch!.fmr).toBeLessThanOrEqual(1e-5);
    expect(same.faceMatch!.matchLevel).toBeGreaterThanOrEqual(6);
    expect(same.liveness?.live).toBe(true);
    const diff = (await verify(faciaTenant.key, DIFFERENT)).data!.verifyIdentity;
    expect(diff).toMatchObject({ provider: 'facia', status: 'REJECTED', reasons: ['FACE_MISMATCH'] });
    expect(diff.faceMatch!.fmr).toBeGreaterThan(1e-3);
    const admin = (await h.gql(CheckDocument, { id: same.id })).data!.check!;
    expect(admin.attempts[0].raw).toMatchObject({ face_similarity_result: { similarity_score: expect.any(Number) } });
    expect(JSON.stringify(admin.attempts[0].raw)).not.toContain(facia.hashId);
  });

  it('gives a Rekognition tenant match results, and liveness through a Face Liveness session', async () => {
    const session = (await h.gql(CreateLivenessSessionDocument, {}, rekTenant.key)).data!.createLivenessSession;
    expect(session.provider).toBe('rekognition');
    rek.startSession(session.sessionId);
    await rek.completeSession(session.sessionId, { referenceImage: faceBytes(SAME[0]) });
    const res = await h.gql(
      VerifyIdentityDocument,
      { input: { livenessSessionId: session.sessionId, document: faceBase64(SAME[1]) } },
      rekTenant.key,
    );
    const r = res.data!.verifyIdentity;
    expect(r).toMatchObject({ provider: 'rekognition', status: 'ACCEPTED' });
    expect(r.liveness?.live).toBe(true);
    expect(r.faceMatch!.fmr).toBeLessThanOrEqual(1e-5);
    expect(r.imageDigests.selfie).toBeNull();
  });

  it('says a liveness session expired, and keeps the check', async () => {
    const session = (await h.gql(CreateLivenessSessionDocument, {}, rekTenant.key)).data!.createLivenessSession;
    rek.startSession(session.sessionId);
    await new Promise((r) => setTimeout(r, SESSION_TTL_MS + 200));
    const res = await h.gql(VerifyIdentityDocument, { input: { livenessSessionId: session.sessionId, document: faceBase64(SAME[1]) } }, rekTenant.key);
    expect(res.errors?.[0].extensions?.code).toBe('LIVENESS_SESSION_EXPIRED');
    expect(res.errors?.[0].message).toMatch(/3 minutes/);
    const check = await h.gql(CheckDocument, { id: res.errors![0].extensions!.checkId }, rekTenant.key);
    expect(check.data?.check).toMatchObject({ status: 'ERROR', reasons: ['LIVENESS_SESSION_EXPIRED'] });
  });

  const FACIA_FAILURES: Array<[string, Fault, string, string]> = [
    ['wrong hash_id', { kind: 'status', status: 401, body: '{"message": "Invalid credentials"}' }, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAUTHORIZED'],
    ['corrupt selfie', { kind: 'status', status: 400, body: '{"error": "Invalid or corrupt selfie image. Images must be in PNG, JPG, or JPEG format"}' }, 'BAD_IMAGE', 'BAD_IMAGE'],
    ['missing image', { kind: 'status', status: 400, body: '{"error": "Both selfie_image and document_image are required"}' }, 'BAD_IMAGE', 'BAD_IMAGE'],
    ['demo limit', { kind: 'status', status: 429, body: '{"message": "Your request limit has been reached."}' }, 'PROVIDER_UNAVAILABLE', 'PROVIDER_QUOTA_EXCEEDED'],
    ['HTTP 500', { kind: 'status', status: 500, body: 'oops' }, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE'],
    ['connection reset', { kind: 'reset' }, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE'],
    ['malformed JSON', { kind: 'malformed' }, 'PROVIDER_UNAVAILABLE', 'PROVIDER_ERROR'],
    ['never answers', { kind: 'hang' }, 'PROVIDER_UNAVAILABLE', 'TIMEOUT'],
  ];

  it.each(FACIA_FAILURES)('Facia %s → %s, check ERROR/%s, nothing lost', async (_name, fault, code, reason) => {
    const [{ n: before }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks');
    facia.inject(fault, { op: 'process_face' });
    const res = await verify(faciaTenant.key, SAME);
    expect(res.errors?.[0].extensions).toMatchObject({ code, reasons: [reason] });
    expect(JSON.stringify(res.errors)).not.toContain(facia.hashId);
    const check = (await h.gql(CheckDocument, { id: res.errors![0].extensions!.checkId }, faciaTenant.key)).data!.check!;
    expect(check).toMatchObject({ status: 'ERROR', reasons: [reason], provider: 'facia' });
    const [{ n: after }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks');
    expect(after).toBe(before + 1);
  });

  const REKOGNITION_FAILURES: Array<[string, number, string, string]> = [
    ['InvalidParameterException', 400, 'NO_FACE', 'NO_FACE'],
    ['InvalidImageFormatException', 400, 'BAD_IMAGE', 'BAD_IMAGE'],
    ['ImageTooLargeException', 400, 'BAD_IMAGE', 'BAD_IMAGE'],
    ['ThrottlingException', 400, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE'],
    ['ProvisionedThroughputExceededException', 400, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE'],
    ['InternalServerError', 500, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAVAILABLE'],
    ['AccessDeniedException', 400, 'PROVIDER_UNAVAILABLE', 'PROVIDER_UNAUTHORIZED'],
  ];

  it.each(REKOGNITION_FAILURES)('Rekognition %s → %s, check ERROR/%s, nothing lost', async (type, status, code, reason) => {
    const [{ n: before }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks');
    rek.injectError(type, { status, op: 'CompareFaces' });
    // compareFaces asks for a match only, which Rekognition serves without a liveness session
    const res = await h.gql(CompareFacesDocument, { input: { source: faceBase64(SAME[0]), target: faceBase64(SAME[1]) } }, rekTenant.key);
    expect(res.errors?.[0].extensions?.code).toBe(code);
    const check = (await h.gql(CheckDocument, { id: res.errors![0].extensions!.checkId }, rekTenant.key)).data!.check!;
    expect(check).toMatchObject({ status: 'ERROR', reasons: [reason], provider: 'rekognition' });
    const [{ n: after }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks');
    expect(after).toBe(before + 1);
  });
});
