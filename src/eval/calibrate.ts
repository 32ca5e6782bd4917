/**
 * Fits a calibration table (src/verification/calibration.ts) from impostor scores: points at
 * measured FMR levels down to 1/N, and a tail fitted on the top of the impostor distribution.
 */
import { type CalibrationTable, validateTable } from '../verification/calibration';

/** FMR levels the table measures (those above 1/N), then 1/N at the highest impostor score. */
const LEVELS = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5];
/** the tail is fitted on the impostors above this survival level */
const TAIL_FROM = 0.05;
const MIN_FMR = 1e-10;

export interface TableMeta {
  id: string;
  description: string;
}

export function fitTable(impostor: readonly number[], meta: TableMeta): CalibrationTable {
  const desc = [...impostor].sort((a, b) => b - a);
  const n = desc.length;
  if (n < 20) throw new Error(`calibration needs at least 20 impostor pairs, got ${n}`);
  const survival = (k: number) => k / n; // FMR when accepting score ≥ desc[k-1]
  const points: Array<{ raw: number; fmr: number }> = [{ raw: desc[n - 1], fmr: 1 }];
  for (const level of LEVELS.filter((l) => l * n >= 1)) {
    const k = Math.max(1, Math.floor(level * n));
    points.push({ raw: desc[k - 1], fmr: survival(k) });
  }
  points.push({ raw: desc[0], fmr: 1 / n });
  // ascending raw; of equal (rounded) raws keep the lowest FMR
  const sorted = points.map((p) => ({ raw: round(p.raw), fmr: p.fmr })).sort((a, b) => a.raw - b.raw || b.fmr - a.fmr);
  return validateTable({
    id: meta.id,
    scale: 'cosine',
    origin: 'measured',
    description: meta.description,
    points: sorted.filter((p, i) => i === sorted.length - 1 || sorted[i + 1].raw > p.raw),
    impostorPairs: n,
    tail: { log10FmrPerUnit: round(tailSlope(desc)), minFmr: MIN_FMR },
  });
}

/**
 * Least-squares slope of log10(survival) against score over the impostor tail (top TAIL_FROM),
 * as a positive number of decades per unit of score. Impostor cosines fall off at least as fast
 * as exponentially, so extending this line beyond the data is conservative.
 */
function tailSlope(desc: readonly number[]): number {
  const n = desc.length;
  const m = Math.max(10, Math.floor(TAIL_FROM * n));
  const xs = desc.slice(0, m);
  const ys = xs.map((_, k) => Math.log10((k + 1) / n));
  const mx = xs.reduce((s, v) => s + v, 0) / m;
  const my = ys.reduce((s, v) => s + v, 0) / m;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < m; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = -sxy / sxx;
  if (!(slope > 0)) throw new Error('impostor tail does not fall with score: cannot fit a calibration tail');
  return slope;
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
