/**
 * Where the emulators get realistic numbers from. Both emulators take an injectable
 * `scorer(selfie, document)`; by default they use `defaultScorer()`:
 *
 * 1. If the local ONNX engine (`providers/local`, export `createLocalProvider`) loads and
 *    initialises, it scores the pair: `similarity = 1 / (1 + exp(-15 · (cosine − 0.30)))` — a logistic
 *    map of its cosine onto 0..1, centred where ArcFace-style cosines separate same from different
 *    people (≈0.3) — so same-person pairs land near 0.95–1 and impostors near 0–0.1, like a vendor's
 *    0..1 similarity; `liveness` is its liveness probability.
 * 2. Otherwise `fallbackScorer`: deterministic, from the image digests — byte-identical images
 *    score similarity 0.99, any other pair 0.05–0.35 (a hash of the two digests); liveness is 0.97.
 *    It tells a same-image probe from a different one and nothing more.
 *
 * The coupling with providers/local is `loadLocalScorer()` below and nowhere else.
 */
import { createHash } from 'node:crypto';
import type { Provider } from '../../providers/types';
import { imageFromBytes } from './images';

export interface FaceScores {
  /** 0..1, higher = more alike */
  similarity: number;
  /** 0..1, probability the selfie is a live capture */
  liveness: number;
  /** set when the scorer found no face in one of the images */
  noFace?: 'selfie' | 'document';
}

export type Scorer = (selfie: Buffer, document: Buffer) => Promise<FaceScores>;

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export const fallbackScorer: Scorer = async (selfie, document) => {
  const a = sha256(selfie);
  const b = sha256(document);
  if (a === b) return { similarity: 0.99, liveness: 0.97 };
  const mix = createHash('sha256').update([a, b].sort().join(':')).digest();
  return { similarity: 0.05 + (mix.readUInt16BE(0) / 0xffff) * 0.3, liveness: 0.97 };
};

/** logistic map of a cosine similarity onto 0..1 (see the header) */
export const cosineToUnit = (cosine: number) => 1 / (1 + Math.exp(-15 * (cosine - 0.3)));

let local: Promise<Scorer | null> | undefined;
let localProvider: Provider | undefined;

/** The one function that knows providers/local. Resolves null when it is missing or fails to init. */
export function loadLocalScorer(): Promise<Scorer | null> {
  local ??= (async () => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require('../../providers/local') as { createLocalProvider?: (cfg?: unknown) => Provider };
      if (typeof mod.createLocalProvider !== 'function') return null;
      const provider = mod.createLocalProvider();
      localProvider = provider;
      await provider.init?.();
      const scorer: Scorer = async (selfie, document) => {
        const ctx = { signal: new AbortController().signal, requestId: 'emulator-scorer' };
        try {
          const out = await provider.check(
            { probe: imageFromBytes(selfie), reference: imageFromBytes(document), match: true, liveness: true },
            ctx,
          );
          const m = out.match;
          const similarity = !m ? 0 : m.scale === 'cosine' ? cosineToUnit(m.score) : m.scale === 'percent' ? m.score / 100 : m.score;
          const l = out.liveness;
          const liveness = !l ? 0 : l.scale === 'percent' ? l.score / 100 : l.scale === 'cosine' ? (l.score + 1) / 2 : l.score;
          return { similarity, liveness };
        } catch (e) {
          if ((e as { reason?: string }).reason === 'NO_FACE') return { similarity: 0, liveness: 0, noFace: 'selfie' };
          throw e;
        }
      };
      return scorer;
    } catch {
      await localProvider?.close?.().catch(() => undefined);
      localProvider = undefined;
      return null;
    }
  })();
  return local;
}

/** Stop the local engine's workers if `defaultScorer` started them (tests: call in afterAll). */
export async function closeLocalScorer(): Promise<void> {
  const p = localProvider;
  local = undefined;
  localProvider = undefined;
  await p?.close?.();
}

/** providers/local when it loads, else the deterministic fallback (decided once, on first use). */
export const defaultScorer: Scorer = async (selfie, document) => {
  const s = (await loadLocalScorer()) ?? fallbackScorer;
  return s(selfie, document);
};

/** Which scorer `defaultScorer` ended up using (for logs of the runnable emulators). */
export async function defaultScorerName(): Promise<'local' | 'fallback'> {
  return (await loadLocalScorer()) ? 'local' : 'fallback';
}
