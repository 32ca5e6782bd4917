/**
 * `verigate eval` and `verigate calibrate` as library functions (the CLI wiring lives in src/cli.ts).
 *
 *   eval --pairs FILE.tsv [--pairs …] [--degraded] [--json]   AUC, EER, TAR at FMR 1e-2/1e-3, missed faces
 *   eval --liveness FILE.tsv [--degraded] [--threshold P]      AUC, APCER, BPCER at the threshold, faces not judged
 *   calibrate --pairs FILE [--pairs …] [--degraded] [--provider local] [--out table.json] [--id ID]
 *             [--by-quality [--out-findings table.json]]
 *   calibrate --liveness FILE [--liveness …] [--degraded] [--out table.json] [--id ID]   score → APCER/BPCER
 *
 * Common: --pack NAME|PATH, --workers N, --all-pairs (every pair the labels prove same or
 * different, see identities.ts), --disjoint FILE (a pair file whose people appear in no other set).
 * Paths inside a set file are relative to that file; `.csv` files are deepface pair lists.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalEngine, type LocalEngine } from '../../providers/local';
import { fitLivenessTable, livenessRates, thresholdForApcer } from '../verification/liveness-calibration';
import { CalibrationRegistry, type CalibrationTable, QUALITY_FINDINGS, unify } from '../verification/calibration';
import { DEFAULT_THRESHOLDS } from '../verification/decide';
import { fitTable, reachOf } from './calibrate';
import { DEGRADATIONS } from './degrade';
import { expandPairs } from './identities';
import { auc, eer, presentationErrors, tarAtFmr } from './metrics';
import { DEGRADED_VARIANTS, type PairScores, scoreLiveness, scorePairs } from './score';
import { type LabelledPair, readLiveness, readPairs } from './sets';
import { calibrateProvider } from './provider';

export { fitTable, rawAt, reachOf } from './calibrate';
export { expandPairs } from './identities';
export { auc, eer, presentationErrors, tarAtFmr } from './metrics';
export { scoreLiveness, scorePairs } from './score';
export { readLiveness, readPairs, sharedFacesDir } from './sets';

type Out = (line: string) => void;

const COMMON = {
  pairs: { type: 'string', multiple: true },
  'all-pairs': { type: 'boolean' },
  disjoint: { type: 'string', multiple: true },
  degraded: { type: 'boolean' },
  pack: { type: 'string' },
  workers: { type: 'string' },
  /** the pack without its optional models (as installed from npm alone) */
  'without-optional': { type: 'boolean' },
} as const;

const FMR_LEVELS = [1e-2, 1e-3] as const;

/** The pairs to score, and a sentence saying where they come from (for a table's description). */
function labelledPairs(values: { pairs?: string[]; 'all-pairs'?: boolean; disjoint?: string[] }): { pairs: LabelledPair[]; provenance: string } {
  const files = values.pairs ?? [];
  const disjointFiles = values.disjoint ?? [];
  const listed = files.flatMap(readPairs);
  const disjoint = disjointFiles.map(readPairs);
  const sets = `sets ${[...files, ...disjointFiles].map((p) => basename(p)).join(', ')}`;
  if (!values['all-pairs']) {
    const pairs = [...listed, ...disjoint.flat()];
    return { pairs, provenance: `${sets}, the pairs they list` };
  }
  const x = expandPairs(listed, disjoint);
  const c = x.counts;
  return {
    pairs: x.pairs,
    provenance:
      `${sets}, every pair their labels prove (--all-pairs): ${x.images} images, ${x.identities} identities; ` +
      `${c.listedSame} same / ${c.listedDifferent} different pairs listed, plus ${c.derivedSame} same and ${c.derivedDifferent} different pairs derived ` +
      '(same-person labels closed transitively into identities; every image pair across two identities joined by a labelled different pair)' +
      (disjointFiles.length
        ? `, plus ${c.disjointDifferent} different pairs between the images of ${disjointFiles.map((p) => basename(p)).join(', ')} and every other set's ` +
          '(declared --disjoint: by provenance its people appear in no other set)'
        : ''),
  };
}

const DEGRADED_NOTE = `; plus, for every pair, ${DEGRADED_VARIANTS.length} in-memory degraded variants of its second image (face downscaled to each of 40, 50 and 60 px, Gaussian blur, JPEG q30, tight crop)`;

export async function runEval(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON, liveness: { type: 'string' }, json: { type: 'boolean' }, threshold: { type: 'string' } },
  });
  if (!values.pairs?.length && !values.liveness) {
    out('usage: eval --pairs FILE.tsv [--degraded] [--json] | --liveness FILE.tsv [--threshold P]');
    return 2;
  }
  return withEngine(values, async (engine) => {
    if (values.liveness) {
      const threshold = values.threshold ? Number(values.threshold) : DEFAULT_THRESHOLDS.livenessMin;
      const s = await scoreLiveness(engine, readLiveness(values.liveness), { degraded: values.degraded });
      const scored = { real: s.real.length, spoof: s.spoof.length };
      const unscored = oneClassOnly(scored, 'image', s.missedFaces);
      if (unscored) return refuse(unscored, { ...scored, missedFaces: s.missedFaces }, values.json, out);
      const { apcer, bpcer } = presentationErrors(s.real, s.spoof, threshold);
      const sets = { genuine: s.real, impostor: s.spoof };
      const result = { auc: auc(sets), eer: eer(sets), apcer, bpcer, threshold, real: s.real.length, spoof: s.spoof.length, missedFaces: s.missedFaces, refused: s.refused, refusedFor: s.refusedFor };
      if (values.json) out(JSON.stringify(result));
      else {
        out(`liveness ${basename(values.liveness)}${values.degraded ? ' + degraded' : ''}: ${result.real} real, ${result.spoof} spoof scored, ${result.missedFaces} missed faces, ${s.refused} not judged${refusals(s.refusedFor)}`);
        out(`AUC ${result.auc.toFixed(4)}  EER ${result.eer.toFixed(4)}  APCER ${apcer.toFixed(4)}  BPCER ${bpcer.toFixed(4)}  at threshold ${threshold}`);
      }
    }
    if (values.pairs?.length) {
      const s = await scorePairs(engine, labelledPairs(values).pairs, { degraded: values.degraded });
      const unscored = oneClassOnly({ same: s.genuine.length, different: s.impostor.length }, 'pair', s.missedFaces);
      if (unscored) {
        const counts = { missedFaces: s.missedFaces, pairs: s.pairs, genuine: s.genuine.length, impostor: s.impostor.length };
        return refuse(unscored, counts, values.json, out, s.missedImages);
      }
      const levels = FMR_LEVELS.map((fmr) => ({ fmr, ...tarAtFmr(s, fmr) }));
      const result = {
        auc: auc(s),
        eer: eer(s),
        tarAtFmr: Object.fromEntries(levels.map((l) => [l.fmr.toExponential(0), l.tar])),
        thresholds: Object.fromEntries(levels.map((l) => [l.fmr.toExponential(0), l.threshold])),
        missedFaces: s.missedFaces,
        pairs: s.pairs,
        genuine: s.genuine.length,
        impostor: s.impostor.length,
        ...policyOutcome(s, defaultTables(engine.calibration.match)),
      };
      if (values.json) out(JSON.stringify(result));
      else {
        out(`pairs ${values.pairs.map((p) => basename(p)).join(', ')}${values['all-pairs'] ? ' (all pairs the labels prove)' : ''}${values.degraded ? ` + degraded (${DEGRADATIONS.join(', ')})` : ''}`);
        out(`  ${s.pairs} pairs: ${s.genuine.length} same, ${s.impostor.length} different, ${s.missedFaces} missed faces`);
        out(`  AUC ${result.auc.toFixed(4)}  EER ${result.eer.toFixed(4)}`);
        for (const l of levels) out(`  TAR@FMR ${l.fmr.toExponential(0)}: ${l.tar.toFixed(4)} (threshold cosine > ${l.threshold.toFixed(4)})`);
        if (result.calibration) {
          out(`  under ${result.calibration}: ${result.sameNotAccepted} of ${s.genuine.length} same pairs not accepted (FMR ≤ ${DEFAULT_THRESHOLDS.acceptFmr}), ${result.differentNotRejected} of ${s.impostor.length} different pairs not rejected (FMR ≤ ${DEFAULT_THRESHOLDS.inconclusiveFmr})`);
        }
        for (const m of s.missedImages) out(`  missed: ${m}`);
      }
    }
    return 0;
  });
}

const refusals = (by: Partial<Record<string, number>>) => {
  const parts = Object.entries(by).map(([k, v]) => `${k} ${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
};

/**
 * Why the rates cannot be computed, when a class has nothing scored: none listed, or every one
 * missed a face. (AUC over one class is undefined; printing NaN with exit code 0 hid it.)
 */
function oneClassOnly(scored: Record<string, number>, noun: string, missedFaces: number): string | undefined {
  const empty = Object.keys(scored).filter((k) => scored[k] === 0);
  if (empty.length === 0) return undefined;
  const missed = missedFaces ? ` (${missedFaces} missed a face)` : '';
  return `no ${empty.join(' and no ')} ${noun} was scored${missed}: the rates need both kinds`;
}

/** Says why the set cannot be evaluated (as text or as the JSON object's `error`), exit code 1. */
function refuse(why: string, counts: Record<string, number>, json: boolean | undefined, out: Out, missed: readonly string[] = []): number {
  if (json) out(JSON.stringify({ error: why, auc: null, ...counts }));
  else {
    out(`  ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out(`  cannot evaluate: ${why}`);
    for (const m of missed) out(`  missed: ${m}`);
  }
  return 1;
}

export async function runCalibrate(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      provider: { type: 'string', default: 'local' },
      out: { type: 'string' },
      id: { type: 'string' },
      'by-quality': { type: 'boolean' },
      'out-findings': { type: 'string' },
      liveness: { type: 'string', multiple: true },
    },
  });
  if (values.liveness?.length) return calibrateLiveness(values, args, out);
  if (!values.pairs?.length) {
    out('usage: calibrate --pairs FILE [--pairs …] [--all-pairs] [--disjoint FILE] [--degraded] [--provider local] [--out table.json] [--id ID] [--by-quality [--out-findings table.json]]');
    return 2;
  }
  if (values.provider !== 'local') return calibrateProvider(values.provider!, values.pairs!, values.id, values.out, args, out);
  if (values['out-findings'] && !values['by-quality']) {
    out('calibrate: --out-findings needs --by-quality');
    return 2;
  }
  return withEngine(values, async (engine) => {
    const { pairs, provenance } = labelledPairs(values);
    const s = await scorePairs(engine, pairs, { degraded: values.degraded });
    const id = values.id ?? engine.calibration.match;
    const levels = [DEFAULT_THRESHOLDS.inconclusiveFmr, DEFAULT_THRESHOLDS.acceptFmr];
    const scored = (sets: { genuine: number[]; impostor: number[] }) =>
      `${sets.impostor.length} impostor and ${sets.genuine.length} genuine pairs`;
    const head =
      `Measured: verigate calibrate ${args.join(' ')} — ${provenance}${values.degraded ? DEGRADED_NOTE : ''}; ` +
      `${scored(s)} scored (${s.missedFaces} pairs skipped, face not found); model pack ${engine.packName}.`;
    const method =
      'Points: empirical impostor FMR down to 1/N; tail: tangent, at the highest impostor score, of a normal fitted to the top 5% of impostor scores.';
    const fit = (impostor: number[], tableId: string, condition: string, link?: string) => {
      const t = fitTable(impostor, { id: tableId, description: '', whenQualityFindings: link });
      return { ...t, description: `${head}${condition} ${method} ${reachOf(t, levels)}` };
    };

    const tables: Array<{ table: CalibrationTable; file?: string }> = [];
    if (values['by-quality']) {
      const findingsId = `${id}/quality-findings`;
      const names = QUALITY_FINDINGS.join(', ');
      const { clean, findings } = s.byQuality;
      tables.push({
        table: fit(clean.impostor, id, ` Quality-conditioned: this table holds the ${scored(clean)} where neither face has a quality finding (${names}) and applies to checks without one; checks with a finding use ${findingsId}.`, findingsId),
        file: values.out,
      });
      tables.push({
        table: fit(findings.impostor, findingsId, ` Quality-conditioned: this table holds the ${scored(findings)} where either face has a quality finding (${names}) and applies to checks with one; checks without use ${id}.`),
        file: values['out-findings'] ?? values.out?.replace(/(\.json)?$/, '-quality-findings.json'),
      });
    } else {
      tables.push({ table: fit(s.impostor, id, ''), file: values.out });
    }
    const registry = new CalibrationRegistry();
    for (const { table, file } of tables) {
      registry.add(table);
      const json = `${JSON.stringify(table, null, 2)}\n`;
      if (file) writeFileSync(file, json);
      else out(json.trimEnd());
      out(`calibrated ${table.id} on ${table.impostorPairs} impostor pairs${file ? ` → ${file}` : ''}: ${reachOf(table, levels)}`);
    }
    registry.checkLinks();
    const { sameNotAccepted, differentNotRejected } = policyOutcome(s, { clean: registry.tableFor(id), findings: registry.tableFor(id, QUALITY_FINDINGS) });
    out(`  same-person pairs not accepted at FMR ≤ ${DEFAULT_THRESHOLDS.acceptFmr}: ${sameNotAccepted} of ${s.genuine.length}`);
    out(`  different pairs not rejected (FMR ≤ ${DEFAULT_THRESHOLDS.inconclusiveFmr}): ${differentNotRejected} of ${s.impostor.length}`);
    return 0;
  });
}

/**
 * `calibrate --liveness FILE [--liveness FILE…] [--degraded] --out FILE [--id ID]`: the liveness
 * score → APCER/BPCER table (src/verification/liveness-calibration.ts) on labelled images; images the
 * engine will not judge are counted, not scored. Default id: the pack's liveness calibration id.
 */
async function calibrateLiveness(values: { liveness?: string[]; degraded?: boolean; out?: string; id?: string; pack?: string; workers?: string; 'without-optional'?: boolean }, args: string[], out: Out): Promise<number> {
  const files = values.liveness!;
  return withEngine(values, async (engine) => {
    const s = await scoreLiveness(engine, files.flatMap((f) => readLiveness(f)), { degraded: values.degraded });
    const id = values.id ?? engine.calibration.liveness;
    const description =
      `Measured: verigate calibrate ${args.join(' ')} — sets ${files.map((f) => basename(f)).join(', ')}` +
      `${values.degraded ? `, plus ${DEGRADED_VARIANTS.length} in-memory degraded variants of each image (face downscaled to each of 40, 50 and 60 px, Gaussian blur, JPEG q30, tight crop)` : ''}; ` +
      `${s.images} images: ${s.real.length} real and ${s.spoof.length} attack images scored, ${s.refused} not judged${refusals(s.refusedFor)}, ${s.missedFaces} without a face found; ` +
      `model pack ${engine.packName} (liveness models ${engine.pool.models.liveness}). ` +
      'Each point: APCER (attacks scoring ≥ raw) and BPCER (real images scoring < raw) with raw as the threshold; linear between points.';
    const table = fitLivenessTable(s.real, s.spoof, { id, description });
    const json = `${JSON.stringify(table, null, 2)}\n`;
    if (values.out) writeFileSync(values.out, json);
    else out(json.trimEnd());
    const at = (t: number) => {
      const r = livenessRates(table, t);
      return `${t}: APCER ${r.apcer.toFixed(3)} BPCER ${r.bpcer.toFixed(3)}`;
    };
    out(`calibrated ${table.id} on ${table.real} real and ${table.spoof} attack images${values.out ? ` → ${values.out}` : ''}; at ${[0.2, 0.5, 0.8].map(at).join('; ')}`);
    out(`  APCER ≤ 0.10 from score ${thresholdForApcer(table, 0.1).toFixed(4)}, ≤ 0.05 from ${thresholdForApcer(table, 0.05).toFixed(4)}`);
    return 0;
  });
}

type Conditioned = { clean: CalibrationTable; findings: CalibrationTable };

/** The committed table(s) for `id`: the same one twice unless it is quality-conditioned. */
function defaultTables(id: string): Conditioned | undefined {
  const registry = CalibrationRegistry.loadDefaults();
  return registry.ids().includes(id) ? { clean: registry.tableFor(id), findings: registry.tableFor(id, QUALITY_FINDINGS) } : undefined;
}

/**
 * How the default policy (accept at FMR ≤ 1e-5, reject above 1e-3) treats the scored pairs, each
 * mapped by the table the gateway would pick for it (quality-conditioned tables by the findings).
 */
function policyOutcome(s: PairScores, tables: Conditioned | undefined) {
  if (!tables) return {};
  const parts = [
    { table: tables.clean, sets: s.byQuality.clean },
    { table: tables.findings, sets: s.byQuality.findings },
  ];
  const count = (pick: (x: (typeof parts)[number]) => number) => parts.reduce((n, x) => n + pick(x), 0);
  return {
    calibration: tables.clean.id === tables.findings.id ? tables.clean.id : `${tables.clean.id} (${tables.findings.id} for pairs with a quality finding)`,
    sameNotAccepted: count(({ table, sets }) => sets.genuine.filter((g) => unify(table, g).fmr > DEFAULT_THRESHOLDS.acceptFmr).length),
    differentNotRejected: count(({ table, sets }) => sets.impostor.filter((i) => unify(table, i).fmr <= DEFAULT_THRESHOLDS.inconclusiveFmr).length),
  };
}

async function withEngine(values: { pack?: string; workers?: string; 'without-optional'?: boolean }, run: (engine: LocalEngine) => Promise<number>): Promise<number> {
  const engine = createLocalEngine({ pack: values.pack, workers: values.workers ? Number(values.workers) : undefined, withoutOptional: values['without-optional'] });
  await engine.init();
  try {
    return await run(engine);
  } finally {
    await engine.close();
  }
}
