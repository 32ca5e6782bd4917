/**
 * EXIF orientation folded into the sampling views (providers/local/raster.ts) must read exactly
 * what a physically rotated image would: for each of the eight orientations, the same views of
 * our decode and of sharp's own auto-rotated pixels give the same tensors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TensorInput } from '../../providers/local/pack';
import { type Affine, decode, oriented, rectView, sampleTensor } from '../../providers/local/raster';
import { FACES } from './support';

const OPTS = { maxInputPixels: 4e7, maxSide: 1280 };
const RGB: TensorInput = { name: 'x', width: 96, height: 80, layout: 'NCHW', colour: 'RGB', mean: 127.5, std: 128 };
const GREY: TensorInput = { ...RGB, width: 64, height: 64, colour: 'GREY' };

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

  it('keeps the scale of a shrunk photo and refuses bytes that are not an image', async () => {
    const big = await sharp(upright).resize(2560, 1920).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const img = await decode(big, OPTS);
    expect([img.width, img.height, img.scale]).toEqual([960, 1280, 0.5]);
    await expect(decode(Buffer.from('not an image'), OPTS)).rejects.toThrow(/cannot be decoded/);
  });
});
