/** Boxes, non-maximum suppression and the similarity transform used for alignment. */
import type { Affine } from './raster';

export type Point = readonly [number, number];

export interface Box {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly score: number;
}

export const boxWidth = (b: Box) => b.x2 - b.x1;
export const boxHeight = (b: Box) => b.y2 - b.y1;
export const boxArea = (b: Box) => Math.max(0, boxWidth(b)) * Math.max(0, boxHeight(b));
/** the longer side */
export const boxSide = (b: Box) => Math.max(boxWidth(b), boxHeight(b));
export const scaleBox = (b: Box, k: number): Box => ({ x1: b.x1 * k, y1: b.y1 * k, x2: b.x2 * k, y2: b.y2 * k, score: b.score });

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/** Greedy NMS, highest score first. */
export function nms(boxes: Box[], maxIou: number): Box[] {
  const kept: Box[] = [];
  for (const b of [...boxes].sort((p, q) => q.score - p.score)) {
    if (kept.every((k) => iou(k, b) <= maxIou)) kept.push(b);
  }
  return kept;
}

/**
 * Least-squares similarity transform (rotation, uniform scale, translation) taking `src` points
 * onto `dst` points (Umeyama 1991, 2-D closed form), returned as the inverse map dst → src, which
 * is what sampling needs.
 */
export function similarityInverse(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  const mean = (pts: readonly Point[]) => pts.reduce<[number, number]>((m, p) => [m[0] + p[0] / n, m[1] + p[1] / n], [0, 0]);
  const [sx, sy] = mean(src);
  const [dx, dy] = mean(dst);
  // src → dst: [a −b; b a]·(p − ms) + md ; solve a, b in closed form
  let num1 = 0;
  let num2 = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - sx;
    const py = src[i][1] - sy;
    const qx = dst[i][0] - dx;
    const qy = dst[i][1] - dy;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
    den += px * px + py * py;
  }
  const a = num1 / den;
  const b = num2 / den;
  // inverse: p = [a b; −b a]/(a²+b²)·(q − md) + ms
  const k = 1 / (a * a + b * b);
  const ia = a * k;
  const ib = b * k;
  return { a: ia, b: ib, c: -ib, d: ia, tx: sx - (ia * dx + ib * dy), ty: sy - (-ib * dx + ia * dy) };
}
