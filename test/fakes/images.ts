/**
 * Real face photographs from ../shared/faces as validated `ImageInput`s (what src/images hands
 * a provider), for provider tests and emulator development. Sizes are read from the JPEG/PNG
 * headers directly so the kit has no dependency on the image pipeline.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageInput } from '../../providers/types';
import { PROJECT_ROOT } from '../../src/paths';

/** ../shared/faces beside the project (VERIGATE_SHARED_DIR or VERIGATE_FACES_DIR override) */
export const FACES_DIR =
  process.env.VERIGATE_FACES_DIR ?? join(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');

/** Well-known images of ageitgey/face_recognition (see ../shared/faces/README.md). */
export const FACES = {
  obama: 'face_recognition/tests/test_images/obama.jpg',
  obama2: 'face_recognition/tests/test_images/obama2.jpg',
  biden: 'face_recognition/tests/test_images/biden.jpg',
  twoPeople: 'face_recognition/examples/two_people.jpg',
  alexPng: 'face_recognition/examples/alex-lacamoire.png',
} as const;

export function imageFromBytes(bytes: Buffer): ImageInput {
  const { format, width, height } = sniff(bytes);
  return { bytes, format, width, height, orientation: 1, sha256: createHash('sha256').update(bytes).digest('hex'), decodedBytes: width * height * 3 };
}

export function loadFace(rel: string): ImageInput {
  return imageFromBytes(readFileSync(join(FACES_DIR, rel)));
}

export function isJpeg(b: Buffer): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

export function isPng(b: Buffer): boolean {
  return b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

/** Format and pixel size from the file header; throws on anything that is not a JPEG or PNG. */
export function sniff(b: Buffer): { format: 'jpeg' | 'png'; width: number; height: number } {
  if (isPng(b)) return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (isJpeg(b)) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) {
        i++;
        continue;
      }
      const marker = b[i + 1];
      if (marker === 0xff) {
        i++;
        continue;
      }
      const len = b.readUInt16BE(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: 'jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
    throw new Error('JPEG without a frame header');
  }
  throw new Error('not a JPEG or PNG image');
}
