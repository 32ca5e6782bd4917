/**
 * Passive liveness (MiniFASNet family). Each model sees the face box scaled by its `cropScale`,
 * shrunk until it fits inside the image and shifted in (never padded: a border would look like a
 * photo edge). Several models combine by the mean of their log-odds of 'live' (`log-odds`) or of
 * their probabilities (`probability`). The crop is resized without anti-aliasing, like the cv2
 * bilinear resize the models were trained on: print and screen cues are high-frequency
 * (measured: AUC 0.934 → 0.941 on liveness_labels_nvlong21).
 */
import type { ReasonCode } from '../types';
import { type Box, boxHeight, boxWidth } from './geometry';
import type { LivenessJudgeable, LivenessSpec } from './pack';
import type { QualityMeasures } from './quality';
import { type Rgb, rectView, sampleTensor } from './raster';
import type { Model } from './runtime';

export interface LivenessModel {
  /** probability that the face is a live capture, 0..1 */
  score(img: Rgb, box: Box): Promise<number>;
}

/** a model's probability is kept inside (ε, 1 − ε) before its log-odds are taken */
const EPSILON = 1e-6;

export function createLiveness(parts: ReadonlyArray<{ spec: LivenessSpec; model: Model }>, combine: 'probability' | 'log-odds' = 'probability'): LivenessModel {
  return {
    async score(img, box) {
      const probs = await Promise.all(parts.map(({ spec, model }) => liveProbability(spec, model, img, box)));
      if (combine === 'probability') return probs.reduce((s, p) => s + p, 0) / probs.length;
      const logOdds = probs.reduce((s, p) => s + logit(Math.min(1 - EPSILON, Math.max(EPSILON, p))), 0) / probs.length;
      return 1 / (1 + Math.exp(-logOdds));
    },
  };
}

const logit = (p: number) => Math.log(p / (1 - p));

/**
 * Why the liveness models cannot judge this face, if they cannot: too few pixels between the
 * eyes, too blurred, or too little of the scene around the face (`context`). Empty: they can.
 */
export function unjudgeable(limits: LivenessJudgeable, m: QualityMeasures): ReasonCode[] {
  const out: ReasonCode[] = [];
  if (m.eyeDistance < limits.minEyeDistance) out.push('FACE_TOO_SMALL');
  if (m.sharpness < limits.minSharpness) out.push('BLURRY');
  if (m.context < limits.minContext) out.push('INSUFFICIENT_CONTEXT');
  return out;
}

/** The largest scale of the face box whose crop, centred on it and shifted in, fits inside the image. */
export function contextOf(img: { width: number; height: number }, box: Box): number {
  return Math.min((img.width - 1) / boxWidth(box), (img.height - 1) / boxHeight(box));
}

async function liveProbability(spec: LivenessSpec, model: Model, img: Rgb, box: Box): Promise<number> {
  const { input, output } = spec;
  const crop = cropInside(img, box, spec.cropScale);
  const tensor = sampleTensor(img, rectView(crop.x, crop.y, crop.w, crop.h, input.width, input.height), input, false);
  const logits = (await model.run(input.name, tensor, [1, 3, input.height, input.width]))[output.logits];
  return softmax(logits)[output.liveClass];
}

function cropInside(img: Rgb, box: Box, want: number) {
  const [w, h] = [boxWidth(box), boxHeight(box)];
  const scale = Math.min(want, contextOf(img, box));
  const [cw, ch] = [w * scale, h * scale];
  const x = clamp((box.x1 + box.x2) / 2 - cw / 2, 0, img.width - 1 - cw);
  const y = clamp((box.y1 + box.y2) / 2 - ch / 2, 0, img.height - 1 - ch);
  return { x, y, w: cw, h: ch };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((s, v) => s + v, 0);
  return exps.map((e) => e / sum);
}
