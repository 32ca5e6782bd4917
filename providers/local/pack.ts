/**
 * Model packs: a JSON manifest (models/<name>.json, or any operator path) naming each model's file,
 * sha256, input tensor (size, layout, colour order, normalisation) and output decoding.
 *
 * File references resolve as follows:
 *   'npm:<package>/<path>'  a file inside an installed npm package
 *   '/abs/path.onnx'        an operator path
 *   './x.onnx', '../x.onnx' relative to the manifest file
 *   'faceplugin/x.onnx'     relative to the model cache ($VERIGATE_MODEL_CACHE, default .cache/models)
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { MODELS_DIR, PROJECT_ROOT } from '../../src/paths';

export const DEFAULT_PACK = 'faceplugin';
export const DEFAULT_MODEL_CACHE = join(PROJECT_ROOT, '.cache', 'models');

const TensorInput = z.object({
  name: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  layout: z.literal('NCHW'),
  colour: z.enum(['RGB', 'BGR', 'GREY']),
  /** the model sees (pixel − mean) / std, pixel in 0..255 */
  mean: z.number(),
  std: z.number().positive(),
});
export type TensorInput = z.infer<typeof TensorInput>;

const ModelFile = { file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) };

const UltraFace = z.object({
  kind: z.literal('ultraface'),
  ...ModelFile,
  input: TensorInput,
  output: z.object({ scores: z.string(), boxes: z.string(), decoding: z.literal('corners-normalised') }),
  scoreThreshold: z.number().gt(0).lt(1),
  nmsIou: z.number().gt(0).lt(1),
  /** detect first on a copy with this border (fraction of the long side) on each side; fall back to the plain image */
  padFraction: z.number().min(0),
  /**
   * When the whole-image passes find no face, look again on a contrast-normalised copy (faces in
   * the dark, under extreme side light); the face is then analysed on that copy. Absent: no retry.
   */
  retryNormalised: z.boolean().optional(),
});

const YuNet = z.object({
  kind: z.literal('yunet'),
  ...ModelFile,
  input: TensorInput.extend({ width: z.number().int().multipleOf(32), height: z.number().int().multipleOf(32) }),
  output: z.object({ strides: z.array(z.number().int().positive()).min(1), decoding: z.literal('yunet-anchor-free') }),
  scoreThreshold: z.number().gt(0).lt(1),
  nmsIou: z.number().gt(0).lt(1),
  padFraction: z.number().min(0),
  retryNormalised: z.boolean().optional(),
});

const Landmarks68 = z.object({
  kind: z.literal('landmarks68'),
  ...ModelFile,
  input: TensorInput,
  output: z.object({ points: z.string(), decoding: z.literal('xy-normalised-to-crop') }),
  /** the second pass re-centres the crop on the first pass's points */
  passes: z.number().int().min(1).max(3),
  /**
   * What the model sees: 'square' (absent: square), a square of the box's long side; 'box', the
   * detector box itself stretched to the input. Measured on the hard conditions (bench/
   * hard-conditions.ts), 'box' loses on faces found in the dark (AUC 0.960 → 0.932) and at FMR 1e-3
   * on heavy JPEG (TAR 0.976 → 0.951), gaining only under side light (0.971 → 0.980).
   */
  crop: z.enum(['square', 'box']).optional(),
});

const Embedder = z.object({
  kind: z.literal('arcface112'),
  ...ModelFile,
  input: TensorInput,
  output: z.object({ embedding: z.string(), decoding: z.literal('l2-normalise') }),
  /**
   * An upright face's embedding is long, a turned one's short (the model never saw one). Under
   * this length (before normalising) the engine also tries the face turned by a quarter, a half
   * and three quarters, and keeps the longest whose box could be upright (engine.ts). Measured per
   * model; absent: no such search.
   */
  uprightNorm: z.number().positive().optional(),
});

const Liveness = z.object({
  kind: z.literal('minifasnet'),
  ...ModelFile,
  input: TensorInput,
  output: z.object({ logits: z.string(), decoding: z.literal('softmax'), liveClass: z.number().int().min(0) }),
  /** crop = face box scaled by this, shrunk to fit inside the image */
  cropScale: z.number().positive(),
  /**
   * A model the pack runs when its file is there and does without when it is not (a file outside
   * npm, e.g. ../shared/models): the liveness scores then use `calibration.livenessFallback`.
   */
  optional: z.boolean().optional(),
});

/**
 * When the liveness models cannot judge a face, the engine returns no liveness score and says why
 * (FACE_TOO_SMALL, BLURRY, INSUFFICIENT_CONTEXT): a thumbnail or a blurred copy looks like nothing
 * the models learnt, and they call it live. Measured per pack (liveness.ts).
 */
const LivenessJudgeable = z.object({
  /** eye distance in the analysed image's pixels */
  minEyeDistance: z.number().positive(),
  /** sharpness of the aligned face (quality.ts) */
  minSharpness: z.number().positive(),
  /** the largest crop around the box that fits in the image, in box sizes */
  minContext: z.number().positive(),
});

export const PackManifest = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string(),
  calibration: z.object({
    match: z.string().min(1),
    liveness: z.string().min(1),
    /** the liveness table when an optional liveness model is missing */
    livenessFallback: z.string().min(1).optional(),
  }),
  /** where the install script fetches the files (scripts/fetch-models.mjs); unused at run time */
  source: z.unknown().optional(),
  models: z.object({
    detector: z.discriminatedUnion('kind', [UltraFace, YuNet]),
    landmarks: Landmarks68,
    embedder: Embedder,
    liveness: z.array(Liveness).min(1),
  }),
  /**
   * How several liveness models combine: 'log-odds', the mean of their log-odds of 'live' (the
   * models' confidences add up); 'probability', the mean of their probabilities (absent = probability).
   */
  livenessCombine: z.enum(['probability', 'log-odds']).optional(),
  livenessJudgeable: LivenessJudgeable.optional(),
});
export type PackManifest = z.infer<typeof PackManifest>;
export type DetectorSpec = PackManifest['models']['detector'];
export type LandmarkSpec = PackManifest['models']['landmarks'];
export type EmbedderSpec = PackManifest['models']['embedder'];
export type LivenessSpec = PackManifest['models']['liveness'][number];
export type LivenessJudgeable = z.infer<typeof LivenessJudgeable>;

/** A manifest whose model files are resolved to absolute paths (not yet verified). */
export interface ModelPack {
  readonly manifest: PackManifest;
  readonly manifestPath: string;
  /** model file reference → absolute path */
  readonly files: ReadonlyMap<string, string>;
}

export interface PackOptions {
  /** pack name (models/<name>.json) or path to a manifest */
  pack?: string;
  modelCache?: string;
  /** drop the optional models even when their files are there */
  withoutOptional?: boolean;
}

export function manifestPathOf(pack = DEFAULT_PACK): string {
  if (pack.endsWith('.json') || pack.includes('/') || pack.includes('\\')) return resolve(pack);
  return join(MODELS_DIR, `${pack}.json`);
}

export function loadPack(opts: PackOptions = {}): ModelPack {
  const manifestPath = manifestPathOf(opts.pack);
  if (!existsSync(manifestPath)) {
    throw new Error(`model pack '${opts.pack ?? DEFAULT_PACK}': no manifest at ${manifestPath}`);
  }
  const parsed = PackManifest.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  if (!parsed.success) throw new Error(`model pack ${manifestPath}: ${z.prettifyError(parsed.error)}`);
  const cache = resolve(opts.modelCache ?? process.env.VERIGATE_MODEL_CACHE ?? DEFAULT_MODEL_CACHE);
  const where = (file: string) => resolveFile(file, dirname(manifestPath), cache);
  const manifest = withoutMissingOptional(parsed.data, (file) => !opts.withoutOptional && existsSync(where(file)), manifestPath);
  const files = new Map(allModels(manifest).map((m) => [m.file, where(m.file)]));
  return { manifest, manifestPath, files };
}

/** The manifest without the optional liveness models whose file is absent, on the fallback liveness table. */
function withoutMissingOptional(m: PackManifest, exists: (file: string) => boolean, path: string): PackManifest {
  const liveness = m.models.liveness.filter((l) => !l.optional || exists(l.file));
  if (liveness.length === m.models.liveness.length) return m;
  if (!m.calibration.livenessFallback || liveness.length === 0) {
    throw new Error(`model pack ${path}: an optional liveness model is missing and the pack has no calibration.livenessFallback or no other liveness model`);
  }
  return { ...m, calibration: { ...m.calibration, liveness: m.calibration.livenessFallback }, models: { ...m.models, liveness } };
}

export function allModels(m: PackManifest): Array<{ file: string; sha256: string }> {
  return [m.models.detector, m.models.landmarks, m.models.embedder, ...m.models.liveness];
}

function resolveFile(ref: string, manifestDir: string, cache: string): string {
  if (ref.startsWith('npm:')) return require.resolve(ref.slice(4), { paths: [PROJECT_ROOT] });
  if (isAbsolute(ref)) return ref;
  if (ref.startsWith('./') || ref.startsWith('../')) return resolve(manifestDir, ref);
  return join(cache, ref);
}

/** Reads a model file and checks its sha256; the error names the file and what to do. */
export function readVerified(pack: ModelPack, model: { file: string; sha256: string }): Buffer {
  const path = pack.files.get(model.file);
  if (!path || !existsSync(path)) {
    throw new Error(
      `model pack '${pack.manifest.name}': model file ${model.file} not found at ${path} ` +
        `(run \`npm install\` or \`node scripts/fetch-models.mjs\`, or set VERIGATE_MODEL_CACHE)`,
    );
  }
  const bytes = readFileSync(path);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== model.sha256) {
    throw new Error(
      `model pack '${pack.manifest.name}': sha256 mismatch for ${path}: expected ${model.sha256}, got ${actual}`,
    );
  }
  return bytes;
}

/** Short, stable model ids for the audit trail: file@sha256-prefix. */
export function modelIds(m: PackManifest): Record<string, string> {
  const id = (x: { file: string; sha256: string }) => `${x.file}@${x.sha256.slice(0, 12)}`;
  return {
    detector: id(m.models.detector),
    landmarks: id(m.models.landmarks),
    embedder: id(m.models.embedder),
    liveness: m.models.liveness.map(id).join('+'),
  };
}
