/**
 * Pixels: decode an upload with sharp (pixel limit enforced) into packed RGB, and sample any affine
 * view of it straight into a model's input tensor (layout NCHW, colour order and normalisation
 * from the manifest). Pixels outside the image read as black.
 *
 * EXIF orientation is not applied to the pixels (a rotated copy costs ~2 ms for a 640×480 phone
 * selfie) but folded into every view: all coordinates are upright, the stored raster is read
 * through `toStored`.
 */
import sharp from 'sharp';
import { swapsSides } from '../types';
import type { TensorInput } from './pack';

/** Packed RGB, row-major. */
export interface Raster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface Rgb {
  /** the pixels as stored in the file */
  readonly stored: Raster;
  /** upright size (EXIF orientation applied): every coordinate in and out of the engine is upright */
  readonly width: number;
  readonly height: number;
  /** upright pixel → stored pixel */
  readonly toStored: Affine;
  /** working size / original size (decode shrinks very large images) */
  readonly scale: number;
}

export interface DecodeOptions {
  /** reject images with more pixels than this (decompression bombs) */
  maxInputPixels: number;
  /** shrink so the long side is at most this (faces stay well above the detector's minimum) */
  maxSide: number;
  /** a JPEG over maxSide: shrink by libjpeg's DCT scaling alone (`jpegShrink`), landing between maxSide/2 and maxSide */
  dctShrink?: boolean;
}

export class BadImageError extends Error {}

/** What the edge read from an image's header: its size as stored and its EXIF orientation. */
export interface StoredHeader {
  width: number;
  height: number;
  orientation: number;
}

/**
 * Decodes to an RGB raster, shrunk to `opts.maxSide`; the EXIF orientation is applied by the view
 * (`oriented`), not to the pixels. `header`: the caller vouches for the bytes' stored size and
 * orientation, which saves a header read (a libvips call: ~0.5 ms of CPU per image on a 2.3 GHz
 * Xeon); without it, the header gives them.
 */
export async function decode(bytes: Uint8Array, opts: DecodeOptions, header?: StoredHeader): Promise<Rgb> {
  try {
    const limits = { limitInputPixels: opts.maxInputPixels, failOn: 'error' } as const;
    // a claim without a size (0×0: bytes no edge check measured) is no claim
    const claim = header && header.width > 0 && header.height > 0 ? header : undefined;
    const { width, height, orientation = 1 }: { width: number; height: number; orientation?: number } =
      claim ?? (await sharp(bytes, limits).metadata());
    // read top to bottom once: the shrink needs no random access, and a large PNG then costs
    // about half the CPU (12000×3333 16-bit RGBA: 1.0 → 0.65 s) with the same pixels out
    let pipeline = sharp(bytes, { ...limits, sequentialRead: true });
    const shrink = opts.dctShrink ? jpegShrink(bytes, Math.max(width, height), opts.maxSide) : 1;
    if (shrink > 1) {
      // exactly libjpeg's scaled size: the DCT does all the shrinking, no resampling pass after it
      pipeline = pipeline.resize({ width: Math.ceil(width / shrink), height: Math.ceil(height / shrink), fit: 'fill' });
    } else if (Math.max(width, height) > opts.maxSide) {
      pipeline = pipeline.resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true });
    }
    const { data, info } = await pipeline
      // no ICC transform: the models learnt from OpenCV-decoded images, which ignore embedded
      // profiles, and the lcms transform more than doubles decode time of tagged photos
      .keepIccProfile()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    // a plain Uint8Array view, not sharp's Buffer: the sampler then sees a single array type
    const stored = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
    return oriented(stored, orientation, info.width / width);
  } catch (e) {
    // libvips repeats its error lines once per attempt: the first says it, the rest stay in `cause`
    throw new BadImageError(`image cannot be decoded: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/**
 * For a JPEG over `maxSide`: the smallest of libjpeg's DCT scalings (1/2, 1/4, 1/8) that brings
 * its long side within `maxSide` (shrink-on-load: the IDCT runs at the reduced size, and no
 * resampling pass follows), else 1 (a PNG, or a JPEG too large for 1/8: shrunk by resampling).
 * The working image is then between half of `maxSide` and `maxSide` on its long side, instead of
 * exactly `maxSide`. Measured on a 3061×4600 progressive JPEG (AMD EPYC, one libvips thread):
 * 106 ms to 851×1280 by shrink-on-load 1/2 and a Lanczos reduce, 93 ms to 766×1150 by 1/4 alone.
 */
function jpegShrink(bytes: Uint8Array, long: number, maxSide: number): number {
  if (long <= maxSide || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  for (const f of [2, 4, 8]) if (Math.ceil(long / f) <= maxSide) return f;
  return 1;
}

/** The upright view of a stored raster with EXIF orientation 1–8 (anything else: as stored). */
export function oriented(stored: Raster, orientation: number, scale = 1): Rgb {
  const { width: w, height: h } = stored;
  const swapped = swapsSides(orientation);
  return { stored, width: swapped ? h : w, height: swapped ? w : h, toStored: orientationMap(orientation, w, h), scale };
}

/** For EXIF orientation 1–8 of a w×h stored raster: upright (u, v) → stored (a·u + b·v + tx, c·u + d·v + ty). */
function orientationMap(orientation: number, w: number, h: number): Affine {
  const [W, H] = [w - 1, h - 1];
  const maps: Record<number, Affine> = {
    2: { a: -1, b: 0, c: 0, d: 1, tx: W, ty: 0 }, // mirrored
    3: { a: -1, b: 0, c: 0, d: -1, tx: W, ty: H }, // rotated 180°
    4: { a: 1, b: 0, c: 0, d: -1, tx: 0, ty: H }, // flipped
    5: { a: 0, b: 1, c: 1, d: 0, tx: 0, ty: 0 }, // transposed
    6: { a: 0, b: 1, c: -1, d: 0, tx: 0, ty: H }, // stored 90° anticlockwise (phone held upright)
    7: { a: 0, b: -1, c: -1, d: 0, tx: W, ty: H }, // transversed
    8: { a: 0, b: -1, c: 1, d: 0, tx: W, ty: 0 }, // stored 90° clockwise
  };
  return maps[orientation] ?? { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 };
}

/** the EXIF orientation whose upright view is its raster turned clockwise by 1, 2, 3 quarters */
const QUARTER_TURNS = { 1: 6, 2: 3, 3: 8 } as const;

/**
 * `img` turned clockwise by `quarters` × 90°, sharing its pixels (and mip levels), and the map
 * from the turned view's pixels back to `img`'s.
 */
export function turned(img: Rgb, quarters: 1 | 2 | 3): { view: Rgb; toImage: Affine } {
  const toImage = orientationMap(QUARTER_TURNS[quarters], img.width, img.height);
  const swap = quarters !== 2;
  const view = { stored: img.stored, width: swap ? img.height : img.width, height: swap ? img.width : img.height, toStored: compose(img.toStored, toImage), scale: img.scale };
  return { view, toImage };
}

/** Maps output pixel (x, y) to source point (a·x + b·y + tx, c·x + d·y + ty). */
export interface Affine {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly tx: number;
  readonly ty: number;
}

/** The view of rectangle (x, y, w, h) in the source, stretched over an outW×outH output. */
export function rectView(x: number, y: number, w: number, h: number, outW: number, outH: number): Affine {
  return { a: w / outW, b: 0, c: 0, d: h / outH, tx: x + (0.5 * w) / outW - 0.5, ty: y + (0.5 * h) / outH - 0.5 };
}

/**
 * Bilinear sampling into a normalised NCHW tensor. A view that shrinks the image reads from a
 * mip level (the image halved until the remaining shrink is under 2×) with 2×2 taps, so small
 * faces do not alias away and big photos cost no more than small ones.
 * (Hot path: plain loops over locals, no allocation per pixel.)
 */
export function sampleTensor(img: Rgb, view: Affine, spec: TensorInput, antialias = true, into?: Float32Array): Float32Array {
  const { width: W, height: H, colour } = spec;
  // compared once here: manifest strings are not interned, so `colour === 'GREY'` in the loop
  // was a string comparison per pixel
  const grey = colour === 'GREY';
  const swap = colour === 'BGR';
  const plane = W * H;
  const size = plane * (grey ? 1 : 3);
  const out = into && into.length === size ? into : new Float32Array(size);
  const onStored = compose(img.toStored, view);
  const { src, v, taps } = antialias ? mipFor(img.stored, onStored) : { src: img.stored, v: onStored, taps: 1 };
  const norm = 1 / (taps * taps * spec.std);
  const offset = spec.mean / spec.std;
  const { data, width: iw, height: ih } = src;
  const { a, b: vb, c, d, tx, ty } = v;
  // tap offsets within an output pixel, divided out once (a division per tap was a third of the loop)
  const offsets = taps === 1 ? ONE_TAP : TWO_TAPS;
  // every tap outside the image's footprint reads black: write those pixels in one fill (a padded
  // detector canvas is three quarters border) and sample only the footprint
  out.fill(-offset);
  const fp = footprint(v, iw, ih, W, H);
  if ((vb === 0 && c === 0) || (a === 0 && d === 0)) {
    separable(src, v, offsets, fp, W, plane, grey, swap, norm, offset, out);
    return out;
  }
  for (let y = fp.y0; y < fp.y1; y++) {
    for (let x = fp.x0; x < fp.x1; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < taps; j++) {
        const oy = y + offsets[j];
        for (let i = 0; i < taps; i++) {
          const ox = x + offsets[i];
          const sx = a * ox + vb * oy + tx;
          const sy = c * ox + d * oy + ty;
          if (sx <= -1 || sy <= -1 || sx >= iw || sy >= ih) continue; // border: black
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const fx = sx - x0;
          const fy = sy - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < iw && y0 + 1 < ih) {
            const p00 = (y0 * iw + x0) * 3;
            const p01 = p00 + iw * 3;
            const w00 = (1 - fx) * (1 - fy);
            const w10 = fx * (1 - fy);
            const w01 = (1 - fx) * fy;
            const w11 = fx * fy;
            r += w00 * data[p00] + w10 * data[p00 + 3] + w01 * data[p01] + w11 * data[p01 + 3];
            g += w00 * data[p00 + 1] + w10 * data[p00 + 4] + w01 * data[p01 + 1] + w11 * data[p01 + 4];
            b += w00 * data[p00 + 2] + w10 * data[p00 + 5] + w01 * data[p01 + 2] + w11 * data[p01 + 5];
            continue;
          }
          for (let k = 0; k < 4; k++) {
            const px = x0 + (k & 1);
            const py = y0 + (k >> 1);
            if (px < 0 || py < 0 || px >= iw || py >= ih) continue;
            const w = (k & 1 ? fx : 1 - fx) * (k & 2 ? fy : 1 - fy);
            const p = (py * iw + px) * 3;
            r += w * data[p];
            g += w * data[p + 1];
            b += w * data[p + 2];
          }
        }
      }
      writePixel(out, y * W + x, plane, r, g, b, grey, swap, norm, offset);
    }
  }
  return out;
}

/** One output pixel of summed taps `r, g, b`: normalised into its channel planes, or as luminance. */
function writePixel(out: Float32Array, o: number, plane: number, r: number, g: number, b: number, grey: boolean, swap: boolean, norm: number, offset: number): void {
  if (grey) {
    out[o] = (0.299 * r + 0.587 * g + 0.114 * b) * norm - offset;
  } else {
    out[o] = (swap ? b : r) * norm - offset;
    out[o + plane] = g * norm - offset;
    out[o + 2 * plane] = (swap ? r : b) * norm - offset;
  }
}

/**
 * `sampleTensor` for a view that maps output columns and rows each onto one source axis (a crop,
 * a stretch, a padded canvas; with EXIF orientations 5–8 a transposed one): each output column's
 * taps × 2 bilinear weights, and each row's, are worked out once and merged per source line, then
 * every pixel is a small weighted sum over that grid. The same weights as the general loop
 * (products of the per-axis bilinear weights, black outside), ~3× faster on the detector's canvas.
 */
function separable(
  src: Raster,
  v: Affine,
  offsets: Float64Array,
  fp: { x0: number; x1: number; y0: number; y1: number },
  W: number,
  plane: number,
  grey: boolean,
  swap: boolean,
  norm: number,
  offset: number,
  out: Float32Array,
): void {
  const { data, width: iw, height: ih } = src;
  const transposed = v.a === 0 && v.d === 0;
  // output x reads along the source's x (aligned) or y (transposed); output y the other axis
  const xs = axisWeights(fp.x0, fp.x1, offsets, transposed ? v.c : v.a, transposed ? v.ty : v.tx, transposed ? ih : iw, transposed ? 3 * iw : 3);
  const ys = axisWeights(fp.y0, fp.y1, offsets, transposed ? v.b : v.d, transposed ? v.tx : v.ty, transposed ? iw : ih, transposed ? 3 : 3 * iw);
  for (let y = fp.y0; y < fp.y1; y++) {
    const yi = y - fp.y0;
    const ys0 = ys.start[yi];
    const ys1 = ys.start[yi + 1];
    for (let x = fp.x0; x < fp.x1; x++) {
      const xi = x - fp.x0;
      const xs0 = xs.start[xi];
      const xs1 = xs.start[xi + 1];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = ys0; j < ys1; j++) {
        const wy = ys.weight[j];
        const row = ys.offset[j];
        for (let i = xs0; i < xs1; i++) {
          const w = wy * xs.weight[i];
          const p = row + xs.offset[i];
          r += w * data[p];
          g += w * data[p + 1];
          b += w * data[p + 2];
        }
      }
      writePixel(out, y * W + x, plane, r, g, b, grey, swap, norm, offset);
    }
  }
}

/**
 * For outputs o0..o1−1 along one axis: the source lines (as byte offsets, `stride` apart) their
 * taps read and the summed bilinear weight of each, lines outside 0..n−1 left out (black).
 * Entries of output o are start[o − o0] … start[o − o0 + 1] − 1.
 */
function axisWeights(o0: number, o1: number, offsets: Float64Array, scale: number, shift: number, n: number, stride: number) {
  const taps = offsets.length;
  const count = Math.max(0, o1 - o0);
  const start = new Int32Array(count + 1);
  const offset = new Int32Array(count * taps * 2);
  const weight = new Float64Array(count * taps * 2);
  let k = 0;
  for (let o = 0; o < count; o++) {
    start[o] = k;
    const first = k;
    for (let t = 0; t < taps; t++) {
      const s = scale * (o0 + o + offsets[t]) + shift;
      if (s <= -1 || s >= n) continue; // the whole tap is off the image
      const l = Math.floor(s);
      const f = s - l;
      for (let e = 0; e < 2; e++) {
        const line = l + e;
        const w = e ? f : 1 - f;
        if (line < 0 || line >= n || w === 0) continue;
        let m = first;
        while (m < k && offset[m] !== line * stride) m++;
        if (m < k) weight[m] += w;
        else [offset[k], weight[k], k] = [line * stride, w, k + 1];
      }
    }
  }
  start[count] = k;
  return { start, offset, weight };
}

/** (i + 0.5) / taps − 0.5 for each tap i */
const ONE_TAP = new Float64Array([0]);
const TWO_TAPS = new Float64Array([-0.25, 0.25]);

/**
 * The output pixels whose taps can land inside the source: the bounding box of the source
 * rectangle (−1, w) × (−1, h) mapped back through the view, one pixel wider for the taps.
 */
function footprint(v: Affine, w: number, h: number, W: number, H: number): { x0: number; x1: number; y0: number; y1: number } {
  const det = v.a * v.d - v.b * v.c;
  if (!Number.isFinite(1 / det)) return { x0: 0, x1: W, y0: 0, y1: H };
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [sx, sy] of [[-1, -1], [w, -1], [-1, h], [w, h]]) {
    const dx = sx - v.tx;
    const dy = sy - v.ty;
    xs.push((v.d * dx - v.b * dy) / det);
    ys.push((-v.c * dx + v.a * dy) / det);
  }
  const clamp = (n: number, hi: number) => Math.min(hi, Math.max(0, n));
  return {
    x0: clamp(Math.floor(Math.min(...xs)) - 1, W),
    x1: clamp(Math.ceil(Math.max(...xs)) + 2, W),
    y0: clamp(Math.floor(Math.min(...ys)) - 1, H),
    y1: clamp(Math.ceil(Math.max(...ys)) + 2, H),
  };
}

/** The view followed by the map: output pixel → view's source → map's source. */
function compose(map: Affine, view: Affine): Affine {
  return {
    a: map.a * view.a + map.b * view.c,
    b: map.a * view.b + map.b * view.d,
    c: map.c * view.a + map.d * view.c,
    d: map.c * view.b + map.d * view.d,
    tx: map.a * view.tx + map.b * view.ty + map.tx,
    ty: map.c * view.tx + map.d * view.ty + map.ty,
  };
}

const halves = new WeakMap<Raster, Raster>();

/** The mip level for a view, and the view re-expressed in that level's pixels. */
function mipFor(img: Raster, view: Affine): { src: Raster; v: Affine; taps: number; f: number } {
  let shrink = Math.max(Math.hypot(view.a, view.c), Math.hypot(view.b, view.d));
  let src = img;
  let f = 1;
  while (shrink >= 2 && src.width >= 4 && src.height >= 4) {
    src = halfOf(src);
    f *= 2;
    shrink /= 2;
  }
  const v = { a: view.a / f, b: view.b / f, c: view.c / f, d: view.d / f, tx: (view.tx + 0.5) / f - 0.5, ty: (view.ty + 0.5) / f - 0.5 };
  return { src, v, taps: shrink > 1.2 ? 2 : 1, f };
}

/** 2×2 box average, cached per raster. */
function halfOf(img: Raster): Raster {
  const cached = halves.get(img);
  if (cached) return cached;
  const w = img.width >> 1;
  const h = img.height >> 1;
  const data = new Uint8Array(w * h * 3);
  const s = img.data;
  const row = img.width * 3;
  for (let y = 0; y < h; y++) {
    let p = 2 * y * row;
    let o = y * w * 3;
    for (let x = 0; x < w; x++, p += 6, o += 3) {
      data[o] = (s[p] + s[p + 3] + s[p + row] + s[p + row + 3] + 2) >> 2;
      data[o + 1] = (s[p + 1] + s[p + 4] + s[p + row + 1] + s[p + row + 4] + 2) >> 2;
      data[o + 2] = (s[p + 2] + s[p + 5] + s[p + row + 2] + s[p + row + 5] + 2) >> 2;
    }
  }
  const half = { data, width: w, height: h };
  halves.set(img, half);
  return half;
}

/**
 * A contrast-normalised copy of `img` (same geometry): CLAHE on the luminance, an 8×8 grid of
 * clip-limited histogram equalisations blended bilinearly between tile centres, each pixel's RGB
 * scaled by its luminance gain (hue kept). It lifts a face out of the dark or out of a side light's
 * shadow for a second detection attempt (detector.ts).
 */
export function normalisedContrast(img: Rgb, grid = 8, clipLimit = 2.5): Rgb {
  const { data, width: w, height: h } = img.stored;
  const n = w * h;
  const luma = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) luma[i] = (77 * data[p] + 150 * data[p + 1] + 29 * data[p + 2] + 128) >> 8;
  const tw = w / grid;
  const th = h / grid;
  // one 256-entry map per tile
  const luts = new Float32Array(grid * grid * 256);
  const hist = new Float64Array(256);
  for (let ty = 0; ty < grid; ty++) {
    for (let tx = 0; tx < grid; tx++) {
      hist.fill(0);
      const [x0, x1] = [Math.floor(tx * tw), Math.max(Math.floor(tx * tw) + 1, Math.floor((tx + 1) * tw))];
      const [y0, y1] = [Math.floor(ty * th), Math.max(Math.floor(ty * th) + 1, Math.floor((ty + 1) * th))];
      for (let y = y0; y < Math.min(y1, h); y++) for (let x = x0; x < Math.min(x1, w); x++) hist[luma[y * w + x]]++;
      const count = (Math.min(x1, w) - x0) * (Math.min(y1, h) - y0);
      const clip = Math.max(1, (clipLimit * count) / 256);
      let excess = 0;
      for (let v = 0; v < 256; v++) if (hist[v] > clip) [excess, hist[v]] = [excess + hist[v] - clip, clip];
      const lut = luts.subarray((ty * grid + tx) * 256, (ty * grid + tx + 1) * 256);
      let cdf = 0;
      for (let v = 0; v < 256; v++) {
        cdf += hist[v] + excess / 256;
        lut[v] = (255 * cdf) / Math.max(1, count);
      }
    }
  }
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const gy = Math.min(grid - 1, Math.max(0, (y + 0.5) / th - 0.5));
    const ty0 = Math.floor(gy);
    const ty1 = Math.min(grid - 1, ty0 + 1);
    const fy = gy - ty0;
    for (let x = 0; x < w; x++) {
      const gx = Math.min(grid - 1, Math.max(0, (x + 0.5) / tw - 0.5));
      const tx0 = Math.floor(gx);
      const tx1 = Math.min(grid - 1, tx0 + 1);
      const fx = gx - tx0;
      const i = y * w + x;
      const v = luma[i];
      const at = (tx: number, ty: number) => luts[(ty * grid + tx) * 256 + v];
      const mapped = (1 - fy) * ((1 - fx) * at(tx0, ty0) + fx * at(tx1, ty0)) + fy * ((1 - fx) * at(tx0, ty1) + fx * at(tx1, ty1));
      const gain = mapped / Math.max(v, 1);
      const p = 3 * i;
      out[p] = Math.min(255, data[p] * gain + 0.5);
      out[p + 1] = Math.min(255, data[p + 1] * gain + 0.5);
      out[p + 2] = Math.min(255, data[p + 2] * gain + 0.5);
    }
  }
  return { ...img, stored: { data: out, width: w, height: h } };
}

/** A projective map, 3×3 row-major: (x, y) → ((m0·x + m1·y + m2) / w, (m3·x + m4·y + m5) / w), w = m6·x + m7·y + m8. */
export type Projective = readonly [number, number, number, number, number, number, number, number, number];

/** a·b of two projective maps (b first, then a) */
export function composeProjective(a: Projective, b: Projective): Projective {
  const out = new Array<number>(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!;
  return out as unknown as Projective;
}

/** The projective map taking the four `from` points to the four `to` points (DLT, m8 = 1), or undefined if degenerate. */
export function projectiveFromPoints(from: ReadonlyArray<readonly [number, number]>, to: ReadonlyArray<readonly [number, number]>): Projective | undefined {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!;
    const [u, v] = to[i]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let best = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[best]![c]!)) best = r;
    if (Math.abs(A[best]![c]!) < 1e-12) return undefined;
    [A[c], A[best]] = [A[best]!, A[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 9; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  return [...A.map((row, i) => row[8]! / row[i]!), 1] as unknown as Projective;
}

/**
 * Luminance (0..255) of a W×H output whose pixel (x, y) reads the image point `map`(x, y) (upright
 * coordinates; pixel centres at integers), bilinear, from the mip level the map's scale at the
 * output's centre calls for (2×2 taps when it still shrinks by over 1.2×). For views no affine map
 * gives: a line of text under perspective, rectified.
 */
export function sampleGreyProjective(img: Rgb, map: Projective, W: number, H: number): Float32Array {
  const t = img.toStored;
  let m = composeProjective([t.a, t.b, t.tx, t.c, t.d, t.ty, 0, 0, 1], map);
  // local scale at the centre: the map's derivative there, as an affine view for mipFor
  const at = (x: number, y: number) => {
    const w = m[6] * x + m[7] * y + m[8];
    return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w] as const;
  };
  const [cx, cy] = at(W / 2, H / 2);
  const [ex, ey] = at(W / 2 + 1, H / 2);
  const [fx, fy] = at(W / 2, H / 2 + 1);
  const { src, taps, f } = mipFor(img.stored, { a: ex - cx, b: fx - cx, c: ey - cy, d: fy - cy, tx: 0, ty: 0 });
  if (f !== 1) m = composeProjective([1 / f, 0, 0.5 / f - 0.5, 0, 1 / f, 0.5 / f - 0.5, 0, 0, 1], m);
  const { data, width: iw, height: ih } = src;
  const offsets = taps === 1 ? ONE_TAP : TWO_TAPS;
  const norm = 1 / (taps * taps);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sum = 0;
      for (let j = 0; j < taps; j++) {
        const oy = y + offsets[j];
        for (let i = 0; i < taps; i++) {
          const ox = x + offsets[i];
          const w = m[6] * ox + m[7] * oy + m[8];
          const sx = (m[0] * ox + m[1] * oy + m[2]) / w;
          const sy = (m[3] * ox + m[4] * oy + m[5]) / w;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          if (x0 < 0 || y0 < 0 || x0 + 1 >= iw || y0 + 1 >= ih) continue; // outside: black
          const ax = sx - x0;
          const ay = sy - y0;
          const p00 = (y0 * iw + x0) * 3;
          const p01 = p00 + iw * 3;
          const l00 = 0.299 * data[p00] + 0.587 * data[p00 + 1] + 0.114 * data[p00 + 2];
          const l10 = 0.299 * data[p00 + 3] + 0.587 * data[p00 + 4] + 0.114 * data[p00 + 5];
          const l01 = 0.299 * data[p01] + 0.587 * data[p01 + 1] + 0.114 * data[p01 + 2];
          const l11 = 0.299 * data[p01 + 3] + 0.587 * data[p01 + 4] + 0.114 * data[p01 + 5];
          sum += (1 - ay) * ((1 - ax) * l00 + ax * l10) + ay * ((1 - ax) * l01 + ax * l11);
        }
      }
      out[y * W + x] = sum * norm;
    }
  }
  return out;
}

/**
 * Luminance (0..255) of `img` shrunk to gw×gh (each side no larger than the image's): each output
 * pixel the mean of the stored pixels whose centres fall in its footprint, one pass over the
 * source. For an upright raster (orientation 1); any other takes the general sampler. A tenth of
 * sampleTensor's time for a page's grey copy (its bilinear taps per channel are for model inputs).
 */
export function greyShrunk(img: Rgb, gw: number, gh: number): Float32Array {
  const t = img.toStored;
  const { data, width: W, height: H } = img.stored;
  if (!(t.a === 1 && t.b === 0 && t.c === 0 && t.d === 1 && t.tx === 0 && t.ty === 0) || gw > W || gh > H) {
    return sampleTensor(img, { a: img.width / gw, b: 0, c: 0, d: img.height / gh, tx: (0.5 * img.width) / gw - 0.5, ty: (0.5 * img.height) / gh - 0.5 }, { name: 'grey', width: gw, height: gh, layout: 'NCHW', colour: 'GREY', mean: 0, std: 1 });
  }
  const out = new Float32Array(gw * gh);
  const row = new Float32Array(gw);
  const counts = new Float32Array(gw);
  // source column x falls in output column colOf[x]
  const colOf = new Int32Array(W);
  for (let x = 0; x < W; x++) colOf[x] = Math.min(gw - 1, Math.floor(((x + 0.5) * gw) / W));
  for (let x = 0; x < W; x++) counts[colOf[x]!]!++;
  let y = 0;
  for (let gy = 0; gy < gh; gy++) {
    row.fill(0);
    let rows = 0;
    for (; y < H && Math.min(gh - 1, Math.floor(((y + 0.5) * gh) / H)) === gy; y++, rows++) {
      let p = y * W * 3;
      for (let x = 0; x < W; x++, p += 3) row[colOf[x]!] += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
    }
    const o = gy * gw;
    for (let gx = 0; gx < gw; gx++) out[o + gx] = row[gx]! / Math.max(1, counts[gx]! * rows);
  }
  return out;
}
