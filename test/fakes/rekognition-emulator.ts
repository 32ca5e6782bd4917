/**
 * AWS Rekognition emulator: an HTTP endpoint speaking the AWS JSON 1.1 protocol the SDK uses
 * (`POST /`, `X-Amz-Target: RekognitionService.<Op>`, `Content-Type: application/x-amz-json-1.1`),
 * requiring SigV4-signed requests (verified with the SDK's own signer: see ./sigv4) and answering
 * errors in AWS's shape: `{"__type": "<Exception>", "message": …}` plus `x-amzn-ErrorType`.
 *
 * Operations: CompareFaces, DetectFaces, CreateFaceLivenessSession, GetFaceLivenessSessionResults.
 *  - Faces come from an injectable `faces(image)` (default: one frontal, sharp face in the middle
 *    of any image); similarities from an injectable `scorer(selfie, document)` (see ./scorer; unit
 *    similarity × 100 = Rekognition's percent), unless a face carries its own `similarity`.
 *  - CompareFaces: no face in the source or the target → InvalidParameterException "Request has
 *    invalid parameters" (as AWS documents); QualityFilter drops faces below a sharpness/confidence
 *    bar (LOW 10 · AUTO/MEDIUM 25 · HIGH 50 sharpness; NONE keeps all); SimilarityThreshold (default
 *    80) splits FaceMatches (with Similarity) from UnmatchedFaces (without).
 *  - Images: not JPEG/PNG → InvalidImageFormatException; > 5 MB → ImageTooLargeException.
 *  - Face Liveness: a session is CREATED, EXPIRED `sessionTtlMs` (default 3 min, as AWS) after
 *    creation unless completed. The video stream is out of reach of an emulator, so a test plays
 *    the user: `startSession(id)` → IN_PROGRESS, `completeSession(id, {referenceImage, confidence})`
 *    → SUCCEEDED (or `{status: 'FAILED'}`).
 *  - Faults: `inject(fault, {op})` (./faults) and `injectError('ThrottlingException', {op})`.
 *
 * Run for local development: `verigate emulate rekognition [--port N] [--region R]` (./run.ts),
 * which prints the environment to start Verigate with (REKOGNITION_REGION,
 * AWS_ENDPOINT_URL_REKOGNITION and the emulator's key: AKIDEMULATOR / emulator-secret, below).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { deliver, FaultQueue, readBody, type Answer, type Fault } from './faults';
import { isJpeg, isPng } from './images';
import { CallRecorder } from './recorder';
import { defaultScorer, sha256, type Scorer } from './scorer';
import { verifySigV4, type EmulatorCredentials } from './sigv4';

export const REKOGNITION_OPS = ['CompareFaces', 'DetectFaces', 'CreateFaceLivenessSession', 'GetFaceLivenessSessionResults'] as const;
export type RekognitionOp = (typeof REKOGNITION_OPS)[number];

export interface BoundingBox {
  Width: number;
  Height: number;
  Left: number;
  Top: number;
}

/** One face the emulator "detects" in an image (ratios of the image size, AWS-style). */
export interface EmulatedFace {
  box: BoundingBox;
  /** 0..100 */
  confidence?: number;
  /** Quality.Sharpness 0..100 */
  sharpness?: number;
  /** Quality.Brightness 0..100 */
  brightness?: number;
  pose?: { Yaw: number; Pitch: number; Roll: number };
  /** when this face is a CompareFaces target: its similarity (percent) instead of the scorer's */
  similarity?: number;
}

export type FaceFinder = (image: Buffer) => Promise<EmulatedFace[]>;

export const DEFAULT_FACE: EmulatedFace = {
  box: { Width: 0.4, Height: 0.5, Left: 0.3, Top: 0.2 },
  confidence: 99.99,
  sharpness: 86.9,
  brightness: 73.2,
  pose: { Yaw: 1.5, Pitch: -3.2, Roll: 0.8 },
};
export const oneFaceEverywhere: FaceFinder = async () => [DEFAULT_FACE];

export const DEFAULT_CREDENTIALS: EmulatorCredentials = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' };

export interface RekognitionEmulatorOptions {
  port?: number;
  /** the region requests must be signed for (default us-east-1) */
  region?: string;
  /** the keys it knows (default: AKIDEMULATOR / emulator-secret) */
  credentials?: readonly EmulatorCredentials[];
  /** recompute and compare the SigV4 signature (default true); false still requires a well-formed one */
  verifySignature?: boolean;
  scorer?: Scorer;
  faces?: FaceFinder;
  /** Face Liveness session lifetime (default 180 000 ms, as AWS) */
  sessionTtlMs?: number;
  /** largest image accepted as Bytes (default 5 MB, as AWS) */
  maxImageBytes?: number;
}

type SessionStatus = 'CREATED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED';
interface Session {
  id: string;
  createdAt: number;
  status: SessionStatus;
  confidence?: number;
  referenceImage?: Buffer;
  clientRequestToken?: string;
}

export interface RekognitionEmulator {
  readonly url: string;
  readonly region: string;
  readonly credentials: EmulatorCredentials;
  readonly recorder: CallRecorder;
  inject(fault: Fault, opts?: { times?: number; op?: RekognitionOp }): void;
  /** answer the next call(s) with an AWS error of this type */
  injectError(type: string, opts?: { status?: number; message?: string; times?: number; op?: RekognitionOp }): void;
  clearFaults(): void;
  /** the user opened the liveness check */
  startSession(id: string): void;
  /** the user finished it: SUCCEEDED with a reference image (confidence from the scorer unless given), or FAILED */
  completeSession(id: string, result: { referenceImage?: Buffer; confidence?: number; status?: 'SUCCEEDED' | 'FAILED' }): Promise<void>;
  sessionStatus(id: string): SessionStatus | undefined;
  close(): Promise<void>;
}

/** HTTP status AWS uses for an error type (client faults 400, server faults 500) */
const STATUS_OF: Record<string, number> = {
  InternalServerError: 500,
  ServiceUnavailableException: 503,
  ThrottlingException: 400,
  AccessDeniedException: 400,
};

const awsError = (type: string, message: string, status = STATUS_OF[type] ?? 400): Answer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:`, 'x-amzn-requestid': randomUUID() },
  body: JSON.stringify({ __type: type, message }),
});

const ok = (body: unknown): Answer => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
  body: JSON.stringify(body),
});

class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const SHARPNESS_BAR: Record<string, number> = { NONE: -1, LOW: 10, AUTO: 25, MEDIUM: 25, HIGH: 50 };
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const faceDetail = (f: EmulatedFace) => ({
  BoundingBox: f.box,
  Confidence: f.confidence ?? 99.9,
  Landmarks: [
    { Type: 'eyeLeft', X: f.box.Left + f.box.Width * 0.3, Y: f.box.Top + f.box.Height * 0.4 },
    { Type: 'eyeRight', X: f.box.Left + f.box.Width * 0.7, Y: f.box.Top + f.box.Height * 0.4 },
    { Type: 'nose', X: f.box.Left + f.box.Width * 0.5, Y: f.box.Top + f.box.Height * 0.6 },
  ],
  Pose: f.pose ?? { Yaw: 0, Pitch: 0, Roll: 0 },
  Quality: { Brightness: f.brightness ?? 70, Sharpness: f.sharpness ?? 80 },
});

const area = (f: EmulatedFace) => f.box.Width * f.box.Height;
const round4 = (x: number) => Math.round(Math.min(100, Math.max(0, x)) * 1e4) / 1e4;

export async function startRekognitionEmulator(opts: RekognitionEmulatorOptions = {}): Promise<RekognitionEmulator> {
  const region = opts.region ?? 'us-east-1';
  const credentials = opts.credentials ?? [DEFAULT_CREDENTIALS];
  const scorer = opts.scorer ?? defaultScorer;
  const faces = opts.faces ?? oneFaceEverywhere;
  const ttl = opts.sessionTtlMs ?? 180_000;
  const maxImageBytes = opts.maxImageBytes ?? 5 * 1024 * 1024;
  const faults = new FaultQueue();
  const recorder = new CallRecorder();
  const sessions = new Map<string, Session>();
  const sockets = new Set<Socket>();

  function statusOf(s: Session): SessionStatus {
    if ((s.status === 'CREATED' || s.status === 'IN_PROGRESS') && Date.now() - s.createdAt > ttl) s.status = 'EXPIRED';
    return s.status;
  }

  function image(v: unknown, field: string, detail: Record<string, unknown>): Buffer {
    const img = v as { Bytes?: unknown; S3Object?: unknown } | undefined;
    if (!img || typeof img !== 'object') throw new AwsFault('InvalidParameterException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    if (img.S3Object) throw new AwsFault('InvalidS3ObjectException', 'Unable to get object metadata from S3. Check object key, region and/or access permissions.');
    if (typeof img.Bytes !== 'string' || img.Bytes.length === 0) throw new AwsFault('InvalidParameterException', `Request has invalid parameters`);
    const bytes = Buffer.from(img.Bytes, 'base64');
    if (bytes.length > maxImageBytes) throw new AwsFault('ImageTooLargeException', 'Image size is too large.');
    if (!isJpeg(bytes) && !isPng(bytes)) throw new AwsFault('InvalidImageFormatException', 'Request has invalid image format');
    detail[`${field}Sha256`] = sha256(bytes);
    return bytes;
  }

  const handlers: Record<RekognitionOp, (input: Record<string, unknown>, detail: Record<string, unknown>) => Promise<unknown>> = {
    async CompareFaces(input, detail) {
      const source = image(input.SourceImage, 'SourceImage', detail);
      const target = image(input.TargetImage, 'TargetImage', detail);
      const threshold = input.SimilarityThreshold ?? 80;
      const filter = (input.QualityFilter as string | undefined) ?? 'NONE';
      if (typeof threshold !== 'number' || threshold < 0 || threshold > 100) throw new AwsFault('InvalidParameterException', 'Request has invalid parameters');
      if (!(filter in SHARPNESS_BAR)) throw new AwsFault('InvalidParameterException', `1 validation error detected: Value '${filter}' at 'qualityFilter' failed to satisfy constraint`);
      detail.similarityThreshold = threshold;
      detail.qualityFilter = filter;
      const usable = (f: EmulatedFace) => filter === 'NONE' || ((f.sharpness ?? 80) >= SHARPNESS_BAR[filter] && (f.confidence ?? 99.9) >= 90);
      const sourceFaces = (await faces(source)).sort((a, b) => area(b) - area(a));
      const targetFaces = (await faces(target)).sort((a, b) => area(b) - area(a));
      if (sourceFaces.length === 0 || targetFaces.length === 0) throw new AwsFault('InvalidParameterException', 'Request has invalid parameters');
      const probe = sourceFaces[0];
      if (!usable(probe)) throw new AwsFault('InvalidParameterException', 'Request has invalid parameters');
      const base = round4((await scorer(source, target)).similarity * 100);
      const compared = targetFaces.filter(usable).map((f) => ({ face: f, similarity: f.similarity ?? base }));
      const matches = compared.filter((c) => c.similarity >= threshold).sort((a, b) => b.similarity - a.similarity);
      const unmatched = compared.filter((c) => c.similarity < threshold);
      return {
        SourceImageFace: { BoundingBox: probe.box, Confidence: probe.confidence ?? 99.9 },
        FaceMatches: matches.map((c) => ({ Similarity: c.similarity, Face: faceDetail(c.face) })),
        UnmatchedFaces: unmatched.map((c) => faceDetail(c.face)),
      };
    },

    async DetectFaces(input, detail) {
      const img = image(input.Image, 'Image', detail);
      const attrs = (input.Attributes as string[] | undefined) ?? ['DEFAULT'];
      detail.attributes = attrs;
      const found = await faces(img);
      return { FaceDetails: found.map(faceDetail) };
    },

    async CreateFaceLivenessSession(input, detail) {
      const token = input.ClientRequestToken as string | undefined;
      if (token !== undefined && !/^[a-zA-Z0-9-_]{1,64}$/.test(token)) throw new AwsFault('InvalidParameterException', 'Request has invalid parameters');
      const existing = token ? [...sessions.values()].find((s) => s.clientRequestToken === token) : undefined;
      const session = existing ?? { id: randomUUID(), createdAt: Date.now(), status: 'CREATED' as const, clientRequestToken: token };
      sessions.set(session.id, session);
      detail.sessionId = session.id;
      return { SessionId: session.id };
    },

    async GetFaceLivenessSessionResults(input, detail) {
      const id = input.SessionId;
      if (typeof id !== 'string' || !SESSION_ID.test(id)) throw new AwsFault('InvalidParameterException', 'Request has invalid parameters');
      const s = sessions.get(id);
      if (!s) throw new AwsFault('SessionNotFoundException', `Session not found: ${id}`);
      const Status = statusOf(s);
      detail.sessionStatus = Status;
      return {
        SessionId: s.id,
        Status,
        ...(s.confidence !== undefined ? { Confidence: s.confidence } : {}),
        ...(s.referenceImage ? { ReferenceImage: { Bytes: s.referenceImage.toString('base64'), BoundingBox: DEFAULT_FACE.box } } : {}),
        AuditImages: [],
      };
    },
  };

  async function answer(req: IncomingMessage, raw: Buffer, op: string | undefined, detail: Record<string, unknown>): Promise<Answer> {
    const sig = await verifySigV4(
      { method: req.method ?? 'POST', path: req.url ?? '/', headers: req.headers, body: raw },
      { service: 'rekognition', region, credentials, verifySignature: opts.verifySignature ?? true },
    );
    detail.signed = !sig;
    if (sig) return awsError(sig.type, sig.message, sig.status);
    if (!op) return awsError('UnknownOperationException', `Unknown operation ${String(req.headers['x-amz-target'])}`);
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      return awsError('SerializationException', 'Start of structure or map found where not expected.');
    }
    try {
      return ok(await handlers[op as RekognitionOp](input, detail));
    } catch (e) {
      if (e instanceof AwsFault) return awsError(e.type, e.message);
      return awsError('InternalServerError', 'Internal server error', 500);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const opName = target.startsWith('RekognitionService.') ? target.slice('RekognitionService.'.length) : '';
    const op = (REKOGNITION_OPS as readonly string[]).includes(opName) ? opName : undefined;
    const detail: Record<string, unknown> = { remotePort: req.socket.remotePort, target };
    const call = recorder.record(op ?? (target || `${req.method} ${req.url}`), detail);
    const contentType = String(req.headers['content-type'] ?? '');
    if (req.method !== 'POST' || !contentType.startsWith('application/x-amz-json-1.1')) {
      const a = awsError('UnknownOperationException', 'expected POST with Content-Type application/x-amz-json-1.1');
      res.writeHead(a.status, a.headers).end(a.body);
      call.status = a.status;
      return;
    }
    const fault = op ? faults.take(op) : undefined;
    if (fault) detail.fault = fault.kind === 'status' ? fault.headers?.['x-amzn-errortype'] ?? fault.status : fault.kind;
    call.status = await deliver(req, res, fault, () => answer(req, raw, op, detail));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (res.headersSent) return void res.destroy();
      const a = awsError('InternalServerError', `emulator error: ${(e as Error).message}`, 500);
      res.writeHead(a.status, a.headers).end(a.body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject); // EADDRINUSE & co. reach the caller instead of crashing the process
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const mustGet = (id: string) => {
    const s = sessions.get(id);
    if (!s) throw new Error(`no liveness session ${id}`);
    return s;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    credentials: credentials[0],
    recorder,
    inject: (fault, o) => faults.inject(fault, o),
    injectError: (type, o = {}) => {
      const a = awsError(type, o.message ?? `${type} (injected)`, o.status ?? STATUS_OF[type] ?? 400);
      faults.inject({ kind: 'status', status: a.status, body: a.body, headers: a.headers }, { times: o.times, op: o.op });
    },
    clearFaults: () => faults.clear(),
    startSession: (id) => {
      const s = mustGet(id);
      if (statusOf(s) === 'CREATED') s.status = 'IN_PROGRESS';
    },
    completeSession: async (id, result) => {
      const s = mustGet(id);
      if (statusOf(s) === 'EXPIRED') throw new Error(`liveness session ${id} has expired`);
      if (result.status === 'FAILED') {
        s.status = 'FAILED';
        s.confidence = result.confidence;
        return;
      }
      if (!result.referenceImage) throw new Error('a SUCCEEDED session needs a referenceImage');
      s.status = 'SUCCEEDED';
      s.referenceImage = result.referenceImage;
      s.confidence = result.confidence ?? round4((await scorer(result.referenceImage, result.referenceImage)).liveness * 100);
    },
    sessionStatus: (id) => {
      const s = sessions.get(id);
      return s && statusOf(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
