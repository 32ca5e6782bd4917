/**
 * Passive liveness (MiniFASNet family). Each model sees the face box scaled by its `cropScale`,
 * shrunk until it fits inside the image and shifted in (never padded: a border would look like a
 * photo edge); with several models the live probabilities are averaged. The crop is resized
 * without anti-aliasing, like the cv2 bilinear resize the models were trained on: print and
 * screen cues are high-frequency (measured: AUC 0.934 → 0.941 on liveness_labels_nvlong21).
 */
import { type Box, boxHeight, boxWidth } from './geometry';
import type { LivenessSpec } from './pack';
import { type Rgb, rectView, sampleTensor } from './raster';
import type { Model } from './runtime';

export interface LivenessModel {
  /** probability that the face is a live capture, 0..1 */
  score(img: Rgb, box: Box): Promise<number>;
}

export function createLiveness(parts: ReadonlyArray<{ spec: LivenessSpec; model: Model }>): LivenessModel {
  return {
    async score(img, box) {
      const probs = await Promise.all(parts.map(({ spec, model }) => liveProbability(spec, model, img, box)));
      return probs.reduce((s, p) => s + p, 0) / probs.length;
    },
  };
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
  const scale = Math.min(want, (img.width - 1) / w, (img.height - 1) / h);
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
