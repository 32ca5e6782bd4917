/**
 * What the document says against what the applicant says, and the tenant's document policy:
 * pure functions of the read document, the applicant's data, the policy and `now`.
 *
 * Names are compared in the MRZ alphabet: the applicant's name goes through every ICAO Doc 9303
 * transliteration (Müller → MUELLER or MULLER), the document's is what its MRZ holds. The metric
 * is tolerant (one OCR slip or a typo in a long name passes), and an applicant may leave out
 * given names the document has (a middle name), but not add any.
 */
import { ageOn, transliterations, utcDate, type CalendarDate } from './icao';
import type { MrzDocument, MrzRead } from './mrz';

export type DocumentReason = 'MRZ_NOT_FOUND' | 'MRZ_INVALID' | 'DOCUMENT_EXPIRED' | 'NAME_MISMATCH' | 'DOB_MISMATCH' | 'AGE_BELOW_MINIMUM';

export interface Applicant {
  surname?: string;
  givenNames?: string;
  /** ISO date, YYYY-MM-DD */
  dateOfBirth?: string;
}

export interface DocumentPolicy {
  /** refuse when the holder is younger than this on `now` (from the document's date of birth) */
  minimumAge?: number;
  /** refuse an expired document */
  rejectExpired?: boolean;
}

/** Similarity at or above which two names in the MRZ alphabet count as the same. */
export const NAME_SIMILARITY = 0.85;

/**
 * The reasons a document check fails, empty when it passes. An unreadable or invalid MRZ stops
 * there: nothing read from it can be trusted for the other checks.
 */
export function documentReasons(read: MrzRead, applicant: Applicant | undefined, policy: DocumentPolicy, now: Date): DocumentReason[] {
  if (!read.found) return ['MRZ_NOT_FOUND'];
  const doc = read.document;
  if (!doc.mrzValid) return ['MRZ_INVALID'];
  const reasons: DocumentReason[] = [];
  if (policy.rejectExpired && doc.expired !== false) reasons.push('DOCUMENT_EXPIRED');
  if (applicant) reasons.push(...compareApplicant(doc, applicant));
  if (policy.minimumAge !== undefined && !oldEnough(doc, policy.minimumAge, now)) reasons.push('AGE_BELOW_MINIMUM');
  return reasons;
}

/** NAME_MISMATCH and DOB_MISMATCH for the fields the applicant gave. */
export function compareApplicant(doc: Pick<MrzDocument, 'surname' | 'givenNames' | 'dateOfBirth'>, applicant: Applicant): DocumentReason[] {
  const reasons: DocumentReason[] = [];
  const surnameOk = applicant.surname === undefined || nameMatches(applicant.surname, doc.surname, false);
  const givenOk = applicant.givenNames === undefined || nameMatches(applicant.givenNames, doc.givenNames, true);
  if (!surnameOk || !givenOk) reasons.push('NAME_MISMATCH');
  if (applicant.dateOfBirth !== undefined && applicant.dateOfBirth !== doc.dateOfBirth) reasons.push('DOB_MISMATCH');
  return reasons;
}

/** The holder's age on `now` is at least `minimum` (an unreadable date of birth is not old enough). */
export function oldEnough(doc: Pick<MrzDocument, 'dateOfBirth'>, minimum: number, now: Date): boolean {
  const birth = parseIso(doc.dateOfBirth);
  return birth !== undefined && ageOn(birth, utcDate(now)) >= minimum;
}

function parseIso(iso: string | null): CalendarDate | undefined {
  const m = iso?.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  return m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
}

/**
 * The applicant's name (any script Doc 9303 transliterates) against the document's (MRZ letters,
 * parts separated by spaces). The MRZ cuts long names to fit: a document name that filled its
 * field is compared with the same length of the applicant's. `partsMayBeOmitted`: the applicant
 * may give fewer parts (given names), each matching a document part in order.
 */
export function nameMatches(applicant: string, document: string, partsMayBeOmitted: boolean): boolean {
  const docParts = document.trim().split(/\s+/).filter(Boolean);
  const docJoined = docParts.join('');
  for (const reading of transliterations(applicant)) {
    const parts = reading.split('<').filter(Boolean);
    const joined = parts.join('');
    if (joined.length === 0) continue;
    if (similarity(truncatedLike(joined, docJoined), docJoined) >= NAME_SIMILARITY) return true;
    if (partsMayBeOmitted && parts.length < docParts.length && inOrder(parts, docParts)) return true;
  }
  return false;
}

/** `a` cut to `b`'s length when `b` looks cut (the applicant's name is longer than the MRZ's). */
function truncatedLike(a: string, b: string): string {
  return a.length > b.length && b.length >= 20 ? a.slice(0, b.length) : a;
}

/** every applicant part matches a distinct document part, in the same order */
function inOrder(parts: string[], docParts: string[]): boolean {
  let j = 0;
  for (const p of parts) {
    while (j < docParts.length && similarity(p, docParts[j]!) < NAME_SIMILARITY) j++;
    if (j === docParts.length) return false;
    j++;
  }
  return true;
}

/** 1 − (optimal string alignment distance) / (longer length): 1 for equal strings, 0 for nothing shared. */
export function similarity(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - editDistance(a, b) / n;
}

/** Levenshtein with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, prev2[j - 2]! + 1);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}
