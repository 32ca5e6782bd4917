/**
 * Passive authentication with real signatures: chips signed by `openssl cms` under a test CSCA
 * (EC P-256, RSA 2048 and brainpoolP256r1 signers; JPEG and JPEG 2000 faces from ../shared/faces),
 * their tampered twins, a trust store from a directory and from an ICAO master list, and bad input.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import sharp from 'sharp';
import { ChipInputError, loadTrustStore, trustStore, verifyChip, type TrustStore } from '../../providers/local/document';
import { buildDg1, buildDg2, chipCases, ldsSecurityObject, makeTestPki, portrait, signSod, type ChipCase, type TestPki } from '../corpus/chips';
import { SPECIMENS } from '../corpus/documents';

let pki: TestPki;
let trust: TrustStore;
let cases: ChipCase[];
const mrzs = SPECIMENS.map((s) => [...s.lines]);

beforeAll(async () => {
  pki = makeTestPki();
  trust = trustStore([new X509Certificate(pki.csca)]);
  cases = await chipCases(pki, mrzs, 6);
}, 120_000);
afterAll(() => pki?.dispose());

test('every genuine chip verifies, with its face as a JPEG of the stored size', async () => {
  const genuine = cases.filter((c) => c.expect === 'CHIP_VERIFIED');
  expect(genuine.map((c) => c.format)).toEqual(expect.arrayContaining(['jpeg', 'jpeg2000']));
  for (const c of genuine) {
    const r = await verifyChip(c.files, trust, { printedMrz: c.printed });
    expect({ name: c.name, reasons: r.reasons, verified: r.verified }).toEqual({ name: c.name, reasons: ['CHIP_VERIFIED'], verified: true });
    expect(r.dg1Mrz).toEqual(c.printed);
    const meta = await sharp(r.faceImage!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 360, 480]);
  }
});

test('a JPEG 2000 face decodes to the pixels that were encoded (20:1, mean error under 6 levels)', async () => {
  const face = await portrait('deepface/img5.jpg', 'jpeg2000');
  const dg1 = buildDg1(mrzs[0]!);
  const dg2 = buildDg2(face.image, 'jpeg2000', face.width, face.height);
  const r = await verifyChip({ dg1, dg2, sod: signSod(pki, 'ec', ldsSecurityObject({ 1: dg1, 2: dg2 })) }, trust);
  const decoded = await sharp(r.faceImage!).raw().toBuffer();
  let error = 0;
  for (let i = 0; i < decoded.length; i++) error += Math.abs(decoded[i]! - face.pixels[i]!);
  expect(r.faceFormat).toBe('jpeg2000');
  expect(error / decoded.length).toBeLessThan(6);
});

test('every tampered chip is refused with the reason of its tampering, and gives no face', async () => {
  const tampered = cases.filter((c) => c.expect !== 'CHIP_VERIFIED');
  expect(tampered.length).toBe(24);
  for (const c of tampered) {
    const r = await verifyChip(c.files, trust, { printedMrz: c.printed });
    expect({ name: c.name, has: r.reasons.includes(c.expect), verifiedReason: r.reasons.includes('CHIP_VERIFIED') }).toEqual({ name: c.name, has: true, verifiedReason: false });
    if (c.expect !== 'CHIP_MRZ_MISMATCH') expect({ name: c.name, verified: r.verified, face: r.faceImage }).toEqual({ name: c.name, verified: false, face: undefined });
  }
});

test('a chip is untrusted under a trust store of other CSCAs, and trusted with its CSCA loaded from a directory or a master list', async () => {
  const c = cases[0]!;
  expect((await verifyChip(c.files, trustStore([new X509Certificate(pki.foreignCsca)]))).reasons).toEqual(['CHIP_UNTRUSTED_ISSUER']);
  const dir = join(pki.dir, 'trust-dir');
  mkdirSync(dir);
  writeFileSync(join(dir, 'foreign.pem'), pki.foreignCsca);
  writeFileSync(join(dir, 'test-csca.der'), new X509Certificate(pki.csca).raw);
  expect((await verifyChip(c.files, loadTrustStore(dir))).reasons).toEqual(['CHIP_VERIFIED']);
  // an ICAO master list: CMS SignedData (content type 2.23.136.1.1.2) over CscaMasterList { version, SET OF Certificate }
  const list = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), new asn1js.Set({ value: [pki.foreignCsca, pki.csca].map((p) => asn1js.fromBER(new X509Certificate(p).raw).result) })] });
  const mlDir = join(pki.dir, 'trust-ml');
  mkdirSync(mlDir);
  writeFileSync(join(pki.dir, 'list.der'), Buffer.from(list.toBER(false)));
  execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-econtent_type', '2.23.136.1.1.2', '-in', 'list.der', '-signer', 'foreign-csca.pem', '-inkey', 'foreign-csca.key', '-outform', 'DER', '-out', join(mlDir, 'icao.ml')], { cwd: pki.dir, stdio: 'ignore' });
  const fromList = loadTrustStore(mlDir);
  expect(fromList.certificates).toHaveLength(2);
  expect((await verifyChip(c.files, fromList)).reasons).toEqual(['CHIP_VERIFIED']);
});

test('a certificate valid in the future or the past is not trusted on `now`', async () => {
  const c = cases[0]!;
  expect((await verifyChip(c.files, trust, { now: new Date('2000-01-01T00:00:00Z') })).reasons).toEqual(['CHIP_UNTRUSTED_ISSUER']);
  expect((await verifyChip(c.files, trust, { now: new Date('2100-01-01T00:00:00Z') })).reasons).toEqual(['CHIP_UNTRUSTED_ISSUER']);
});

describe('bad input gets a typed error and nothing else', () => {
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'resolved';
    } catch (e) {
      return e instanceof ChipInputError ? e.code : `untyped: ${(e as Error).message}`;
    }
  };
  test('not ASN.1, not the LDS, truncated', async () => {
    const { dg1, dg2, sod } = cases[0]!.files;
    expect(await code(verifyChip({ dg1, dg2, sod: Buffer.from('hello, I am not a SOD') }, trust))).toBe('NOT_ASN1');
    expect(await code(verifyChip({ dg1, dg2, sod: Uint8Array.from([0x77, 0x84, 0xff, 0xff, 0xff, 0xff]) }, trust))).toBe('NOT_ASN1');
    expect(await code(verifyChip({ dg1, dg2, sod: sod.subarray(0, sod.length - 10) }, trust))).toBe('NOT_ASN1');
    expect(await code(verifyChip({ dg1: Uint8Array.from([0x62, 0x00]), dg2, sod }, trust))).toBe('NOT_LDS');
    expect(await code(verifyChip({ dg1, dg2: Uint8Array.from([0x75, 0x03, 0x7f, 0x61, 0x00]), sod }, trust))).toBe('NOT_LDS');
    const inner = Uint8Array.from([0x77, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]); // a DER SEQUENCE, not a ContentInfo
    expect(await code(verifyChip({ dg1, dg2, sod: inner }, trust))).toBe('NOT_LDS');
  });
  test('a 100 MB DG2 is refused by its size, before it is parsed or hashed', async () => {
    const { dg1, sod } = cases[0]!.files;
    const huge = new Uint8Array(100 * 1024 * 1024);
    const t = process.cpuUsage();
    expect(await code(verifyChip({ dg1, dg2: huge, sod }, trust))).toBe('TOO_LARGE');
    const cpu = process.cpuUsage(t);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(50); // a SHA-256 of 100 MB alone takes ~250 ms
  });
  test('a certificate loop in the SOD', async () => {
    const dg1 = buildDg1(mrzs[0]!);
    const face = await portrait('deepface/img1.jpg', 'jpeg');
    const dg2 = buildDg2(face.image, 'jpeg', face.width, face.height);
    expect(await code(verifyChip({ dg1, dg2, sod: signSod(pki, 'loop', ldsSecurityObject({ 1: dg1, 2: dg2 })) }, trust))).toBe('CERTIFICATE_LOOP');
  });
  test('an SOD carrying more certificates than a document signer needs is refused before any path search', async () => {
    const dg1 = buildDg1(mrzs[0]!);
    const distinct = [pki.csca, pki.foreignCsca, readFileSync(join(pki.dir, 'loop-a.pem'), 'utf8'), readFileSync(join(pki.dir, 'loop-b.pem'), 'utf8'), pki.signers.rsa.cert, pki.signers.brainpool.cert, pki.signers.foreign.cert, readFileSync(join(pki.dir, 'loop-a.self.pem'), 'utf8'), readFileSync(join(pki.dir, 'loop-b.self.pem'), 'utf8')];
    // the signer's own and 8 more: 9
    expect(await code(verifyChip({ dg1, sod: signSod(pki, 'ec', ldsSecurityObject({ 1: dg1 }), distinct.slice(0, 8).join('')) }, trust))).toBe('UNSUPPORTED');
    // the signer's own and 7 more: read, and judged
    expect(await code(verifyChip({ dg1, sod: signSod(pki, 'ec', ldsSecurityObject({ 1: dg1 }), distinct.slice(0, 7).join('')) }, trust))).toBe('resolved');
  });
  test('an SOD with bytes changed anywhere is judged or refused as chip input, never an untyped error', async () => {
    const { dg1, dg2, sod } = cases[0]!.files;
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const outcomes = new Map<string, number>();
    for (let n = 0; n < 600; n++) {
      const mangled = Buffer.from(sod);
      for (let j = 1 + Math.floor(random() * 3); j > 0; j--) mangled[4 + Math.floor(random() * (mangled.length - 4))] = Math.floor(random() * 256);
      const outcome = await code(verifyChip({ dg1, dg2, sod: mangled }, trust));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].filter((k) => k.startsWith('untyped'))).toEqual([]);
    expect(outcomes.get('resolved')).toBeGreaterThan(0); // some changes only break the signature: a REJECTED chip, not bad input
  });
  test('a DG2 whose JPEG 2000 header claims a huge image', async () => {
    const face = await portrait('deepface/img1.jpg', 'jpeg2000');
    const image = Buffer.from(face.image);
    const soc = image.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    image.writeUInt32BE(100_000, soc + 8); // Xsiz
    image.writeUInt32BE(100_000, soc + 12); // Ysiz
    const dg1 = buildDg1(mrzs[0]!);
    const dg2 = buildDg2(image, 'jpeg2000', face.width, face.height);
    expect(await code(verifyChip({ dg1, dg2, sod: signSod(pki, 'ec', ldsSecurityObject({ 1: dg1, 2: dg2 })) }, trust))).toBe('TOO_LARGE');
  });
  test('a trust store file that holds no certificate', () => {
    const dir = join(pki.dir, 'bad-trust');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
    expect(() => loadTrustStore(dir)).toThrow(/no certificate or CSCA master list/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('not a certificate');
  });
});
