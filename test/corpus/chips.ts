/**
 * Synthetic eMRTD chips: a test PKI made with the openssl command line (a CSCA, a document signer
 * it issued, and a foreign CSCA and signer nobody trusts), data groups built here (DG1 from an MRZ,
 * DG2 an ISO/IEC 19794-5 record around a face from ../shared/faces as JPEG or as JPEG 2000 made
 * with Debian's opj_compress), and the SOD signed by `openssl cms` — an implementation independent
 * of the verifier's. Tampered variants: a byte of DG2 changed, a foreign signer, DG1 ≠ the printed
 * MRZ, a SOD signature bit flipped, a certificate loop.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import sharp from 'sharp';
import { encodeTlv } from '../../providers/local/document/tlv';
import { FACES_DIR } from '../support/faces';

export interface TestPki {
  dir: string;
  /** PEM of the trusted CSCA */
  csca: string;
  /** PEM of a CSCA nobody trusts */
  foreignCsca: string;
  signers: Record<SignerName, { cert: string; key: string }>;
  dispose(): void;
}

/** trusted: ec (P-256 under a P-384 CSCA), rsa (2048, PKCS#1 v1.5), brainpool (brainpoolP256r1); foreign: under the foreign CSCA; loop: under two CAs that issue each other */
export type SignerName = 'ec' | 'rsa' | 'brainpool' | 'foreign' | 'loop';

const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** Makes the test PKI in a temporary directory (≈ 1 s: one RSA key). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'verigate-pki-'));
  const o = (...args: string[]) => openssl(dir, ...args);
  const ext = (name: string, body: string) => writeFileSync(join(dir, `${name}.ext`), body);
  ext('ca', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  ext('ds', 'keyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const ca = (name: string, cn: string, curve: string) => {
    o('genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', `${name}.key`);
    o('req', '-new', '-x509', '-key', `${name}.key`, '-subj', `/C=UT/O=Verigate Test/CN=${cn}`, '-days', '7300', '-sha384', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.pem`);
  };
  const signer = (name: string, issuer: string, keyArgs: string[], cn: string) => {
    o('genpkey', ...keyArgs, '-out', `${name}.key`);
    o('req', '-new', '-key', `${name}.key`, '-subj', `/C=UT/O=Verigate Test/CN=${cn}`, '-out', `${name}.csr`);
    o('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(1000 + name.length), '-days', '3650', '-sha256', '-extfile', 'ds.ext', '-out', `${name}.pem`);
  };
  ca('csca', 'Test CSCA', 'secp384r1');
  ca('foreign-csca', 'Foreign CSCA', 'prime256v1');
  signer('ec', 'csca', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], 'Test DS EC');
  signer('rsa', 'csca', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'Test DS RSA');
  signer('brainpool', 'csca', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:brainpoolP256r1'], 'Test DS Brainpool');
  signer('foreign', 'foreign-csca', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], 'Test DS EC');
  // two CAs, A and B, each issued by the other; the loop signer is issued by A
  for (const n of ['loop-a', 'loop-b']) o('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${n}.key`);
  for (const [n, other] of [['loop-a', 'loop-b'], ['loop-b', 'loop-a']] as const) {
    o('req', '-new', '-key', `${n}.key`, '-subj', `/C=UT/O=Verigate Test/CN=${n}`, '-out', `${n}.csr`);
  }
  // self-signed first (to have PEMs to sign with), then the cross certificates
  for (const n of ['loop-a', 'loop-b']) o('x509', '-req', '-in', `${n}.csr`, '-key', `${n}.key`, '-days', '3650', '-extfile', 'ca.ext', '-out', `${n}.self.pem`);
  o('x509', '-req', '-in', 'loop-a.csr', '-CA', 'loop-b.self.pem', '-CAkey', 'loop-b.key', '-set_serial', '11', '-days', '3650', '-extfile', 'ca.ext', '-out', 'loop-a.pem');
  o('x509', '-req', '-in', 'loop-b.csr', '-CA', 'loop-a.self.pem', '-CAkey', 'loop-a.key', '-set_serial', '12', '-days', '3650', '-extfile', 'ca.ext', '-out', 'loop-b.pem');
  o('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'loop.key');
  o('req', '-new', '-key', 'loop.key', '-subj', '/C=UT/O=Verigate Test/CN=Test DS Loop', '-out', 'loop.csr');
  o('x509', '-req', '-in', 'loop.csr', '-CA', 'loop-a.pem', '-CAkey', 'loop-a.key', '-set_serial', '13', '-days', '3650', '-extfile', 'ds.ext', '-out', 'loop.pem');
  // the loop signer's SOD carries both CA certificates
  writeFileSync(join(dir, 'loop-chain.pem'), readFileSync(join(dir, 'loop-a.pem'), 'utf8') + readFileSync(join(dir, 'loop-b.pem'), 'utf8'));
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const signers = Object.fromEntries((['ec', 'rsa', 'brainpool', 'foreign', 'loop'] as const).map((n) => [n, { cert: read(`${n}.pem`), key: read(`${n}.key`) }])) as TestPki['signers'];
  return { dir, csca: read('csca.pem'), foreignCsca: read('foreign-csca.pem'), signers, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** EF.DG1: 61 { 5F1F MRZ } */
export function buildDg1(lines: readonly string[]): Uint8Array {
  return encodeTlv(0x61, encodeTlv(0x5f1f, Buffer.from(lines.join(''), 'latin1')));
}

/** EF.DG2: 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E ISO 19794-5 record } } } */
export function buildDg2(image: Uint8Array, format: 'jpeg' | 'jpeg2000', width: number, height: number): Uint8Array {
  const header = Buffer.alloc(14);
  header.write('FAC\x00010\x00', 0, 'latin1');
  const info = Buffer.alloc(20);
  info.writeUInt32BE(20 + 12 + image.length, 0); // facial record data length
  info.writeUInt16BE(0, 4); // feature points
  const imageInfo = Buffer.alloc(12);
  imageInfo[0] = 1; // full frontal
  imageInfo[1] = format === 'jpeg' ? 0 : 1;
  imageInfo.writeUInt16BE(width, 2);
  imageInfo.writeUInt16BE(height, 4);
  imageInfo[6] = 1; // 24-bit RGB
  header.writeUInt32BE(14 + 20 + 12 + image.length, 8);
  header.writeUInt16BE(1, 12);
  const record = Buffer.concat([header, info, imageInfo, Buffer.from(image)]);
  const bht = encodeTlv(0xa1, Buffer.concat([encodeTlv(0x80, Buffer.from([1, 1])), encodeTlv(0x81, Buffer.from([2])), encodeTlv(0x87, Buffer.from([1, 1])), encodeTlv(0x88, Buffer.from([0, 8]))]));
  const bit = encodeTlv(0x7f60, Buffer.concat([bht, encodeTlv(0x5f2e, record)]));
  return encodeTlv(0x75, encodeTlv(0x7f61, Buffer.concat([encodeTlv(0x02, Buffer.from([1])), bit])));
}

/** A face from ../shared/faces as a DG2 portrait (≈ 360×480): JPEG q75, or JPEG 2000 at 20:1 by opj_compress. */
export async function portrait(rel: string, format: 'jpeg' | 'jpeg2000'): Promise<{ image: Buffer; width: number; height: number; pixels: Buffer }> {
  const { data, info } = await sharp(readFileSync(join(FACES_DIR, rel))).resize(360, 480, { fit: 'cover', position: 'attention' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (format === 'jpeg') return { image: await sharp(data, { raw: { width: 360, height: 480, channels: 3 } }).jpeg({ quality: 75 }).toBuffer(), width: 360, height: 480, pixels: data };
  const dir = mkdtempSync(join(tmpdir(), 'verigate-jp2-'));
  try {
    writeFileSync(join(dir, 'face.ppm'), Buffer.concat([Buffer.from(`P6\n${info.width} ${info.height}\n255\n`), data]));
    execFileSync('opj_compress', ['-i', 'face.ppm', '-o', 'face.jp2', '-r', '20'], { cwd: dir, stdio: 'ignore' });
    return { image: readFileSync(join(dir, 'face.jp2')), width: info.width, height: info.height, pixels: data };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** LDSSecurityObject (v0) over the given data groups. */
export function ldsSecurityObject(groups: Record<number, Uint8Array>, hash: 'sha256' | 'sha384' | 'sha1' = 'sha256'): Uint8Array {
  const oid = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2' }[hash];
  const seq = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid })] }),
      new asn1js.Sequence({
        value: Object.entries(groups).map(
          ([n, bytes]) => new asn1js.Sequence({ value: [new asn1js.Integer({ value: Number(n) }), new asn1js.OctetString({ valueHex: createHash(hash).update(bytes).digest() })] }),
        ),
      }),
    ],
  });
  return new Uint8Array(seq.toBER(false));
}

/** EF.SOD: 77 { CMS SignedData by `signer` over the LDS security object } (openssl cms); `moreCertificates`: PEM carried beside the signer's. */
export function signSod(pki: TestPki, signer: SignerName, lds: Uint8Array, moreCertificates?: string): Uint8Array {
  const dir = mkdtempSync(join(pki.dir, 'sod-'));
  try {
    writeFileSync(join(dir, 'lds.der'), lds);
    if (moreCertificates) writeFileSync(join(dir, 'more.pem'), moreCertificates);
    const extra = signer === 'loop' ? ['-certfile', join(pki.dir, 'loop-chain.pem')] : moreCertificates ? ['-certfile', join(dir, 'more.pem')] : [];
    openssl(dir, 'cms', '-sign', '-binary', '-nodetach', '-nosmimecap', '-econtent_type', '2.23.136.1.1.1', '-md', 'sha256', '-in', 'lds.der', '-signer', join(pki.dir, `${signer}.pem`), '-inkey', join(pki.dir, `${signer}.key`), ...extra, '-outform', 'DER', '-out', 'sod.der');
    return encodeTlv(0x77, readFileSync(join(dir, 'sod.der')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ChipCase {
  name: string;
  files: { dg1: Uint8Array; dg2: Uint8Array; sod: Uint8Array };
  /** the MRZ printed on the page the chip is presented with */
  printed: string[];
  /** what passive authentication must say */
  expect: 'CHIP_VERIFIED' | 'CHIP_SIGNATURE_INVALID' | 'CHIP_HASH_MISMATCH' | 'CHIP_UNTRUSTED_ISSUER' | 'CHIP_MRZ_MISMATCH';
  format: 'jpeg' | 'jpeg2000';
}

const FACES = ['deepface/img1.jpg', 'deepface/img5.jpg', 'deepface/img10.jpg', 'deepface/img20.jpg', 'face_recognition/examples/alex-lacamoire.png', 'deepface/img30.jpg'];

/**
 * `count` genuine chips (signers and image formats in turn) and, for each, its tampered twins:
 * DG2 with one byte changed, re-signed by a foreign signer, presented with a different printed
 * MRZ, its signature's last byte flipped.
 */
export async function chipCases(pki: TestPki, mrzs: readonly string[][], count: number): Promise<ChipCase[]> {
  const out: ChipCase[] = [];
  const signers: SignerName[] = ['ec', 'rsa', 'brainpool'];
  for (let i = 0; i < count; i++) {
    const lines = mrzs[i % mrzs.length]!;
    const format = i % 2 === 0 ? 'jpeg' : 'jpeg2000';
    const face = await portrait(FACES[i % FACES.length]!, format);
    const dg1 = buildDg1(lines);
    const dg2 = buildDg2(face.image, format, face.width, face.height);
    const lds = ldsSecurityObject({ 1: dg1, 2: dg2 }, i % 3 === 2 ? 'sha384' : 'sha256');
    const signer = signers[i % signers.length]!;
    const sod = signSod(pki, signer, lds);
    const base = { format, printed: lines } as const;
    out.push({ name: `genuine ${signer} ${format} #${i}`, files: { dg1, dg2, sod }, expect: 'CHIP_VERIFIED', ...base });
    const dg2Tampered = Uint8Array.from(dg2);
    dg2Tampered[dg2.length - 200 - (i % 50)]! ^= 0x01; // one bit of one byte of the image
    out.push({ name: `DG2 byte changed #${i}`, files: { dg1, dg2: dg2Tampered, sod }, expect: 'CHIP_HASH_MISMATCH', ...base });
    out.push({ name: `foreign signer #${i}`, files: { dg1, dg2, sod: signSod(pki, 'foreign', lds) }, expect: 'CHIP_UNTRUSTED_ISSUER', ...base });
    const other = mrzs[(i + 1) % mrzs.length]!;
    out.push({ name: `DG1 ≠ printed MRZ #${i}`, files: { dg1, dg2, sod }, expect: 'CHIP_MRZ_MISMATCH', format, printed: other });
    const sodFlipped = Uint8Array.from(sod);
    sodFlipped[sod.length - 1]! ^= 0x01; // the signature's last byte
    out.push({ name: `SOD signature bit flipped #${i}`, files: { dg1, dg2, sod: sodFlipped }, expect: 'CHIP_SIGNATURE_INVALID', ...base });
  }
  return out;
}
