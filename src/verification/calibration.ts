/**
 * Calibration: the one place that knows how each provider's raw score maps onto the unified scale.
 *
 * A table is a monotone list of (raw score → estimated false-match rate) points measured on
 * labelled impostor pairs (or taken from a provider's published operating points). Between points
 * we interpolate linearly in log10(FMR). A table measured on N impostor pairs only knows FMR down
 * to about 1/N; beyond its last point we extrapolate with the table's fitted tail and mark the
 * estimate `extrapolated`.
 *
 * Quality-conditioned tables: impostor scores depend on capture quality, so a table may be measured
 * only on pairs where neither face has a quality finding and name, in `whenQualityFindings`, the
 * table measured on pairs where either face has one. The registry picks between them by the
 * provider's quality findings for the check; the chosen table's id is part of the unified match.
 *
 * Which table maps a score: a provider reports its scores under a key (`RawFaceMatch.calibration`,
 * e.g. 'facia/default'); the committed table with that id maps them, unless the operator's folder
 * (VERIGATE_CALIBRATION_DIR) holds a table that `scores` the same key — a measured table from
 * `verigate calibrate` — which then maps them instead.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { RawFaceMatch, RawLiveness, ReasonCode } from '../../providers/types';
import { CALIBRATION_DIR } from '../paths';
import { livenessRates, validateLivenessTable, type LivenessTable } from './liveness-calibration';

export const CalibrationTableSchema = z.object({
  /** the table's own name, e.g. 'local/faceplugin-v1', 'facia/measured' */
  id: z.string().min(1),
  /** the key of the scores it maps (RawFaceMatch.calibration, e.g. 'facia/default'); default: its id */
  scores: z.string().min(1).optional(),
  scale: z.enum(['cosine', 'unit', 'percent']),
  /** where the numbers come from: 'measured' on our data, or a documented 'default' */
  origin: z.enum(['measured', 'default']),
  description: z.string(),
  /** raw score ascending, FMR non-increasing */
  points: z
    .array(z.object({ raw: z.number(), fmr: z.number().gt(0).max(1) }))
    .min(2),
  /** impostor pairs behind the table (1/N is the lowest FMR it measures) */
  impostorPairs: z.number().int().nonnegative(),
  /**
   * Tail beyond the last point: log10(FMR) falls by `log10FmrPerUnit` per unit of raw score
   * (fitted on the impostor tail). Floor at `minFmr`.
   */
  tail: z.object({ log10FmrPerUnit: z.number().positive(), minFmr: z.number().gt(0) }),
  /**
   * Set on a table measured only on pairs where neither face has a quality finding: the id of the
   * table that applies when either face has one (FACE_TOO_SMALL, BLURRY, EXTREME_POSE).
   */
  whenQualityFindings: z.string().min(1).optional(),
});
export type CalibrationTable = z.infer<typeof CalibrationTableSchema>;

export function validateTable(t: unknown): CalibrationTable {
  const table = CalibrationTableSchema.parse(t);
  for (let i = 1; i < table.points.length; i++) {
    const [a, b] = [table.points[i - 1], table.points[i]];
    if (!(b.raw > a.raw) || b.fmr > a.fmr) {
      throw new Error(`calibration table ${table.id}: points must rise in raw and not rise in fmr (at index ${i})`);
    }
  }
  return table;
}

export interface UnifiedMatch {
  /** id of the table that mapped the score (a quality-conditioned choice shows here) */
  table: string;
  /** measured on labelled pairs, or documented default operating points */
  origin: CalibrationTable['origin'];
  fmr: number;
  /** true when the FMR lies beyond what the table measured */
  extrapolated: boolean;
  /** 0..1: −log10(FMR)/10, clamped (FMR 1e-5 → 0.5, 1e-10 → 1) */
  score: number;
  /** 0..10, FaceTec-style buckets (see MATCH_LEVEL_FMR) */
  matchLevel: number;
}

/** Upper FMR bound of match levels 1..10 (level 0: FMR > 1e-2). */
export const MATCH_LEVEL_FMR = [1e-2, 5e-3, 2e-3, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9] as const;

export function matchLevelOf(fmr: number): number {
  let level = 0;
  MATCH_LEVEL_FMR.forEach((bound, i) => {
    if (fmr <= bound * (1 + 1e-9)) level = i + 1;
  });
  return level;
}

export function scoreOf(fmr: number): number {
  return Math.min(1, Math.max(0, -Math.log10(fmr) / 10));
}

export function fmrOf(table: CalibrationTable, raw: number): { fmr: number; extrapolated: boolean } {
  const pts = table.points;
  if (raw <= pts[0].raw) return { fmr: pts[0].fmr, extrapolated: false };
  const last = pts[pts.length - 1];
  if (raw >= last.raw) {
    const log = Math.log10(last.fmr) - (raw - last.raw) * table.tail.log10FmrPerUnit;
    const fmr = Math.max(table.tail.minFmr, 10 ** log);
    return { fmr, extrapolated: raw > last.raw };
  }
  let i = 1;
  while (pts[i].raw < raw) i++;
  const [a, b] = [pts[i - 1], pts[i]];
  const t = (raw - a.raw) / (b.raw - a.raw);
  const log = Math.log10(a.fmr) + t * (Math.log10(b.fmr) - Math.log10(a.fmr));
  return { fmr: 10 ** log, extrapolated: false };
}

export function unify(table: CalibrationTable, raw: number): UnifiedMatch {
  const { fmr, extrapolated } = fmrOf(table, raw);
  return { table: table.id, origin: table.origin, fmr, extrapolated, score: scoreOf(fmr), matchLevel: matchLevelOf(fmr) };
}

/** Liveness: a provider's raw score → probability that the capture is a live person (0..1). */
export function livenessProbability(l: RawLiveness): number {
  switch (l.scale) {
    case 'percent':
      return clamp01(l.score / 100);
    case 'unit':
      return clamp01(l.score);
    case 'cosine':
      return clamp01((l.score + 1) / 2);
  }
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** The quality findings that switch a quality-conditioned table to its `whenQualityFindings` table. */
export const QUALITY_FINDINGS: readonly ReasonCode[] = ['FACE_TOO_SMALL', 'BLURRY', 'EXTREME_POSE'];

/** Where a table came from: committed with the package, or the operator's folder. */
export type TableSource = 'package' | 'operator';

export interface TableInfo {
  id: string;
  origin: CalibrationTable['origin'];
  source: TableSource;
  impostorPairs: number;
  /** its quality-findings table, when it is conditioned */
  whenQualityFindings: string | null;
}

/** The calibration tables this process maps scores with: the committed ones, then the operator's. */
export class CalibrationRegistry {
  private readonly tables = new Map<string, { table: CalibrationTable; source: TableSource }>();
  /** score key → id of the table that maps it */
  private readonly active = new Map<string, string>();
  /** liveness tables (score → APCER, BPCER), by the key RawLiveness.calibration names */
  private readonly liveness = new Map<string, LivenessTable>();

  /**
   * The committed tables (models/calibration/, liveness tables in its liveness/ folder), then every
   * table in `operatorDir` (replacing by key; a table with `kind: "liveness"` is a liveness table).
   */
  static load(opts: { dir?: string; operatorDir?: string } = {}): CalibrationRegistry {
    const reg = new CalibrationRegistry();
    const dir = opts.dir ?? CALIBRATION_DIR;
    for (const t of readTables(dir)) reg.add(t, 'package');
    if (statSync(join(dir, 'liveness'), { throwIfNoEntry: false })?.isDirectory()) for (const t of readTables(join(dir, 'liveness'))) reg.add(t, 'package');
    if (opts.operatorDir) {
      const found = readTables(opts.operatorDir);
      if (found.length === 0) throw new Error(`VERIGATE_CALIBRATION_DIR ${opts.operatorDir} holds no calibration table (*.json)`);
      for (const t of found) reg.add(t, 'operator');
    }
    reg.checkLinks();
    return reg;
  }

  static loadDefaults(dir = CALIBRATION_DIR): CalibrationRegistry {
    return CalibrationRegistry.load({ dir });
  }

  add(table: CalibrationTable | LivenessTable, source: TableSource = 'package'): void {
    if ('kind' in table && table.kind === 'liveness') {
      this.liveness.set(table.id, table);
      return;
    }
    const match = table as CalibrationTable;
    this.tables.set(match.id, { table: match, source });
    this.active.set(match.scores ?? match.id, match.id);
  }

  /** The estimated APCER (share of attacks passing) at this liveness score, or null: no table for its key. */
  livenessApcer(l: RawLiveness): number | null {
    const table = this.liveness.get(l.calibration);
    return table && l.scale === 'unit' ? livenessRates(table, l.score).apcer : null;
  }

  /** The liveness table that maps scores reported under `key`, if there is one. */
  livenessTable(key: string): LivenessTable | undefined {
    return this.liveness.get(key);
  }

  get(id: string): CalibrationTable {
    const t = this.tables.get(id);
    if (!t) throw new Error(`no calibration table '${id}' (known: ${[...this.tables.keys()].join(', ') || 'none'})`);
    return t.table;
  }

  ids(): string[] {
    return [...this.tables.keys()];
  }

  /** Every `whenQualityFindings` names a loaded, unconditioned table of the same scale. */
  checkLinks(): void {
    for (const { table: t } of this.tables.values()) {
      if (!t.whenQualityFindings) continue;
      const other = this.get(t.whenQualityFindings);
      if (other.scale !== t.scale || other.whenQualityFindings) {
        throw new Error(`calibration table ${t.id}: whenQualityFindings '${other.id}' must be an unconditioned ${t.scale} table`);
      }
    }
  }

  /** The table that maps scores reported under `key`, given the check's quality findings. */
  tableFor(key: string, quality: readonly ReasonCode[] = []): CalibrationTable {
    const table = this.get(this.active.get(key) ?? key);
    return table.whenQualityFindings && quality.some((q) => QUALITY_FINDINGS.includes(q)) ? this.get(table.whenQualityFindings) : table;
  }

  /** What the `providers` query shows of the table that maps `key` now. */
  describe(key: string): TableInfo | null {
    const id = this.active.get(key) ?? key;
    const found = this.tables.get(id);
    if (!found) return null;
    const { table, source } = found;
    return { id, origin: table.origin, source, impostorPairs: table.impostorPairs, whenQualityFindings: table.whenQualityFindings ?? null };
  }

  /** `quality`: the provider's findings on either image of the check (they select a conditioned table). */
  unifyMatch(m: RawFaceMatch, quality: readonly ReasonCode[] = []): UnifiedMatch {
    const table = this.tableFor(m.calibration, quality);
    if (table.scale !== m.scale) throw new Error(`calibration ${table.id} expects ${table.scale} scores, got ${m.scale}`);
    return unify(table, m.score);
  }
}

function readTables(dir: string): Array<CalibrationTable | LivenessTable> {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`calibration folder ${dir} does not exist`);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((f) => {
      try {
        const json = JSON.parse(readFileSync(join(dir, f), 'utf8'));
        return json?.kind === 'liveness' ? validateLivenessTable(json) : validateTable(json);
      } catch (e) {
        throw new Error(`calibration table ${join(dir, f)}: ${(e as Error).message}`);
      }
    });
}
