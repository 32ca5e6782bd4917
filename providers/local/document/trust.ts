/**
 * The CSCA certificates an operator trusts: a directory of certificates (PEM, possibly several per
 * file, or DER) and ICAO CSCA master lists (CMS SignedData over a CscaMasterList, Doc 9303 Part 12).
 * The operator vouches for what it puts in the directory; a master list's own signature is not
 * checked here.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ChipInputError } from './tlv';

export interface TrustStore {
  readonly certificates: readonly X509Certificate[];
  /** the trusted certificates whose subject is `issuer` (Node's multi-line DN form) */
  issuedBy(issuer: string): X509Certificate[];
}

const MAX_FILE_BYTES = 32 * 1024 * 1024;
const MAX_FILES = 10_000;
const ID_CSCA_MASTER_LIST = '2.23.136.1.1.2';

export function trustStore(certificates: readonly X509Certificate[]): TrustStore {
  const bySubject = new Map<string, X509Certificate[]>();
  const seen = new Set<string>();
  for (const c of certificates) {
    if (seen.has(c.fingerprint256)) continue;
    seen.add(c.fingerprint256);
    bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), c]);
  }
  const unique = [...bySubject.values()].flat();
  return { certificates: unique, issuedBy: (issuer) => bySubject.get(issuer) ?? [] };
}

/** Every certificate in the files of `dir` (not recursive); a file that holds none is an error. */
export function loadTrustStore(dir: string): TrustStore {
  const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile());
  if (files.length > MAX_FILES) throw new Error(`${dir}: more than ${MAX_FILES} files`);
  const certs: X509Certificate[] = [];
  for (const f of files.sort()) {
    const path = join(dir, f);
    if (statSync(path).size > MAX_FILE_BYTES) throw new Error(`${path}: larger than ${MAX_FILE_BYTES} bytes`);
    const found = certificatesIn(readFileSync(path));
    if (found.length === 0) throw new Error(`${path}: no certificate or CSCA master list`);
    certs.push(...found);
  }
  return trustStore(certs);
}

/** The certificates in one file's bytes: PEM certificates, one DER certificate, or a master list. */
export function certificatesIn(bytes: Uint8Array): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (pems) return pems.map((p) => new X509Certificate(p));
  try {
    return [new X509Certificate(Buffer.from(bytes))];
  } catch {
    return masterListCertificates(bytes);
  }
}

/** The CSCA certificates of an ICAO master list (DER, or wrapped in PEM "CMS"). */
export function masterListCertificates(bytes: Uint8Array): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const pem = text.match(/-----BEGIN (?:CMS|PKCS7)-----([\s\S]+?)-----END/);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : Buffer.from(bytes);
  try {
    const info = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
    const signed = new pkijs.SignedData({ schema: info.content });
    if (signed.encapContentInfo.eContentType !== ID_CSCA_MASTER_LIST) return [];
    const content = signed.encapContentInfo.eContent?.getValue();
    if (!content) return [];
    // CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }
    const list = asn1js.fromBER(content).result as asn1js.Sequence;
    const set = list.valueBlock.value[1] as asn1js.Set;
    return set.valueBlock.value.map((c) => new X509Certificate(Buffer.from(c.toBER(false))));
  } catch (e) {
    if (e instanceof ChipInputError) throw e;
    return [];
  }
}
