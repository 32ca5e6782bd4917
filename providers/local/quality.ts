/**
 * Quality findings that do not stop a check: face too small, blurry, extreme pose. Measured on the
 * landmarks and the aligned face. Thresholds from the shared sets and their degraded variants:
 * eye distance of originals p5 52 px, of faces downscaled to 40–60 px 17–19 px; sharpness of
 * originals p5 47, of blurred variants p50 16.
 */
import type { ReasonCode } from '../types';
import type { Point } from './geometry';
import type { TensorInput } from './pack';
import type { Affine } from './raster';

export interface QualityMeasures {
  /** distance between the eye centres, in pixels of the image the face was analysed in (engine.ts: working or fine) */
  eyeDistance: number;
  /** variance of the Laplacian of the aligned face's green plane (0..255 units), over the pixels inside the image */
  sharpness: number;
  /** nose offset from the eye midline, in eye distances (0 = frontal) */
  yaw: number;
  /** angle of the eye line, degrees */
  roll: number;
  /** the largest crop around the face box that fits in the image, in box sizes (liveness.ts `contextOf`) */
  context: number;
}

export const QUALITY_LIMITS = { minEyeDistance: 20, minSharpness: 35, maxYaw: 0.45, maxRoll: 30 } as const;

/** `aligned`: the aligned face (embedder.ts) as a tensor of `spec`, and the map from its pixels to the image's (`img`) */
export function measure(
  five: readonly Point[],
  aligned: { tensor: Float32Array; toImage: Affine },
  spec: TensorInput,
  img: { width: number; height: number },
  context: number,
): QualityMeasures {
  const [le, re, nose] = five;
  const eyeDistance = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const roll = (Math.atan2(re[1] - le[1], re[0] - le[0]) * 180) / Math.PI;
  // nose offset along the eye line from the midpoint
  const mid = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2];
  const ux = (re[0] - le[0]) / eyeDistance;
  const uy = (re[1] - le[1]) / eyeDistance;
  const yaw = ((nose[0] - mid[0]) * ux + (nose[1] - mid[1]) * uy) / eyeDistance;
  return { eyeDistance, sharpness: laplacianVariance(aligned, spec, img), yaw, roll, context };
}

export function findings(m: QualityMeasures): ReasonCode[] {
  const out: ReasonCode[] = [];
  if (m.eyeDistance < QUALITY_LIMITS.minEyeDistance) out.push('FACE_TOO_SMALL');
  if (m.sharpness < QUALITY_LIMITS.minSharpness) out.push('BLURRY');
  if (Math.abs(m.yaw) > QUALITY_LIMITS.maxYaw || Math.abs(m.roll) > QUALITY_LIMITS.maxRoll) out.push('EXTREME_POSE');
  return out;
}

/**
 * On the green plane of the aligned CHW tensor, central region (skips the warp's edges), over the
 * pixels whose Laplacian reads only the image: where the face reaches past the image's edge (a
 * tight crop), the black outside and its edge would count as detail.
 */
function laplacianVariance({ tensor, toImage: m }: { tensor: Float32Array; toImage: Affine }, spec: TensorInput, img: { width: number; height: number }): number {
  const size = spec.width;
  const g = tensor.subarray(size * size, 2 * size * size);
  const px = (x: number, y: number) => g[y * size + x] * spec.std + spec.mean;
  // one output pixel reaches this far in the image, plus the bilinear tap
  const reach = Math.hypot(m.a, m.c) + 1;
  const inside = (x: number, y: number) => {
    const sx = m.a * x + m.b * y + m.tx;
    const sy = m.c * x + m.d * y + m.ty;
    return sx >= reach && sy >= reach && sx <= img.width - 1 - reach && sy <= img.height - 1 - reach;
  };
  const lo = Math.round(size * 0.2);
  const hi = Math.round(size * 0.8);
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = lo; y < hi; y++) {
    for (let x = lo; x < hi; x++) {
      if (!inside(x, y)) continue;
      const v = 4 * px(x, y) - px(x - 1, y) - px(x + 1, y) - px(x, y - 1) - px(x, y + 1);
      sum += v;
      sq += v * v;
      n++;
    }
  }
  return n === 0 ? 0 : sq / n - (sum / n) ** 2;
}
