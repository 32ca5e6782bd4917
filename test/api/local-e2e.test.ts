/**
 * A tenant on the local engine, end to end over HTTP, on the shared labelled sets: every pair
 * through compareFaces (match decided by the committed calibration table and the default
 * thresholds), a sample through verifyIdentity, and the print attacks through checkLiveness.
 */
import sharp from 'sharp';
import { createLocalProvider } from '../../providers/local';
import type { Db } from '../../src/store/db';
import { CheckDocument, CheckLivenessDocument, CompareFacesDocument, VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64, faceBytes, readPairs, readLabels } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';

const PAIR_FILES = ['pairs_face_recognition.tsv', 'pairs_idenfy_documents.tsv', 'pairs_deepface.tsv', 'pairs_nvlong21.tsv'];

describe('local engine through the gateway', () => {
  let db: Db;
  let h: Harness;
  let tenant: { id: string; key: string };

  beforeAll(async () => {
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [createLocalProvider({ workers: 2 })] });
    tenant = await h.tenant('local-tenant', 'local');
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
  });

  /**
   * No false accept and no false reject on any set. A hard same-person pair may land in the
   * INCONCLUSIVE band: on clean captures (no quality finding) FMR ≤ 1e-5 needs a cosine of about
   * 0.60 (models/calibration/local-faceplugin-v1.json, extrapolated ~0.9 decades beyond its 12090
   * impostor pairs), and the highest impostor scores of the shared sets come from one look-alike
   * pair of subjects at 0.51. Four same-person pairs with clean captures (no quality finding) score
   * 0.53–0.59; they stay INCONCLUSIVE, not rejected. The share accepted over all sets must stay
   * ≥ 90 %.
   */
  const accepted = { same: 0, acceptedSame: 0 };
  it.each(PAIR_FILES)('%s: no different pair accepted, no same pair rejected', async (file) => {
    const all = readPairs(file);
    // every same-person pair (≤ 40), and every k-th different pair: ≤ ~60 pairs a file keeps the
    // suite short (bench/ and `verigate eval` cover the whole sets)
    const same = all.filter((p) => p.same).slice(0, 40);
    const diffs = all.filter((p) => !p.same);
    const step = Math.max(1, Math.ceil(diffs.length / Math.max(10, 60 - same.length)));
    const pairs = [...same, ...diffs.filter((_, i) => i % step === 0)];

    const tally: Record<string, number> = {};
    const errors: string[] = [];
    for (let i = 0; i < pairs.length; i += 4) {
      await Promise.all(
        pairs.slice(i, i + 4).map(async ({ a, b, same }) => {
          const res = await h.gql(CompareFacesDocument, { input: { source: faceBase64(b), target: faceBase64(a) } }, tenant.key);
          const status = res.data?.compareFaces.status ?? `error:${res.errors?.[0].extensions?.code}`;
          const key = `${same ? 'same' : 'diff'}:${status}`;
          tally[key] = (tally[key] ?? 0) + 1;
          if (status.startsWith('error')) errors.push(`${key} ${a} ${b}`);
        }),
      );
    }
    console.log(`${file}: ${JSON.stringify(tally)}`);
    expect(errors).toEqual([]);
    expect(tally['diff:ACCEPTED'] ?? 0).toBe(0);
    expect(tally['diff:INCONCLUSIVE'] ?? 0).toBe(0);
    expect(tally['same:REJECTED'] ?? 0).toBe(0);
    accepted.same += same.length;
    accepted.acceptedSame += tally['same:ACCEPTED'] ?? 0;
  });

  it('accepts at least 90 % of all same-person pairs at FMR ≤ 1e-5', () => {
    console.log(`same-person pairs ACCEPTED: ${accepted.acceptedSame}/${accepted.same}`);
    expect(accepted.same).toBeGreaterThan(90);
    expect(accepted.acceptedSame / accepted.same).toBeGreaterThanOrEqual(0.9);
  });

  it('maps a clean check with the clean table and a check with a quality finding with the conservative one, and stores which', async () => {
    const tableOf = async (id: string) => {
      const stored = (await h.gql(CheckDocument, { id })).data!.check!; // admin: attempts carry raw
      return (stored.attempts[0].raw as { calibrationTable?: string }).calibrationTable;
    };
    const document = faceBase64('idenfy-documents/TheresaMay.jpg');
    const clean = (await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64('idenfy-documents/TheresaMayFace.jpg'), document } }, tenant.key)).data!.verifyIdentity;
    expect(clean.reasons).toEqual([]);
    expect(await tableOf(clean.id)).toBe('local/faceplugin-v1');

    const blurred = await sharp(faceBytes('idenfy-documents/TheresaMayFace.jpg')).blur(6).jpeg({ quality: 90 }).toBuffer();
    const flagged = (await h.gql(VerifyIdentityDocument, { input: { selfie: blurred.toString('base64'), document } }, tenant.key)).data!.verifyIdentity;
    expect(flagged.reasons).toContain('BLURRY');
    expect(await tableOf(flagged.id)).toBe('local/faceplugin-v1/quality-findings');
  });

  it('verifyIdentity: a selfie against a passport page is ACCEPTED, against another person REJECTED', async () => {
    const verify = (selfie: string, document: string) =>
      h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(selfie), document: faceBase64(document) } }, tenant.key);
    const same = (await verify('idenfy-documents/TheresaMayFace.jpg', 'idenfy-documents/TheresaMay.jpg')).data!.verifyIdentity;
    expect(same).toMatchObject({ status: 'ACCEPTED', provider: 'local', reasons: [] });
    expect(same.liveness?.live).toBe(true);
    const other = (await verify('idenfy-documents/TheresaMayFace.jpg', 'idenfy-documents/BarackHusseinObama.jpg')).data!.verifyIdentity;
    expect(other).toMatchObject({ status: 'REJECTED' });
    expect(other.reasons).toContain('FACE_MISMATCH');
  });

  it('verifyIdentity: a passport page scanned sideways and one photographed from afar are still ACCEPTED', async () => {
    const page = faceBytes('idenfy-documents/TheresaMay.jpg');
    const sideways = await sharp(page).rotate(90).jpeg({ quality: 92 }).toBuffer();
    const small = await sharp(page).resize(600).toBuffer();
    const afar = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#8a7f70' } })
      .composite([{ input: small, left: 1500, top: 1200 }])
      .jpeg({ quality: 90 })
      .toBuffer();
    for (const document of [sideways, afar]) {
      const res = await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64('idenfy-documents/TheresaMayFace.jpg'), document: document.toString('base64') } }, tenant.key);
      expect(res.errors).toBeUndefined();
      expect(res.data!.verifyIdentity).toMatchObject({ status: 'ACCEPTED', provider: 'local' });
    }
  });

  it('flags the print and replay attacks, and passes the real capture', async () => {
    const results = await Promise.all(
      readLabels('liveness_labels.tsv').map(async ({ path, real }) => {
        const res = await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(path) } }, tenant.key);
        return { path, real, status: res.data?.checkLiveness.status, live: res.data?.checkLiveness.liveness?.live };
      }),
    );
    for (const r of results) {
      expect(r).toMatchObject(r.real ? { status: 'ACCEPTED', live: true } : { status: 'REJECTED', live: false });
    }
  });
});
