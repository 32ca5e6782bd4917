/**
 * Hard capture conditions derived from the shared face images, in memory (never written): the
 * shared sets saturate (AUC 1.0), so recipes are compared on what poor captures do to them.
 * Every derivation is a fixed function of the image and its face box (the box the previous recipe
 * finds on the original), so both recipes see the same pixels.
 */
import sharp from 'sharp';

export interface FaceBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Source {
  bytes: Uint8Array;
  box: FaceBox;
  /** position in its set: picks the side of the light, the sign of a turn, the face size */
  index: number;
}

export const MATCH_CONDITIONS = ['original', 'tight', 'yaw-mirrored', 'yaw-tight', 'small', 'side-light-grey', 'dark', 'jpeg', 'blur', 'rotation'] as const;
export type MatchCondition = (typeof MATCH_CONDITIONS)[number];

export const LIVENESS_CONDITIONS = ['original', 'jpeg', 'side-light', 'thumbnail', 'blur', 'downscaled', 'tight'] as const;
export type LivenessCondition = (typeof LIVENESS_CONDITIONS)[number];
/** conditions where no face may be judged live: the models cannot see what they judge by */
export const MUST_REFUSE: readonly LivenessCondition[] = ['thumbnail', 'blur', 'downscaled'];

/** face widths of the 'small' condition, px (cycled over the images) */
export const SMALL_FACES = [32, 48, 64, 100] as const;

const jpeg = (img: ReturnType<typeof sharp>, quality = 90) => img.jpeg({ quality }).toBuffer();
const upright = async (bytes: Uint8Array) => {
  const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};
const fromRaw = (data: Uint8Array, width: number, height: number, channels: 1 | 3) => sharp(data, { raw: { width, height, channels } });

/** The face cut by the frame: the box itself, 6% inside on the left, right and top. */
async function tight(bytes: Uint8Array, box: FaceBox): Promise<Buffer> {
  const { width, height } = (await sharp(bytes).metadata()).autoOrient;
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  const left = Math.max(0, Math.round(box.x1 + 0.06 * w));
  const top = Math.max(0, Math.round(box.y1 + 0.06 * h));
  const right = Math.min(width, Math.round(box.x2 - 0.06 * w));
  const bottom = Math.min(height, Math.round(box.y2));
  return jpeg(sharp(bytes).rotate().extract({ left, top, width: right - left, height: bottom - top }));
}

/**
 * Light from one side only, in grey: brightness falls from 1 on the lit side of the face to 4%
 * on the other (a ramp over the face box, flat beyond it), with a gamma of 1.6 deepening the shadow.
 */
async function sideLight(bytes: Uint8Array, box: FaceBox, fromLeft: boolean, grey: boolean): Promise<Buffer> {
  const img = await upright(bytes);
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(img.width * img.height * channels);
  for (let x = 0; x < img.width; x++) {
    const t = Math.min(1, Math.max(0, (x - box.x1) / (box.x2 - box.x1)));
    const lit = fromLeft ? 1 - t : t;
    const gain = 0.04 + 0.96 * lit;
    for (let y = 0; y < img.height; y++) {
      const p = 3 * (y * img.width + x);
      const o = channels * (y * img.width + x);
      const px = (v: number) => Math.round(255 * ((gain * v) / 255) ** 1.6);
      if (grey) out[o] = px(0.299 * img.data[p] + 0.587 * img.data[p + 1] + 0.114 * img.data[p + 2]);
      else for (let c = 0; c < 3; c++) out[o + c] = px(img.data[p + c]);
    }
  }
  return jpeg(fromRaw(out, img.width, img.height, channels));
}

/** Underexposed: every pixel at 8% of its value, as a night shot without flash. */
async function dark(bytes: Uint8Array): Promise<Buffer> {
  const img = await upright(bytes);
  const out = Uint8Array.from(img.data, (v) => Math.round(v * 0.08));
  return jpeg(fromRaw(out, img.width, img.height, 3));
}

/** The face shrunk to `face` px wide, then scaled back up to the original size (the pixels are lost). */
async function small(bytes: Uint8Array, box: FaceBox, face: number): Promise<Buffer> {
  const { width, height } = (await sharp(bytes).metadata()).autoOrient;
  const k = Math.min(1, face / (box.x2 - box.x1));
  const shrunk = await sharp(bytes).rotate().resize(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k))).png().toBuffer();
  return jpeg(sharp(shrunk).resize(width, height, { fit: 'fill' }));
}

export async function deriveMatch(c: MatchCondition, s: Source): Promise<Uint8Array> {
  const faceW = s.box.x2 - s.box.x1;
  switch (c) {
    case 'original':
      return s.bytes;
    case 'tight':
      return tight(s.bytes, s.box);
    case 'yaw-mirrored':
      return jpeg(sharp(s.bytes).rotate().flop());
    case 'yaw-tight': {
      const mirrored = s.index % 2 === 1;
      const { width } = (await sharp(s.bytes).metadata()).autoOrient;
      const bytes = mirrored ? await jpeg(sharp(s.bytes).rotate().flop()) : s.bytes;
      const box = mirrored ? { ...s.box, x1: width - s.box.x2, x2: width - s.box.x1 } : s.box;
      return tight(bytes, box);
    }
    case 'small':
      return small(s.bytes, s.box, SMALL_FACES[s.index % SMALL_FACES.length]);
    case 'side-light-grey':
      return sideLight(s.bytes, s.box, s.index % 2 === 0, true);
    case 'dark':
      return dark(s.bytes);
    case 'jpeg':
      return jpeg(sharp(s.bytes).rotate(), 10);
    case 'blur':
      // as src/eval/degrade.ts blurs
      return jpeg(sharp(s.bytes).rotate().blur(Math.max(1.5, faceW / 40)));
    case 'rotation':
      return jpeg(sharp(s.bytes).rotate().rotate(s.index % 2 === 0 ? 25 : -25, { background: '#000' }));
  }
}

export async function deriveLiveness(c: LivenessCondition, s: Source): Promise<Uint8Array> {
  switch (c) {
    case 'original':
      return s.bytes;
    case 'jpeg':
      return jpeg(sharp(s.bytes).rotate(), 30);
    case 'side-light':
      return sideLight(s.bytes, s.box, s.index % 2 === 0, false);
    case 'thumbnail':
      return jpeg(sharp(s.bytes).rotate().resize({ width: 96 }));
    case 'blur':
      return jpeg(sharp(s.bytes).rotate().blur(12));
    case 'downscaled': {
      const { width } = (await sharp(s.bytes).metadata()).autoOrient;
      return jpeg(sharp(s.bytes).rotate().resize({ width: Math.round(width / 2) }));
    }
    case 'tight':
      return tight(s.bytes, s.box);
  }
}
