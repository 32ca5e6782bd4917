/** Scores labelled pairs and liveness samples with the local engine (on its worker pool). */
import { readFileSync } from 'node:fs';
import { AnalyseFailure, cosine, type FaceReport, type LocalEngine } from '../../providers/local';
import { DEGRADATIONS, DEGRADED_SIZES, type Degradation, degrade } from './degrade';
import type { ScoreSets } from './metrics';
import type { LabelledPair, LivenessSample } from './sets';

export interface PairScores extends ScoreSets {
  genuine: number[];
  impostor: number[];
  pairs: number;
  /** pairs skipped because a face was not found in one of the images */
  missedFaces: number;
  missedImages: string[];
  /**
   * The same scores split by the engine's quality findings (FACE_TOO_SMALL, BLURRY, EXTREME_POSE):
   * `clean` when neither face has one, `findings` when either has. The gateway picks a
   * quality-conditioned table by the same rule.
   */
  byQuality: { clean: { genuine: number[]; impostor: number[] }; findings: { genuine: number[]; impostor: number[] } };
}

type Analysis = FaceReport | AnalyseFailure;

/** The degraded variants of each pair's second image: the face at each size of DEGRADED_SIZES, then blur, JPEG q30, tight crop. */
export const DEGRADED_VARIANTS: ReadonlyArray<readonly [Degradation, number]> = DEGRADATIONS.flatMap(
  (kind): Array<readonly [Degradation, number]> => (kind === 'small' ? DEGRADED_SIZES.map((_, n) => [kind, n] as const) : [[kind, 0]]),
);

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
    return analyse(`${path}#${kind}${n}`, () => degrade(readFileSync(path), base.box, kind, n));
  };

  const jobs: Array<{ same: boolean; a: Promise<Analysis>; b: Promise<Analysis>; labelA: string; label: string }> = [];
  for (const p of pairs) {
    jobs.push({ same: p.same, a: original(p.a), b: original(p.b), labelA: p.a, label: p.b });
    if (opts.degraded) {
      // every variant for every pair (all three face sizes), so no pair's share depends on list order
      for (const [kind, n] of DEGRADED_VARIANTS) {
        jobs.push({ same: p.same, a: original(p.a), b: variant(p.b, kind, n), labelA: p.a, label: `${p.b} (${kind}${kind === 'small' ? ` ${DEGRADED_SIZES[n]} px` : ''})` });
      }
    }
  }

  const out: PairScores = {
    genuine: [],
    impostor: [],
    pairs: jobs.length,
    missedFaces: 0,
    missedImages: [],
    byQuality: { clean: { genuine: [], impostor: [] }, findings: { genuine: [], impostor: [] } },
  };
  for (const job of jobs) {
    const [a, b] = await Promise.all([job.a, job.b]);
    if (a instanceof AnalyseFailure || b instanceof AnalyseFailure) {
      out.missedFaces++;
      if (a instanceof AnalyseFailure) out.missedImages.push(`${job.labelA}: ${a.message}`);
      if (b instanceof AnalyseFailure) out.missedImages.push(`${job.label}: ${b.message}`);
      continue;
    }
    const score = cosine(a.embedding!, b.embedding!);
    (job.same ? out.genuine : out.impostor).push(score);
    const q = a.quality.length || b.quality.length ? out.byQuality.findings : out.byQuality.clean;
    (job.same ? q.genuine : q.impostor).push(score);
  }
  out.missedImages = [...new Set(out.missedImages)];
  return out;
}

export interface LivenessScores {
  real: number[];
  spoof: number[];
  missedFaces: number;
  /** images the engine would not judge (no score; the reasons are quality findings), by reason */
  refused: number;
  refusedFor: Partial<Record<string, number>>;
  /** images scored or refused: the originals, plus their degraded variants with `degraded` */
  images: number;
}

const LIVENESS = { role: 'probe', embed: false, liveness: true } as const;

/**
 * Liveness scores of labelled images, and with `degraded` of their in-memory variants too (the face
 * downscaled to each of DEGRADED_SIZES, blurred, JPEG q30, tightly cropped), each with its own label.
 */
export async function scoreLiveness(engine: LocalEngine, samples: readonly LivenessSample[], opts: { degraded?: boolean } = {}): Promise<LivenessScores> {
  const originals = await Promise.all(samples.map((s) => engine.analyse(readFileSync(s.path), LIVENESS).catch((e: unknown) => failure(e))));
  const results = originals.map((r, i) => ({ r, real: samples[i].real }));
  if (opts.degraded) {
    const variants = await Promise.all(
      originals.flatMap((r, i) =>
        r instanceof AnalyseFailure
          ? []
          : DEGRADED_VARIANTS.map(async ([kind, n]) => ({
              r: await degrade(readFileSync(samples[i].path), r.box, kind, n).then((b) => engine.analyse(b, LIVENESS)).catch((e: unknown) => failure(e)),
              real: samples[i].real,
            })),
      ),
    );
    results.push(...variants);
  }
  const out: LivenessScores = { real: [], spoof: [], missedFaces: 0, refused: 0, refusedFor: {}, images: results.length };
  for (const { r, real } of results) {
    if (r instanceof AnalyseFailure) out.missedFaces++;
    else if (r.liveness === undefined) {
      out.refused++;
      for (const q of r.quality) out.refusedFor[q] = (out.refusedFor[q] ?? 0) + 1;
    } else (real ? out.real : out.spoof).push(r.liveness);
  }
  return out;
}

/** Image-caused failures become misses; anything else (engine broken) propagates. */
function failure(e: unknown): AnalyseFailure {
  if (e instanceof AnalyseFailure && e.reason) return e;
  throw e;
}
