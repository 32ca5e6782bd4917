/**
 * The calibrated liveness scale: a table from a liveness score to the error rates measured at that
 * score as threshold (live when score ≥ threshold) on labelled real and attack images:
 *   APCER, the share of attacks that would pass; BPCER, the share of real people who would be refused.
 * A policy may then state the attack rate it accepts (`livenessMaxApcer`) instead of a raw score,
 * and every result can carry its estimated APCER. Tables live in models/calibration/liveness/
 * (each says in its description the command that made it: `verigate calibrate --liveness`).
 * Pure: no engine, no files but the loader's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const Point = z.object({ raw: z.number().min(0).max(1), apcer: z.number().min(0).max(1), bpcer: z.number().min(0).max(1) });

export const LivenessTableSchema = z.object({
  /** the id RawLiveness.calibration names, e.g. 'local/faceplugin-liveness-v2' */
  id: z.string().min(1),
  kind: z.literal('liveness'),
  scale: z.literal('unit'),
  origin: z.literal('measured'),
  /** how it was made, with the exact command that regenerates it */
  description: z.string().min(1),
  /** labelled images behind the table: APCER is measured in steps of 1/spoof, BPCER of 1/real */
  real: z.number().int().positive(),
  spoof: z.number().int().positive(),
  /** raw ascending from 0 to 1; APCER non-increasing, BPCER non-decreasing */
  points: z.array(Point).min(2),
});
export type LivenessTable = z.infer<typeof LivenessTableSchema>;

export function validateLivenessTable(t: unknown): LivenessTable {
  const table = LivenessTableSchema.parse(t);
  const p = table.points;
  if (p[0].raw !== 0 || p[p.length - 1].raw !== 1) throw new Error(`liveness table ${table.id}: points must run from raw 0 to raw 1`);
  for (let i = 1; i < p.length; i++) {
    if (!(p[i].raw > p[i - 1].raw) || p[i].apcer > p[i - 1].apcer || p[i].bpcer < p[i - 1].bpcer) {
      throw new Error(`liveness table ${table.id}: points must rise in raw, not rise in apcer and not fall in bpcer (at index ${i})`);
    }
  }
  return table;
}

/** Every *.json in `dir` (models/calibration/liveness), by id. */
export function loadLivenessTables(dir: string): Map<string, LivenessTable> {
  const tables = new Map<string, LivenessTable>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const t = validateLivenessTable(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (tables.has(t.id)) throw new Error(`liveness table ${t.id} is defined twice (${f})`);
    tables.set(t.id, t);
  }
  return tables;
}

/**
 * The estimated error rates if `score` were the threshold: linear between the table's points
 * (both rates are monotone in the score, and so is the interpolation); clamped to 0..1.
 */
export function livenessRates(table: LivenessTable, score: number): { apcer: number; bpcer: number } {
  const pts = table.points;
  const s = Math.min(1, Math.max(0, score));
  let i = 1;
  while (i < pts.length - 1 && pts[i].raw < s) i++;
  const [a, b] = [pts[i - 1], pts[i]];
  const t = b.raw > a.raw ? (s - a.raw) / (b.raw - a.raw) : 0;
  return { apcer: a.apcer + t * (b.apcer - a.apcer), bpcer: a.bpcer + t * (b.bpcer - a.bpcer) };
}

/** The lowest score whose estimated APCER is at most `maxApcer` (what a policy's livenessMaxApcer means as a threshold). */
export function thresholdForApcer(table: LivenessTable, maxApcer: number): number {
  let lo = 0;
  let hi = 1;
  if (livenessRates(table, lo).apcer <= maxApcer) return lo;
  for (let k = 0; k < 50; k++) {
    const mid = (lo + hi) / 2;
    if (livenessRates(table, mid).apcer <= maxApcer) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Fits a table on scored labelled images: one point per distinct score (rounded to 1e-4), the
 * rates measured with that score as the threshold, between anchors at 0 (everything live) and 1.
 */
export function fitLivenessTable(real: readonly number[], spoof: readonly number[], meta: { id: string; description: string }): LivenessTable {
  if (real.length < 10 || spoof.length < 10) throw new Error(`liveness calibration needs at least 10 real and 10 attack images scored, got ${real.length} and ${spoof.length}`);
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  const at = (t: number) => ({
    raw: t,
    apcer: spoof.filter((s) => round(s) >= t).length / spoof.length,
    bpcer: real.filter((s) => round(s) < t).length / real.length,
  });
  const raws = [...new Set([0, ...real.map(round), ...spoof.map(round), 1])].sort((a, b) => a - b);
  // the table's last point says what a threshold of 1 does: only scores of exactly 1 pass
  return validateLivenessTable({ id: meta.id, kind: 'liveness', scale: 'unit', origin: 'measured', description: meta.description, real: real.length, spoof: spoof.length, points: raws.map(at) });
}
