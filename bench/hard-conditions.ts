/**
 * The hard dev benchmark: the previous engine recipe against the current one, in one process, on
 * capture conditions derived from ../shared/faces (bench/conditions.ts), and the CPU time each
 * spends on a verification.
 *
 *   npm run build && node dist/bench/hard-conditions.js [--candidate MANIFEST] [--cpu-checks N] [--skip-cpu]
 *
 * Match: every pair the labels of the four pair files prove (identities.ts), the first image as
 * it is and the second under the condition: AUC, TAR at FMR 1e-2 and 1e-3, faces missed.
 * Liveness: both liveness files under each condition: how many faces were judged, AUC, APCER and
 * BPCER at 0.5 over the judged ones, and how many were judged live where none may be (MUST_REFUSE).
 * CPU: process CPU time (every thread) per verification of the engine bench's pair with liveness,
 * the two recipes alternating in blocks: wall-clock is meaningless on a shared, loaded machine.
 * Prints the tables and writes bench/reports/hard-conditions.json.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnalyseFailure, createLocalEngine, createLocalProvider, type FaceReport, type LocalEngine, loadPack, type PackManifest } from '../providers/local';
import { auc, expandPairs, presentationErrors, readLiveness, readPairs, sharedFacesDir, tarAtFmr } from '../src/eval';
import { parseImageInput } from '../src/images';
import { LIVENESS_CONDITIONS, MATCH_CONDITIONS, MUST_REFUSE, type Source, deriveLiveness, deriveMatch } from './conditions';
import { writeReport } from './report';

const FACES = sharedFacesDir();
const PAIR_FILES = ['pairs_deepface.tsv', 'pairs_face_recognition.tsv', 'pairs_idenfy_documents.tsv', 'pairs_nvlong21.tsv'];
const LIVENESS_FILES = ['liveness_labels_nvlong21.tsv', 'liveness_labels.tsv'];
/** the engine bench's verification: a selfie and a passport page */
const PROBE = 'silent-face/image_T1.jpg';
const REFERENCE = 'idenfy-documents/BarackHusseinObama.jpg';
/** a face is 'turned' when its nose sits this far off the eye midline (eye distances): the yaw conditions use those */
const TURNED_YAW = 0.12;
const LIVE_AT = 0.5;

/**
 * The recipe before issue 17: square landmark crops, no second detection on a contrast-normalised
 * copy, the pack's first liveness model alone, and a score for every face.
 */
export function previousRecipe(m: PackManifest): PackManifest {
  const { livenessCombine: _c, livenessJudgeable: _j, ...rest } = m;
  const { retryNormalised: _r, ...detector } = m.models.detector;
  return {
    ...rest,
    models: { ...m.models, detector, landmarks: { ...m.models.landmarks, crop: 'square' }, liveness: [m.models.liveness[0]] },
  } as PackManifest;
}

/** A manifest written to a temporary file, its model files as absolute paths (they resolve anywhere). */
function writeManifest(name: string, m: PackManifest, files: ReadonlyMap<string, string>): string {
  const abs = (spec: { file: string }) => ({ ...spec, file: files.get(spec.file)! });
  const out = {
    ...m,
    models: {
      detector: abs(m.models.detector),
      landmarks: abs(m.models.landmarks),
      embedder: abs(m.models.embedder),
      liveness: m.models.liveness.map(abs),
    },
  };
  const path = join(mkdtempSync(join(tmpdir(), 'verigate-recipe-')), `${name}.json`);
  writeFileSync(path, JSON.stringify(out));
  return path;
}

type Analysis = FaceReport | AnalyseFailure;
const analyse = (engine: LocalEngine, bytes: Uint8Array, liveness: boolean): Promise<Analysis> =>
  engine.analyse(bytes, { role: liveness ? 'probe' : 'reference', embed: !liveness, liveness }).catch((e: unknown) => {
    if (e instanceof AnalyseFailure && e.reason) return e;
    throw e;
  });

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

interface MatchRow {
  condition: string;
  recipe: string;
  genuine: number;
  impostor: number;
  auc: number;
  /** AUC over every pair, a pair with a face missed scoring −1 (rejected): misses count against a recipe */
  aucAll: number;
  tarAt1e2: number;
  tarAt1e3: number;
  /** derived images in which no face was found */
  missed: number;
  images: number;
  /** derived images flagged EXTREME_POSE */
  extremePose: number;
}

interface LivenessRow {
  condition: string;
  recipe: string;
  real: number;
  spoof: number;
  judgedReal: number;
  judgedSpoof: number;
  auc: number;
  apcer: number;
  bpcer: number;
  /** the lowest BPCER at any threshold whose APCER ≤ 0.10 (the issue's operating point), over the judged faces */
  bpcerAtApcer10: number;
  /** faces judged live (score ≥ 0.5), real and spoof */
  liveReal: number;
  liveSpoof: number;
  missed: number;
  refusedFor: Record<string, number>;
}

async function matchBench(recipes: Array<{ name: string; engine: LocalEngine }>, boxes: Map<string, Analysis>) {
  const { pairs } = expandPairs(PAIR_FILES.flatMap((f) => readPairs(join(FACES, f))));
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  const found = images.filter((i) => !(boxes.get(i) instanceof AnalyseFailure));
  const turned = new Set(found.filter((i) => Math.abs((boxes.get(i) as FaceReport).measures.yaw) >= TURNED_YAW));
  // originals per recipe
  const originals = new Map<string, Map<string, Analysis>>();
  for (const r of recipes) originals.set(r.name, new Map(await Promise.all(found.map(async (i) => [i, await analyse(r.engine, readFileSync(i), false)] as const))));
  const rows: MatchRow[] = [];
  for (const condition of MATCH_CONDITIONS) {
    // the yaw conditions derive only the turned faces; the others every image
    const derived = condition.startsWith('yaw') ? found.filter((i) => turned.has(i)) : found;
    const sources = new Map(derived.map((img, index) => [img, { bytes: readFileSync(img), box: (boxes.get(img) as FaceReport).box, index } satisfies Source]));
    const bytes = new Map(await Promise.all([...sources].map(async ([img, s]) => [img, await deriveMatch(condition, s)] as const)));
    for (const r of recipes) {
      const orig = originals.get(r.name)!;
      const b = condition === 'original' ? orig : new Map(await Promise.all([...bytes].map(async ([img, data]) => [img, await analyse(r.engine, data, false)] as const)));
      const genuine: number[] = [];
      const impostor: number[] = [];
      const all = { genuine: [] as number[], impostor: [] as number[] };
      for (const p of pairs) {
        // each pair both ways round: the derived image may be either one
        for (const [x, y] of [[p.a, p.b], [p.b, p.a]]) {
          const [fa, fb] = [orig.get(x), b.get(y)];
          if (!sources.has(y) || !fa || !fb) continue;
          const missed = fa instanceof AnalyseFailure || fb instanceof AnalyseFailure;
          const score = missed ? -1 : cos(fa.embedding!, fb.embedding!);
          (p.same ? all.genuine : all.impostor).push(score);
          if (!missed) (p.same ? genuine : impostor).push(score);
        }
      }
      const results = [...sources.keys()].map((img) => b.get(img)!);
      const sets = { genuine, impostor };
      rows.push({
        condition,
        recipe: r.name,
        genuine: genuine.length,
        impostor: impostor.length,
        auc: auc(sets),
        aucAll: auc(all),
        tarAt1e2: tarAtFmr(sets, 1e-2).tar,
        tarAt1e3: tarAtFmr(sets, 1e-3).tar,
        missed: results.filter((x) => x instanceof AnalyseFailure).length,
        images: results.length,
        extremePose: results.filter((x) => !(x instanceof AnalyseFailure) && x.quality.includes('EXTREME_POSE')).length,
      });
    }
    process.stderr.write(`match ${condition} done\n`);
  }
  return rows;
}

async function livenessBench(recipes: Array<{ name: string; engine: LocalEngine }>, boxes: Map<string, Analysis>) {
  const samples = LIVENESS_FILES.flatMap((f) => readLiveness(join(FACES, f)));
  const rows: LivenessRow[] = [];
  for (const condition of LIVENESS_CONDITIONS) {
    const usable = samples.filter((s) => !(boxes.get(s.path) instanceof AnalyseFailure));
    const bytes = await Promise.all(
      usable.map((s, index) => deriveLiveness(condition, { bytes: readFileSync(s.path), box: (boxes.get(s.path) as FaceReport).box, index })),
    );
    for (const r of recipes) {
      const results = await Promise.all(bytes.map((b) => analyse(r.engine, b, true)));
      const real: number[] = [];
      const spoof: number[] = [];
      const refusedFor: Record<string, number> = {};
      let missed = 0;
      results.forEach((x, i) => {
        if (x instanceof AnalyseFailure) return void missed++;
        if (x.liveness === undefined) {
          for (const q of x.quality) refusedFor[q] = (refusedFor[q] ?? 0) + 1;
          return;
        }
        (usable[i].real ? real : spoof).push(x.liveness);
      });
      const { apcer, bpcer } = presentationErrors(real, spoof, LIVE_AT);
      rows.push({
        condition,
        recipe: r.name,
        real: usable.filter((s) => s.real).length,
        spoof: usable.filter((s) => !s.real).length,
        judgedReal: real.length,
        judgedSpoof: spoof.length,
        auc: auc({ genuine: real, impostor: spoof }),
        apcer,
        bpcer,
        bpcerAtApcer10: bpcerAtApcer(real, spoof, 0.1),
        liveReal: real.filter((s) => s >= LIVE_AT).length,
        liveSpoof: spoof.filter((s) => s >= LIVE_AT).length,
        missed,
        refusedFor,
      });
    }
  }
  return rows;
}

function bpcerAtApcer(real: number[], spoof: number[], maxApcer: number): number {
  if (!real.length || !spoof.length) return Number.NaN;
  const ok = [...real, ...spoof, Number.POSITIVE_INFINITY].filter((t) => presentationErrors(real, spoof, t).apcer <= maxApcer);
  return Math.min(...ok.map((t) => presentationErrors(real, spoof, t).bpcer));
}

/** Process CPU time per verification (probe + reference + liveness), the recipes alternating in blocks. */
async function cpuCost(recipes: Array<{ name: string; pack: string }>, checks: number) {
  const probe = await parseImageInput(readFileSync(join(FACES, PROBE)).toString('base64'), 'probe');
  const reference = await parseImageInput(readFileSync(join(FACES, REFERENCE)).toString('base64'), 'reference');
  const providers = await Promise.all(recipes.map(async (r) => {
    const p = createLocalProvider({ pack: r.pack, workers: 1 });
    await p.init!();
    return p;
  }));
  const ctx = { signal: new AbortController().signal, requestId: 'bench' };
  const req = { probe, reference, match: true, liveness: true };
  const cpu = recipes.map(() => [] as number[]);
  const BLOCK = 10;
  try {
    for (const p of providers) for (let i = 0; i < 10; i++) await p.check(req, ctx); // warm-up
    for (let done = 0; done < checks; done += BLOCK) {
      for (const [k, p] of providers.entries()) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < BLOCK; i++) await p.check(req, ctx);
        const c = process.cpuUsage(c0);
        cpu[k].push((c.user + c.system) / 1000 / BLOCK);
      }
    }
  } finally {
    await Promise.all(providers.map((p) => p.close!()));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = recipes.map((r, k) => ({ recipe: r.name, cpuMsPerVerification: Number(median(cpu[k]).toFixed(2)), blocks: cpu[k].length }));
  return { rows, ratio: Number((rows[1].cpuMsPerVerification / rows[0].cpuMsPerVerification).toFixed(3)) };
}

const f3 = (v: number) => (Number.isNaN(v) ? '   –  ' : v.toFixed(4));

async function main() {
  const { values } = parseArgs({
    options: { candidate: { type: 'string' }, 'cpu-checks': { type: 'string', default: '100' }, 'skip-cpu': { type: 'boolean' }, 'match-only': { type: 'boolean' } },
  });
  const pack = loadPack({ pack: values.candidate });
  const recipes = [
    { name: 'previous', pack: writeManifest('previous', previousRecipe(pack.manifest), pack.files) },
    { name: 'current', pack: writeManifest('current', pack.manifest, pack.files) },
  ];
  const load = [loadavg()[0]];
  const engines = recipes.map((r) => ({ name: r.name, engine: createLocalEngine({ pack: r.pack, workers: 1 }) }));
  await Promise.all(engines.map((e) => e.engine.init()));
  let match: MatchRow[];
  let liveness: LivenessRow[];
  try {
    // the face boxes the derivations cut and light by: the previous recipe's, on the originals
    const all = [...new Set([...PAIR_FILES.flatMap((f) => readPairs(join(FACES, f)).flatMap((p) => [p.a, p.b])), ...LIVENESS_FILES.flatMap((f) => readLiveness(join(FACES, f)).map((s) => s.path))])];
    const boxes = new Map(await Promise.all(all.map(async (i) => [i, await analyse(engines[0].engine, readFileSync(i), false)] as const)));
    match = await matchBench(engines, boxes);
    liveness = values['match-only'] ? [] : await livenessBench(engines, boxes);
  } finally {
    await Promise.all(engines.map((e) => e.engine.close()));
  }
  const cpu = values['skip-cpu'] ? undefined : await cpuCost(recipes, Number(values['cpu-checks']));
  load.push(loadavg()[0]);

  const log = console.log;
  log(`hard conditions derived from ${FACES} (bench/conditions.ts); previous recipe vs current (${pack.manifest.name} ${pack.manifest.version}); load average ${load.map((l) => l.toFixed(2)).join(' → ')}`);
  log('match (pairs: first image as is, second under the condition)');
  log('  condition        recipe     same  diff   AUC     TAR@1e-2 TAR@1e-3  missed  EXTREME_POSE  AUC with misses as −1');
  for (const r of match) {
    log(`  ${r.condition.padEnd(16)} ${r.recipe.padEnd(9)} ${String(r.genuine).padStart(5)} ${String(r.impostor).padStart(5)}  ${f3(r.auc)}  ${f3(r.tarAt1e2)}   ${f3(r.tarAt1e3)}  ${String(r.missed).padStart(3)}/${String(r.images).padEnd(4)} ${String(r.extremePose).padStart(4)}          ${f3(r.aucAll)}`);
  }
  log(`liveness (live at ≥ ${LIVE_AT}; rates over the faces judged; must-refuse conditions: ${MUST_REFUSE.join(', ')})`);
  log('  condition    recipe     judged real/spoof   AUC     APCER  BPCER  BPCER@APCER≤0.1  live real/spoof  missed  refused for');
  for (const r of liveness) {
    const refused = Object.entries(r.refusedFor).map(([k, v]) => `${k} ${v}`).join(', ');
    log(`  ${r.condition.padEnd(12)} ${r.recipe.padEnd(9)} ${`${r.judgedReal}/${r.real}`.padStart(7)} ${`${r.judgedSpoof}/${r.spoof}`.padStart(7)}    ${f3(r.auc)}  ${Number.isNaN(r.apcer) ? '  –  ' : r.apcer.toFixed(3)}  ${Number.isNaN(r.bpcer) ? '  –  ' : r.bpcer.toFixed(3)}  ${Number.isNaN(r.bpcerAtApcer10) ? '  –  ' : r.bpcerAtApcer10.toFixed(3)}            ${String(r.liveReal).padStart(4)}/${String(r.liveSpoof).padEnd(4)}   ${String(r.missed).padStart(4)}   ${refused}`);
  }
  if (cpu) {
    log(`CPU per verification (${PROBE} vs ${REFERENCE}, with liveness; process CPU time of every thread, median of ${cpu.rows[0].blocks} blocks of 10, recipes alternating)`);
    for (const r of cpu.rows) log(`  ${r.recipe.padEnd(9)} ${r.cpuMsPerVerification} ms`);
    log(`  current / previous: ${cpu.ratio} (target ≤ 1.15)`);
  }
  const path = writeReport('hard-conditions', { loadAverage: load, pack: `${pack.manifest.name} ${pack.manifest.version}`, match, liveness, cpu });
  log(`report: ${path}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
