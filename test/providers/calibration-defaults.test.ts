/**
 * The default calibration tables of the cloud/on-prem providers: valid, loaded by the registry,
 * named and scaled exactly as the adapters report their scores, and anchored where their
 * descriptions say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACIA_CALIBRATION } from '../../providers/facia';
import { REKOGNITION_CALIBRATION } from '../../providers/rekognition';
import { CalibrationRegistry, unify, validateTable } from '../../src/verification/calibration';
import { DEFAULT_THRESHOLDS } from '../../src/verification/decide';
import { CALIBRATION_DIR } from '../../src/paths';

const load = (f: string) => validateTable(JSON.parse(readFileSync(join(CALIBRATION_DIR, f), 'utf8')));

describe.each([
  ['facia-default.json', FACIA_CALIBRATION, 'unit', { inconclusiveAt: 0.8, acceptAt: 0.97, max: 1 }],
  ['rekognition-default.json', REKOGNITION_CALIBRATION, 'percent', { inconclusiveAt: 80, acceptAt: 99, max: 100 }],
] as const)('%s', (file, id, scale, anchors) => {
  const table = load(file);

  it('is a valid default table with the id and scale the adapter reports', () => {
    expect(table.id).toBe(id);
    expect(table.scale).toBe(scale);
    expect(table.origin).toBe('default');
    expect(table.impostorPairs).toBe(0);
    expect(table.description).toMatch(/DEFAULT, NOT A MEASUREMENT/);
  });

  it('is loaded by CalibrationRegistry.loadDefaults and unifies the adapter’s raw scores', () => {
    const reg = CalibrationRegistry.loadDefaults();
    expect(reg.get(id)).toEqual(table);
    expect(reg.unifyMatch({ score: anchors.acceptAt, scale, calibration: id }).fmr).toBeCloseTo(DEFAULT_THRESHOLDS.acceptFmr, 12);
    expect(() => reg.unifyMatch({ score: anchors.acceptAt, scale: scale === 'unit' ? 'percent' : 'unit', calibration: id })).toThrow(/expects/);
  });

  it('anchors the documented operating points on the default decision thresholds', () => {
    expect(unify(table, anchors.inconclusiveAt).fmr).toBeCloseTo(DEFAULT_THRESHOLDS.inconclusiveFmr, 12);
    expect(unify(table, anchors.acceptAt).fmr).toBeCloseTo(DEFAULT_THRESHOLDS.acceptFmr, 12);
    // a hair below the accept anchor is not an accept; the top of the scale is extrapolated and floored
    expect(unify(table, anchors.acceptAt - anchors.max / 1000).fmr).toBeGreaterThan(DEFAULT_THRESHOLDS.acceptFmr);
    const top = unify(table, anchors.max);
    expect(top.extrapolated).toBe(true);
    expect(top.fmr).toBeGreaterThanOrEqual(table.tail.minFmr);
    expect(unify(table, 0).fmr).toBe(1);
  });

  it('is monotone over the whole scale', () => {
    let last = Infinity;
    for (let i = 0; i <= 1000; i++) {
      const { fmr } = unify(table, (anchors.max * i) / 1000);
      expect(fmr).toBeLessThanOrEqual(last * (1 + 1e-12));
      last = fmr;
    }
  });
});
