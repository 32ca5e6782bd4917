/**
 * 68-point landmarks from a grey crop around the detector box, not clipped to the image (outside
 * reads black); a second pass re-centres the crop on the first pass's points, which corrects
 * detector boxes that sit high or low on the face. The crop is the box itself stretched to the
 * model's input (`crop: 'box'`, as the model was trained: a square crop of a tight box round a
 * strongly turned face yields a frontal-looking spread of points) or a square of the box's long
 * side (`'square'`, the earlier recipe).
 */
import { type Box, type Point, boxHeight, boxWidth } from './geometry';
import type { LandmarkSpec } from './pack';
import { type Rgb, rectView, sampleTensor } from './raster';
import type { Model } from './runtime';

export type Landmarks68 = readonly Point[];

export interface LandmarkModel {
  locate(img: Rgb, box: Box): Promise<Landmarks68>;
}

export function createLandmarkModel(spec: LandmarkSpec, model: Model): LandmarkModel {
  const { input, output } = spec;
  const once = async (img: Rgb, cx: number, cy: number, w: number, h: number): Promise<Landmarks68> => {
    const [x, y] = [cx - w / 2, cy - h / 2];
    const tensor = sampleTensor(img, rectView(x, y, w, h, input.width, input.height), input);
    const xy = (await model.run(input.name, tensor, [1, 1, input.height, input.width]))[output.points];
    return Array.from({ length: xy.length / 2 }, (_, i) => [x + xy[2 * i] * w, y + xy[2 * i + 1] * h] as const);
  };
  return {
    async locate(img, box) {
      const side = Math.max(boxWidth(box), boxHeight(box));
      const [w, h] = spec.crop === 'box' ? [boxWidth(box), boxHeight(box)] : [side, side];
      let points = await once(img, (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, w, h);
      for (let pass = 1; pass < spec.passes; pass++) {
        const [cx, cy] = centreOf(points);
        points = await once(img, cx, cy, w, h);
      }
      return points;
    },
  };
}

/** Centre of the points' bounding box. */
function centreOf(points: Landmarks68): Point {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

const mean = (points: Landmarks68, idx: readonly number[]): Point => [
  idx.reduce((s, i) => s + points[i][0], 0) / idx.length,
  idx.reduce((s, i) => s + points[i][1], 0) / idx.length,
];

/** Eye centres, nose tip, mouth corners (image left to right), from the iBUG 68-point layout. */
export function fivePoints(p: Landmarks68): Point[] {
  return [
    mean(p, [36, 37, 38, 39, 40, 41]),
    mean(p, [42, 43, 44, 45, 46, 47]),
    p[30],
    mean(p, [48, 60]),
    mean(p, [54, 64]),
  ];
}
