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

/** A labelled file's row format: how many fields, which of them is the label, and what it may hold. */
interface RowFormat {
  fields: number;
  labels: readonly string[];
  /** for messages: `img_a<TAB>img_b<TAB>1|0` */
  shape: string;
}
const PAIR_ROW: RowFormat = { fields: 3, labels: ['0', '1'], shape: 'img_a<TAB>img_b<TAB>1|0' };
const LIVENESS_ROW: RowFormat = { fields: 2, labels: ['real', 'spoof'], shape: 'path<TAB>real|spoof' };

/**
 * The rows of a labelled file, checked against `format`, with the image paths resolved against the
 * file's folder and checked to exist: a bad row or a missing image stops the run before anything
 * is scored. Comments (`#`), blank lines and a UTF-8 byte order mark (`trim` takes it) are
 * skipped, and so is a first row whose label is not one (a header: `img_a  img_b  same`).
 */
function rows(file: string, format: RowFormat): Array<{ paths: string[]; label: string }> {
  const dir = dirname(resolve(file));
  const all = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
  const labelAt = format.fields - 1;
  const data = all.length > 0 && !format.labels.includes(all[0][labelAt] ?? '') ? all.slice(1) : all;
  if (data.length === 0) throw new Error(`${file}: no rows ${format.shape}`);
  const n0 = all.length - data.length + 1;
  return data.map((r, i) => {
    if (r.length < format.fields || !format.labels.includes(r[labelAt])) throw new Error(`${file}: row ${n0 + i} is not ${format.shape}`);
    const paths = r.slice(0, labelAt).map((p) => resolve(dir, p));
    for (const path of paths) if (!existsSync(path)) throw new Error(`${file}: row ${n0 + i}: no such image ${path}`);
    return { paths, label: r[labelAt] };
  });
}

/** Paths come back absolute (they are relative to the file in the file). */
export function readPairs(file: string): LabelledPair[] {
  if (file.endsWith('.csv')) return readDeepfaceCsv(file, dirname(resolve(file)));
  return rows(file, PAIR_ROW).map(({ paths: [a, b], label }) => ({ a, b, same: label === '1' }));
}

export function readLiveness(file: string): LivenessSample[] {
  return rows(file, LIVENESS_ROW).map(({ paths: [path], label }) => ({ path, real: label === 'real' }));
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
