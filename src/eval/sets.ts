/** Labelled sets: pair files (`a<TAB>b<TAB>1|0`) and liveness files (`path<TAB>real|spoof`). */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PROJECT_ROOT } from '../paths';

export interface LabelledPair {
  a: string;
  b: string;
  same: boolean;
}

export interface LivenessSample {
  path: string;
  real: boolean;
}

/** The shared evaluation images: $VERIGATE_SHARED_DIR/faces, default ../shared/faces beside the project. */
export function sharedFacesDir(): string {
  return process.env.VERIGATE_SHARED_DIR
    ? resolve(process.env.VERIGATE_SHARED_DIR, 'faces')
    : resolve(PROJECT_ROOT, '../shared/faces');
}

function rows(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

/** Paths come back absolute (they are relative to the file in the file). */
export function readPairs(file: string): LabelledPair[] {
  const dir = dirname(resolve(file));
  return rows(file).map((r, i) => {
    if (r.length < 3 || !['0', '1'].includes(r[2])) throw new Error(`${file}: row ${i + 1} is not img_a<TAB>img_b<TAB>1|0`);
    return { a: resolve(dir, r[0]), b: resolve(dir, r[1]), same: r[2] === '1' };
  });
}

export function readLiveness(file: string): LivenessSample[] {
  const dir = dirname(resolve(file));
  return rows(file).map((r, i) => {
    if (r.length < 2 || !['real', 'spoof'].includes(r[1])) throw new Error(`${file}: row ${i + 1} is not path<TAB>real|spoof`);
    return { path: resolve(dir, r[0]), real: r[1] === 'real' };
  });
}
