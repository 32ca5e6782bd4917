/**
 * The face engine for one image, as named ordered stages:
 *   decode → detect → [search] → choose → landmarks → align → embed → [turn], with liveness and
 *   quality beside them (the bracketed stages run only for the images that need them).
 * Coarse to fine: the working image is shrunk within `maxSide` (a JPEG by libjpeg's DCT scaling
 * alone, to between half of it and it: raster.ts), which keeps every common photo cheap;
 * when that leaves the face fewer pixels than the embedder reads, or finds no face at all (an ID
 * card on a scanned page, a document photographed from afar), `search` decodes again at twice the
 * resolution and, if no face is known yet, looks for it tile by tile (detector.ts). Only such
 * images pay for it.
 * Upright: a photo scanned or taken sideways or upside down carries no EXIF orientation to say
 * so, and a turned face still gets detected and embedded, as garbage (cosine ≈ 0 with the same
 * person: a confident false reject). The embedder, trained on upright faces, gives a turned face
 * a short embedding: when it is shorter than the pack's `uprightNorm` (or no face was found, or
 * its box is landscape), `turn` tries the image turned by one, two and three quarters and keeps
 * the longest embedding among the faces whose box could be upright (see `portrait`).
 * A liveness-only analysis embeds the face for this test alone (the embedding is not returned;
 * ~8 ms): liveness_labels_nvlong21 turned by a quarter, a half and three quarters lost 23 of 75
 * faces and passed 18 of 40 real ones without it; with it none is lost and 27 of 40 pass, as upright.
 * Measured for fr_feature over the 86 shared pair images and 3 degraded variants of each: the
 * upright face had the longest embedding in all 344; upright lengths 2.48–4.98, turned ≤ 3.12;
 * under 3.0 (the default pack's setting), 6.4% of upright images pay the search (~45–65 ms) and
 * 1 of 785 turned faces escapes it. Pair evaluations, plain and degraded, are unchanged.
 * It runs inside a worker thread (worker.ts); the provider compares the embeddings.
 */
import type { ReasonCode } from '../types';
import { readMrz, type MrzRead } from './document/mrz';
import { loadLineModel, type LineModel } from './document/recognise';
import { type Detector, createDetector } from './detector';
import { type Embedder, cosine, createEmbedder } from './embedder';
import { type Box, boxArea, boxHeight, boxSide, boxWidth, scaleBox } from './geometry';
import { prepareModel } from './graph';
import { type LandmarkModel, createLandmarkModel, fivePoints } from './landmarks';
import { type LivenessModel, contextOf, createLiveness, unjudgeable } from './liveness';
import { type ModelPack, modelIds, readVerified } from './pack';
import { findings, measure, type QualityMeasures } from './quality';
import { type Affine, BadImageError, type DecodeOptions, type Rgb, type StoredHeader, decode, normalisedContrast, oriented, turned } from './raster';
import { type Model, expectNames, openModel } from './runtime';

export const STAGES = ['decode', 'detect', 'search', 'normalise', 'choose', 'landmarks', 'align', 'embed', 'turn', 'liveness', 'quality', 'mrz'] as const;
export type StageName = (typeof STAGES)[number];
type Stage = <T>(name: StageName, run: () => T | Promise<T>) => Promise<T>;

/** probe: the live capture, must hold one dominant face; reference: the document, largest face wins */
export type Role = 'probe' | 'reference';

export interface AnalyseRequest {
  role: Role;
  embed: boolean;
  liveness: boolean;
  /** the bytes' stored size and EXIF orientation, read at the edge: the decode need not read their header first */
  header?: StoredHeader;
  /** read the image's MRZ too (a document page), on the same decode; `expired` as of this time (epoch ms) */
  mrz?: { now: number };
}

/** A document page read for its MRZ alone (no face analysed). */
export interface DocumentRequest {
  header?: StoredHeader;
  now: number;
}

export interface DocumentReport {
  mrz: MrzRead;
  timings: { decode: number; mrz: number };
}

export interface FaceReport {
  /** in original-image pixels */
  box: { x1: number; y1: number; x2: number; y2: number; score: number };
  facesFound: number;
  /** degrees clockwise the image was turned to find the face upright (0, 90, 180, 270) */
  turned: number;
  embedding?: Float32Array;
  /** absent when not asked for, or when the models cannot judge the face (the reasons are in `quality`) */
  liveness?: number;
  quality: ReasonCode[];
  measures: QualityMeasures;
  /** the MRZ, when asked for (AnalyseRequest.mrz) */
  mrz?: MrzRead;
  /** milliseconds per stage */
  timings: Partial<Record<StageName, number>>;
  /** CPU milliseconds per stage (the process's, so only meaningful where nothing else runs): with `EngineOptions.cpuTimings` */
  cpu?: Partial<Record<StageName, number>>;
}

/** The image's own fault: no face, several faces on a probe, undecodable bytes. */
export class FaceError extends Error {
  constructor(
    readonly reason: Extract<ReasonCode, 'NO_FACE' | 'MULTIPLE_FACES' | 'BAD_IMAGE'>,
    message: string,
  ) {
    super(message);
  }
}

export interface EngineOptions {
  /** ORT intra-op threads per session */
  threads: number;
  decode?: Partial<DecodeOptions>;
  /** also measure each stage's CPU time (bench/cost.ts runs the engine alone on one thread for its stage split) */
  cpuTimings?: boolean;
}

export interface Engine {
  readonly models: Record<string, string>;
  analyse(bytes: Uint8Array, req: AnalyseRequest): Promise<FaceReport>;
  /** the MRZ of a document page whose face is not analysed (its decode at the OCR's resolution) */
  readDocument(bytes: Uint8Array, req: DocumentRequest): Promise<DocumentReport>;
}

const DECODE_DEFAULTS: DecodeOptions = { maxInputPixels: 40_000_000, maxSide: 1280, dctShrink: true };
/** a page read for its MRZ alone is decoded this large (as providers/local/document's own reader) */
const DOCUMENT_SIDE = 2400;
/** the search's resolution, in working resolutions (2: a 12 Mpx photo is searched at 2560×1920) */
const FINE_FACTOR = 2;
/** on a probe, a second face at least this fraction of the largest's area makes the capture ambiguous */
const COMPARABLE_FACE_AREA = 0.3;

export async function createEngine(pack: ModelPack, opts: EngineOptions): Promise<Engine> {
  const m = pack.manifest.models;
  const open = async (spec: { file: string; sha256: string }, input: string, outputs: string[]): Promise<Model> => {
    // verified bytes as published, then the load-time rewrites (graph.ts): same function, faster kernels
    const model = await openModel(prepareModel(readVerified(pack, spec)).bytes, spec.file, { threads: opts.threads });
    expectNames(model, spec.file, input, outputs);
    return model;
  };
  const detectorOutputs =
    m.detector.kind === 'ultraface'
      ? [m.detector.output.scores, m.detector.output.boxes]
      : m.detector.output.strides.flatMap((s) => [`cls_${s}`, `obj_${s}`, `bbox_${s}`]);
  const detector = createDetector(m.detector, await open(m.detector, m.detector.input.name, detectorOutputs));
  const landmarks = createLandmarkModel(m.landmarks, await open(m.landmarks, m.landmarks.input.name, [m.landmarks.output.points]));
  const embedder = createEmbedder(m.embedder, await open(m.embedder, m.embedder.input.name, [m.embedder.output.embedding]));
  const liveness = createLiveness(
    await Promise.all(
      m.liveness.map(async (spec) => ({ spec, model: await open(spec, spec.input.name, [spec.output.logits]) })),
    ),
    pack.manifest.livenessCombine,
  );
  const judgeable = pack.manifest.livenessJudgeable;
  const decodeOpts = { ...DECODE_DEFAULTS, ...opts.decode };
  const emb = m.embedder.input;
  // the OCR model loads on the first document, once per worker (a worker that never reads one never pays for it)
  let lineModel: Promise<LineModel> | undefined;
  const ocr = () => (lineModel ??= loadLineModel({ threads: opts.threads }).catch((e: unknown) => {
    lineModel = undefined;
    throw e;
  }));

  async function analyse(bytes: Uint8Array, req: AnalyseRequest): Promise<FaceReport> {
    const timings: FaceReport['timings'] = {};
    const cpu: FaceReport['timings'] | undefined = opts.cpuTimings ? {} : undefined;
    const stage: Stage = async (name, run) => {
      const t0 = performance.now();
      const c0 = cpu && process.cpuUsage();
      const result = await run();
      timings[name] = performance.now() - t0;
      if (cpu && c0) {
        const c = process.cpuUsage(c0);
        cpu[name] = (c.user + c.system) / 1000;
      }
      return result;
    };

    const decodeAt = (maxSide: number) =>
      // a page whose MRZ is read from this decode keeps the resolution the OCR was measured at
      decode(bytes, { ...decodeOpts, maxSide, dctShrink: decodeOpts.dctShrink && !req.mrz }, req.header).catch((e: unknown) => {
        throw e instanceof BadImageError ? new FaceError('BAD_IMAGE', e.message) : e;
      });
    let img = await stage('decode', () => decodeAt(decodeOpts.maxSide));
    let boxes = await stage('detect', () => detector.detect(img));
    const largest = Math.max(...boxes.map(boxSide)); // −Infinity when none
    if (boxes.length === 0 || (img.scale < 1 && largest < emb.width)) {
      const coarse = img;
      ({ img, boxes } = await stage('search', async () => {
        const fine = coarse.scale < 1 ? await decodeAt(FINE_FACTOR * decodeOpts.maxSide) : coarse;
        const found = boxes.length > 0 ? boxes.map((b) => scaleBox(b, fine.scale / coarse.scale)) : await detector.detectTiled(fine);
        return { img: fine, boxes: found };
      }));
    }
    // the MRZ on this decode (the finer one when the face search made it)
    const mrz = req.mrz ? await stage('mrz', async () => readMrz(img, await ocr(), { now: new Date(req.mrz!.now) })) : undefined;
    if (boxes.length === 0 && m.detector.retryNormalised) {
      // faces in the dark or in a side light's shadow: the same passes on a contrast-normalised
      // copy, which the face is then analysed on (the models were not trained on such darkness)
      const dark = img;
      ({ img, boxes } = await stage('normalise', async () => {
        const lifted = normalisedContrast(dark);
        return { img: lifted, boxes: await detector.detect(lifted) };
      }));
    }
    // the face, as found in the image; then, if its embedding is short for an upright face, its
    // box is landscape, or there was none: as found in the image turned by each quarter.
    // A liveness-only analysis embeds too when the pack can tell upright (uprightNorm), only to
    // judge the turn: the liveness models read a turned face as a spoof.
    const uprightNorm = m.embedder.uprightNorm;
    const embeds = req.embed || uprightNorm !== undefined;
    let found = boxes.length > 0 ? await faceIn(img, boxes, embeds, req.role, stage) : undefined;
    let turn: { quarters: 1 | 2 | 3; toImage: Affine } | undefined;
    const length = (f?: { norm?: number }) => f?.norm ?? 0;
    // the likelier upright face: a box that could be upright first, then the longer embedding
    const better = (a: NonNullable<typeof found>, b: typeof found) => !b || (portrait(a) !== portrait(b) ? portrait(a) : length(a) > length(b));
    if (uprightNorm !== undefined && (length(found) < uprightNorm || !portrait(found))) {
      await stage('turn', async () => {
        for (const quarters of [1, 2, 3] as const) {
          const { view, toImage } = turned(img, quarters);
          const candidate = await faceIn(view, await detector.detect(view), embeds, req.role).catch((e: unknown) => {
            if (e instanceof FaceError) return undefined; // none, or several on a probe: not this way up
            throw e;
          });
          if (candidate && better(candidate, found)) [found, turn] = [candidate, { quarters, toImage }];
        }
      });
    }
    if (!found) throw new FaceError('NO_FACE', `no face found in the ${req.role} image`);
    const { view, face, five, aligned, embedding } = found;
    const measures = await stage('quality', () => measure(five, aligned, emb, view, contextOf(view, face)));
    // a face the liveness models cannot judge gets no score, only the reasons why
    const refused = req.liveness && judgeable ? unjudgeable(judgeable, measures) : [];
    const live = req.liveness && refused.length === 0 ? await stage('liveness', () => liveness.score(view, face)) : undefined;
    const box = turn ? boxThrough(turn.toImage, face) : face;
    const s = 1 / img.scale;
    return {
      box: { x1: box.x1 * s, y1: box.y1 * s, x2: box.x2 * s, y2: box.y2 * s, score: face.score },
      facesFound: found.facesFound,
      turned: turn ? 90 * turn.quarters : 0,
      embedding: req.embed ? embedding : undefined,
      liveness: live,
      quality: [...new Set([...findings(measures), ...refused])],
      measures,
      ...(mrz ? { mrz } : {}),
      timings,
      cpu,
    };
  }

  async function readDocument(bytes: Uint8Array, req: DocumentRequest): Promise<DocumentReport> {
    const t0 = performance.now();
    const img = await decode(bytes, { ...decodeOpts, maxSide: Math.max(decodeOpts.maxSide, DOCUMENT_SIDE), dctShrink: false }, req.header).catch((e: unknown) => {
      throw e instanceof BadImageError ? new FaceError('BAD_IMAGE', e.message) : e;
    });
    const t1 = performance.now();
    const mrz = await readMrz(img, await ocr(), { now: new Date(req.now) });
    return { mrz, timings: { decode: t1 - t0, mrz: performance.now() - t1 } };
  }

  /** choose → landmarks → align → embed on one view of the image; stages timed when `stage` is given */
  async function faceIn(view: Rgb, boxes: Box[], embed: boolean, role: Role, stage: Stage = async (_, run) => run()) {
    const face = await stage('choose', () => chooseFace(boxes, role));
    const five = fivePoints(await stage('landmarks', () => landmarks.locate(view, face)));
    const aligned = await stage('align', () => embedder.align(view, five));
    const embedded = embed ? await stage('embed', () => embedder.embed(aligned.tensor)) : undefined;
    return { view, face, five, aligned, facesFound: boxes.length, embedding: embedded?.embedding, norm: embedded?.norm };
  }

  await warmUp({ detector, landmarks, embedder, liveness });
  return { models: modelIds(pack.manifest), analyse, readDocument };
}

export function chooseFace(boxes: readonly Box[], role: Role): Box {
  if (boxes.length === 0) throw new FaceError('NO_FACE', `no face found in the ${role} image`);
  const [largest, second] = [...boxes].sort((a, b) => boxArea(b) - boxArea(a));
  if (role === 'probe' && second && boxArea(second) >= COMPARABLE_FACE_AREA * boxArea(largest)) {
    throw new FaceError('MULTIPLE_FACES', `the probe image holds ${boxes.length} comparable faces; it must hold one`);
  }
  return largest;
}

/**
 * Whether a face's detector box could be an upright face's: not clearly wider than tall. Over the
 * 124 shared images at four quarter turns and two JPEG qualities, upright views' boxes measured
 * w/h 0.56–1.09; a sideways face's box is often landscape (up to 2.10). It settles what the
 * embedding length cannot: a selfie (silent-face/image_T1) whose sideways views embed longer
 * (3.15) than its upright one (3.00), with boxes of w/h 1.49.
 */
const UPRIGHT_MAX_ASPECT = 1.25;
const portrait = (f?: { face: Box }) => f !== undefined && boxWidth(f.face) <= UPRIGHT_MAX_ASPECT * boxHeight(f.face);

/** The box around `b`'s corners mapped through `map` (exact for quarter turns). */
function boxThrough(map: Affine, b: Box): Box {
  const xs = [b.x1, b.x2].flatMap((x) => [b.y1, b.y2].map((y) => map.a * x + map.b * y + map.tx));
  const ys = [b.x1, b.x2].flatMap((x) => [b.y1, b.y2].map((y) => map.c * x + map.d * y + map.ty));
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys), score: b.score };
}

/** One pass through every model on a grey frame, so the first request does not pay for lazy initialisation. */
async function warmUp(parts: {
  detector: Detector;
  landmarks: LandmarkModel;
  embedder: Embedder;
  liveness: LivenessModel;
}): Promise<void> {
  const img = oriented({ data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 }, 1);
  const box = { x1: 110, y1: 60, x2: 210, y2: 180, score: 1 };
  await parts.detector.detect(img);
  const five = fivePoints(await parts.landmarks.locate(img, box));
  await parts.embedder.embed(parts.embedder.align(img, five).tensor);
  await parts.liveness.score(img, box);
}

export { cosine };
