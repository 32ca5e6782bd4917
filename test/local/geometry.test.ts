import { chooseFace } from '../../providers/local/engine';
import { nms, similarityInverse } from '../../providers/local/geometry';

describe('alignment geometry', () => {
  it('recovers the inverse of a known similarity transform (Umeyama)', () => {
    const [s, angle, tx, ty] = [1.7, 0.3, 12, -5];
    const fwd = ([x, y]: readonly [number, number]) =>
      [s * (Math.cos(angle) * x - Math.sin(angle) * y) + tx, s * (Math.sin(angle) * x + Math.cos(angle) * y) + ty] as const;
    const src = [[10, 20], [50, 22], [30, 40], [15, 60], [45, 61]] as const;
    const inv = similarityInverse(src, src.map(fwd));
    for (const p of src) {
      const [qx, qy] = fwd(p);
      expect(inv.a * qx + inv.b * qy + inv.tx).toBeCloseTo(p[0], 6);
      expect(inv.c * qx + inv.d * qy + inv.ty).toBeCloseTo(p[1], 6);
    }
  });

  it('suppresses overlapping boxes, keeping the higher score', () => {
    const kept = nms([
      { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.8 },
      { x1: 1, y1: 1, x2: 11, y2: 11, score: 0.9 },
      { x1: 50, y1: 50, x2: 60, y2: 60, score: 0.7 },
    ], 0.4);
    expect(kept.map((b) => b.score)).toEqual([0.9, 0.7]);
  });
});

describe('choosing the face', () => {
  const big = { x1: 0, y1: 0, x2: 100, y2: 100, score: 0.99 };
  const ghost = { x1: 300, y1: 0, x2: 340, y2: 40, score: 0.95 };
  const peer = { x1: 200, y1: 0, x2: 290, y2: 90, score: 0.99 };

  it('takes the largest face on a reference (ID page ghost image)', () => {
    expect(chooseFace([ghost, big], 'reference')).toBe(big);
    expect(chooseFace([peer, big], 'reference')).toBe(big);
  });

  it('accepts a probe with one dominant face and refuses comparable faces', () => {
    expect(chooseFace([ghost, big], 'probe')).toBe(big);
    expect(() => chooseFace([peer, big], 'probe')).toThrow(expect.objectContaining({ reason: 'MULTIPLE_FACES' }));
    expect(() => chooseFace([], 'probe')).toThrow(expect.objectContaining({ reason: 'NO_FACE' }));
  });
});
