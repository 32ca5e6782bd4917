/**
 * Degraded variants of an image, made in memory (never written): the face downscaled to 40–60 px,
 * blurred, recompressed at JPEG quality 30, or tightly cropped. They widen the score distributions
 * the way poor captures do, so calibration and accuracy are not measured on easy images only.
 */
import sharp from 'sharp';

export const DEGRADATIONS = ['small', 'blur', 'jpeg30', 'tight'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

export interface FaceBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** face widths of the 'small' variants, px */
export const DEGRADED_SIZES = [40, 50, 60] as const;

/** `variant` (0, 1, 2…) picks the face size of a 'small' variant among DEGRADED_SIZES. */
export async function degrade(bytes: Uint8Array, face: FaceBox, kind: Degradation, variant: number): Promise<Buffer> {
  const img = sharp(bytes).rotate();
  const { width, height } = (await sharp(bytes).metadata()).autoOrient;
  const faceW = face.x2 - face.x1;
  switch (kind) {
    case 'small': {
      const target = DEGRADED_SIZES[variant % DEGRADED_SIZES.length];
      const k = Math.min(1, target / faceW);
      return img.resize(Math.max(1, Math.round(width * k)), Math.max(1, Math.round(height * k))).jpeg({ quality: 90 }).toBuffer();
    }
    case 'blur':
      return img.blur(Math.max(1.5, faceW / 40)).jpeg({ quality: 90 }).toBuffer();
    case 'jpeg30':
      return img.jpeg({ quality: 30 }).toBuffer();
    case 'tight': {
      const m = 0.05 * faceW;
      const left = Math.max(0, Math.floor(face.x1 - m));
      const top = Math.max(0, Math.floor(face.y1 - m));
      const right = Math.min(width, Math.ceil(face.x2 + m));
      const bottom = Math.min(height, Math.ceil(face.y2 + m));
      return img.extract({ left, top, width: right - left, height: bottom - top }).jpeg({ quality: 90 }).toBuffer();
    }
  }
}
