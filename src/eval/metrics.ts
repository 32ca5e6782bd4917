/** Verification metrics over genuine (same-person) and impostor scores; higher score = more alike. */

export interface ScoreSets {
  genuine: readonly number[];
  impostor: readonly number[];
}

/** P(genuine score > impostor score), ties count half. */
export function auc({ genuine, impostor }: ScoreSets): number {
  if (!genuine.length || !impostor.length) return Number.NaN;
  let wins = 0;
  for (const g of genuine) for (const i of impostor) wins += g > i ? 1 : g === i ? 0.5 : 0;
  return wins / (genuine.length * impostor.length);
}

const fmrAt = (impostor: readonly number[], t: number) => impostor.filter((s) => s >= t).length / impostor.length;
const fnmrAt = (genuine: readonly number[], t: number) => genuine.filter((s) => s < t).length / genuine.length;

/** Equal error rate: min over thresholds of max(FMR, FNMR) (accept when score ≥ threshold). */
export function eer({ genuine, impostor }: ScoreSets): number {
  let best = 1;
  for (const t of [...genuine, ...impostor, Number.POSITIVE_INFINITY]) {
    best = Math.min(best, Math.max(fmrAt(impostor, t), fnmrAt(genuine, t)));
  }
  return best;
}

/**
 * The lowest threshold whose measured FMR is ≤ `fmr` (accept when score > threshold), and the
 * share of genuine pairs it accepts. With N impostors, FMR below 1/N is not measurable: the
 * threshold is then the highest impostor score.
 */
export function tarAtFmr({ genuine, impostor }: ScoreSets, fmr: number): { tar: number; threshold: number } {
  const desc = [...impostor].sort((a, b) => b - a);
  const allowed = Math.floor(fmr * desc.length);
  const threshold = desc[Math.min(allowed, desc.length - 1)] ?? Number.NEGATIVE_INFINITY;
  return { tar: genuine.filter((s) => s > threshold).length / genuine.length, threshold };
}

/** Liveness error rates at a threshold (live when score ≥ threshold). */
export function presentationErrors(real: readonly number[], spoof: readonly number[], threshold: number) {
  return {
    /** attacks accepted as live */
    apcer: spoof.filter((s) => s >= threshold).length / spoof.length,
    /** real captures rejected */
    bpcer: real.filter((s) => s < threshold).length / real.length,
  };
}
