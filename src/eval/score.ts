/** Scores labelled pairs and liveness samples with the local engine (on its worker pool). */
import { readFileSync } from 'node:fs';
import { AnalyseFailure, cosine, type FaceReport, type LocalEngine } from '../../providers/local';
import { DEGRADATIONS, type Degradation, degrade } from './degrade';
import type { ScoreSets } from './metrics';
import type { LabelledPair, LivenessSample } from './sets';

export interface PairScores extends ScoreSets {
  genuine: number[];
  impostor: number[];
  pairs: number;
  /** pairs skipped because a face was not found in one of the images */
  missedFaces: number;
  missedImages: string[];
}

type Analysis = FaceReport | AnalyseFailure;

/** Both images are analysed as references (largest face): pair files include group photos. */
const REQUEST = { role: 'reference', embed: true, liveness: false } as const;

export async function scorePairs(engine: LocalEngine, pairs: readonly LabelledPair[], opts: { degraded?: boolean } = {}): Promise<PairScores> {
  const cache = new Map<string, Promise<Analysis>>();
  const analyse = (key: string, bytes: () => Promise<Uint8Array>) => {
    if (!cache.has(key)) {
      cache.set(key, bytes().then((b) => engine.analyse(b, REQUEST)).catch((e: unknown) => failure(e)));
    }
    return cache.get(key)!;
  };
  const original = (path: string) => analyse(path, async () => readFileSync(path));
  const variant = async (path: string, kind: Degradation, n: number): Promise<Analysis> => {
    const base = await original(path);
    if (base instanceof AnalyseFailure) return base;
    return analyse(`${path}#${kind}${n % 3}`, () => degrade(readFileSync(path), base.box, kind, n));
  };

  const jobs: Array<{ same: boolean; a: Promise<Analysis>; b: Promise<Analysis>; labelA: string; label: string }> = [];
  pairs.forEach((p, n) => {
    jobs.push({ same: p.same, a: original(p.a), b: original(p.b), labelA: p.a, label: p.b });
    if (opts.degraded) {
      for (const kind of DEGRADATIONS) jobs.push({ same: p.same, a: original(p.a), b: variant(p.b, kind, n), labelA: p.a, label: `${p.b} (${kind})` });
    }
  });

  const out: PairScores = { genuine: [], impostor: [], pairs: jobs.length, missedFaces: 0, missedImages: [] };
  for (const job of jobs) {
    const [a, b] = await Promise.all([job.a, job.b]);
    if (a instanceof AnalyseFailure || b instanceof AnalyseFailure) {
      out.missedFaces++;
      if (a instanceof AnalyseFailure) out.missedImages.push(`${job.labelA}: ${a.message}`);
      if (b instanceof AnalyseFailure) out.missedImages.push(`${job.label}: ${b.message}`);
      continue;
    }
    (job.same ? out.genuine : out.impostor).push(cosine(a.embedding!, b.embedding!));
  }
  out.missedImages = [...new Set(out.missedImages)];
  return out;
}

export interface LivenessScores {
  real: number[];
  spoof: number[];
  missedFaces: number;
}

export async function scoreLiveness(engine: LocalEngine, samples: readonly LivenessSample[]): Promise<LivenessScores> {
  const results = await Promise.all(
    samples.map((s) =>
      engine.analyse(readFileSync(s.path), { role: 'probe', embed: false, liveness: true }).catch((e: unknown) => failure(e)),
    ),
  );
  const out: LivenessScores = { real: [], spoof: [], missedFaces: 0 };
  results.forEach((r, i) => {
    if (r instanceof AnalyseFailure) out.missedFaces++;
    else (samples[i].real ? out.real : out.spoof).push(r.liveness!);
  });
  return out;
}

/** Image-caused failures become misses; anything else (engine broken) propagates. */
function failure(e: unknown): AnalyseFailure {
  if (e instanceof AnalyseFailure && e.reason) return e;
  throw e;
}
