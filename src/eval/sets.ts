/**
 * Labelled sets: pair files (`a<TAB>b<TAB>1|0`), deepface's own pair lists (`.csv` with a
 * `file_x,file_y,Decision|decision` header, as serengil/deepface ships them beside its photos) and
 * liveness files (`path<TAB>real|spoof`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
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

/**
 * The tab-separated rows of a labelled file, numbered, without comments (`#`), blank lines or a
 * UTF-8 byte order mark (`trim` takes it). A first row whose label column (`labelAt`) holds none
 * of `labels` is a header (`img_a  img_b  same`) and is left out; any later one is an error.
 */
function rows(file: string, labelAt: number, labels: readonly string[]): Array<{ row: string[]; n: number }> {
  const all = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l, i) => ({ row: l.split('\t'), n: i + 1 }));
  return all.length > 0 && !labels.includes(all[0].row[labelAt] ?? '') ? all.slice(1) : all;
}

/** `path`, which row `n` of `file` names: a missing image stops the run before anything is scored. */
function image(file: string, n: number, path: string): string {
  if (!existsSync(path)) throw new Error(`${file}: row ${n}: no such image ${path}`);
  return path;
}

/** Paths come back absolute (they are relative to the file in the file). */
export function readPairs(file: string): LabelledPair[] {
  const dir = dirname(resolve(file));
  if (file.endsWith('.csv')) return readDeepfaceCsv(file, dir);
  const pairs = rows(file, 2, ['0', '1']).map(({ row: r, n }) => {
    if (r.length < 3 || !['0', '1'].includes(r[2])) throw new Error(`${file}: row ${n} is not img_a<TAB>img_b<TAB>1|0`);
    return { a: image(file, n, resolve(dir, r[0])), b: image(file, n, resolve(dir, r[1])), same: r[2] === '1' };
  });
  if (pairs.length === 0) throw new Error(`${file}: no rows img_a<TAB>img_b<TAB>1|0`);
  return pairs;
}

export function readLiveness(file: string): LivenessSample[] {
  const dir = dirname(resolve(file));
  const samples = rows(file, 1, ['real', 'spoof']).map(({ row: r, n }) => {
    if (r.length < 2 || !['real', 'spoof'].includes(r[1])) throw new Error(`${file}: row ${n} is not path<TAB>real|spoof`);
    return { path: image(file, n, resolve(dir, r[0])), real: r[1] === 'real' };
  });
  if (samples.length === 0) throw new Error(`${file}: no rows path<TAB>real|spoof`);
  return samples;
}

/**
 * deepface's CSV pair lists (tests/dataset/master.csv, face-recognition-pivot.csv): the photos sit
 * beside the CSV, whatever folder the CSV's paths name; Decision Yes = same person.
 */
function readDeepfaceCsv(file: string, dir: string): LabelledPair[] {
  const [header, ...lines] = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const cols = header.split(',').map((c) => c.trim().toLowerCase());
  const [x, y, d] = ['file_x', 'file_y', 'decision'].map((c) => cols.indexOf(c));
  if (x < 0 || y < 0 || d < 0) throw new Error(`${file}: not a deepface pair list (file_x,file_y,decision)`);
  return lines.map((l, i) => {
    const r = l.split(',');
    if (!['Yes', 'No'].includes(r[d])) throw new Error(`${file}: row ${i + 2}: decision is not Yes|No`);
    return { a: resolve(dir, basename(r[x])), b: resolve(dir, basename(r[y])), same: r[d] === 'Yes' };
  });
}
