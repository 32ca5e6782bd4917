/**
 * Face detection. Tight crops (the face fills the frame) defeat anchor-based detectors, so each
 * image is first seen with a black border of `padFraction` × its long side on every side; if that
 * finds nothing, the plain image is tried. Boxes come back in working-image pixels.
 */
import { type Box, nms } from './geometry';
import type { DetectorSpec } from './pack';
import { type Rgb, rectView, sampleTensor } from './raster';
import type { Model } from './runtime';

export interface Detector {
  detect(img: Rgb): Promise<Box[]>;
}

export function createDetector(spec: DetectorSpec, model: Model): Detector {
  const once = spec.kind === 'ultraface' ? ultraFace(spec, model) : yuNet(spec, model);
  return {
    async detect(img) {
      const pad = spec.padFraction * Math.max(img.width, img.height);
      const padded = pad > 0 ? await once(img, pad) : [];
      return padded.length > 0 ? padded : once(img, 0);
    },
  };
}

type DetectOnce = (img: Rgb, pad: number) => Promise<Box[]>;

/** The canvas: the image with `pad` pixels of border on every side. */
const canvasOf = (img: Rgb, pad: number) => ({ x: -pad, y: -pad, w: img.width + 2 * pad, h: img.height + 2 * pad });

/** UltraFace RFB-320: outputs softmaxed `scores [1,N,2]` and decoded corner boxes in 0..1 `[1,N,4]`. */
function ultraFace(spec: Extract<DetectorSpec, { kind: 'ultraface' }>, model: Model): DetectOnce {
  const { input, output } = spec;
  return async (img, pad) => {
    const c = canvasOf(img, pad);
    const tensor = sampleTensor(img, rectView(c.x, c.y, c.w, c.h, input.width, input.height), input);
    const out = await model.run(input.name, tensor, [1, 3, input.height, input.width]);
    const scores = out[output.scores];
    const boxes = out[output.boxes];
    const found: Box[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[2 * i + 1];
      if (score < spec.scoreThreshold) continue;
      found.push({
        x1: c.x + boxes[4 * i] * c.w,
        y1: c.y + boxes[4 * i + 1] * c.h,
        x2: c.x + boxes[4 * i + 2] * c.w,
        y2: c.y + boxes[4 * i + 3] * c.h,
        score,
      });
    }
    return nms(found, spec.nmsIou);
  };
}

/**
 * YuNet (libfacedetection): per stride s, anchor-free rows over the (H/s)×(W/s) grid: `cls`, `obj`
 * (sigmoided), `bbox` (dx, dy, log w, log h in stride units). Input is letterboxed (aspect kept).
 */
function yuNet(spec: Extract<DetectorSpec, { kind: 'yunet' }>, model: Model): DetectOnce {
  const { input, output } = spec;
  return async (img, pad) => {
    const c = canvasOf(img, pad);
    const k = Math.max(c.w / input.width, c.h / input.height);
    const view = { a: k, b: 0, c: 0, d: k, tx: c.x, ty: c.y };
    const tensor = sampleTensor(img, view, input);
    const out = await model.run(input.name, tensor, [1, 3, input.height, input.width]);
    const found: Box[] = [];
    for (const s of output.strides) {
      const cols = input.width / s;
      const cls = out[`cls_${s}`];
      const obj = out[`obj_${s}`];
      const bbox = out[`bbox_${s}`];
      for (let i = 0; i < cls.length; i++) {
        const score = Math.sqrt(Math.min(1, Math.max(0, cls[i])) * Math.min(1, Math.max(0, obj[i])));
        if (score < spec.scoreThreshold) continue;
        const cx = ((i % cols) + bbox[4 * i]) * s;
        const cy = (Math.floor(i / cols) + bbox[4 * i + 1]) * s;
        const w = Math.exp(bbox[4 * i + 2]) * s;
        const h = Math.exp(bbox[4 * i + 3]) * s;
        found.push({ x1: c.x + (cx - w / 2) * k, y1: c.y + (cy - h / 2) * k, x2: c.x + (cx + w / 2) * k, y2: c.y + (cy + h / 2) * k, score });
      }
    }
    return nms(found, spec.nmsIou);
  };
}
