/**
 * Fits a calibration table (src/verification/calibration.ts) from impostor scores: points at
 * measured FMR levels down to 1/N, and a tail fitted on the top of the impostor distribution.
 */
import { type CalibrationTable, fmrOf, validateTable } from '../verification/calibration';

/** FMR levels the table measures (those above 1/N), then 1/N at the highest impostor score. */
const LEVELS = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5];
/** the tail is fitted on the impostors above this survival level */
const TAIL_FROM = 0.05;
const MIN_FMR = 1e-10;

export interface TableMeta {
  id: string;
  /** the score key it maps (see CalibrationTable.scores), when not its id */
  scores?: string;
  description: string;
  /** the raw score's scale (default cosine, the local engine's) */
  scale?: CalibrationTable['scale'];
  /** see CalibrationTable.whenQualityFindings */
  whenQualityFindings?: string;
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
    ...(meta.scores && meta.scores !== meta.id ? { scores: meta.scores } : {}),
    scale: meta.scale ?? 'cosine',
    origin: 'measured',
    description: meta.description,
    points: sorted.filter((p, i) => i === sorted.length - 1 || sorted[i + 1].raw > p.raw),
    impostorPairs: n,
    tail: { log10FmrPerUnit: round(tailSlope(desc)), minFmr: MIN_FMR },
    ...(meta.whenQualityFindings ? { whenQualityFindings: meta.whenQualityFindings } : {}),
  });
}

/** The lowest raw score the table maps to an FMR ≤ `fmr` (bisection; the table is monotone). */
export function rawAt(table: CalibrationTable, fmr: number): number {
  let lo = table.points[0].raw;
  let hi = table.points[table.points.length - 1].raw + 10;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (fmrOf(table, mid).fmr > fmr) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * One sentence on how far the table's figures are measured: 1/N at the highest impostor score,
 * and where the given FMR levels fall (how many decades of extrapolation beyond 1/N).
 */
export function reachOf(table: CalibrationTable, levels: readonly number[]): string {
  const n = table.impostorPairs;
  const top = table.points[table.points.length - 1].raw;
  const at = levels.map((l) => {
    const beyond = Math.log10(1 / (n * l));
    return `FMR ${l.toExponential(0)} at ${table.scale} ${rawAt(table, l).toFixed(4)}${beyond > 0 ? ` (extrapolated ${beyond.toFixed(2)} decades beyond 1/N)` : ' (measured)'}`;
  });
  return `Measured down to 1/N = ${(1 / n).toExponential(2)} (highest impostor score ${top}); ${at.join('; ')}.`;
}

/**
 * The tail beyond the highest impostor score, in decades of FMR per unit of score. A normal
 * distribution is fitted to the top TAIL_FROM of the impostor scores (least squares of score
 * against the probit of the empirical survival), and the tail is its tangent at the last measured
 * point. log-survival of a normal is concave, so the tangent over-estimates FMR beyond the data:
 * the extrapolation errs towards caution.
 */
function tailSlope(desc: readonly number[]): number {
  const n = desc.length;
  const m = Math.max(10, Math.floor(TAIL_FROM * n));
  const xs = desc.slice(0, m);
  const zs = xs.map((_, k) => probit(1 - (k + 1) / n));
  const mz = zs.reduce((s, v) => s + v, 0) / m;
  const mx = xs.reduce((s, v) => s + v, 0) / m;
  let szx = 0;
  let szz = 0;
  for (let i = 0; i < m; i++) {
    szx += (zs[i] - mz) * (xs[i] - mx);
    szz += (zs[i] - mz) ** 2;
  }
  const sigma = szx / szz;
  if (!(sigma > 0)) throw new Error('impostor tail does not fall with score: cannot fit a calibration tail');
  const mu = mx - sigma * mz;
  const z = (desc[0] - mu) / sigma;
  // d/dx −log10 Q((x−μ)/σ) = φ(z) / (Q(z)·σ·ln 10)
  return normalPdf(z) / (normalTail(z) * sigma * Math.LN10);
}

const normalPdf = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/** Q(z) = P(Z > z), via erfc (Numerical Recipes erfcc, relative error < 1.2e-7). */
function normalTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return 0.5 * (x >= 0 ? erfc : 2 - erfc);
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function probit(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lower = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return lower(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -lower(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
