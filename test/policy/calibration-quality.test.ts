/**
 * Quality-conditioned calibration and the impostor pairs it is measured on: the registry picks the
 * table by the check's quality findings, the committed local tables are linked and say how they were
 * measured, and the pair expansion derives only what the labels prove.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandPairs, rawAt } from '../../src/eval';
import { readPairs } from '../../src/eval/sets';
import { CalibrationRegistry, type CalibrationTable, unify, validateTable } from '../../src/verification/calibration';
import { DEFAULT_THRESHOLDS } from '../../src/verification/decide';

const table = (id: string, top: number, extra: Partial<CalibrationTable> = {}): CalibrationTable =>
  validateTable({
    id,
    scale: 'cosine',
    origin: 'measured',
    description: 'test',
    points: [
      { raw: 0, fmr: 1 },
      { raw: top, fmr: 1e-3 },
    ],
    impostorPairs: 1000,
    tail: { log10FmrPerUnit: 10, minFmr: 1e-10 },
    ...extra,
  });

describe('quality-conditioned calibration', () => {
  const reg = new CalibrationRegistry();
  reg.add(table('t/clean', 0.4, { whenQualityFindings: 't/findings' }));
  reg.add(table('t/findings', 0.5));
  reg.checkLinks();
  const match = { score: 0.7, scale: 'cosine', calibration: 't/clean' } as const;

  it('uses the clean table when neither face has a quality finding, the linked one when either has', () => {
    expect(reg.unifyMatch(match)).toMatchObject({ table: 't/clean', fmr: expect.closeTo(1e-6, 12) });
    expect(reg.unifyMatch(match, ['BLURRY'])).toMatchObject({ table: 't/findings', fmr: expect.closeTo(1e-5, 12) });
    expect(reg.unifyMatch(match, ['FACE_TOO_SMALL', 'EXTREME_POSE']).table).toBe('t/findings');
    // reasons that are not capture-quality findings do not switch tables
    expect(reg.unifyMatch(match, ['PROVIDER_DISAGREEMENT']).table).toBe('t/clean');
    // an unconditioned table ignores findings
    expect(reg.unifyMatch({ ...match, calibration: 't/findings' }, ['BLURRY']).table).toBe('t/findings');
  });

  it('refuses a link to a missing, differently scaled or itself conditioned table', () => {
    const bad = (...tables: CalibrationTable[]) => {
      const r = new CalibrationRegistry();
      tables.forEach((t) => r.add(t));
      return () => r.checkLinks();
    };
    expect(bad(table('a', 0.4, { whenQualityFindings: 'missing' }))).toThrow(/no calibration table 'missing'/);
    expect(bad(table('a', 0.4, { whenQualityFindings: 'b' }), { ...table('b', 0.5), scale: 'unit' })).toThrow(/unconditioned cosine/);
    expect(bad(table('a', 0.4, { whenQualityFindings: 'b' }), table('b', 0.5, { whenQualityFindings: 'a' }))).toThrow(/unconditioned/);
  });

  it('the committed local tables are linked, measured and say how far FMR 1e-5 is extrapolated', () => {
    const defaults = CalibrationRegistry.loadDefaults();
    const clean = defaults.get('local/faceplugin-v1');
    const findings = defaults.tableFor('local/faceplugin-v1', ['BLURRY']);
    expect(clean.whenQualityFindings).toBe(findings.id);
    for (const t of [clean, findings]) {
      expect(t.origin).toBe('measured');
      expect(t.description).toMatch(/^Measured: verigate calibrate .*--all-pairs .*--degraded .*--by-quality/);
      expect(t.description).toContain(`this table holds the ${t.impostorPairs} impostor`);
      const at = rawAt(t, DEFAULT_THRESHOLDS.acceptFmr);
      expect(t.description).toContain(`FMR 1e-5 at cosine ${at.toFixed(4)} (extrapolated`);
      expect(unify(t, at).fmr).toBeLessThanOrEqual(DEFAULT_THRESHOLDS.acceptFmr);
    }
  });
});

describe('expandPairs', () => {
  const p = (a: string, b: string, same: boolean) => ({ a, b, same });

  it('closes same-person labels into identities and pairs identities a different-person label joins', () => {
    // identities {a1,a2,a3}, {b1,b2}, {c1}; a labelled different pair joins A and B only
    const x = expandPairs([p('a1', 'a2', true), p('a2', 'a3', true), p('b1', 'b2', true), p('a1', 'b1', false), p('c1', 'a1', true)]);
    expect(x.identities).toBe(2);
    const key = (q: { a: string; b: string }) => [q.a, q.b].sort().join('-');
    const diff = x.pairs.filter((q) => !q.same).map(key).sort();
    // {a1,a2,a3,c1} × {b1,b2}
    expect(diff).toEqual(['a1-b1', 'a1-b2', 'a2-b1', 'a2-b2', 'a3-b1', 'a3-b2', 'b1-c1', 'b2-c1']);
    expect(x.pairs.filter((q) => q.same)).toHaveLength(6 + 1);
    expect(x.counts).toMatchObject({ listedSame: 4, listedDifferent: 1, derivedDifferent: 7, disjointDifferent: 0 });
  });

  it('leaves identities unpaired when no label says they differ', () => {
    const x = expandPairs([p('a1', 'a2', true), p('b1', 'b2', true)]);
    expect(x.pairs.filter((q) => !q.same)).toEqual([]);
  });

  it('pairs a declared disjoint set with every other image, and refuses contradictions and overlaps', () => {
    const x = expandPairs([p('a1', 'a2', true)], [[p('n1', 'n2', false)]]);
    expect(x.counts.disjointDifferent).toBe(4);
    expect(() => expandPairs([p('a1', 'a2', true), p('a2', 'a3', true), p('a1', 'a3', false)])).toThrow(/contradict/);
    expect(() => expandPairs([p('a1', 'n1', true)], [[p('n1', 'n2', false)]])).toThrow(/also appears/);
  });

  it('reads deepface CSV pair lists, paths beside the CSV', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-csv-'));
    const file = join(dir, 'pivot.csv');
    writeFileSync(file, 'file_x,file_y,decision,VGG-Face_cosine\ndeepface/tests/dataset/img1.jpg,img2.jpg,Yes,0.1\nimg1.jpg,img3.jpg,No,0.7\n');
    expect(readPairs(file)).toEqual([
      { a: join(dir, 'img1.jpg'), b: join(dir, 'img2.jpg'), same: true },
      { a: join(dir, 'img1.jpg'), b: join(dir, 'img3.jpg'), same: false },
    ]);
  });
});
