/**
 * The document check over HTTP, with the real OCR model and real signatures: verifyIdentity reads
 * the document image's MRZ in the local engine's worker, compares it with the applicant's data and
 * the policy's age and expiry rules, and verifies a chip (passive authentication under a test CSCA
 * given to the server as VERIGATE_CSCA_DIR) whose face then stands in for the printed photo.
 * Pages: the real specimen passports of ../shared/faces/idenfy-documents and a generated OCR-B page
 * (test/corpus/documents.ts); chips: test/corpus/chips.ts (signed by `openssl cms`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFaciaProvider } from '../../providers/facia';
import { createLocalProvider } from '../../providers/local';
import type { Db } from '../../src/store/db';
import { ChecksDocument, CreateWebhookEndpointDocument, ReplayPolicyDocument, SetTenantPolicyDocument, VerifyIdentityDocument, type VerifyIdentityInput } from '../generated/graphql';
import { buildDg1, buildDg2, ldsSecurityObject, makeTestPki, portrait, signSod, type SignerName, type TestPki } from '../corpus/chips';
import { generatePage, requireOcrB, SPECIMENS, type GeneratedPage } from '../corpus/documents';
import { closeLocalScorer, defaultScorerName, startFaciaEmulator, type FaciaEmulator } from '../fakes';
import { eventually } from '../support/eventually';
import { faceBase64 } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { scriptedProvider } from '../support/scripted-provider';
import { PGLITE, POSTGRES } from '../support/stores';

/** Birutė Basanavičienė's specimen passport: born 1990-03-11, valid until 2029-01-02. */
const BIRUTE = { selfie: 'idenfy-documents/BasanavicieneBiruteFace.jpg', document: 'idenfy-documents/BasanavicieneBirute.jpg', lines: [...SPECIMENS[1].lines] };
const BIRUTE_APPLICANT = { surname: 'Basanavičienė', givenNames: 'Birutė', dateOfBirth: '1990-03-11' };
/** generated TD3 pages (seeds outside the benchmark's and the calibration's): MÜLLER, PIOTR, born 1970-03-28, valid until 2031 */
const MUELLER_SEED = 672;
/** … and JÄRVINEN, ANNA, whose passport expired on 2022-06-28 */
const EXPIRED_SEED = 632;

const localOnly = (document: Record<string, unknown>) => ({
  strategy: { type: 'single', provider: { provider: 'local' } },
  require: { match: true, liveness: false },
  document,
});

let pki: TestPki;
let cscaDir: string;

beforeAll(() => {
  requireOcrB();
  pki = makeTestPki();
  // the server trusts the test CSCA alone (the PKI folder also holds keys and the foreign CSCA)
  cscaDir = mkdtempSync(join(tmpdir(), 'verigate-csca-'));
  writeFileSync(join(cscaDir, 'csca.pem'), pki.csca);
});
afterAll(() => {
  pki?.dispose();
  if (cscaDir) rmSync(cscaDir, { recursive: true, force: true });
});

/** A chip for Birutė's page: DG1 from `lines`, DG2 the face of `face`, signed by `signer`. */
async function chip(opts: { lines?: string[]; face?: string; signer?: SignerName; tamper?: 'dg2' } = {}) {
  const dg1 = buildDg1(opts.lines ?? BIRUTE.lines);
  const photo = await portrait(opts.face ?? 'deepface/img2.jpg', 'jpeg');
  const dg2 = buildDg2(photo.image, 'jpeg', photo.width, photo.height);
  const sod = signSod(pki, opts.signer ?? 'ec', ldsSecurityObject({ 1: dg1, 2: dg2 }));
  const sent = Uint8Array.from(dg2);
  if (opts.tamper === 'dg2') sent[sent.length - 300]! ^= 0x01;
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return { dg1: b64(dg1), dg2: b64(sent), sod: b64(sod) };
}

describe('the document check over HTTP (MRZ, applicant, age, chip)', () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let tenant: { id: string; key: string };
  let mueller: GeneratedPage;
  let expired: GeneratedPage;

  beforeAll(async () => {
    db = await PGLITE.open();
    facia = await startFaciaEmulator();
    h = await startHarness({
      db,
      providers: [createLocalProvider({ workers: 2 }), createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 5000 })],
      env: { VERIGATE_CSCA_DIR: cscaDir, VERIGATE_PROVIDER_TIMEOUT_MS: '20000', VERIGATE_WEBHOOK_ALLOW: '127.0.0.1' },
    });
    await defaultScorerName(); // the emulator's scorer loads now, not inside a check's deadline
    tenant = await h.tenant('documents', 'local');
    await setPolicy(tenant.id, localOnly({}));
    mueller = await generatePage(MUELLER_SEED, 'TD3', 'clean');
    expired = await generatePage(EXPIRED_SEED, 'TD3', 'clean');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await Promise.all([facia?.close(), closeLocalScorer()]);
    if (db) await PGLITE.dispose(db);
  });

  async function setPolicy(tenantId: string, policy: Record<string, unknown>) {
    const res = await h.gql(SetTenantPolicyDocument, { tenantId, policy });
    expect(res.errors).toBeUndefined();
  }
  const verify = (key: string, input: VerifyIdentityInput) => h.gql(VerifyIdentityDocument, { input }, key);
  const birute = (extra: Partial<VerifyIdentityInput> = {}): VerifyIdentityInput => ({ selfie: faceBase64(BIRUTE.selfie), document: faceBase64(BIRUTE.document), ...extra });
  const ok = async (key: string, input: Parameters<typeof verify>[1]) => {
    const res = await verify(key, input);
    expect(res.errors).toBeUndefined();
    return res.data!.verifyIdentity;
  };

  describe('the printed MRZ', () => {
    it('accepts the right applicant and returns what the document says', async () => {
      const r = await ok(tenant.key, birute({ applicant: BIRUTE_APPLICANT }));
      expect({ status: r.status, reasons: r.reasons }).toEqual({ status: 'ACCEPTED', reasons: [] });
      expect(r.document).toEqual({
        type: 'P',
        issuer: 'LTU',
        number: '00000000',
        surname: 'BASANAVICIENE',
        givenNames: 'BIRUTE',
        nationality: 'LTU',
        dateOfBirth: '1990-03-11',
        sex: 'F',
        expiryDate: '2029-01-02',
        mrzValid: true,
        expired: false,
        source: 'MRZ',
      });
      // one call to the local engine answered the match and the document (one decode of the page)
      expect(r.attempts.map((a) => [a.provider, a.answers])).toEqual([['local', ['match', 'document']]]);
    });

    it('refuses another surname (NAME_MISMATCH) and another date of birth (DOB_MISMATCH)', async () => {
      const name = await ok(tenant.key, birute({ applicant: { ...BIRUTE_APPLICANT, surname: 'Petraitienė' } }));
      expect({ status: name.status, reasons: name.reasons }).toEqual({ status: 'REJECTED', reasons: ['NAME_MISMATCH'] });
      const dob = await ok(tenant.key, birute({ applicant: { ...BIRUTE_APPLICANT, dateOfBirth: '1990-03-12' } }));
      expect({ status: dob.status, reasons: dob.reasons }).toEqual({ status: 'REJECTED', reasons: ['DOB_MISMATCH'] });
    });

    it('matches Müller with the MRZ MUELLER (ICAO 9303 transliteration), on a generated OCR-B page', async () => {
      expect(mueller.lines[0]).toMatch(/^P<D<<MUELLER<<PIOTR</);
      const r = await ok(tenant.key, {
        selfie: faceBase64(mueller.face),
        document: mueller.bytes.toString('base64'),
        applicant: { surname: 'Müller', givenNames: 'Piotr', dateOfBirth: '1970-03-28' },
      });
      expect({ status: r.status, reasons: r.reasons }).toEqual({ status: 'ACCEPTED', reasons: [] });
      expect(r.document).toMatchObject({ surname: 'MUELLER', givenNames: 'PIOTR', dateOfBirth: '1970-03-28', mrzValid: true, source: 'MRZ' });
    });

    it('refuses a holder younger than the policy minimumAge (from the document, not the face)', async () => {
      const t = await h.tenant('documents-age', 'local');
      await setPolicy(t.id, localOnly({ require: true, minimumAge: 40 }));
      const r = await ok(t.key, birute());
      expect({ status: r.status, reasons: r.reasons }).toEqual({ status: 'REJECTED', reasons: ['AGE_BELOW_MINIMUM'] });
      await setPolicy(t.id, localOnly({ require: true, minimumAge: 18 }));
      expect((await ok(t.key, birute())).status).toBe('ACCEPTED');
      // the policy's document block is validated like the rest of it
      for (const document of [{ minimumAge: -1 }, { minimumAge: 'adult' }, { require: true, retina: true }]) {
        const refused = await h.gql(SetTenantPolicyDocument, { tenantId: t.id, policy: localOnly(document) });
        expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      }
    });

    it('refuses an expired document (rejectExpired, the default), and reports it only when the policy allows expired documents', async () => {
      const t = await h.tenant('documents-expiry', 'local');
      await setPolicy(t.id, localOnly({ require: true }));
      const input = { selfie: faceBase64(expired.face), document: expired.bytes.toString('base64') };
      const r = await ok(t.key, input);
      expect({ status: r.status, reasons: r.reasons }).toEqual({ status: 'REJECTED', reasons: ['DOCUMENT_EXPIRED'] });
      expect(r.document).toMatchObject({ surname: 'JAERVINEN', expiryDate: '2022-06-28', expired: true, mrzValid: true });
      await setPolicy(t.id, localOnly({ require: true, rejectExpired: false }));
      const allowed = await ok(t.key, input);
      expect({ status: allowed.status, reasons: allowed.reasons, expired: allowed.document?.expired }).toEqual({ status: 'ACCEPTED', reasons: [], expired: true });
    });

    it('is INCONCLUSIVE (MRZ_NOT_FOUND) when the document image holds no MRZ and the policy requires the document', async () => {
      const t = await h.tenant('documents-required', 'local');
      await setPolicy(t.id, localOnly({ require: true }));
      const r = await ok(t.key, { selfie: faceBase64('deepface/img1.jpg'), document: faceBase64('deepface/img2.jpg') });
      expect({ status: r.status, reasons: r.reasons, document: r.document }).toEqual({ status: 'INCONCLUSIVE', reasons: ['MRZ_NOT_FOUND'], document: null });
      // without the requirement (and without applicant data), the same check is the face match alone
      const plain = await ok(tenant.key, { selfie: faceBase64('deepface/img1.jpg'), document: faceBase64('deepface/img2.jpg') });
      expect({ status: plain.status, document: plain.document, answers: plain.attempts.map((a) => a.answers) }).toEqual({ status: 'ACCEPTED', document: null, answers: [['match']] });
    });

    it('gives a Facia tenant a local document leg beside its Facia match', async () => {
      const t = await h.tenant('documents-facia', 'facia');
      await setPolicy(t.id, { strategy: { type: 'single', provider: { provider: 'facia' } }, require: { match: true, liveness: false } });
      const r = await ok(t.key, birute({ applicant: BIRUTE_APPLICANT }));
      expect({ status: r.status, reasons: r.reasons, provider: r.provider }).toEqual({ status: 'ACCEPTED', reasons: [], provider: 'facia' });
      expect(r.attempts.map((a) => [a.provider, a.answers]).sort()).toEqual([
        ['facia', ['match']],
        ['local', ['document']],
      ]);
      expect(r.document).toMatchObject({ surname: 'BASANAVICIENE', source: 'MRZ' });
      const wrong = await ok(t.key, birute({ applicant: { ...BIRUTE_APPLICANT, surname: 'Smith' } }));
      expect({ status: wrong.status, reasons: wrong.reasons }).toEqual({ status: 'REJECTED', reasons: ['NAME_MISMATCH'] });
    });

    it('replays a check under a raised minimumAge from its stored MRZ reading: ACCEPTED then, REJECTED now', async () => {
      const t = await h.tenant('documents-replay', 'local');
      await setPolicy(t.id, localOnly({ require: true }));
      const from = new Date(Date.now() - 1000).toISOString();
      const r = await ok(t.key, birute({ applicant: BIRUTE_APPLICANT }));
      expect(r.status).toBe('ACCEPTED');
      const to = new Date(Date.now() + 1000).toISOString();
      const replay = async (policy: Record<string, unknown>) => {
        const res = await h.gql(ReplayPolicyDocument, { tenantId: t.id, policy, from, to, first: 10 });
        expect(res.errors).toBeUndefined();
        return res.data!.replayPolicy;
      };
      const raised = await replay(localOnly({ minimumAge: 40 }));
      expect(raised).toMatchObject({ checks: 1, replayed: 1, withoutEvidence: 0, changed: 1, transitions: [{ from: 'ACCEPTED', to: 'REJECTED', count: 1 }] });
      expect(raised.changedChecks[0]).toMatchObject({ id: r.id, reasons: ['AGE_BELOW_MINIMUM'] });
      // the applicant's data was kept with the evidence: it is still compared (and the same policy changes nothing)
      expect(await replay(localOnly({ minimumAge: 30 }))).toMatchObject({ replayed: 1, changed: 0 });
    });

    it("keeps the document's personal data out of webhook payloads (the result keeps it)", async () => {
      const t = await h.tenant('documents-webhooks', 'local');
      await setPolicy(t.id, localOnly({}));
      // nothing listens on port 9: the delivery stays in the outbox, which is what is read here
      const made = await h.gql(CreateWebhookEndpointDocument, { input: { url: 'http://127.0.0.1:9/hooks', events: ['CHECK_COMPLETED'] } }, t.key);
      expect(made.errors).toBeUndefined();
      const r = await ok(t.key, birute({ applicant: BIRUTE_APPLICANT }));
      expect(r.document?.surname).toBe('BASANAVICIENE');
      const [delivery] = await db.query<{ payload: Record<string, any> }>('SELECT payload FROM webhook_deliveries WHERE check_id = $1', [r.id]);
      expect(delivery?.payload.data.check).toMatchObject({ id: r.id, status: 'ACCEPTED' });
      const sent = JSON.stringify(delivery!.payload);
      for (const personal of ['BASANAVICIENE', 'BIRUTE', '1990-03-11', '2029-01-02', '00000000', '"document"']) expect(sent).not.toContain(personal);
    });

    it('holds an idempotencyKey to the same applicant data and chip: other data is a CONFLICT', async () => {
      const first = await ok(tenant.key, birute({ applicant: BIRUTE_APPLICANT, idempotencyKey: 'doc-1' }));
      expect((await ok(tenant.key, birute({ applicant: { ...BIRUTE_APPLICANT }, idempotencyKey: 'doc-1' }))).id).toBe(first.id);
      const other = await verify(tenant.key, birute({ applicant: { ...BIRUTE_APPLICANT, surname: 'Smith' }, idempotencyKey: 'doc-1' }));
      expect(other.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT' } });
      expect(other.errors?.[0].message).toContain('applicant');
      const withChip = await verify(tenant.key, birute({ applicant: BIRUTE_APPLICANT, chip: await chip(), idempotencyKey: 'doc-1' }));
      expect(withChip.errors?.[0].message).toContain('chip');
    });

    it('refuses applicant data that is not text or not a date, naming the field, before anything is stored', async () => {
      const before = await checkCount(tenant.key);
      const bad = await verify(tenant.key, birute({ applicant: { dateOfBirth: '1990-02-30' } }));
      expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'applicant.dateOfBirth' });
      expect(await checkCount(tenant.key)).toBe(before);
    });
  });

  const checkCount = async (key: string) => (await h.gql(ChecksDocument, { first: 100 }, key)).data!.checks.edges.length;

  describe('the chip', () => {
    it("verifies a genuine chip (CHIP_VERIFIED) and matches the selfie with the chip's face, not the printed photo", async () => {
      // the selfie is not the printed photo's person, but the chip's face is the selfie's person (deepface img1/img2)
      const selfie = faceBase64('deepface/img1.jpg');
      const r = await ok(tenant.key, { selfie, document: faceBase64(BIRUTE.document), chip: await chip({ face: 'deepface/img2.jpg' }), applicant: BIRUTE_APPLICANT });
      expect({ status: r.status, reasons: r.reasons }).toEqual({ status: 'ACCEPTED', reasons: ['CHIP_VERIFIED'] });
      expect(r.document).toMatchObject({ surname: 'BASANAVICIENE', dateOfBirth: '1990-03-11', source: 'CHIP', mrzValid: true });
      // the same selfie against the printed photo alone is another person
      const printed = await ok(tenant.key, { selfie, document: faceBase64(BIRUTE.document) });
      expect(printed.status).toBe('REJECTED');
    });

    it('refuses a chip whose DG2 was changed (CHIP_HASH_MISMATCH), and does not use its face', async () => {
      const r = await ok(tenant.key, birute({ chip: await chip({ face: 'deepface/img2.jpg', tamper: 'dg2' }) }));
      expect(r.status).toBe('REJECTED');
      expect(r.reasons).toContain('CHIP_HASH_MISMATCH');
      expect(r.reasons).not.toContain('CHIP_VERIFIED');
      expect(r.faceMatch?.matched).toBe(true); // Birutė's selfie matched the printed photo: the chip's face was not used
      expect(r.document?.source).toBe('MRZ');
    });

    it('reports a chip signed under a CSCA the server does not trust (CHIP_UNTRUSTED_ISSUER) and does not use it', async () => {
      const r = await ok(tenant.key, birute({ chip: await chip({ signer: 'foreign', face: 'deepface/img2.jpg' }) }));
      expect(r.reasons).toContain('CHIP_UNTRUSTED_ISSUER');
      expect(r.reasons).not.toContain('CHIP_VERIFIED');
      expect({ status: r.status, source: r.document?.source, matched: r.faceMatch?.matched }).toEqual({ status: 'ACCEPTED', source: 'MRZ', matched: true });
    });

    it("refuses a genuine chip presented with another document's page (CHIP_MRZ_MISMATCH)", async () => {
      const r = await ok(tenant.key, birute({ chip: await chip({ lines: [...SPECIMENS[0].lines], face: 'idenfy-documents/BasanavicieneBiruteFace.jpg' }) }));
      expect(r.status).toBe('REJECTED');
      expect(r.reasons).toContain('CHIP_MRZ_MISMATCH');
      expect(r.reasons).not.toContain('CHIP_VERIFIED');
    });

    it('refuses chip files that are not ASN.1, not base64, too large or whose certificates loop with a typed error naming the field, and stores nothing', async () => {
      const before = await checkCount(tenant.key);
      const genuine = await chip();
      const notAsn1 = await verify(tenant.key, birute({ chip: { ...genuine, dg1: Buffer.from('hello, not a chip').toString('base64') } }));
      expect(notAsn1.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'chip.dg1', chipError: 'NOT_ASN1' });
      const notBase64 = await verify(tenant.key, birute({ chip: { ...genuine, sod: 'this is *not* base64' } }));
      expect(notBase64.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'chip.sod' });
      const loop = await verify(tenant.key, birute({ chip: await chip({ signer: 'loop' }) }));
      expect(loop.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'chip.sod', chipError: 'CERTIFICATE_LOOP' });
      const tooLarge = await verify(tenant.key, birute({ chip: { ...genuine, dg2: Buffer.alloc(3 * 1024 * 1024).toString('base64') } }));
      expect(tooLarge.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'dg2' });
      // a 100 MB DG2 does not even reach GraphQL: the body limit refuses it
      const huge = await verify(tenant.key, birute({ chip: { ...genuine, dg2: 'A'.repeat(100 * 1024 * 1024) } }));
      expect({ status: huge.status, code: huge.errors?.[0].extensions?.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect(await checkCount(tenant.key)).toBe(before);
    });

    it("runs an async check with a chip: the chip's face travels with the queued images", async () => {
      const r = await ok(tenant.key, { selfie: faceBase64('deepface/img1.jpg'), document: faceBase64(BIRUTE.document), chip: await chip({ face: 'deepface/img2.jpg' }), async: true });
      expect(r.status).toBe('PENDING');
      const done = await h.app.services.store.checks.awaitCompletion({ role: 'admin' }, r.id, Date.now() + 60_000);
      expect({ status: done?.status, reasons: done?.reasons, source: done?.document?.source }).toEqual({ status: 'ACCEPTED', reasons: ['CHIP_VERIFIED'], source: 'CHIP' });
      // the images go once the result is stored (the waiter may be woken first)
      await eventually('the image stash emptied', async () => (await h.app.services.orchestrator.images.size()) === 0, 5_000);
    });
  });
});

const pgUrl = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

(pgUrl ? describe : describe.skip)('a chip across processes: verified by an API-only app, its face used by a worker app (BullMQ on Redis, PostgreSQL)', () => {
  let db: Db;
  let api: Harness;
  let worker: Harness;

  beforeAll(async () => {
    db = await POSTGRES.open();
    const env = { DATABASE_URL: pgUrl!, REDIS_URL, VERIGATE_QUEUE: 'redis', VERIGATE_REDIS_PREFIX: `test-${process.pid}-${Date.now()}:`, VERIGATE_CSCA_DIR: cscaDir };
    worker = await startHarness({ db, providers: [createLocalProvider({ workers: 1 })], env: { ...env, VERIGATE_ROLE: 'worker' } });
    api = await startHarness({ db, providers: [scriptedProvider('local')], env: { ...env, VERIGATE_ROLE: 'api' } });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    if (db) await POSTGRES.dispose(db);
  });

  it("decides an async check with a chip in the worker: the chip's face and the applicant's data travel sealed with the images", async () => {
    const t = await api.tenant('documents-split', 'local');
    const policy = await api.gql(SetTenantPolicyDocument, { tenantId: t.id, policy: localOnly({ minimumAge: 18 }) });
    expect(policy.errors).toBeUndefined();
    const input = { selfie: faceBase64('deepface/img1.jpg'), document: faceBase64(BIRUTE.document), chip: await chip({ face: 'deepface/img2.jpg' }), applicant: BIRUTE_APPLICANT, async: true };
    const submitted = await api.gql(VerifyIdentityDocument, { input }, t.key);
    expect(submitted.errors).toBeUndefined();
    expect(submitted.data!.verifyIdentity.status).toBe('PENDING');
    const done = await api.app.services.store.checks.awaitCompletion({ role: 'admin' }, submitted.data!.verifyIdentity.id, Date.now() + 60_000);
    expect({ status: done?.status, reasons: done?.reasons, document: done?.document }).toMatchObject({
      status: 'ACCEPTED',
      reasons: ['CHIP_VERIFIED'],
      document: { surname: 'BASANAVICIENE', givenNames: 'BIRUTE', dateOfBirth: '1990-03-11', source: 'CHIP' },
    });
    await eventually('the image stash emptied', async () => (await api.app.services.orchestrator.images.size()) === 0, 5_000);
  });
});
