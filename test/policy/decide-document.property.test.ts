/**
 * The document part of the evidence contract as properties (fast-check), over random MRZ readings
 * (not found, valid, a check digit broken), applicants, chips and document policies:
 * ACCEPTED only with a valid MRZ and nothing refused; a required document without its reading is
 * never a pass; asking for the document only ever tightens a verdict.
 */
import fc from 'fast-check';
import type { Applicant } from '../../providers/local/document/applicant';
import { mrzOfLines, type MrzRead } from '../../providers/local/document/mrz';
import type { ReasonCode } from '../../providers/types';
import { decide, type Answer, type LegEvidence, type Rules, type Verdict } from '../../src/verification/decide';
import { matchLevelOf, scoreOf } from '../../src/verification/calibration';
import type { ChipEvidence } from '../../src/verification/types';
import { SPECIMENS } from '../corpus/documents';

const RUNS = 2000;
const STRICTNESS: Record<Verdict, number> = { ACCEPTED: 0, INCONCLUSIVE: 1, REJECTED: 2 };
const NOW = new Date('2026-12-03T00:00:00Z');
const LINES: string[][] = SPECIMENS.map((s) => [...s.lines]);
/** a check digit of the birth date changed: the MRZ reads, but is not valid */
const broken = (lines: string[]) => [lines[0]!, lines[1]!.slice(0, 19) + String((Number(lines[1]![19]) + 1) % 10) + lines[1]!.slice(20)];

const readArb: fc.Arbitrary<{ read: MrzRead; lines?: string[] }> = fc.oneof(
  fc.constant({ read: { found: false } as MrzRead }),
  { weight: 3, arbitrary: fc.constantFrom(...LINES).map((lines) => ({ read: mrzOfLines(lines, NOW), lines })) },
  fc.constantFrom(...LINES).map((lines) => ({ read: mrzOfLines(broken(lines), NOW), lines })),
);
/** each specimen's holder as an applicant would write them */
const HOLDERS: Applicant[] = [
  { surname: 'Obama', givenNames: 'Barack Hussein', dateOfBirth: '1961-01-17' },
  { surname: 'Basanavičienė', givenNames: 'Birutė', dateOfBirth: '1990-03-11' },
  { surname: 'May', givenNames: 'Theresa', dateOfBirth: '1985-01-17' },
];
const applicantArb = (lines?: string[]): fc.Arbitrary<Applicant | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    // the page's own holder (often), or anyone's fields, mixed
    ...(lines ? [fc.constant(HOLDERS[LINES.indexOf(lines)]!), fc.constant(HOLDERS[LINES.indexOf(lines)]!)] : []),
    fc.record({ surname: fc.constantFrom(...HOLDERS.map((x) => x.surname!)), givenNames: fc.constantFrom(...HOLDERS.map((x) => x.givenNames!)), dateOfBirth: fc.constantFrom(...HOLDERS.map((x) => x.dateOfBirth!)) }, { requiredKeys: [] }),
  );
const CHIP_FAILURES: ReasonCode[] = ['CHIP_SIGNATURE_INVALID', 'CHIP_HASH_MISMATCH', 'CHIP_UNTRUSTED_ISSUER'];
const chipArb = (printed?: string[]): fc.Arbitrary<ChipEvidence | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    // a genuine chip: often this page's own, or another document's
    fc.constantFrom(...(printed ? [printed, printed] : []), ...LINES).map((dg1Mrz) => ({ verified: true, reasons: ['CHIP_VERIFIED' as ReasonCode], dg1Mrz })),
    fc.tuple(fc.subarray(CHIP_FAILURES, { minLength: 1 }), fc.constantFrom(...LINES)).map(([reasons, dg1Mrz]) => ({ verified: false, reasons, dg1Mrz })),
  );
const policyArb = fc.record({ require: fc.boolean(), rejectExpired: fc.boolean(), minimumAge: fc.option(fc.integer({ min: 1, max: 90 }), { nil: undefined, freq: 2 }) });

const caseArb: fc.Arbitrary<Case> = readArb.chain(({ read, lines }) =>
  fc.record({ read: fc.constant(read), chip: chipArb(lines), applicant: applicantArb(lines), policy: policyArb, fmr: fc.oneof({ weight: 3, arbitrary: fc.double({ min: -12, max: -5, noNaN: true }) }, fc.double({ min: -12, max: 0, noNaN: true })).map((e) => 10 ** e) }),
);

const thresholds = { acceptFmr: 1e-5, inconclusiveFmr: 1e-3, livenessMin: 0.5 };
const quality = { block: [], outcome: 'INCONCLUSIVE' as const };
interface Case {
  read: MrzRead;
  chip?: ChipEvidence;
  applicant?: Applicant;
  policy: { require: boolean; rejectExpired: boolean; minimumAge?: number };
  fmr: number;
}

/** One local answer with a match (and the reading), decided with or without the document required. */
function decided(c: Case, withDocument: boolean, answerHasDocument = true) {
  const match = { table: 't', origin: 'measured' as const, fmr: c.fmr, extrapolated: false, score: scoreOf(c.fmr), matchLevel: matchLevelOf(c.fmr) };
  const answer: Answer = { provider: 'local', match, ...(answerHasDocument ? { document: c.read } : {}), quality: [] };
  const rules: Rules = {
    required: withDocument ? ['match', 'document'] : ['match'],
    thresholds,
    quality,
    document: { policy: c.policy, applicant: c.applicant, chip: c.chip, now: NOW },
  };
  const legs: LegEvidence[] = [{ answers: withDocument ? ['match', 'document'] : ['match'], consensus: false, from: [answer] }];
  return decide(rules, legs);
}

describe('the document in the evidence contract (property-based)', () => {
  it(`accepts only a valid MRZ with nothing refused (${RUNS} runs)`, () => {
    const seen = { ACCEPTED: 0, INCONCLUSIVE: 0, REJECTED: 0 };
    fc.assert(
      fc.property(caseArb, (c) => {
        const d = decided(c, true);
        seen[d.status]++;
        if (d.status !== 'ACCEPTED') return;
        expect(c.read.found && c.read.document.mrzValid).toBe(true);
        const refusals: ReasonCode[] = ['MRZ_NOT_FOUND', 'MRZ_INVALID', 'NAME_MISMATCH', 'DOB_MISMATCH', 'AGE_BELOW_MINIMUM', 'CHIP_SIGNATURE_INVALID', 'CHIP_HASH_MISMATCH', 'CHIP_MRZ_MISMATCH'];
        expect(d.reasons.filter((r) => refusals.includes(r))).toEqual([]);
        if (c.chip && c.read.found) expect(c.chip.dg1Mrz.join('')).toBe(c.read.document.lines.join(''));
        if (c.policy.rejectExpired) expect(d.document?.expired).toBe(false);
      }),
      { numRuns: RUNS },
    );
    // the cases reach every verdict (a property that never sees an ACCEPTED proves nothing)
    expect(Math.min(seen.ACCEPTED, seen.INCONCLUSIVE, seen.REJECTED)).toBeGreaterThan(RUNS / 100);
  });

  it(`never passes a required document without its reading: EVIDENCE_MISSING (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const d = decided(c, true, false);
        expect(d.status).not.toBe('ACCEPTED');
        expect(d.reasons).toContain('EVIDENCE_MISSING');
      }),
      { numRuns: RUNS },
    );
  });

  it(`only ever tightens a verdict when the document is checked too (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const without = decided(c, false);
        const withDocument = decided(c, true);
        expect(STRICTNESS[withDocument.status]).toBeGreaterThanOrEqual(STRICTNESS[without.status]);
      }),
      { numRuns: RUNS },
    );
  });
});
