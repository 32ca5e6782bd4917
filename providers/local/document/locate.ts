/**
 * Finding the MRZ on a page: dark blobs of character size (local-mean threshold, connected
 * components), chained left to right into text lines at a regular pitch, then two or three
 * parallel lines of equal extent stacked at the MRZ's line spacing. No model: the MRZ is the one
 * block of long, evenly spaced, same-size character rows on an identity document.
 *
 * All coordinates are in the grey image given (the caller's working scale).
 */
import { MRZ_SHAPES, type MrzFormat } from './icao';

export interface Grey {
  /** luminance 0..255, row-major */
  readonly data: Float32Array | Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** One MRZ line: centres of its first and last character, its pitch and its character height. */
export interface MrzLine {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** character height (capital letters and digits) */
  height: number;
  /** centre-to-centre distance of neighbouring characters */
  pitch: number;
  /** characters counted from first to last centre (span / pitch + 1) */
  count: number;
}

export interface MrzCandidate {
  format: MrzFormat;
  lines: MrzLine[];
}

interface Blob {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  cx: number;
  cy: number;
  h: number;
  w: number;
}

/**
 * The MRZ candidates of a page, most plausible first (the caller reads them in turn until one
 * parses): groups of 3 lines of ~30 characters (TD1) or 2 of ~36 (TD2) or ~44 (TD3).
 */
export function locateMrz(img: Grey, opts: { glare?: boolean } = {}): MrzCandidate[] {
  const blobs = characterBlobs(img, opts.glare ?? false);
  const lines = textLines(blobs);
  return stacks(lines);
}

/**
 * Dark components of character size: ink is ≥ 10% darker than its neighbourhood's mean. `glare`:
 * ink is over twice as far from white as its neighbourhood's mean (and 3 levels below it). A
 * highlight blends the page towards white, v' = v + a·(255 − v), which scales every distance from
 * white by the same 1 − a: the ratio test holds under it where the 10% test loses the ink.
 */
function characterBlobs(img: Grey, glare: boolean): Blob[] {
  const { width: W, height: H, data } = img;
  // integral image of luminance for the local mean
  const integral = new Float64Array((W + 1) * (H + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      row += data[y * W + x]!;
      integral[(y + 1) * (W + 1) + x + 1] = integral[y * (W + 1) + x + 1]! + row;
    }
  }
  const r = Math.max(7, Math.round(Math.min(W, H) / 40));
  const ink = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const ya = Math.max(0, y - r);
    const yb = Math.min(H, y + r + 1);
    for (let x = 0; x < W; x++) {
      const xa = Math.max(0, x - r);
      const xb = Math.min(W, x + r + 1);
      const sum = integral[yb * (W + 1) + xb]! - integral[ya * (W + 1) + xb]! - integral[yb * (W + 1) + xa]! + integral[ya * (W + 1) + xa]!;
      const mean = sum / ((yb - ya) * (xb - xa));
      const v = data[y * W + x]!;
      ink[y * W + x] = (glare ? 255 - v > 2 * (255 - mean) && v < mean - 3 : v < mean * 0.9 && v < mean - 6) ? 1 : 0;
    }
  }
  return components(ink, W, H);
}

/** 8-connected components of `ink` (union-find over one pass), as boxes. */
function components(ink: Uint8Array, W: number, H: number): Blob[] {
  const label = new Int32Array(W * H).fill(-1);
  const parent: number[] = [];
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!ink[i]) continue;
      let l = -1;
      const neighbours = [x > 0 ? i - 1 : -1, y > 0 && x > 0 ? i - W - 1 : -1, y > 0 ? i - W : -1, y > 0 && x + 1 < W ? i - W + 1 : -1];
      for (const n of neighbours) {
        if (n < 0 || label[n]! < 0) continue;
        if (l < 0) l = label[n]!;
        else union(l, label[n]!);
      }
      if (l < 0) {
        l = parent.length;
        parent.push(l);
      }
      label[i] = l;
    }
  }
  const boxes = new Map<number, { x0: number; x1: number; y0: number; y1: number; n: number }>();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const l = label[y * W + x]!;
      if (l < 0) continue;
      const root = find(l);
      const b = boxes.get(root);
      if (!b) boxes.set(root, { x0: x, x1: x, y0: y, y1: y, n: 1 });
      else {
        if (x < b.x0) b.x0 = x;
        if (x > b.x1) b.x1 = x;
        if (y > b.y1) b.y1 = y;
        b.n++;
      }
    }
  }
  const maxH = H / 6;
  const out: Blob[] = [];
  for (const b of boxes.values()) {
    const w = b.x1 - b.x0 + 1;
    const h = b.y1 - b.y0 + 1;
    // character-sized: not a speck, not a photo or a frame; OCR-B glyphs are taller than wide ('<' is about square)
    if (h < 5 || h > maxH || w > 1.6 * h || b.n < 8) continue;
    out.push({ x0: b.x0, x1: b.x1, y0: b.y0, y1: b.y1, cx: (b.x0 + b.x1) / 2, cy: (b.y0 + b.y1) / 2, h, w });
  }
  return out;
}

/**
 * Chains each blob to its nearest right-hand neighbour of similar height on the same row, then
 * turns each long chain into a line: a least-squares centre line, the typical character height
 * and pitch.
 */
function textLines(blobs: Blob[]): MrzLine[] {
  const order = blobs.map((_, i) => i).sort((a, b) => blobs[a]!.cx - blobs[b]!.cx);
  const next = new Int32Array(blobs.length).fill(-1);
  const hasPrev = new Uint8Array(blobs.length);
  for (let k = 0; k < order.length; k++) {
    const a = blobs[order[k]!]!;
    let best = -1;
    let bestDx = Infinity;
    for (let m = k + 1; m < order.length; m++) {
      const b = blobs[order[m]!]!;
      const dx = b.cx - a.cx;
      const size = Math.max(a.h, b.h);
      if (dx > 2.4 * size) break;
      if (dx < 0.45 * Math.min(a.h, b.h)) continue;
      // '<' is shorter than a capital: heights may differ up to 2.2×; centres stay on one row
      if (Math.abs(b.cy - a.cy) > 0.3 * size || Math.max(a.h, b.h) > 2.2 * Math.min(a.h, b.h)) continue;
      if (dx < bestDx && !hasPrev[order[m]!]) {
        best = order[m]!;
        bestDx = dx;
      }
    }
    if (best >= 0) {
      next[order[k]!] = best;
      hasPrev[best] = 1;
    }
  }
  const lines: MrzLine[] = [];
  for (let start = 0; start < blobs.length; start++) {
    if (hasPrev[start]) continue;
    const chain: Blob[] = [];
    for (let i = start; i >= 0; i = next[i]!) chain.push(blobs[i]!);
    if (chain.length < 12) continue;
    const line = fitLine(chain);
    if (line) lines.push(line);
  }
  return mergeCollinear(lines);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function fitLine(chain: Blob[]): MrzLine | undefined {
  // the capitals' height: the upper part of the heights ('<' and a few thin glyphs are lower)
  const heights = chain.map((b) => b.h).sort((a, b) => a - b);
  const height = heights[Math.floor(heights.length * 0.75)]!;
  const gaps = chain.slice(1).map((b, i) => Math.hypot(b.cx - chain[i]!.cx, b.cy - chain[i]!.cy));
  const pitch = median(gaps);
  // a regular row: most gaps within 25% of the pitch (prose has word gaps and varied widths)
  const regular = gaps.filter((g) => Math.abs(g - pitch) < 0.25 * pitch).length / gaps.length;
  if (regular < 0.7 || pitch > 1.6 * height || pitch < 0.6 * height) return undefined;
  const n = chain.length;
  const mx = chain.reduce((s, b) => s + b.cx, 0) / n;
  const my = chain.reduce((s, b) => s + b.cy, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const b of chain) {
    sxx += (b.cx - mx) ** 2;
    sxy += (b.cx - mx) * (b.cy - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const first = chain[0]!;
  const last = chain[n - 1]!;
  const at = (x: number) => my + slope * (x - mx);
  const span = Math.hypot(last.cx - first.cx, at(last.cx) - at(first.cx));
  return { x0: first.cx, y0: at(first.cx), x1: last.cx, y1: at(last.cx), height, pitch, count: Math.round(span / pitch) + 1 };
}

/** Joins pieces of one row split by a gap (glare, a fold): same row, same pitch, gap under 10 pitches. */
function mergeCollinear(lines: MrzLine[]): MrzLine[] {
  const sorted = [...lines].sort((a, b) => a.x0 - b.x0);
  const out: MrzLine[] = [];
  for (const l of sorted) {
    const host = out.find((o) => {
      if (l.x0 <= o.x1) return false;
      const slope = (o.y1 - o.y0) / Math.max(1, o.x1 - o.x0);
      const predicted = o.y1 + slope * (l.x0 - o.x1);
      return Math.abs(predicted - l.y0) < 0.35 * o.height && Math.abs(l.pitch - o.pitch) < 0.15 * o.pitch && l.x0 - o.x1 < 10 * o.pitch;
    });
    if (!host) {
      out.push({ ...l });
      continue;
    }
    const span = Math.hypot(l.x1 - host.x0, l.y1 - host.y0);
    host.x1 = l.x1;
    host.y1 = l.y1;
    host.count = Math.round(span / host.pitch) + 1;
  }
  return out;
}

/**
 * Stacks of 2 or 3 lines: parallel, the same extent within two pitches, one line spacing apart
 * (Doc 9303: 6 lines per inch for characters 10 per inch, so spacing ≈ 1.67 pitches), with a
 * character count near the format's line length. Best first: the nearest counts, then the lowest.
 */
function stacks(lines: MrzLine[]): MrzCandidate[] {
  const sorted = [...lines].sort((a, b) => (a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2);
  const found: Array<MrzCandidate & { error: number; bottom: number }> = [];
  const fits = (a: MrzLine, b: MrzLine) => {
    const spacing = (b.y0 + b.y1) / 2 - (a.y0 + a.y1) / 2;
    const pitch = (a.pitch + b.pitch) / 2;
    return (
      spacing > 1.1 * pitch &&
      spacing < 3.2 * pitch &&
      Math.abs(a.pitch - b.pitch) < 0.15 * pitch &&
      Math.abs(a.x0 - b.x0) < 2.5 * pitch &&
      Math.abs(a.x1 - b.x1) < 2.5 * pitch
    );
  };
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i]!;
      const b = sorted[j]!;
      if (!fits(a, b)) continue;
      for (const format of ['TD2', 'TD3'] as const) {
        const error = Math.abs(a.count - MRZ_SHAPES[format].length) + Math.abs(b.count - MRZ_SHAPES[format].length);
        if (error <= 6) found.push({ format, lines: [a, b], error, bottom: b.y0 });
      }
      for (let k = j + 1; k < sorted.length; k++) {
        const c = sorted[k]!;
        if (!fits(b, c)) continue;
        const error = [a, b, c].reduce((s, l) => s + Math.abs(l.count - MRZ_SHAPES.TD1.length), 0);
        if (error <= 9) found.push({ format: 'TD1', lines: [a, b, c], error: error / 1.5, bottom: c.y0 });
      }
    }
  }
  found.sort((p, q) => p.error - q.error || q.bottom - p.bottom);
  return found.map(({ format, lines: ls }) => ({ format, lines: ls }));
}

