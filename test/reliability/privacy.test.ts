/**
 * Privacy over real HTTP, on both stores:
 * - the log (pino, captured at trace level) never holds image content, API keys, Facia's hash_id
 *   or AWS secrets — through real images on Facia and Rekognition tenants (adapters against their
 *   wire-level emulators), provider failures that echo secrets, bad keys, bad images, bad bodies;
 * - retention: the purge deletes a tenant's checks and attempts older than its retention (its own,
 *   else VERIGATE_RETENTION_DAYS), never PENDING ones, runs on the app's timer, and is audited;
 * - eraseSubject deletes one subject's checks and attempts and audits it without the subject's id.
 */
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import { createFaciaProvider } from '../../providers/facia';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { Db } from '../../src/store/db';
import {
  CheckDocument,
  CompareFacesDocument,
  EraseSubjectDocument,
  PurgeExpiredChecksDocument,
  SetTenantLimitsDocument,
  VerifyIdentityDocument,
} from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { fallbackScorer } from '../fakes/scorer';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, postRaw, startHarness, type Harness } from '../support/harness';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'idenfy-documents/BarackHusseinObama.jpg';
const OTHER = 'face_recognition/examples/knn_examples/train/biden/biden.jpg';
const HASH_ID = 'facia-hash-7d1e0c5b9a3f42e6-secret';
const AWS = { accessKeyId: 'AKIAPRIVACYTEST00001', secretAccessKey: 'aws-secret-Zq81vLk3Yp0Hc5Tn7Wm2Rb4Xs6Ud9Fa' };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** slices of an image's base64 from its start, middle and end: any one in the log is a leak */
const slicesOf = (b64: string) => [0, Math.floor(b64.length / 2), b64.length - 80].map((i) => b64.slice(i, i + 40));

describeEachStore('privacy', (store) => {
  let db: Db;

  beforeAll(async () => {
    db = await store.open();
  });
  afterAll(async () => {
    await store.dispose(db);
  });

  describe('the log', () => {
    let h: Harness;
    let facia: FaciaEmulator;
    let rek: RekognitionEmulator;
    const lines: string[] = [];

    beforeAll(async () => {
      facia = await startFaciaEmulator({ hashId: HASH_ID, scorer: fallbackScorer });
      rek = await startRekognitionEmulator({ credentials: [AWS], scorer: fallbackScorer });
      h = await startHarness({
        db,
        providers: [
          createFaciaProvider({ url: facia.url, hashId: HASH_ID, timeoutMs: 1500 }),
          createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: AWS }),
        ],
        env: { LOG_LEVEL: 'trace', VERIGATE_DEFAULT_PROVIDER: 'facia', VERIGATE_PROVIDER_TIMEOUT_MS: '3000' },
        logDestination: { write: (s) => void lines.push(s) },
      });
    });
    afterAll(async () => {
      await h.close();
      await Promise.all([facia.close(), rek.close()]);
    });

    it('never holds image content, API keys, the Facia hash_id or AWS secrets', async () => {
      const onFacia = await h.tenant('log-facia', 'facia');
      const onRek = await h.tenant('log-rekognition', 'rekognition');
      const images = [SELFIE, DOCUMENT, OTHER].map(faceBase64);
      const send = (key: string, doc: typeof VerifyIdentityDocument | typeof CompareFacesDocument, input: Record<string, string>) =>
        postRaw(h.url, JSON.stringify({ query: print(doc), variables: { input: { ...input, referenceId: 'log-subject' } } }), { authorization: `Bearer ${key}` });
      const verify = (key: string, selfie: string, document: string) => send(key, VerifyIdentityDocument, { selfie, document });
      const compare = (key: string, source: string, target: string) => send(key, CompareFacesDocument, { source, target });

      // successes on both providers, with real images (one as a data URI): Facia verifies, Rekognition compares
      for (const [selfie, document] of [[images[0], `data:image/jpeg;base64,${images[1]}`], [images[0], images[2]]]) {
        expect((await verify(onFacia.key, selfie, document)).json.data.verifyIdentity.provider).toBe('facia');
        expect((await compare(onRek.key, selfie, document)).json.data.compareFaces.provider).toBe('rekognition');
      }
      // provider failures whose bodies echo the secret
      facia.inject({ kind: 'status', status: 500, body: JSON.stringify({ message: `internal error for hash_id ${HASH_ID}`, hash_id: HASH_ID }) }, { times: 3 });
      const failed = await verify(onFacia.key, images[0], images[1]);
      expect(failed.json.errors ?? failed.json.data.verifyIdentity.status).toBeDefined();
      rek.inject({ kind: 'status', status: 400, body: JSON.stringify({ __type: 'AccessDeniedException', message: `bad signature for ${AWS.secretAccessKey}` }) }, { times: 3 });
      await compare(onRek.key, images[0], images[1]);
      // a bad key, a bad image, a malformed and an oversize body, an unexpected failure
      const badKey = 'vg_tnt_a-guessed-key-that-must-not-be-logged';
      expect((await verify(badKey, images[0], images[1])).status).toBe(401);
      expect((await verify(onFacia.key, images[0].slice(0, 5000), images[1])).json.errors[0].extensions.code).toMatch(/BAD_IMAGE|UNSUPPORTED_IMAGE_FORMAT|IMAGE_TOO_LARGE/);
      expect((await postRaw(h.url, `{"query": "mutation", "variables": {"selfie": "${images[0]}"`, { authorization: `Bearer ${onFacia.key}` })).status).toBe(400);
      // an image-sized string where no image goes is refused (every string but an image is capped), and not logged either
      expect((await postRaw(h.url, `{"query": "{ __typename }", "variables": {"x": "${images[0]}"}}`, { 'x-api-key': onRek.key })).status).toBe(400);

      // a refusal by a limit is logged (warn)
      const throttled = await h.tenant('log-throttled', 'facia');
      await h.gql(SetTenantLimitsDocument, { tenantId: throttled.id, limits: { burst: 10, ratePerMinute: 1 } });
      expect((await verify(throttled.key, images[0], images[1])).status).toBe(200);
      expect((await verify(throttled.key, images[0], images[1])).status).toBe(429);
      // and whatever a future caller hands the logger in the shapes that carry secrets
      const log0 = h.app.services.log.child({ requestId: 'contract' });
      const shapes: Array<Record<string, unknown>> = [
        { req: { headers: { authorization: `Bearer ${onFacia.key}`, 'x-api-key': onRek.key } } },
        { input: { selfie: images[0], document: images[1] }, request: { variables: { input: { selfie: images[2] } } } },
        { req: { body: { variables: { selfie: images[0] } } }, provider: { hash_id: HASH_ID }, err: { request: { hash_id: HASH_ID } } },
        { client: { credentials: AWS }, aws: { secretAccessKey: AWS.secretAccessKey, sessionToken: AWS.secretAccessKey } },
        // a document's personal data: the applicant's, the MRZ as read, a chip and its DG1
        { input: { applicant: { surname: 'Basanavičienė', dateOfBirth: '1990-03-11' }, chip: { dg1: 'YV9fX1NFQ1JFVA==' } }, check: { document: { surname: 'BASANAVICIENE' } } },
        { read: { found: true, document: { lines: ['P<LTUBASANAVICIENE<<BIRUTE<<<<<<<<<<<<<<<<<<'] } }, chip: { dg1Mrz: ['P<LTUBASANAVICIENE<<BIRUTE'] }, doc: { surname: 'BASANAVICIENE', givenNames: 'BIRUTE' } },
      ];
      const before = JSON.stringify(shapes);
      for (const shape of shapes) log0.error(shape, 'shape');
      expect(JSON.stringify(shapes)).toBe(before); // redaction never alters what the caller logged (e.g. live credentials)

      const log = lines.join('');
      expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(8); // the capture works: one line per request
      expect(log).toContain('request refused by a limit');
      expect(log).toContain('[redacted]');
      for (const b64 of images) for (const slice of slicesOf(b64)) expect(log).not.toContain(slice);
      for (const secret of [HASH_ID, AWS.secretAccessKey, onFacia.key, onRek.key, throttled.key, ADMIN_KEY, badKey]) expect(log).not.toContain(secret);
      expect(log).not.toMatch(/Signature=[0-9a-f]{16}/);
      for (const personal of ['Basanavi', 'BASANAVICIENE', 'BIRUTE', '1990-03-11', 'YV9fX1NFQ1JFVA']) expect(log).not.toContain(personal);
    });
  });
  describe('retention and erasure', () => {
    let h: Harness;
    const local = scriptedProvider('local');
    beforeAll(async () => {
      h = await startHarness({ db, providers: [local], calibration: scriptedCalibration() });
    });
    afterAll(async () => {
      await h.close();
    });

    const verify = (key: string, referenceId: string) =>
      h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT), referenceId } }, key);
    const checksOf = async (tenantId: string) =>
      (await db.query<{ id: string }>('SELECT id FROM checks WHERE tenant_id = $1 ORDER BY created_at', [tenantId])).map((r) => r.id);
    const attemptsOf = async (tenantId: string) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts WHERE tenant_id = $1', [tenantId]))[0].n;
    const age = (ids: string[], days: number) =>
      Promise.all([
        db.query(`UPDATE checks SET created_at = created_at - make_interval(days => $2), deadline_at = deadline_at - make_interval(days => $2) WHERE id = ANY($1::uuid[])`, [ids, days]),
        db.query(`UPDATE attempts SET created_at = now() - make_interval(days => $2) WHERE check_id = ANY($1::uuid[])`, [ids, days]),
      ]);

    it('purges each tenant’s checks and attempts past its retention, never a PENDING one, and audits it', async () => {
      const short = await h.tenant('retention-30');
      const keepAll = await h.tenant('retention-none');
      expect((await h.gql(SetTenantLimitsDocument, { tenantId: short.id, limits: { retentionDays: 30 } })).data).toBeTruthy();
      for (let i = 0; i < 3; i++) await verify(short.key, `r-${i}`);
      for (let i = 0; i < 2; i++) await verify(keepAll.key, `k-${i}`);
      const [old1, old2, recent] = await checksOf(short.id);
      const { check: pending } = await h.app.services.store.checks.createPending({ tenantId: short.id, kind: 'VERIFY_IDENTITY', imageDigests: {} });
      await age([old1, old2, pending.id], 40);
      await age(await checksOf(keepAll.id), 400);

      const res = await h.gql(PurgeExpiredChecksDocument, {});
      expect(res.data?.purgeExpiredChecks).toEqual({ checks: 2, attempts: 2, tenants: 1 });
      expect((await checksOf(short.id)).sort()).toEqual([recent, pending.id].sort());
      expect(await attemptsOf(short.id)).toBe(1);
      expect(await checksOf(keepAll.id)).toHaveLength(2);
      const audit = await db.query<{ actor: string; detail: any }>("SELECT actor, detail FROM audit_log WHERE action = 'retention.purge' AND tenant_id = $1", [short.id]);
      expect(audit).toHaveLength(1);
      expect(audit[0].detail).toMatchObject({ checks: 2, attempts: 2, retentionDays: 30 });
      expect((await h.gql(PurgeExpiredChecksDocument, {})).data?.purgeExpiredChecks).toEqual({ checks: 0, attempts: 0, tenants: 0 });
      expect((await h.gql(PurgeExpiredChecksDocument, {}, short.key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');

      // an app with a server-wide default purges on its own timer; the tenant's own retention still wins
      const timed = await startHarness({
        db,
        providers: [local],
        calibration: scriptedCalibration(),
        env: { VERIGATE_RETENTION_DAYS: '365', VERIGATE_PURGE_INTERVAL_MS: '100' },
      });
      try {
        const deadline = Date.now() + 5000;
        while ((await checksOf(keepAll.id)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(await checksOf(keepAll.id)).toHaveLength(0);
        expect(await attemptsOf(keepAll.id)).toBe(0);
        // the old PENDING check was marked ERROR/INTERRUPTED when this app started, so it went too
        expect(await checksOf(short.id)).toEqual([recent]);
      } finally {
        await timed.close();
      }
    });

    it('erases one subject of one tenant, audited by digest, with typed errors for bad requests', async () => {
      const a = await h.tenant('erase-a');
      const b = await h.tenant('erase-b');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await verify(a.key, 'person-x')).data!.verifyIdentity.id);
      await verify(a.key, 'person-y');
      await verify(b.key, 'person-x');

      const erased = await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: 'person-x' });
      expect(erased.data?.eraseSubject).toEqual({ checks: 3, attempts: 3 });
      expect(await checksOf(a.id)).toHaveLength(1);
      expect(await attemptsOf(a.id)).toBe(1);
      expect(await checksOf(b.id)).toHaveLength(1);
      for (const id of ids) expect((await h.gql(CheckDocument, { id })).data?.check).toBeNull();

      const audit = await db.query<{ target: string; detail: any; actor: string }>(
        "SELECT target, detail, actor FROM audit_log WHERE action = 'subject.erase' AND tenant_id = $1",
        [a.id],
      );
      expect(audit).toEqual([{ target: `reference-sha256:${sha('person-x')}`, detail: { checks: 3, attempts: 3 }, actor: expect.stringMatching(/^key:/) }]);
      expect(JSON.stringify(await db.query('SELECT * FROM audit_log'))).not.toContain('person-x');

      expect((await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: 'person-x' })).data?.eraseSubject).toEqual({ checks: 0, attempts: 0 });
      expect((await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: '' })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'referenceId' });
      expect((await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: 'x'.repeat(257) })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: 'a\u0000b' })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await h.gql(EraseSubjectDocument, { tenantId: '6f1c2d7e-0000-4000-8000-000000000000', referenceId: 'p' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await h.gql(EraseSubjectDocument, { tenantId: a.id, referenceId: 'person-y' }, a.key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await checksOf(a.id)).toHaveLength(1);
    });

    it('answers a check erased while it ran with a typed CONFLICT, and keeps nothing of it', async () => {
      const t = await h.tenant('erase-in-flight');
      let release!: () => void;
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      local.behave(async (req) => {
        started();
        await new Promise<void>((r) => (release = r));
        return { match: req.match ? { score: 0.99, scale: 'unit', calibration: 'scripted/unit' } : undefined, liveness: req.liveness ? { score: 0.97, scale: 'unit', calibration: 'scripted/unit' } : undefined, quality: [], raw: {} };
      });
      try {
        const pending = verify(t.key, 'person-z');
        await running;
        expect((await h.gql(EraseSubjectDocument, { tenantId: t.id, referenceId: 'person-z' })).data?.eraseSubject.checks).toBe(1);
        release();
        const res = await pending;
        expect(res.errors?.[0].extensions?.code).toBe('CONFLICT');
        expect(res.errors?.[0].message).toMatch(/erased/);
        expect(await checksOf(t.id)).toEqual([]);
        expect(await attemptsOf(t.id)).toBe(0);
      } finally {
        local.behave(async (req) => ({ match: req.match ? { score: 0.99, scale: 'unit', calibration: 'scripted/unit' } : undefined, liveness: req.liveness ? { score: 0.97, scale: 'unit', calibration: 'scripted/unit' } : undefined, quality: [], raw: {} }));
      }
    });
  });
});
