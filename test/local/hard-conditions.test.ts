/**
 * The engine on hard copies of the shared images (issue 17): what it must refuse to judge, and
 * faces it must still find. Each of these failed on the recipe before (square landmark crops
 * aside, which did not change): thumbnails and blurred copies came back live, dark faces were missed.
 */
import sharp from 'sharp';
import { createLocalProvider } from '../../providers/local';
import type { CheckOutcome, Provider } from '../../providers/types';
import { ctx, face, image } from './support';

let provider: Provider;

beforeAll(async () => {
  provider = createLocalProvider({ workers: 2 });
  await provider.init!();
});

afterAll(() => provider.close!());

const SELFIES = ['silent-face/image_T1.jpg', 'silent-face/image_F1.jpg', 'silent-face/image_F2.jpg'] as const;

const liveness = async (bytes: Buffer): Promise<CheckOutcome> => provider.check({ probe: await image(bytes), match: false, liveness: true }, ctx());
const bytesOf = async (rel: string) => (await face(rel)).bytes;

/** What the bench derives (bench/conditions.ts): a thumbnail 96 px wide, a Gaussian blur of σ 12, a half-size copy. */
const COPIES: Record<string, (b: Buffer) => Promise<Buffer>> = {
  thumbnail: (b) => sharp(b).rotate().resize({ width: 96 }).jpeg({ quality: 90 }).toBuffer(),
  blurred: (b) => sharp(b).rotate().blur(12).jpeg({ quality: 90 }).toBuffer(),
  'half-size': async (b) => {
    const { width } = (await sharp(b).metadata()).autoOrient;
    return sharp(b).rotate().resize({ width: Math.round(width / 2) }).jpeg({ quality: 90 }).toBuffer();
  },
};

describe('local engine: liveness it cannot judge', () => {
  it('judges the real selfie live and both attacks not, as sent', async () => {
    const [real, ...attacks] = await Promise.all(SELFIES.map(async (f) => liveness(await bytesOf(f))));
    expect(real.liveness!.score).toBeGreaterThanOrEqual(0.5);
    for (const a of attacks) expect(a.liveness!.score).toBeLessThan(0.5);
  });

  it('gives no liveness score to a thumbnail of the real selfie, and says the face is too small', async () => {
    const out = await liveness(await COPIES.thumbnail(await bytesOf('silent-face/image_T1.jpg')));
    expect(out.liveness).toBeUndefined();
    expect(out.raw.liveness).toBeUndefined();
    expect(out.quality).toContain('FACE_TOO_SMALL');
  });

  it('gives no liveness score to a blurred copy of the real selfie, and says it is blurry', async () => {
    const out = await liveness(await COPIES.blurred(await bytesOf('silent-face/image_T1.jpg')));
    expect(out.liveness).toBeUndefined();
    expect(out.quality).toContain('BLURRY');
  });

  it('never judges a thumbnail, blurred or half-size copy of the real selfie or of an attack live', async () => {
    const outcomes = await Promise.all(
      SELFIES.flatMap((f) => Object.entries(COPIES).map(async ([kind, copy]) => ({ f, kind, out: await liveness(await copy(await bytesOf(f))) }))),
    );
    const REASONS = ['FACE_TOO_SMALL', 'BLURRY', 'INSUFFICIENT_CONTEXT'];
    for (const { f, kind, out } of outcomes) {
      // either refused, with its reasons, or scored as an attack
      const verdict = out.liveness === undefined ? (out.quality.some((q) => REASONS.includes(q)) ? 'refused' : 'refused without a reason') : out.liveness.score >= 0.5 ? 'live' : 'attack';
      expect([f, kind, verdict]).toEqual([f, kind, expect.stringMatching(/^(refused|attack)$/)]);
    }
    // and the real selfie's copies are all refused, not merely scored low
    expect(outcomes.filter((o) => o.f === 'silent-face/image_T1.jpg' && o.out.liveness !== undefined)).toEqual([]);
  });

  it('still scores the match of a thumbnail: only liveness is refused', async () => {
    const out = await provider.check(
      { probe: await image(await COPIES['half-size'](await bytesOf('deepface/img1.jpg'))), reference: await face('deepface/img2.jpg'), match: true, liveness: true },
      ctx(),
    );
    expect(out.match!.score).toBeGreaterThan(0.5);
  });

  it('names the two-model ensemble and its liveness table', async () => {
    const out = await liveness(await bytesOf('silent-face/image_T1.jpg'));
    expect(out.liveness!.calibration).toBe('local/faceplugin-liveness-v2');
    expect((out.raw.models as Record<string, string>).liveness).toMatch(/^faceplugin\/fr_liveness\.onnx@\w+\+.*4_0_0_80x80_MiniFASNetV1SE\.onnx@\w+$/);
  });
});

describe('local engine: faces in the dark', () => {
  /** every pixel at 8% of its value, as bench/conditions.ts darkens */
  const darkened = async (rel: string) => {
    const { data, info } = await sharp(await bytesOf(rel)).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return sharp(Uint8Array.from(data, (v) => Math.round(v * 0.08)), { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  };

  it('finds the face in an underexposed photo, and scores the same person well above another', async () => {
    // the recipe before missed this face (NO_FACE): only the contrast-normalised pass finds it
    const probe = await image(await darkened('deepface/img5.jpg'));
    const [same, other] = await Promise.all(
      ['deepface/img1.jpg', 'deepface/img20.jpg'].map(async (r) => provider.check({ probe, reference: await face(r), match: true, liveness: false }, ctx())),
    );
    expect((same.raw.probe as { timingsMs: Record<string, number> }).timingsMs).toHaveProperty('normalise');
    expect(same.match!.score - other.match!.score).toBeGreaterThan(0.2);
  });
});
