/**
 * verifyIdentity's document inputs at the edge: the applicant's data checked, and the chip's files
 * decoded and verified (passive authentication) here, in the API process, before the check is
 * stored or queued — a chip that is not a chip's files is a BAD_USER_INPUT naming the field, and
 * nothing is stored. What passes becomes the orchestrator's `DocumentInput`: the applicant's data,
 * the chip's result, and a verified chip's face as an image like any other.
 */
import { createHash, createHmac } from 'node:crypto';
import type { ImageInput } from '../../providers/types';
import type { Applicant } from '../../providers/local/document/applicant';
import { CHIP_LIMITS, verifyChip } from '../../providers/local/document/chip';
import { ChipInputError } from '../../providers/local/document/tlv';
import type { TrustStore } from '../../providers/local/document/trust';
import { badInput, VerigateError } from '../errors';
import type { DocumentInput } from '../verification/orchestrator';
import type { ApplicantInput, ChipInput } from './inputs';

const MAX_NAME = 256;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The applicant's data, checked: names of at most MAX_NAME characters, a real calendar date. */
export function applicantOf(input: ApplicantInput | null | undefined): Applicant | undefined {
  if (!input) return undefined;
  const out: Applicant = {};
  for (const k of ['surname', 'givenNames'] as const) {
    const v = input[k];
    if (v === undefined || v === null) continue;
    if (v.trim().length === 0 || v.length > MAX_NAME) throw badInput(`applicant.${k} must be 1..${MAX_NAME} characters`, `applicant.${k}`);
    out[k] = v;
  }
  const dob = input.dateOfBirth;
  if (dob !== undefined && dob !== null) {
    const m = ISO_DATE.exec(dob);
    const d = m && new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (!m || !d || d.toISOString().slice(0, 10) !== dob) throw badInput('applicant.dateOfBirth must be a date, YYYY-MM-DD', 'applicant.dateOfBirth');
    out.dateOfBirth = dob;
  }
  if (Object.keys(out).length === 0) throw badInput('applicant needs at least one of surname, givenNames, dateOfBirth', 'applicant');
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One chip file: strict base64, within its size limit (CHIP_LIMITS). */
function fileOf(value: string, name: keyof typeof CHIP_LIMITS): Buffer {
  const field = `chip.${name}`;
  const text = value.replace(/\s+/g, '');
  // a size check before decoding: base64 holds 3 bytes in 4 characters
  if (Math.floor((text.length * 3) / 4) > CHIP_LIMITS[name] + 2) throw badInput(`${field} is larger than ${CHIP_LIMITS[name]} bytes`, field);
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) throw badInput(`${field} is not base64`, field);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length > CHIP_LIMITS[name]) throw badInput(`${field} is larger than ${CHIP_LIMITS[name]} bytes`, field);
  return bytes;
}

/** Which file a ChipInputError is about: the one its message names (the LDS security object and the certificates are the SOD's). */
function fieldOf(e: ChipInputError): string {
  const m = /\b(DG1|DG2|SOD)\b/.exec(e.message);
  if (m) return `chip.${m[1]!.toLowerCase()}`;
  return /LDS security object|certificate/i.test(e.message) ? 'chip.sod' : 'chip';
}

/**
 * The chip verified: its result, and its face (JPEG) as an image when passive authentication held.
 * `image` makes the face an ImageInput under the server's image limits.
 */
export async function chipOf(
  input: ChipInput | null | undefined,
  trust: TrustStore,
  image: (bytes: Buffer, field: string) => Promise<ImageInput>,
): Promise<Pick<DocumentInput, 'chip' | 'chipFace'> & { digest?: string }> {
  if (!input) return {};
  const files = { dg1: fileOf(input.dg1, 'dg1'), sod: fileOf(input.sod, 'sod'), ...(input.dg2 ? { dg2: fileOf(input.dg2, 'dg2') } : {}) };
  // what an idempotent repeat is compared by (the files, length-prefixed so no two sets hash alike)
  const hash = createHash('sha256');
  for (const f of [files.dg1, files.dg2 ?? Buffer.alloc(0), files.sod]) hash.update(`${f.length}:`).update(f);
  const digest = hash.digest('hex');
  let result;
  try {
    result = await verifyChip(files, trust, { now: new Date() });
  } catch (e) {
    if (!(e instanceof ChipInputError)) throw e;
    const field = fieldOf(e);
    throw new VerigateError('BAD_USER_INPUT', `${field} cannot be verified: ${e.message}`, { field, chipError: e.code });
  }
  const chip = { verified: result.verified, reasons: result.reasons, dg1Mrz: result.dg1Mrz };
  return { chip, digest, ...(result.faceImage ? { chipFace: await image(result.faceImage, 'chip.dg2') } : {}) };
}

/**
 * What an idempotent repeat's applicant data is compared by: keyed (HMAC with the deployment's
 * image key), so the stored digest cannot be matched against a list of names and birth dates.
 */
export const applicantDigest = (a: Applicant, key: Buffer): string =>
  createHmac('sha256', key).update(JSON.stringify([a.surname ?? null, a.givenNames ?? null, a.dateOfBirth ?? null])).digest('hex');
