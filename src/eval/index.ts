/**
 * `verigate eval` and `verigate calibrate` as library functions (the CLI wiring lives in src/cli.ts).
 *
 *   eval --pairs FILE.tsv [--pairs …] [--degraded] [--json]   AUC, EER, TAR at FMR 1e-2/1e-3, missed faces
 *   eval --liveness FILE.tsv [--threshold P]                   AUC, APCER, BPCER at the threshold
 *   calibrate --pairs FILE [--pairs …] [--degraded] [--provider local] [--out table.json] [--id ID]
 *
 * Common: --pack NAME|PATH, --workers N. Paths inside a set file are relative to that file.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalEngine, type LocalEngine } from '../../providers/local';
import { CalibrationRegistry, type CalibrationTable, unify } from '../verification/calibration';
import { DEFAULT_THRESHOLDS } from '../verification/decision';
import { fitTable } from './calibrate';
import { DEGRADATIONS } from './degrade';
import { auc, eer, presentationErrors, tarAtFmr } from './metrics';
import { scoreLiveness, scorePairs } from './score';
import { readLiveness, readPairs } from './sets';
import { calibrateProvider } from './provider';

export { fitTable } from './calibrate';
export { auc, eer, presentationErrors, tarAtFmr } from './metrics';
export { scoreLiveness, scorePairs } from './score';
export { readLiveness, readPairs, sharedFacesDir } from './sets';

type Out = (line: string) => void;

const COMMON = {
  pairs: { type: 'string', multiple: true },
  degraded: { type: 'boolean' },
  pack: { type: 'string' },
  workers: { type: 'string' },
} as const;

const FMR_LEVELS = [1e-2, 1e-3] as const;

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
      const s = await scoreLiveness(engine, readLiveness(values.liveness));
      const { apcer, bpcer } = presentationErrors(s.real, s.spoof, threshold);
      const sets = { genuine: s.real, impostor: s.spoof };
      const result = { auc: auc(sets), eer: eer(sets), apcer, bpcer, threshold, real: s.real.length, spoof: s.spoof.length, missedFaces: s.missedFaces };
      if (values.json) out(JSON.stringify(result));
      else {
        out(`liveness ${basename(values.liveness)}: ${result.real} real, ${result.spoof} spoof, ${result.missedFaces} missed faces`);
        out(`AUC ${result.auc.toFixed(4)}  EER ${result.eer.toFixed(4)}  APCER ${apcer.toFixed(4)}  BPCER ${bpcer.toFixed(4)}  at threshold ${threshold}`);
      }
    }
    if (values.pairs?.length) {
      const s = await scorePairs(engine, values.pairs.flatMap(readPairs), { degraded: values.degraded });
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
        ...policyOutcome(s, defaultTable(engine.calibration.match)),
      };
      if (values.json) out(JSON.stringify(result));
      else {
        out(`pairs ${values.pairs.map((p) => basename(p)).join(', ')}${values.degraded ? ` + degraded (${DEGRADATIONS.join(', ')})` : ''}`);
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

export async function runCalibrate(args: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON, provider: { type: 'string', default: 'local' }, out: { type: 'string' }, id: { type: 'string' } },
  });
  if (!values.pairs?.length) {
    out('usage: calibrate --pairs FILE [--pairs …] [--degraded] [--provider local] [--out table.json] [--id ID]');
    return 2;
  }
  if (values.provider !== 'local') return calibrateProvider(values.provider!, values.pairs!, values.id, values.out, args, out);
  return withEngine(values, async (engine) => {
    const s = await scorePairs(engine, values.pairs!.flatMap(readPairs), { degraded: values.degraded });
    const sets = values.pairs!.map((p) => basename(p)).join(', ');
    const table = fitTable(s.impostor, {
      id: values.id ?? engine.calibration.match,
      description:
        `Measured: verigate calibrate ${args.join(' ')} — sets ${sets}` +
        (values.degraded ? ` plus in-memory degraded variants of each pair's second image (${DEGRADATIONS.join(', ')}: face downscaled to 40/50/60 px, Gaussian blur, JPEG q30, tight crop)` : '') +
        `; ${s.impostor.length} impostor and ${s.genuine.length} genuine pairs scored (${s.missedFaces} pairs skipped, face not found); ` +
        `model pack ${engine.packName}. Points: empirical impostor FMR down to 1/N; tail: tangent, at the highest impostor score, of a normal fitted to the top 5% of impostor scores.`,
    });
    const json = `${JSON.stringify(table, null, 2)}\n`;
    if (values.out) writeFileSync(values.out, json);
    else out(json.trimEnd());
    const { sameNotAccepted, differentNotRejected } = policyOutcome(s, table);
    out(`calibrated ${table.id} on ${s.impostor.length} impostor pairs${values.out ? ` → ${values.out}` : ''}`);
    out(`  same-person pairs not accepted at FMR ≤ ${DEFAULT_THRESHOLDS.acceptFmr}: ${sameNotAccepted} of ${s.genuine.length}`);
    out(`  different pairs not rejected (FMR ≤ ${DEFAULT_THRESHOLDS.inconclusiveFmr}): ${differentNotRejected} of ${s.impostor.length}`);
    return 0;
  });
}

function defaultTable(id: string): CalibrationTable | undefined {
  const registry = CalibrationRegistry.loadDefaults();
  return registry.ids().includes(id) ? registry.get(id) : undefined;
}

/** How the default policy (accept at FMR ≤ 1e-5, reject above 1e-3) treats the scored pairs. */
function policyOutcome(s: { genuine: number[]; impostor: number[] }, table: CalibrationTable | undefined) {
  if (!table) return {};
  return {
    calibration: table.id,
    sameNotAccepted: s.genuine.filter((g) => unify(table, g).fmr > DEFAULT_THRESHOLDS.acceptFmr).length,
    differentNotRejected: s.impostor.filter((i) => unify(table, i).fmr <= DEFAULT_THRESHOLDS.inconclusiveFmr).length,
  };
}

async function withEngine(values: { pack?: string; workers?: string }, run: (engine: LocalEngine) => Promise<number>): Promise<number> {
  const engine = createLocalEngine({ pack: values.pack, workers: values.workers ? Number(values.workers) : undefined });
  await engine.init();
  try {
    return await run(engine);
  } finally {
    await engine.close();
  }
}
