/** The shared labelled photos (../shared/faces beside the project; VERIGATE_SHARED_DIR overrides). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import type { ImageInput } from '../../providers/types';
import { parseImageInput } from '../../src/images';
import { PROJECT_ROOT } from '../../src/paths';

export const SHARED_DIR = resolve(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'));
export const FACES_DIR = join(SHARED_DIR, 'faces');

export const faceBytes = (rel: string): Buffer => readFileSync(join(FACES_DIR, rel));
export const faceBase64 = (rel: string): string => faceBytes(rel).toString('base64');
export const faceDataUri = (rel: string): string =>
  `data:image/${rel.endsWith('.png') ? 'png' : 'jpeg'};base64,${faceBase64(rel)}`;

/** Labelled pairs of a pair file, paths relative to FACES_DIR. */
export function readPairs(file: string): Array<{ a: string; b: string; same: boolean }> {
  return readFileSync(join(FACES_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [a, b, same] = l.split('\t');
      return { a, b, same: same.trim() === '1' };
    });
}

/** Labelled images of a liveness file (`path<TAB>real|spoof`). */
export function readLabels(file: string): Array<{ path: string; real: boolean }> {
  return readFileSync(join(FACES_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [path, label] = l.split('\t');
      return { path, real: label.trim() === 'real' };
    });
}

/**
 * What a remote adapter owes a phone photo: it must send the pixels turned upright, since its API
 * may not honour EXIF. `scorer` goes to the provider's emulator and keeps what it received;
 * `tagged()` is a selfie stored sideways with EXIF orientation 6 (640×480 stored, 480×640 shown);
 * `expectSentUpright` checks the selfie arrived upright and the reference (orientation 1) unchanged.
 */
export function uprightDuty() {
  const received: Buffer[] = [];
  return {
    scorer: async (selfie: Buffer, document: Buffer) => (received.push(selfie, document), { similarity: 0.9, liveness: 0.9 }),
    async tagged(): Promise<ImageInput> {
      const image = await parseImageInput(faceBase64('silent-face/image_T1.jpg'), 'selfie');
      expect(image.orientation).toBe(6);
      return image;
    },
    async expectSentUpright(selfie: ImageInput, reference: ImageInput): Promise<void> {
      const sent = await sharp(received[0]).metadata();
      expect([sent.width, sent.height, sent.orientation ?? 1]).toEqual([selfie.width, selfie.height, 1]);
      expect(received[1].equals(reference.bytes)).toBe(true);
    },
  };
}
