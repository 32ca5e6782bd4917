/** The shared labelled photos (../shared/faces beside the project; VERIGATE_SHARED_DIR overrides). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
