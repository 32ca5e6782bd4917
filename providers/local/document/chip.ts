/**
 * Passive authentication of an eMRTD chip (ICAO Doc 9303 Part 11 §5.1): the Document Security
 * Object (EF.SOD, a CMS SignedData over an LDSSecurityObject) is signed by a document signer whose
 * certificate chains to a CSCA the operator trusts, and holds the hash of every data group read.
 * DG1's MRZ must equal the printed one when both are given; DG2's face becomes a JPEG.
 *
 * Parsing uses asn1js/pkijs; signatures and certificates are checked with node:crypto (OpenSSL),
 * which knows every curve and padding passports use (brainpool, RSA-PSS), unlike WebCrypto.
 */
import { constants, createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { faceJpeg, parseDg1, parseDg2 } from './lds';
import { ChipInputError, readTlv } from './tlv';
import type { TrustStore } from './trust';

export type ChipReason = 'CHIP_VERIFIED' | 'CHIP_SIGNATURE_INVALID' | 'CHIP_HASH_MISMATCH' | 'CHIP_UNTRUSTED_ISSUER' | 'CHIP_MRZ_MISMATCH';

export interface ChipFiles {
  /** EF.DG1 as read (tag 61) */
  dg1: Uint8Array;
  /** EF.DG2 as read (tag 75); optional */
  dg2?: Uint8Array;
  /** EF.SOD as read (tag 77) */
  sod: Uint8Array;
}

export interface ChipResult {
  /** signature, certificate chain and every data group hash hold */
  verified: boolean;
  /** CHIP_VERIFIED alone, or every failure found */
  reasons: ChipReason[];
  /** DG1's MRZ lines (personal data: return, never log) */
  dg1Mrz: string[];
  /** DG2's face as a JPEG (only when the chip verified: an unverified face is no reference) */
  faceImage?: Buffer;
  faceFormat?: 'jpeg' | 'jpeg2000';
  /** who signed: for the audit trail */
  signer?: { subject: string; issuer: string; serialNumber: string };
  hashAlgorithm: string;
}

export interface VerifyOptions {
  /** the MRZ read from the printed page, to compare with DG1 */
  printedMrz?: readonly string[];
  /** certificates must be valid on this day (default: now) */
  now?: Date;
  /** decode DG2's face into `faceImage` (default true) */
  face?: boolean;
}

/** Sizes far above any real chip's files (DG1 ~ 95 B, DG2 ~ 15–60 KB, SOD ~ 2–5 KB). */
export const CHIP_LIMITS = { dg1: 1024, dg2: 2 * 1024 * 1024, sod: 256 * 1024 } as const;
/** CA certificates between the document signer and a CSCA, beyond which a path is refused */
const MAX_PATH = 4;
/** certificates an SOD may carry (ICAO 9303: the document signer's, sometimes a link certificate) */
const MAX_SOD_CERTIFICATES = 8;

const ID_LDS_SECURITY_OBJECT = '2.23.136.1.1.1';
const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** signature algorithms that name their hash (RSA PKCS#1 v1.5 and ECDSA) */
const SIGNATURES: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';

/** Passive authentication. Throws ChipInputError for input that is not a chip's files at all. */
export async function verifyChip(files: ChipFiles, trust: TrustStore, opts: VerifyOptions = {}): Promise<ChipResult> {
  for (const k of ['dg1', 'dg2', 'sod'] as const) {
    const n = files[k]?.length ?? 0;
    if (n > CHIP_LIMITS[k]) throw new ChipInputError('TOO_LARGE', `${k.toUpperCase()} is ${n} bytes (at most ${CHIP_LIMITS[k]})`);
  }
  try {
    return await verify(files, trust, opts);
  } catch (e) {
    if (e instanceof ChipInputError) throw e;
    // whatever else a mangled file makes the ASN.1 and X.509 parsers throw is still the input's fault
    throw new ChipInputError('NOT_LDS', `the chip files cannot be read: ${(e as Error).message}`);
  }
}

async function verify(files: ChipFiles, trust: TrustStore, opts: VerifyOptions): Promise<ChipResult> {
  const dg1 = parseDg1(files.dg1);
  const face = files.dg2 ? parseDg2(files.dg2) : undefined;
  const sod = parseSod(files.sod);
  const reasons = new Set<ChipReason>();

  // every data group read must be in the SOD with the same hash
  const given: Array<[number, Uint8Array]> = [[1, files.dg1]];
  if (files.dg2) given.push([2, files.dg2]);
  for (const [n, bytes] of given) {
    const expected = sod.hashes.get(n);
    const actual = createHash(sod.hashAlgorithm).update(bytes).digest();
    if (!expected || !actual.equals(expected)) reasons.add('CHIP_HASH_MISMATCH');
  }

  // the SOD's signature, by its document signer
  const signer = sod.signerCertificate;
  if (!signer || !signatureHolds(sod, signer)) reasons.add('CHIP_SIGNATURE_INVALID');
  if (!signer || !chainsToTrust(signer, sod.certificates, trust, opts.now ?? new Date())) reasons.add('CHIP_UNTRUSTED_ISSUER');

  if (opts.printedMrz && opts.printedMrz.join('') !== dg1.lines.join('')) reasons.add('CHIP_MRZ_MISMATCH');

  const chipOk = !reasons.has('CHIP_HASH_MISMATCH') && !reasons.has('CHIP_SIGNATURE_INVALID') && !reasons.has('CHIP_UNTRUSTED_ISSUER');
  if (chipOk && !reasons.has('CHIP_MRZ_MISMATCH')) reasons.add('CHIP_VERIFIED');
  return {
    verified: chipOk,
    reasons: [...reasons],
    dg1Mrz: dg1.lines,
    faceImage: chipOk && face && opts.face !== false ? await faceJpeg(face) : undefined,
    faceFormat: face?.format,
    signer: signer ? { subject: signer.subject, issuer: signer.issuer, serialNumber: signer.serialNumber } : undefined,
    hashAlgorithm: sod.hashAlgorithm,
  };
}

interface Sod {
  hashAlgorithm: string;
  hashes: Map<number, Buffer>;
  /** the LDSSecurityObject as signed */
  content: Buffer;
  signerInfo: pkijs.SignerInfo;
  signerCertificate?: X509Certificate;
  certificates: X509Certificate[];
}

function parseSod(bytes: Uint8Array): Sod {
  const outer = readTlv(bytes, 0, 'SOD');
  if (outer.tag !== 0x77) throw new ChipInputError('NOT_LDS', `SOD starts with tag ${outer.tag.toString(16)}, not 77`);
  const asn = asn1js.fromBER(outer.value);
  if (asn.offset === -1) throw new ChipInputError('NOT_ASN1', `SOD is not DER: ${asn.result.error}`);
  let signed: pkijs.SignedData;
  try {
    const info = new pkijs.ContentInfo({ schema: asn.result });
    if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error(`content type ${info.contentType}`);
    signed = new pkijs.SignedData({ schema: info.content });
  } catch (e) {
    throw new ChipInputError('NOT_LDS', `SOD is not a CMS SignedData: ${(e as Error).message}`);
  }
  if (signed.encapContentInfo.eContentType !== ID_LDS_SECURITY_OBJECT) {
    throw new ChipInputError('NOT_LDS', `SOD signs ${signed.encapContentInfo.eContentType}, not an LDS security object`);
  }
  const content = signed.encapContentInfo.eContent?.getValue();
  if (!content) throw new ChipInputError('NOT_LDS', 'SOD has no LDS security object');
  if (signed.signerInfos.length !== 1) throw new ChipInputError('UNSUPPORTED', `SOD has ${signed.signerInfos.length} signers`);
  const { hashAlgorithm, hashes } = parseLdsSecurityObject(Buffer.from(content));
  // a document signer's SOD carries its own certificate, at most a few: more is an attempt to make the path search expensive
  if ((signed.certificates?.length ?? 0) > MAX_SOD_CERTIFICATES) {
    throw new ChipInputError('UNSUPPORTED', `SOD carries ${signed.certificates!.length} certificates (at most ${MAX_SOD_CERTIFICATES})`);
  }
  const certificates = (signed.certificates ?? [])
    .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER(false))));
  const signerInfo = signed.signerInfos[0]!;
  return { hashAlgorithm, hashes, content: Buffer.from(content), signerInfo, signerCertificate: findSigner(signerInfo, signed, certificates), certificates };
}

/** LDSSecurityObject ::= SEQUENCE { version, hashAlgorithm, dataGroupHashValues SEQUENCE OF { number, hash } … } */
function parseLdsSecurityObject(der: Buffer): { hashAlgorithm: string; hashes: Map<number, Buffer> } {
  const bad = (why: string): never => {
    throw new ChipInputError('NOT_LDS', `LDS security object: ${why}`);
  };
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1 || !(asn.result instanceof asn1js.Sequence)) return bad('not a SEQUENCE');
  const [, alg, list] = asn.result.valueBlock.value;
  if (!(alg instanceof asn1js.Sequence) || !(list instanceof asn1js.Sequence)) return bad('unexpected structure');
  const oid = alg.valueBlock.value[0];
  const hashAlgorithm = oid instanceof asn1js.ObjectIdentifier ? HASHES[oid.valueBlock.toString()] : undefined;
  if (!hashAlgorithm) return bad('unknown hash algorithm');
  const hashes = new Map<number, Buffer>();
  for (const item of list.valueBlock.value) {
    const [n, h] = item instanceof asn1js.Sequence ? item.valueBlock.value : [];
    if (!(n instanceof asn1js.Integer) || !(h instanceof asn1js.OctetString)) return bad('bad data group hash');
    const number = n.valueBlock.valueDec;
    if (hashes.has(number)) return bad(`data group ${number} listed twice`);
    hashes.set(number, Buffer.from(h.valueBlock.valueHexView));
  }
  return { hashAlgorithm, hashes };
}

function findSigner(si: pkijs.SignerInfo, signed: pkijs.SignedData, certs: X509Certificate[]): X509Certificate | undefined {
  const sid = si.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    const serial = Buffer.from(sid.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^0+/, '').toUpperCase();
    return certs.find((c, i) => c.serialNumber.replace(/^0+/, '').toUpperCase() === serial && sameIssuer(signed, i, sid.issuer));
  }
  // [0] SubjectKeyIdentifier
  const ski = sid instanceof asn1js.Primitive ? Buffer.from(sid.valueBlock.valueHexView).toString('hex') : undefined;
  if (!ski) return undefined;
  return certs.find((c) => subjectKeyId(c) === ski);
}

function sameIssuer(signed: pkijs.SignedData, index: number, issuer: pkijs.RelativeDistinguishedNames): boolean {
  const cert = signed.certificates?.[index];
  return cert instanceof pkijs.Certificate && cert.issuer.isEqual(issuer);
}

function subjectKeyId(c: X509Certificate): string | undefined {
  const parsed = new pkijs.Certificate({ schema: asn1js.fromBER(c.raw).result });
  const ext = parsed.extensions?.find((e) => e.extnID === '2.5.29.14');
  return ext ? Buffer.from((ext.parsedValue as asn1js.OctetString).valueBlock.valueHexView).toString('hex') : undefined;
}

/**
 * The signature over the DER of the signed attributes (re-tagged as a SET), which must carry the
 * LDS security object's content type and digest (RFC 5652 §5.4). Without signed attributes the
 * signature is over the content itself.
 */
function signatureHolds(sod: Sod, signer: X509Certificate): boolean {
  const si = sod.signerInfo;
  const digestName = HASHES[si.digestAlgorithm.algorithmId];
  if (!digestName) return false;
  let signedBytes: Buffer;
  if (si.signedAttrs) {
    const attrs = si.signedAttrs.attributes;
    const type = attrs.find((a) => a.type === ATTR_CONTENT_TYPE)?.values[0];
    const digest = attrs.find((a) => a.type === ATTR_MESSAGE_DIGEST)?.values[0];
    if (!(type instanceof asn1js.ObjectIdentifier) || type.valueBlock.toString() !== ID_LDS_SECURITY_OBJECT) return false;
    if (!(digest instanceof asn1js.OctetString)) return false;
    if (!Buffer.from(digest.valueBlock.valueHexView).equals(createHash(digestName).update(sod.content).digest())) return false;
    const encoded = Buffer.from(si.signedAttrs.encodedValue);
    signedBytes = Buffer.concat([Buffer.from([0x31]), encoded.subarray(1)]);
  } else signedBytes = sod.content;
  const signature = Buffer.from(si.signature.valueBlock.valueHexView);
  const alg = si.signatureAlgorithm.algorithmId;
  const key = signer.publicKey;
  try {
    if (alg === RSASSA_PSS) {
      const params = new pkijs.RSASSAPSSParams({ schema: si.signatureAlgorithm.algorithmParams });
      const hash = HASHES[params.hashAlgorithm.algorithmId];
      if (!hash) return false;
      return verifySignature(hash, signedBytes, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, signature);
    }
    const hash = SIGNATURES[alg] ?? (alg === RSA_ENCRYPTION || alg === EC_PUBLIC_KEY ? digestName : undefined);
    if (!hash) return false;
    return verifySignature(hash, signedBytes, key, signature);
  } catch {
    return false; // a key that does not fit the algorithm, a malformed signature
  }
}

/**
 * A path from the document signer to a trusted CSCA: each certificate issued (name and signature)
 * by the next, each valid on `now`; intermediates may come from the SOD or the trust store. A
 * certificate met twice on one path is a loop: bad input, not merely an untrusted chip.
 */
function chainsToTrust(leaf: X509Certificate, presented: X509Certificate[], trust: TrustStore, now: Date): boolean {
  const valid = (c: X509Certificate) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  // each (child, parent) signature is verified once: certificates sharing names and keys cannot
  // make the walk verify the same pair again on every path through them
  const known = new Map<string, boolean>();
  const issued = (child: X509Certificate, parent: X509Certificate) => {
    const pair = `${child.fingerprint256}>${parent.fingerprint256}`;
    let holds = known.get(pair);
    if (holds === undefined) {
      try {
        holds = child.checkIssued(parent) && child.verify(parent.publicKey);
      } catch {
        holds = false;
      }
      known.set(pair, holds);
    }
    return holds;
  };
  const walk = (cert: X509Certificate, path: string[]): boolean => {
    if (!valid(cert)) return false;
    for (const anchor of trust.issuedBy(cert.issuer)) if (issued(cert, anchor) && valid(anchor)) return true;
    if (path.length > MAX_PATH) return false;
    for (const next of presented) {
      if (next.subject !== cert.issuer || !issued(cert, next)) continue;
      if (next.fingerprint256 === cert.fingerprint256) continue; // self-signed and not trusted: a dead end
      if (path.includes(next.fingerprint256)) throw new ChipInputError('CERTIFICATE_LOOP', 'the SOD certificates issue each other in a loop');
      if (walk(next, [...path, next.fingerprint256])) return true;
    }
    return false;
  };
  return walk(leaf, [leaf.fingerprint256]);
}
