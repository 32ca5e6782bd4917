/** Alignment onto the ArcFace 112×112 template and the face embedding. */
import { type Point, similarityInverse } from './geometry';
import type { EmbedderSpec } from './pack';
import { type Affine, type Rgb, sampleTensor } from './raster';
import type { Model } from './runtime';

/** Where ArcFace models expect eye centres, nose tip and mouth corners in a 112×112 crop. */
const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

export interface Embedder {
  /** the aligned face tensor (also used for the blur measure), and the map from its pixels to the image's */
  align(img: Rgb, five: readonly Point[]): { tensor: Float32Array; toImage: Affine };
  /** unit-length embedding, and the length of the model's output before it was normalised */
  embed(aligned: Float32Array): Promise<{ embedding: Float32Array; norm: number }>;
}

export function createEmbedder(spec: EmbedderSpec, model: Model): Embedder {
  const { input, output } = spec;
  const template = ARCFACE_112.map(([x, y]) => [(x * input.width) / 112, (y * input.height) / 112] as const);
  return {
    align(img, five) {
      const toImage = similarityInverse(five, template);
      return { tensor: sampleTensor(img, toImage, input), toImage };
    },
    async embed(aligned) {
      const v = (await model.run(input.name, aligned, [1, 3, input.height, input.width]))[output.embedding];
      const norm = Math.hypot(...v);
      return { embedding: v.map((x) => x / (norm || 1)), norm };
    },
  };
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot;
}
