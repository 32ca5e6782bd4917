/**
 * The evidence contract as properties (fast-check), over random provider answers and policies:
 * no ACCEPTED without every required score present and within its threshold; missing evidence is
 * never a pass; a consensus is never looser than any of its members; stricter thresholds never
 * loosen a verdict; a blocked quality finding never passes.
 */
import fc from 'fast-check';
import { BLOCKABLE, ROUTED, type Routed } from '../../src/verification/policy';
import { decide, stricter, type Answer, type LegEvidence, type Rules, type Verdict } from '../../src/verification/decide';
import { matchLevelOf, scoreOf } from '../../src/verification/calibration';
import { PROVIDER_NAMES, type ReasonCode } from '../../providers/types';

const RUNS = 5000;
const STRICTNESS: Record<Verdict, number> = { ACCEPTED: 0, INCONCLUSIVE: 1, REJECTED: 2 };

const fmrArb = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -12, max: 0, noNaN: true }).map((e) => 10 ** e) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY) },
);
const matchArb = fmrArb.map((fmr) => ({ table: 't', origin: 'measured' as const, fmr, extrapolated: false, score: scoreOf(fmr), matchLevel: matchLevelOf(fmr) }));
const livenessArb = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
);
const findingArb = fc.subarray<ReasonCode>([...BLOCKABLE, 'FACE_TOO_SMALL']);

const answerArb: fc.Arbitrary<Answer> = fc.record(
  {
    provider: fc.constantFrom(...PROVIDER_NAMES),
    match: fc.option(matchArb, { nil: undefined, freq: 5 }),
    liveness: fc.option(livenessArb, { nil: undefined, freq: 5 }),
    livenessApcer: fc.option(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(null)), { nil: undefined }),
    quality: findingArb,
  },
  { requiredKeys: ['provider', 'quality'] },
);

const thresholdsArb = fc
  .record({
    a: fc.double({ min: -10, max: 0, noNaN: true }),
    b: fc.double({ min: -10, max: 0, noNaN: true }),
    live: fc.double({ min: 0, max: 1, noNaN: true }),
    apcer: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  })
  .map(({ a, b, live, apcer }) => ({ acceptFmr: 10 ** Math.min(a, b), inconclusiveFmr: 10 ** Math.max(a, b), livenessMin: live, ...(apcer !== undefined ? { livenessMaxApcer: apcer } : {}) }));

const rulesArb: fc.Arbitrary<Rules> = fc.record({
  required: fc.subarray([...ROUTED]),
  thresholds: thresholdsArb,
  quality: fc.record({ block: fc.subarray([...BLOCKABLE]), outcome: fc.constantFrom('INCONCLUSIVE' as const, 'REJECTED' as const) }),
});

/** One leg per group of checks: either both checks together, or each on its own; one member or a consensus. */
const legsArb: fc.Arbitrary<LegEvidence[]> = fc.oneof(
  fc.tuple(legArb(['match', 'liveness'])).map((l): LegEvidence[] => l),
  fc.tuple(legArb(['match']), legArb(['liveness'])).map((l): LegEvidence[] => l),
  fc.tuple(legArb(['match'])).map((l): LegEvidence[] => l),
  fc.constant([] as LegEvidence[]),
);
function legArb(answers: Routed[]): fc.Arbitrary<LegEvidence> {
  return fc.record(
    {
      answers: fc.constant(answers),
      consensus: fc.boolean(),
      minScore: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      from: fc.array(answerArb, { minLength: 0, maxLength: 3 }),
    },
    { requiredKeys: ['answers', 'consensus', 'from'] },
  );
}

/** live by the policy's APCER bound where the answer has an estimate, else by livenessMin */
const live = (a: Answer, r: Rules) =>
  r.thresholds.livenessMaxApcer !== undefined && typeof a.livenessApcer === 'number'
    ? a.livenessApcer <= r.thresholds.livenessMaxApcer
    : a.liveness! >= r.thresholds.livenessMin;
const within = (a: Answer, c: Routed, r: Rules, minScore?: number) =>
  c === 'match'
    ? a.match !== undefined && a.match.fmr <= r.thresholds.acceptFmr && (minScore === undefined || a.match.score >= minScore)
    : a.liveness !== undefined && live(a, r);

describe('the evidence contract (property-based)', () => {
  it(`never accepts without every required score present and within its threshold (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(rulesArb, legsArb, (rules, legs) => {
        const d = decide(rules, legs);
        if (d.status !== 'ACCEPTED') return;
        expect(rules.required.length).toBeGreaterThan(0);
        for (const c of rules.required) {
          const leg = legs.find((l) => l.answers.includes(c));
          expect(leg?.from.length).toBeGreaterThan(0);
          for (const a of leg!.from) expect(within(a, c, rules, c === 'match' ? leg!.minScore : undefined)).toBe(true);
        }
        const findings = legs.filter((l) => l.answers.some((c) => rules.required.includes(c))).flatMap((l) => l.from.flatMap((a) => a.quality));
        expect(findings.some((f) => (rules.quality.block as string[]).includes(f))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it(`never passes missing evidence: a required check without a number is EVIDENCE_MISSING and not ACCEPTED (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(rulesArb, legsArb, (rules, legs) => {
        const missing = rules.required.some((c) => {
          const leg = legs.find((l) => l.answers.includes(c));
          return !leg || leg.from.length === 0 || leg.from.some((a) => (c === 'match' ? !(a.match && Number.isFinite(a.match.fmr)) : !Number.isFinite(a.liveness ?? NaN)));
        });
        const d = decide(rules, legs);
        if (missing || rules.required.length === 0) {
          expect(d.status).not.toBe('ACCEPTED');
          expect(d.reasons).toContain('EVIDENCE_MISSING');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`makes a consensus at least as strict as each of its members alone (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(rulesArb, legsArb, (rules, legs) => {
        const together = decide(rules, legs).status;
        for (const [i, leg] of legs.entries()) {
          for (const member of leg.from) {
            const alone = decide(rules, legs.map((l, j) => (j === i ? { ...l, from: [member] } : l))).status;
            expect(STRICTNESS[together]).toBeGreaterThanOrEqual(STRICTNESS[alone]);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`never loosens a verdict when thresholds get stricter (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(rulesArb, legsArb, fc.double({ min: 0, max: 3, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (rules, legs, decades, more) => {
        const t = rules.thresholds;
        const strict = {
          ...rules,
          thresholds: {
            acceptFmr: t.acceptFmr / 10 ** decades,
            inconclusiveFmr: t.inconclusiveFmr / 10 ** decades,
            livenessMin: t.livenessMin + (1 - t.livenessMin) * more,
            ...(t.livenessMaxApcer !== undefined ? { livenessMaxApcer: t.livenessMaxApcer * (1 - more) } : {}),
          },
        };
        expect(STRICTNESS[decide(strict, legs).status]).toBeGreaterThanOrEqual(STRICTNESS[decide(rules, legs).status]);
      }),
      { numRuns: RUNS },
    );
  });

  it(`rejects whenever a required answer is past a reject threshold (a malformed number is missing evidence instead) (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(rulesArb, legsArb, (rules, legs) => {
        const past = (a: Answer, c: Routed) =>
          c === 'match'
            ? a.match !== undefined && Number.isFinite(a.match.fmr) && a.match.fmr > rules.thresholds.inconclusiveFmr
            : a.liveness !== undefined && Number.isFinite(a.liveness) && !live(a, rules);
        const failing = rules.required.some((c) =>
          legs.find((l) => l.answers.includes(c))?.from.some((a) => past(a, c)),
        );
        if (failing) expect(decide(rules, legs).status).toBe('REJECTED');
      }),
      { numRuns: RUNS },
    );
  });

  it('orders verdicts REJECTED > INCONCLUSIVE > ACCEPTED', () => {
    expect(stricter('ACCEPTED', 'INCONCLUSIVE')).toBe('INCONCLUSIVE');
    expect(stricter('REJECTED', 'INCONCLUSIVE')).toBe('REJECTED');
    expect(stricter('ACCEPTED', 'ACCEPTED')).toBe('ACCEPTED');
  });
});
