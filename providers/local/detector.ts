/**
 * Face detection. Tight crops (the face fills the frame) defeat anchor-based detectors, so each
 * image is first seen with a black border of `padFraction` × its long side on every side; if that
 * finds nothing, the plain image is tried. A face too small for a whole-image pass (an ID card on
 * a scanned page, a document photographed from afar) is found by `detectTiled`: overlapping tiles,
 * each TILE_ZOOM × the model's input. Boxes come back in working-image pixels.
 */
import { type Box, nms } from './geometry';
import type { DetectorSpec } from './pack';
import { type Rgb, rectView, sampleTensor } from './raster';
import type { Model } from './runtime';

export interface Detector {
  /** faces in the whole image: padded, then plain */
  detect(img: Rgb): Promise<Box[]>;
  /** faces in overlapping tiles of the image; none when the image fits in one tile (`detect` saw it as closely) */
  detectTiled(img: Rgb): Promise<Box[]>;
}

/** A region of the upright working image, in its pixels; may reach outside it (black there). */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Tiles are TILE_ZOOM × the model's input (1280×960 for UltraFace's 320×240): a face of ~64 px
 * reaches the model at ~16 px, inside the detector's smallest anchors. A power of two, so the
 * sampler reads a mip level with one tap (at 3×, two taps a pixel cost 6.2 ms a tile against 1.8).
 * Neighbours overlap by TILE_OVERLAP of a tile, so every face up to that fraction of a tile (320
 * px) lies whole in some tile; a box cut by an inner tile edge is dropped (its face is whole in the
 * neighbour), so half faces never count as a second face. Larger faces are the whole-image passes'.
 */
const TILE_ZOOM = 4;
const TILE_OVERLAP = 0.25;
/** a box this close to an inner tile edge (fraction of the tile's width) is taken as cut by it */
const CUT_MARGIN = 0.02;

export function createDetector(spec: DetectorSpec, model: Model): Detector {
  const once = spec.kind === 'ultraface' ? ultraFace(spec, model) : yuNet(spec, model);
  const tileW = TILE_ZOOM * spec.input.width;
  const tileH = TILE_ZOOM * spec.input.height;
  return {
    async detect(img) {
      const pad = spec.padFraction * Math.max(img.width, img.height);
      const padded = pad > 0 ? await once(img, { x: -pad, y: -pad, w: img.width + 2 * pad, h: img.height + 2 * pad }) : [];
      return padded.length > 0 ? padded : once(img, { x: 0, y: 0, w: img.width, h: img.height });
    },
    async detectTiled(img) {
      if (img.width <= tileW && img.height <= tileH) return [];
      const found: Box[] = [];
      for (const tile of tiles(img, tileW, tileH)) {
        const m = CUT_MARGIN * tile.w;
        const cutBy = (b: Box) =>
          (tile.x > 0 && b.x1 < tile.x + m) ||
          (tile.y > 0 && b.y1 < tile.y + m) ||
          (tile.x + tile.w < img.width && b.x2 > tile.x + tile.w - m) ||
          (tile.y + tile.h < img.height && b.y2 > tile.y + tile.h - m);
        for (const b of await once(img, tile)) if (!cutBy(b)) found.push(b);
      }
      return nms(found, spec.nmsIou);
    },
  };
}

/** Tiles of w×h covering the image, evenly spread, neighbours overlapping by at least TILE_OVERLAP. */
export function tiles(img: { width: number; height: number }, w: number, h: number): Rect[] {
  const starts = (size: number, tile: number) => {
    if (size <= tile) return [0];
    const n = Math.ceil((size - tile) / (tile * (1 - TILE_OVERLAP))) + 1;
    return Array.from({ length: n }, (_, i) => Math.round((i * (size - tile)) / (n - 1)));
  };
  return starts(img.height, h).flatMap((y) => starts(img.width, w).map((x) => ({ x, y, w, h })));
}

type DetectOnce = (img: Rgb, region: Rect) => Promise<Box[]>;

/**
 * The detector's input tensors (~0.9 MB each), kept for the next pass instead of collected: one
 * per pass in flight (a worker runs two analyses at once, each awaiting its model run).
 */
function tensorPool() {
  const free: Float32Array[] = [];
  return async <T>(use: (into: Float32Array | undefined) => Promise<{ tensor: Float32Array; result: T }>): Promise<T> => {
    const { tensor, result } = await use(free.pop());
    if (free.length < 2) free.push(tensor);
    return result;
  };
}

/** UltraFace RFB-320: outputs softmaxed `scores [1,N,2]` and decoded corner boxes in 0..1 `[1,N,4]`. */
function ultraFace(spec: Extract<DetectorSpec, { kind: 'ultraface' }>, model: Model): DetectOnce {
  const { input, output } = spec;
  const pooled = tensorPool();
  return async (img, c) => {
    const out = await pooled(async (into) => {
      const tensor = sampleTensor(img, rectView(c.x, c.y, c.w, c.h, input.width, input.height), input, true, into);
      return { tensor, result: await model.run(input.name, tensor, [1, 3, input.height, input.width]) };
    });
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
  const pooled = tensorPool();
  return async (img, c) => {
    const k = Math.max(c.w / input.width, c.h / input.height);
    const view = { a: k, b: 0, c: 0, d: k, tx: c.x, ty: c.y };
    const out = await pooled(async (into) => {
      const tensor = sampleTensor(img, view, input, true, into);
      return { tensor, result: await model.run(input.name, tensor, [1, 3, input.height, input.width]) };
    });
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
