import { join } from 'node:path';
import { loadPack } from '../../providers/local';
import {
  fitLivenessTable,
  livenessRates,
  loadLivenessTables,
  thresholdForApcer,
  validateLivenessTable,
} from '../../src/verification/liveness-calibration';
import { CALIBRATION_DIR } from '../../src/paths';

const LIVENESS_DIR = join(CALIBRATION_DIR, 'liveness');

// 10 real images scoring 0.55..1.0 and 10 attacks scoring 0.0..0.45, plus one attack at 0.9 and one real at 0.3
const real = [...Array.from({ length: 10 }, (_, i) => 0.55 + 0.05 * i), 0.3];
const spoof = [...Array.from({ length: 10 }, (_, i) => 0.05 * i), 0.9];
const table = fitLivenessTable(real, spoof, { id: 't/liveness', description: 'test' });

describe('liveness calibration: score → APCER, BPCER', () => {
  it('measures the rates at each score as threshold (live when score ≥ threshold)', () => {
    expect(livenessRates(table, 0)).toEqual({ apcer: 1, bpcer: 0 });
    // at 0.55: the attack at 0.9 passes, the real image at 0.3 is refused
    expect(livenessRates(table, 0.55).apcer).toBeCloseTo(1 / 11, 10);
    expect(livenessRates(table, 0.55).bpcer).toBeCloseTo(1 / 11, 10);
    // between two measured scores, between their rates
    expect(livenessRates(table, 0.5).apcer).toBeCloseTo(1.5 / 11, 10);
    expect(livenessRates(table, 0.95).apcer).toBe(0);
    expect(livenessRates(table, 1)).toEqual({ apcer: 0, bpcer: 10 / 11 });
  });

  it('is monotone between the points and clamps outside 0..1', () => {
    let last = livenessRates(table, -1);
    expect(last).toEqual(livenessRates(table, 0));
    for (let s = 0; s <= 1.0001; s += 0.0137) {
      const r = livenessRates(table, s);
      expect(r.apcer).toBeLessThanOrEqual(last.apcer);
      expect(r.bpcer).toBeGreaterThanOrEqual(last.bpcer);
      last = r;
    }
    expect(livenessRates(table, 7)).toEqual(livenessRates(table, 1));
  });

  it('turns a maximum APCER into the lowest threshold that keeps it', () => {
    const t = thresholdForApcer(table, 0.1);
    expect(livenessRates(table, t).apcer).toBeLessThanOrEqual(0.1);
    expect(livenessRates(table, t - 0.01).apcer).toBeGreaterThan(0.1);
    expect(thresholdForApcer(table, 1)).toBe(0);
  });

  it('refuses a table that is not monotone, does not span 0..1, or is fitted on too few images', () => {
    const bad = { ...table, points: [table.points[0], { raw: 0.5, apcer: 0.2, bpcer: 0.5 }, { raw: 0.7, apcer: 0.3, bpcer: 0.6 }, { raw: 1, apcer: 0, bpcer: 1 }] };
    expect(() => validateLivenessTable(bad)).toThrow(/not rise in apcer/);
    expect(() => validateLivenessTable({ ...table, points: table.points.slice(1) })).toThrow(/from raw 0 to raw 1/);
    expect(() => fitLivenessTable([0.9, 0.8], spoof, { id: 'x', description: 'x' })).toThrow(/at least 10 real/);
  });

  it('has a committed table, saying how to remake it, for each liveness id of the default pack', () => {
    const tables = loadLivenessTables(LIVENESS_DIR);
    const { calibration } = loadPack().manifest;
    const ids = [calibration.liveness, calibration.livenessFallback!];
    expect(ids).toEqual(['local/faceplugin-liveness-v2', 'local/faceplugin-liveness-v2/fr_liveness-only']);
    for (const id of ids) {
      const t = tables.get(id)!;
      expect(t.description).toMatch(/^Measured: verigate calibrate --liveness /);
      // the shared sets' attacks pass rarely at the default threshold
      expect(livenessRates(t, 0.5).apcer).toBeLessThan(0.1);
    }
  });
});

describe('model packs: optional liveness models', () => {
  it('runs without an optional model whose file is absent, on the fallback liveness table', () => {
    const full = loadPack();
    expect(full.manifest.models.liveness.map((l) => l.file)).toEqual(['faceplugin/fr_liveness.onnx', '../../shared/models/4_0_0_80x80_MiniFASNetV1SE.onnx']);
    const without = loadPack({ withoutOptional: true });
    expect(without.manifest.models.liveness.map((l) => l.file)).toEqual(['faceplugin/fr_liveness.onnx']);
    expect(without.manifest.calibration.liveness).toBe('local/faceplugin-liveness-v2/fr_liveness-only');
    expect(without.files.has('../../shared/models/4_0_0_80x80_MiniFASNetV1SE.onnx')).toBe(false);
  });
});
