/**
 * EXIF orientation folded into the sampling views (providers/local/raster.ts) must read exactly
 * what a physically rotated image would: for each of the eight orientations, the same views of
 * our decode and of sharp's own auto-rotated pixels give the same tensors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TensorInput } from '../../providers/local/pack';
import { type Affine, decode, greyShrunk, oriented, projectiveFromPoints, type Rgb, rectView, sampleGreyProjective, sampleTensor, turned } from '../../providers/local/raster';
import { FACES } from './support';

const OPTS = { maxInputPixels: 4e7, maxSide: 1280 };
const RGB: TensorInput = { name: 'x', width: 96, height: 80, layout: 'NCHW', colour: 'RGB', mean: 127.5, std: 128 };
const GREY: TensorInput = { ...RGB, width: 64, height: 64, colour: 'GREY' };

/** Straight from the definition: taps × taps bilinear samples per pixel of the upright image, black outside (no mip: shrink < 2). */
function reference(img: Rgb, v: Affine, spec: TensorInput, taps: number): Float32Array {
  const { data, width: iw, height: ih } = img.stored;
  const px = (x: number, y: number, ch: number) => (x < 0 || y < 0 || x >= iw || y >= ih ? 0 : data[(y * iw + x) * 3 + ch]);
  const out = new Float32Array(spec.width * spec.height * 3);
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        for (let j = 0; j < taps; j++) {
          for (let i = 0; i < taps; i++) {
            const [ox, oy] = [x + (i + 0.5) / taps - 0.5, y + (j + 0.5) / taps - 0.5];
            const [ux, uy] = [v.a * ox + v.b * oy + v.tx, v.c * ox + v.d * oy + v.ty]; // upright
            const o = img.toStored;
            const [sx, sy] = [o.a * ux + o.b * uy + o.tx, o.c * ux + o.d * uy + o.ty];
            const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
            const [fx, fy] = [sx - x0, sy - y0];
            sum += (1 - fx) * (1 - fy) * px(x0, y0, ch) + fx * (1 - fy) * px(x0 + 1, y0, ch) + (1 - fx) * fy * px(x0, y0 + 1, ch) + fx * fy * px(x0 + 1, y0 + 1, ch);
          }
        }
        out[ch * spec.width * spec.height + y * spec.width + x] = sum / (taps * taps * spec.std) - spec.mean / spec.std;
      }
    }
  }
  return out;
}

describe('sampleTensor', () => {
  it('matches the definition for views mostly off the image, rotated, shrunk and enlarged', async () => {
    // a small phone-style file: stored sideways (EXIF orientation 6), so views also go through toStored
    const file = await sharp(readFileSync(join(FACES, 'deepface/img1.jpg'))).resize(160, 120, { fit: 'fill' }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const img = await decode(file, OPTS);
    const { width: w, height: h } = img;
    const [W, H] = [Math.round(1.3 * w), Math.round(1.3 * h)]; // shrinking 1.54×: 2×2 taps, no mip
    const cases: Array<{ view: Affine; W: number; H: number; aa: boolean }> = [
      { view: rectView(-w / 2, -h / 2, 2 * w, 2 * h, W, H), W, H, aa: true }, // padded canvas, as the detector sees it
      { view: rectView(-w / 2, -h / 2, 2 * w, 2 * h, W, H), W, H, aa: false },
      { view: rectView(w - 20, h - 20, 40, 40, 48, 48), W: 48, H: 48, aa: true }, // corner crop, enlarged, 3/4 off the image
      { view: { a: 0.6, b: -0.8, c: 0.8, d: 0.6, tx: w / 2, ty: -h / 4 }, W: 160, H: 120, aa: true }, // rotated 53°, partly off
      { view: { a: 0, b: 1, c: -1, d: 0, tx: 0, ty: h - 1 }, W: h, H: w, aa: false }, // a quarter turn, exactly covering
      { view: { a: 1e-12, b: 0, c: 0, d: 1, tx: 10, ty: 10 }, W: 8, H: 8, aa: false }, // nearly degenerate
      { view: rectView(w + 5, 0, 50, 50, 32, 32), W: 32, H: 32, aa: true }, // entirely off the image
    ];
    for (const { view, W: width, H: height, aa } of cases) {
      const spec = { ...RGB, width, height };
      const ours = sampleTensor(img, view, spec, aa);
      const want = reference(img, view, spec, aa && Math.max(Math.hypot(view.a, view.c), Math.hypot(view.b, view.d)) > 1.2 ? 2 : 1);
      expect(ours.length).toBe(want.length);
      expect(ours.reduce((worst, x, i) => Math.max(worst, Math.abs(x - want[i])), 0)).toBeLessThan(1e-5);
    }
  });
});

describe('projective sampling (MRZ strips)', () => {
  it('projectiveFromPoints takes each of the four points to its own', () => {
    const from = [[0, 0], [43, 0], [43, 1], [0, 1]] as const;
    const to = [[101.5, 210], [812, 180.25], [830, 260], [95, 300]] as const;
    const m = projectiveFromPoints(from, to)!;
    from.forEach(([x, y], i) => {
      const w = m[6] * x + m[7] * y + m[8];
      expect([(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w].map((v, k) => Math.abs(v - to[i]![k]!))).toEqual([expect.closeTo(0, 6), expect.closeTo(0, 6)]);
    });
    expect(projectiveFromPoints([[0, 0], [1, 0], [2, 0], [3, 0]], to)).toBeUndefined(); // collinear: no map
  });

  it('an affine map samples as sampleTensor does (through EXIF orientation), a projective one differs', async () => {
    const file = await sharp(readFileSync(join(FACES, 'deepface/img1.jpg'))).resize(160, 120, { fit: 'fill' }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const img = await decode(file, OPTS);
    const view = { a: 0.5, b: 0.1, c: -0.1, d: 0.5, tx: 20, ty: 30 }; // enlarging, turned a little, inside the image
    const ours = sampleGreyProjective(img, [view.a, view.b, view.tx, view.c, view.d, view.ty, 0, 0, 1], 64, 48);
    const want = sampleTensor(img, view, { ...GREY, width: 64, height: 48, mean: 0, std: 1 });
    expect(ours.reduce((worst, x, i) => Math.max(worst, Math.abs(x - want[i]!)), 0)).toBeLessThan(1e-3);
    const tilted = sampleGreyProjective(img, [view.a, view.b, view.tx, view.c, view.d, view.ty, 0.004, 0, 1], 64, 48);
    expect(tilted.reduce((worst, x, i) => Math.max(worst, Math.abs(x - want[i]!)), 0)).toBeGreaterThan(5);
  });

  it('greyShrunk is the mean luminance of each block', async () => {
    const file = await sharp(readFileSync(join(FACES, 'deepface/img1.jpg'))).resize(120, 90, { fit: 'fill' }).png().toBuffer();
    const img = await decode(file, OPTS);
    const grey = greyShrunk(img, 40, 30); // 3×3 blocks
    const { data } = img.stored;
    const lum = (x: number, y: number) => 0.299 * data[(y * 120 + x) * 3]! + 0.587 * data[(y * 120 + x) * 3 + 1]! + 0.114 * data[(y * 120 + x) * 3 + 2]!;
    let worst = 0;
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) {
        let sum = 0;
        for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) sum += lum(3 * x + i, 3 * y + j);
        worst = Math.max(worst, Math.abs(grey[y * 40 + x]! - sum / 9));
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });
});

describe('decode and EXIF orientation', () => {
  let upright: Buffer;
  beforeAll(async () => {
    // even dimensions, so the mip halving loses no edge row in either orientation
    upright = await sharp(readFileSync(join(FACES, 'deepface/img1.jpg'))).resize(480, 360, { fit: 'fill' }).jpeg({ quality: 95 }).toBuffer();
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i reads like the rotated pixels', async (orientation) => {
    // a file whose stored pixels need `orientation` to look like `upright`
    const stored = await sharp(upright).rotate(0).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
    const reference = await sharp(stored).rotate().raw().toBuffer({ resolveWithObject: true });
    const rotated = oriented({ data: new Uint8Array(reference.data), width: reference.info.width, height: reference.info.height }, 1);
    const ours = await decode(stored, OPTS);

    expect([ours.width, ours.height]).toEqual([rotated.width, rotated.height]);
    const views: Array<[Affine, TensorInput, boolean]> = [
      [rectView(0, 0, ours.width, ours.height, RGB.width, RGB.height), RGB, true], // whole image, shrunk (mip + taps)
      [rectView(-40, -30, 200, 200, GREY.width, GREY.height), GREY, true], // a crop over the border
      [rectView(100, 80, 60, 50, RGB.width, RGB.height), RGB, false], // enlarged, no anti-aliasing
      [{ a: 0.9, b: -0.4, c: 0.4, d: 0.9, tx: 150, ty: 40 }, RGB, true], // rotated, as alignment does
    ];
    for (const [view, spec, aa] of views) {
      const a = sampleTensor(ours, view, spec, aa);
      const b = sampleTensor(rotated, view, spec, aa);
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it.each([1, 2, 3] as const)('a view turned by %i quarter(s) reads like the image turned by sharp', async (quarters) => {
    const img = await decode(upright, OPTS);
    const { view: ours, toImage } = turned(img, quarters);
    const reference = await sharp(upright).rotate(90 * quarters).raw().toBuffer({ resolveWithObject: true });
    const theirs = oriented({ data: new Uint8Array(reference.data), width: reference.info.width, height: reference.info.height }, 1);
    expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
    for (const [view, spec, aa] of [
      [rectView(0, 0, ours.width, ours.height, RGB.width, RGB.height), RGB, true],
      [rectView(100, 80, 60, 50, RGB.width, RGB.height), RGB, false],
    ] as Array<[Affine, TensorInput, boolean]>) {
      const a = sampleTensor(ours, view, spec, aa);
      const b = sampleTensor(theirs, view, spec, aa);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-4);
    }
    // and the map back: the turned view's top-left pixel is the image's corner it came from
    const corner = [toImage.tx, toImage.ty];
    expect(corner).toEqual([[0, img.height - 1], [img.width - 1, img.height - 1], [img.width - 1, 0]][quarters - 1]);
  });

  it('keeps the scale of a shrunk photo and refuses bytes that are not an image', async () => {
    const big = await sharp(upright).resize(2560, 1920).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const img = await decode(big, OPTS);
    expect([img.width, img.height, img.scale]).toEqual([960, 1280, 0.5]);
    await expect(decode(Buffer.from('not an image'), OPTS)).rejects.toThrow(/cannot be decoded/);
  });

  it('decodes measured bytes (stored size and orientation told) the same without reading their header', async () => {
    const big = await sharp(upright).resize(2560, 1920).jpeg().toBuffer();
    const sideways = await sharp(upright).resize(2560, 1920).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    for (const [bytes, width, height, orientation] of [[upright, 480, 360, 1], [big, 2560, 1920, 1], [sideways, 2560, 1920, 6]] as const) {
      const read = await decode(bytes, OPTS);
      const told = await decode(bytes, OPTS, { width, height, orientation });
      expect([told.width, told.height, told.scale, told.toStored]).toEqual([read.width, read.height, read.scale, read.toStored]);
      expect(Buffer.compare(Buffer.from(told.stored.data), Buffer.from(read.stored.data))).toBe(0);
    }
    await expect(decode(Buffer.from('not an image'), OPTS, { width: 10, height: 10, orientation: 1 })).rejects.toThrow(/cannot be decoded/);
  });

  it('says in one line why a JPEG with corrupt scan data cannot be decoded (libvips repeats its errors)', async () => {
    const bytes = readFileSync(join(FACES, 'deepface/img1.jpg'));
    const scan = bytes.indexOf(Buffer.from([0xff, 0xda])); // start of scan
    bytes.fill(0, scan + 100, bytes.length - 2); // header and end-of-image marker intact
    const e = await decode(bytes, OPTS).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(e?.message).toMatch(/^image cannot be decoded: [^\n]+$/);
  });

  it('reads the header when told a size of 0×0 (unmeasured bytes) instead of scaling by 1/0', async () => {
    const big = await sharp(upright).resize(2560, 1920).jpeg().toBuffer();
    const img = await decode(big, OPTS, { width: 0, height: 0, orientation: 1 });
    expect([img.width, img.height, img.scale]).toEqual([1280, 960, 0.5]);
  });
});
