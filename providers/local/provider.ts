/**
 * The `local` provider: the ONNX face engine behind the Provider port. Probe and reference are
 * analysed in parallel on the worker pool; the embeddings are compared here (cosine).
 */
import { availableParallelism } from 'node:os';
import {
  type CallContext,
  type Capability,
  type CheckOutcome,
  type CheckRequest,
  type ImageInput,
  type Provider,
  ProviderError,
  type ReasonCode,
  swapsSides,
} from '../types';
import type { MrzRead } from './document/mrz';
import { type AnalyseRequest, cosine, type DocumentReport, type DocumentRequest, type FaceReport } from './engine';
import { loadPack } from './pack';
import { AnalyseFailure, WorkerPool, type JobShare } from './pool';
import type { StoredHeader } from './raster';

export interface LocalProviderOptions {
  /** pack name (models/<name>.json) or manifest path; default $VERIGATE_MODEL_PACK or 'faceplugin' */
  pack?: string;
  /** worker threads; default one per core */
  workers?: number;
  /** model cache root; default $VERIGATE_MODEL_CACHE or <project>/.cache/models */
  modelCache?: string;
  /** ORT intra-op threads per session (default 1) */
  threads?: number;
  /** run the pack without its optional models, as where their files are absent (calibrating the fallback) */
  withoutOptional?: boolean;
}

export interface LocalEngine {
  init(): Promise<void>;
  analyse(bytes: Uint8Array, req: AnalyseRequest, signal?: AbortSignal, share?: JobShare): Promise<FaceReport>;
  readDocument(bytes: Uint8Array, req: DocumentRequest, signal?: AbortSignal, share?: JobShare): Promise<DocumentReport>;
  close(): Promise<void>;
  readonly pool: WorkerPool;
  readonly calibration: { match: string; liveness: string };
  readonly packName: string;
}

/** The engine on its worker pool, without the provider wrapping (used by eval and the benchmark). */
export function createLocalEngine(opts: LocalProviderOptions = {}): LocalEngine {
  const packRef = opts.pack ?? process.env.VERIGATE_MODEL_PACK;
  const pack = loadPack({ pack: packRef, modelCache: opts.modelCache, withoutOptional: opts.withoutOptional }); // fails fast on a bad manifest
  const pool = new WorkerPool(opts.workers ?? availableParallelism(), {
    pack: pack.manifestPath,
    modelCache: opts.modelCache,
    threads: opts.threads ?? 1,
    withoutOptional: opts.withoutOptional,
  });
  return {
    pool,
    calibration: pack.manifest.calibration,
    packName: pack.manifest.name,
    init: () => pool.start(),
    analyse: (bytes, req, signal, share) => pool.analyse(bytes, req, signal, share),
    readDocument: (bytes, req, signal, share) => pool.readDocument(bytes, req, signal, share),
    close: () => pool.close(),
  };
}

const CAPABILITIES: ReadonlySet<Capability> = new Set(['face-match', 'liveness', 'quality', 'document']);

/** The size as stored: an orientation that turns the image a quarter swaps its displayed sides. */
function storedHeader({ width, height, orientation }: ImageInput): StoredHeader {
  return swapsSides(orientation) ? { width: height, height: width, orientation } : { width, height, orientation };
}

export function createLocalProvider(opts: LocalProviderOptions = {}): Provider {
  const engine = createLocalEngine(opts);
  let ready = false;

  // validated images come measured (ImageInput): the worker skips its own header read, and
  // applies the orientation as it samples the pixels (no upright re-encode)
  // each tenant's jobs queue apart and are served fairly by decode cost (pool.ts)
  const shareOf = (image: ImageInput, ctx: CallContext) => ({ tenant: ctx.tenantId ?? '', cost: image.decodedBytes, began: ctx.began });
  const analyse = async (image: ImageInput, role: 'probe' | 'reference', req: AnalyseRequest, ctx: CallContext) => {
    try {
      return await engine.analyse(image.bytes, { ...req, header: storedHeader(image) }, ctx.signal, shareOf(image, ctx));
    } catch (e) {
      throw classify(e, role, ctx);
    }
  };
  const readDocument = async (image: ImageInput, ctx: CallContext, now: number): Promise<DocumentReport> => {
    try {
      return await engine.readDocument(image.bytes, { header: storedHeader(image), now }, ctx.signal, shareOf(image, ctx));
    } catch (e) {
      throw classify(e, 'reference', ctx);
    }
  };

  return {
    name: 'local',
    capabilities: CAPABILITIES,
    calibration: engine.calibration,
    queues: true,
    async init() {
      await engine.init();
      ready = true;
    },
    async check(req: CheckRequest, ctx: CallContext): Promise<CheckOutcome> {
      if (!ready) throw new ProviderError('local', 'Unavailable', 'PROVIDER_UNAVAILABLE', 'local face engine is not initialised');
      const { probe, reference } = req;
      const page = req.document ? (req.page ?? reference) : undefined;
      // a call for the document alone analyses no face; any other analyses the probe (a quality-only call too)
      const faces = !(req.document && !req.match && !req.liveness);
      if ((faces && !probe) || (req.match && !reference) || (req.document && !page)) {
        throw new ProviderError('local', 'BadInput', 'BAD_IMAGE', req.document && !page ? 'reading a document needs its image' : req.match ? 'face match needs a probe and a reference image' : 'liveness needs a probe image');
      }
      const now = Date.now();
      // the page's MRZ is read on the reference's decode when the page is the reference; else apart
      const mrzOnReference = Boolean(page && req.match && page === reference);
      const [p, r, d] = await Promise.all([
        faces && probe ? analyse(probe, 'probe', { role: 'probe', embed: req.match, liveness: req.liveness }, ctx) : undefined,
        req.match && reference ? analyse(reference, 'reference', { role: 'reference', embed: true, liveness: false, ...(mrzOnReference ? { mrz: { now } } : {}) }, ctx) : undefined,
        page && !mrzOnReference ? readDocument(page, ctx, now) : undefined,
      ]);
      const score = p?.embedding && r?.embedding ? cosine(p.embedding, r.embedding) : undefined;
      const document: MrzRead | undefined = r?.mrz ?? d?.mrz;
      return {
        match: score === undefined ? undefined : { score, scale: 'cosine', calibration: engine.calibration.match },
        liveness: p?.liveness === undefined ? undefined : { score: p.liveness, scale: 'unit', calibration: engine.calibration.liveness },
        ...(document ? { document } : {}),
        quality: [...new Set<ReasonCode>([...(p?.quality ?? []), ...(r?.quality ?? [])])],
        raw: {
          cosine: score,
          liveness: p?.liveness,
          pack: engine.packName,
          models: engine.pool.models,
          probe: p && auditOf(p),
          reference: r && auditOf(r),
          // whether an MRZ was found and valid, and how long reading took: never its content
          ...(document ? { mrz: { found: document.found, valid: document.found && document.document.mrzValid, ms: Number((r?.timings.mrz ?? d?.timings.mrz ?? 0).toFixed(1)) } } : {}),
        },
      };
    },
    async health() {
      const alive = engine.pool.alive;
      if (!ready) return { ok: false, detail: 'models loading' };
      return { ok: alive > 0, detail: `${alive} workers, ${engine.pool.busy} requests in flight or queued` };
    },
    async close() {
      ready = false;
      await engine.close();
    },
  };
}

/** What the audit trail keeps of one image's analysis: numbers only, never pixels or embeddings. */
function auditOf(r: FaceReport) {
  const round = (v: number) => Math.round(v * 10) / 10;
  const { x1, y1, x2, y2, score } = r.box;
  return {
    box: [round(x1), round(y1), round(x2), round(y2)],
    detectorScore: Number(score.toFixed(3)),
    facesFound: r.facesFound,
    turned: r.turned,
    quality: r.quality,
    measures: Object.fromEntries(Object.entries(r.measures).map(([k, v]) => [k, Number(v.toFixed(2))])),
    timingsMs: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Number(v.toFixed(1))])),
  };
}

function classify(e: unknown, role: 'probe' | 'reference', ctx: CallContext): ProviderError {
  if (e instanceof ProviderError) return e;
  if (ctx.signal.aborted) {
    const reason = ctx.signal.reason;
    return reason instanceof ProviderError ? reason : new ProviderError('local', 'Transient', 'TIMEOUT', 'local check aborted', {}, { cause: e });
  }
  if (e instanceof AnalyseFailure && e.reason) {
    return new ProviderError('local', 'BadInput', e.reason, `${role}: ${e.message}`, { image: role });
  }
  return new ProviderError('local', 'Transient', 'PROVIDER_ERROR', `local face engine failed: ${(e as Error).message}`, {}, { cause: e });
}
