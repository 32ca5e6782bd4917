/**
 * AWS Rekognition adapter (@aws-sdk/client-rekognition).
 *
 * Config: `{ region?, qualityFilter?, detectFaces?, timeoutMs?, endpoint?, credentials?, maxAttempts?,
 * quality?, livenessSession?, client? }` (see `RekognitionConfig`). The deadline of a call is the
 * provider caller's (src/verification/call.ts, default `timeoutMs`): it aborts `ctx.signal`. Region and credentials come from
 * the standard AWS chain unless given; the endpoint from `endpoint`, else the standard overrides
 * `AWS_ENDPOINT_URL_REKOGNITION` / `AWS_ENDPOINT_URL`, which SDK v3 (≥ 3.5xx; verified with the
 * installed 3.1142 in test/providers/rekognition.test.ts) honours itself.
 *
 * A check:
 *  - probe: `req.probe`, or with `livenessSessionId` the session's ReferenceImage (from
 *    GetFaceLivenessSessionResults), whose Confidence (percent) is the liveness score; the
 *    ReferenceImage comes back as `sessionImage` (the selfie of a match made by another provider).
 *    EXPIRED → BadInput LIVENESS_SESSION_EXPIRED; CREATED / IN_PROGRESS → BadInput (not completed
 *    yet); FAILED → a liveness result of 0 (raw keeps AWS's Confidence), no match.
 *  - `detectFaces: true`: DetectFaces on the probe (in parallel with CompareFaces): no face →
 *    BadInput NO_FACE; more than one dominant face → BadInput MULTIPLE_FACES; FACE_TOO_SMALL /
 *    BLURRY / EXTREME_POSE as quality findings (thresholds in `quality`).
 *  - match: CompareFaces(probe → source, reference → target) with SimilarityThreshold 0 so a
 *    similarity always comes back, and the configured QualityFilter. Several target faces (a
 *    document's ghost image): the best Similarity. FaceMatches empty but UnmatchedFaces present:
 *    score 0 (Rekognition withholds a similarity below the threshold; 0 is the only honest number).
 *    No face at all in the target (e.g. all quality-filtered) → BadInput NO_FACE.
 *  - passive liveness on a still image is not something Rekognition offers: `liveness` without
 *    `livenessSessionId` → BadInput (reason PROVIDER_ERROR: an unsupported request).
 * RawFaceMatch {score: Similarity 0..100, scale 'percent', calibration 'rekognition/default'};
 * RawLiveness {score: Confidence 0..100, scale 'percent', calibration 'rekognition/default'}.
 */
import { randomUUID } from 'node:crypto';
import {
  CompareFacesCommand,
  CreateFaceLivenessSessionCommand,
  DetectFacesCommand,
  GetFaceLivenessSessionResultsCommand,
  RekognitionClient,
  type CompareFacesResponse,
  type DetectFacesResponse,
  type FaceDetail,
  type RekognitionClientConfig,
} from '@aws-sdk/client-rekognition';
import { ProviderError, type CallContext, type Capability, type CheckOutcome, type CheckRequest, type ImageInput, type Provider, type ProviderHealth, type RawLiveness, type ReasonCode } from '../types';
import { uprightBytes } from '../../src/images';
import { classifyAwsError, type RekognitionOperation } from './classify';

export type QualityFilter = 'NONE' | 'AUTO' | 'LOW' | 'MEDIUM' | 'HIGH';

export interface QualityThresholds {
  /** FACE_TOO_SMALL below this face size in pixels (smaller side of the box; default 80) */
  minFacePx: number;
  /** BLURRY below this Quality.Sharpness (0..100; default 20) */
  minSharpness: number;
  /** EXTREME_POSE beyond these absolute angles in degrees (defaults 45 / 30 / 45) */
  maxYaw: number;
  maxPitch: number;
  maxRoll: number;
  /** a second face counts as "dominant" (→ MULTIPLE_FACES) when its box area is at least this share of the largest (default 0.25) */
  dominantAreaRatio: number;
}

export const DEFAULT_QUALITY: QualityThresholds = { minFacePx: 80, minSharpness: 20, maxYaw: 45, maxPitch: 30, maxRoll: 45, dominantAreaRatio: 0.25 };

export interface RekognitionConfig {
  /** REKOGNITION_REGION; default: the AWS chain (AWS_REGION, profile) */
  region?: string;
  /** CompareFaces QualityFilter (REKOGNITION_QUALITY_FILTER, default AUTO) */
  qualityFilter?: QualityFilter;
  /** also call DetectFaces on the probe for face count and quality findings (default false) */
  detectFaces?: boolean;
  /** deadline of one check, all its calls together, when the policy sets none (default 15000; enforced by the provider caller) */
  timeoutMs?: number;
  /** endpoint override; default: AWS_ENDPOINT_URL_REKOGNITION / AWS_ENDPOINT_URL, else AWS */
  endpoint?: string;
  /** default: the standard AWS credential chain */
  credentials?: RekognitionClientConfig['credentials'];
  /** SDK attempts per call (default 1: the orchestrator owns retries and failover) */
  maxAttempts?: number;
  quality?: Partial<QualityThresholds>;
  /** CreateFaceLivenessSession settings */
  livenessSession?: { auditImagesLimit?: number; kmsKeyId?: string; outputConfig?: { S3Bucket: string; S3KeyPrefix?: string } };
  /** a ready client (e.g. with extra middleware); the adapter then neither configures nor destroys it */
  client?: RekognitionClient;
}

export interface RekognitionProvider extends Provider {
  /** Start a Face Liveness session for the frontend (Amplify FaceLivenessDetector); expires 3 minutes after creation. */
  createLivenessSession(ctx: CallContext): Promise<{ sessionId: string; expiresAt: Date }>;
}

export const REKOGNITION_CALIBRATION = 'rekognition/default';
/** AWS: a Face Liveness session expires 3 minutes after creation */
export const LIVENESS_SESSION_TTL_MS = 180_000;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** The image as Rekognition is sent it: upright pixels, since its EXIF handling is not to be relied on. */
async function upright(img: ImageInput, which: 'selfie' | 'document'): Promise<Buffer> {
  try {
    return await uprightBytes(img);
  } catch {
    throw badInput('BAD_IMAGE', `the ${which} image cannot be decoded to turn it upright`);
  }
}

const badInput = (reason: ReasonCode, message: string, raw: Record<string, unknown> = {}) =>
  new ProviderError('rekognition', 'BadInput', reason, message, raw);

/** rejects when the signal aborts: the adapter answers at the deadline even if the SDK does not */
const whenAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

function qualityFindings(face: FaceDetail, probe: { width?: number; height?: number }, q: QualityThresholds) {
  const findings: ReasonCode[] = [];
  const box = face.BoundingBox ?? {};
  let facePx: number | undefined;
  if (probe.width && probe.height && box.Width !== undefined && box.Height !== undefined) {
    facePx = Math.round(Math.min(box.Width * probe.width, box.Height * probe.height));
    if (facePx < q.minFacePx) findings.push('FACE_TOO_SMALL');
  }
  const sharpness = face.Quality?.Sharpness;
  if (sharpness !== undefined && sharpness < q.minSharpness) findings.push('BLURRY');
  const p = face.Pose ?? {};
  if (Math.abs(p.Yaw ?? 0) > q.maxYaw || Math.abs(p.Pitch ?? 0) > q.maxPitch || Math.abs(p.Roll ?? 0) > q.maxRoll) findings.push('EXTREME_POSE');
  return { findings, facePx };
}

export function createRekognitionProvider(cfg: RekognitionConfig = {}): RekognitionProvider {
  const timeoutMs = cfg.timeoutMs ?? 15000;
  const qualityFilter = cfg.qualityFilter ?? 'AUTO';
  const q: QualityThresholds = { ...DEFAULT_QUALITY, ...cfg.quality };
  const ownsClient = !cfg.client;
  const client =
    cfg.client ??
    new RekognitionClient({
      ...(cfg.region ? { region: cfg.region } : {}),
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
      maxAttempts: cfg.maxAttempts ?? 1,
      requestHandler: {
        connectionTimeout: Math.min(timeoutMs, 10_000),
        requestTimeout: timeoutMs,
        httpAgent: { keepAlive: true, maxSockets: 50 },
        httpsAgent: { keepAlive: true, maxSockets: 50 },
      },
    });

  /** one SDK call under the caller's signal; every failure classified */
  async function send<T>(op: RekognitionOperation, command: unknown, signal: AbortSignal): Promise<T> {
    if (signal.aborted) throw classifyAwsError(signal.reason, { op, signal });
    const call = client.send(command as never, { abortSignal: signal }) as Promise<T>;
    call.catch(() => undefined); // when the abort wins the race
    try {
      return await Promise.race([call, whenAborted(signal)]);
    } catch (e) {
      throw classifyAwsError(e, { op, signal });
    }
  }

  async function fromSession(sessionId: string, signal: AbortSignal) {
    const res = await send<{ Status?: string; Confidence?: number; ReferenceImage?: { Bytes?: Uint8Array } }>(
      'GetFaceLivenessSessionResults',
      new GetFaceLivenessSessionResultsCommand({ SessionId: sessionId }),
      signal,
    );
    const raw = { sessionId, status: res.Status, confidence: res.Confidence };
    switch (res.Status) {
      case 'SUCCEEDED':
        return { raw, failed: false, score: res.Confidence ?? 0, referenceImage: res.ReferenceImage?.Bytes?.length ? Buffer.from(res.ReferenceImage.Bytes) : undefined };
      case 'FAILED':
        return { raw, failed: true, score: 0, referenceImage: undefined };
      case 'EXPIRED':
        throw badInput(
          'LIVENESS_SESSION_EXPIRED',
          `Face Liveness session ${sessionId} has expired: sessions expire 3 minutes after creation; create a new session and complete it within 3 minutes`,
          raw,
        );
      case 'CREATED':
      case 'IN_PROGRESS':
        throw badInput('PROVIDER_ERROR', `Face Liveness session ${sessionId} is not completed yet (status ${res.Status}): finish the liveness check in the frontend first`, raw);
      default:
        throw new ProviderError('rekognition', 'Transient', 'PROVIDER_ERROR', `Face Liveness session ${sessionId}: unexpected status ${String(res.Status)}`, raw);
    }
  }

  async function detect(probe: Buffer, dims: { width?: number; height?: number }, signal: AbortSignal) {
    const res = await send<DetectFacesResponse>('DetectFaces', new DetectFacesCommand({ Image: { Bytes: probe }, Attributes: ['DEFAULT'] }), signal);
    const faces = [...(res.FaceDetails ?? [])].sort((a, b) => boxArea(b) - boxArea(a));
    if (faces.length === 0) throw badInput('NO_FACE', 'Rekognition found no face in the selfie', { op: 'DetectFaces', faceCount: 0 });
    const largest = boxArea(faces[0]);
    const dominant = faces.filter((f) => boxArea(f) >= q.dominantAreaRatio * largest).length;
    const raw = {
      faceCount: faces.length,
      dominantFaces: dominant,
      confidence: faces[0].Confidence,
      sharpness: faces[0].Quality?.Sharpness,
      brightness: faces[0].Quality?.Brightness,
      pose: faces[0].Pose,
    };
    if (dominant > 1) throw badInput('MULTIPLE_FACES', `Rekognition found ${dominant} faces of similar size in the selfie; it must show one person`, { op: 'DetectFaces', ...raw });
    const { findings, facePx } = qualityFindings(faces[0], dims, q);
    return { findings, raw: { ...raw, ...(facePx !== undefined ? { facePx } : {}) } };
  }

  async function compare(probe: Buffer, reference: Buffer, signal: AbortSignal) {
    const res = await send<CompareFacesResponse>(
      'CompareFaces',
      new CompareFacesCommand({ SourceImage: { Bytes: probe }, TargetImage: { Bytes: reference }, SimilarityThreshold: 0, QualityFilter: qualityFilter }),
      signal,
    );
    const matches = res.FaceMatches ?? [];
    const unmatched = res.UnmatchedFaces ?? [];
    const raw = {
      qualityFilter,
      similarityThreshold: 0,
      faceMatches: matches.map((m) => ({ similarity: m.Similarity, confidence: m.Face?.Confidence })),
      unmatchedFaces: unmatched.length,
      sourceFaceConfidence: res.SourceImageFace?.Confidence,
    };
    if (matches.length === 0 && unmatched.length === 0) {
      throw badInput('NO_FACE', `Rekognition found no usable face in the document (QualityFilter ${qualityFilter})`, { op: 'CompareFaces', ...raw });
    }
    const similarities = matches.map((m) => m.Similarity).filter((s): s is number => typeof s === 'number' && Number.isFinite(s));
    if (matches.length > 0 && similarities.length === 0) {
      throw new ProviderError('rekognition', 'Transient', 'PROVIDER_ERROR', 'Rekognition CompareFaces returned matches without a Similarity', raw);
    }
    // best face of the document (it may hold a ghost image too); none matched at all → 0
    const similarity = similarities.length ? Math.max(...similarities) : 0;
    return { similarity, raw: { similarity, ...raw } };
  }

  async function check(req: CheckRequest, ctx: CallContext): Promise<CheckOutcome> {
    if (!req.match && !req.liveness) throw badInput('PROVIDER_ERROR', 'nothing to check: neither match nor liveness was requested');
    if (req.liveness && !req.livenessSessionId) {
      throw badInput('PROVIDER_ERROR', 'Rekognition has no passive liveness on a still image: create a Face Liveness session and pass livenessSessionId');
    }
    const raw: Record<string, unknown> = {};
    let probe: Buffer | undefined = req.probe ? await upright(req.probe, 'selfie') : undefined;
    let dims: { width?: number; height?: number } = { width: req.probe?.width, height: req.probe?.height };
    let liveness: RawLiveness | undefined;
    let sessionImage: Buffer | undefined;

    if (req.livenessSessionId) {
      const s = await fromSession(req.livenessSessionId, ctx.signal);
      raw.livenessSession = s.raw;
      if (req.liveness) liveness = { score: s.score, scale: 'percent', calibration: REKOGNITION_CALIBRATION, ...(s.failed ? { providerLive: false } : {}) };
      if (s.failed) return { liveness, quality: [], raw };
      if (!s.referenceImage) throw new ProviderError('rekognition', 'Transient', 'PROVIDER_ERROR', 'the Face Liveness session succeeded without a reference image', raw);
      sessionImage = s.referenceImage;
      if (req.match) {
        probe = s.referenceImage;
        dims = {}; // pixel size unknown without decoding: FACE_TOO_SMALL is not judged on session images
        raw.probeSource = 'livenessSession';
      }
    }
    if (!req.match) return { liveness, sessionImage, quality: [], raw };

    if (!probe) throw badInput('BAD_IMAGE', 'Rekognition needs a selfie (probe) image or a completed liveness session');
    if (!req.reference) throw badInput('BAD_IMAGE', 'Rekognition needs a document (reference) image to match against');
    const reference = await upright(req.reference, 'document');
    for (const [which, b] of [['selfie', probe], ['document', reference]] as const) {
      if (b.length > MAX_IMAGE_BYTES) throw badInput('BAD_IMAGE', `the ${which} image is ${b.length} bytes; Rekognition accepts at most 5 MB`);
    }

    const [detected, compared] = await Promise.allSettled([
      cfg.detectFaces ? detect(probe, dims, ctx.signal) : Promise.resolve(undefined),
      compare(probe, reference, ctx.signal),
    ]);
    // the probe's own verdict (NO_FACE / MULTIPLE_FACES) explains a CompareFaces failure best
    if (detected.status === 'rejected') throw detected.reason;
    if (compared.status === 'rejected') throw compared.reason;
    if (detected.value) raw.detectFaces = detected.value.raw;
    raw.compareFaces = compared.value.raw;
    return {
      match: { score: compared.value.similarity, scale: 'percent', calibration: REKOGNITION_CALIBRATION },
      liveness,
      sessionImage,
      quality: detected.value?.findings ?? [],
      raw,
    };
  }

  async function createLivenessSession(ctx: CallContext): Promise<{ sessionId: string; expiresAt: Date }> {
    const s = cfg.livenessSession;
    const res = await send<{ SessionId?: string }>(
      'CreateFaceLivenessSession',
      new CreateFaceLivenessSessionCommand({
        ...(/^[a-zA-Z0-9-_]{1,64}$/.test(ctx.requestId) ? { ClientRequestToken: ctx.requestId } : {}),
        ...(s?.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
        ...(s?.auditImagesLimit !== undefined || s?.outputConfig
          ? { Settings: { AuditImagesLimit: s.auditImagesLimit, OutputConfig: s.outputConfig } }
          : {}),
      }),
      ctx.signal,
    );
    if (!res.SessionId) throw new ProviderError('rekognition', 'Transient', 'PROVIDER_ERROR', 'CreateFaceLivenessSession returned no SessionId');
    return { sessionId: res.SessionId, expiresAt: new Date(Date.now() + LIVENESS_SESSION_TTL_MS) };
  }

  /**
   * The credentials, proved by a signed call that processes nothing: the results of a session that
   * does not exist. "Session not found" means AWS accepted the signature; a refusal is Unauthorized.
   */
  async function verifyCredentials(ctx: CallContext): Promise<void> {
    try {
      await send('GetFaceLivenessSessionResults', new GetFaceLivenessSessionResultsCommand({ SessionId: randomUUID() }), ctx.signal);
    } catch (e) {
      if (e instanceof ProviderError && e.kind === 'BadInput') return;
      throw e;
    }
  }

  /** No Rekognition call is free and permission-neutral, so health checks the region and credentials resolve. */
  async function health(): Promise<ProviderHealth> {
    try {
      const region = await client.config.region();
      await client.config.credentials();
      return { ok: true, detail: `region ${region}` };
    } catch (e) {
      return { ok: false, detail: classifyAwsError(e, { op: 'credentials' }).message };
    }
  }

  const capabilities = new Set<Capability>(['face-match', 'liveness-session', ...(cfg.detectFaces ? (['quality'] as const) : [])]);
  return {
    name: 'rekognition',
    capabilities,
    timeoutMs,
    calibration: { match: REKOGNITION_CALIBRATION, liveness: REKOGNITION_CALIBRATION },
    check,
    health,
    verifyCredentials,
    createLivenessSession,
    close: async () => {
      if (ownsClient) client.destroy();
    },
  };
}

const boxArea = (f: FaceDetail) => (f.BoundingBox?.Width ?? 0) * (f.BoundingBox?.Height ?? 0);
