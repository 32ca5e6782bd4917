/**
 * Facia on-prem emulator: speaks the container's HTTP API as Facia documents it.
 *
 *   POST /process_face  {"hash_id", "selfie_image", "document_image"}  (images as data URIs)
 *     201 {"face_similarity_result": {"is_match", "similarity_score"},
 *          "liveness_result": {"is_live", "liveness_score"}, "message": "Success"}
 *     401 {"message": "Invalid credentials"}                                   wrong hash_id
 *     400 {"error": "Invalid or corrupt selfie image. Images must be in PNG, JPG, or JPEG format"}
 *         (…document image… for the document)
 *     400 {"error": "Both selfie_image and document_image are required"}
 *     429 {"message": "Your request limit has been reached."}                  demo limit
 *     503 {"message": "Service is starting"}                                   before ready
 *   GET /status_check   200 "Service is live" once ready, 503 before (the container takes minutes)
 *
 * The HTTP statuses of the failures are our choice (Facia documents the bodies); the adapter
 * classifies by body as well as status. Scores come from an injectable scorer (see ./scorer).
 * If the scorer finds no face, the emulator answers 201 with zero scores (Facia does not document
 * this case).
 *
 * Run for local development: `verigate emulate facia [--port N] [--hash-id ID]` (./run.ts), which
 * prints the FACIA_URL and FACIA_HASH_ID to start Verigate with.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { deliver, FaultQueue, readBody, type Answer, type Fault } from './faults';
import { isJpeg, isPng } from './images';
import { CallRecorder } from './recorder';
import { defaultScorer, sha256, type Scorer } from './scorer';

export interface FaciaEmulatorOptions {
  /** the hash_id the emulator accepts (default: a random one, readable as `emulator.hashId`) */
  hashId?: string;
  /** /status_check and /process_face answer 503 until this many ms after start (default 0) */
  readyAfterMs?: number;
  /** demo limit: successful /process_face calls allowed before "request limit reached" (default ∞) */
  requestLimit?: number;
  scorer?: Scorer;
  /** is_match = similarity_score ≥ matchThreshold (default 0.8) */
  matchThreshold?: number;
  /** is_live = liveness_score ≥ liveThreshold (default 0.5) */
  liveThreshold?: number;
  port?: number;
}

export interface FaciaEmulator {
  readonly url: string;
  /** the hash_id it accepts (an emulator's, not a real secret) */
  readonly hashId: string;
  readonly recorder: CallRecorder;
  inject(fault: Fault, opts?: { times?: number; op?: 'process_face' | 'status_check' }): void;
  clearFaults(): void;
  /** force readiness on/off (overrides readyAfterMs) */
  setReady(ready: boolean): void;
  /** successful /process_face calls counted against the demo limit */
  used(): number;
  resetLimit(): void;
  close(): Promise<void>;
}

const json = (status: number, body: unknown): Answer => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const DATA_URI = /^data:image\/(jpeg|jpg|png);base64,([A-Za-z0-9+/=\s]+)$/;

/** decoded image, or null when it is not a PNG/JPG/JPEG data URI with matching bytes */
function decodeImage(v: unknown): Buffer | null {
  if (typeof v !== 'string') return null;
  const m = DATA_URI.exec(v);
  if (!m) return null;
  const bytes = Buffer.from(m[2], 'base64');
  return isJpeg(bytes) || isPng(bytes) ? bytes : null;
}

export async function startFaciaEmulator(opts: FaciaEmulatorOptions = {}): Promise<FaciaEmulator> {
  const hashId = opts.hashId ?? `emu-${randomBytes(12).toString('hex')}`;
  const scorer = opts.scorer ?? defaultScorer;
  const matchThreshold = opts.matchThreshold ?? 0.8;
  const liveThreshold = opts.liveThreshold ?? 0.5;
  const startedAt = Date.now();
  let forcedReady: boolean | undefined;
  let used = 0;
  const faults = new FaultQueue();
  const recorder = new CallRecorder();
  const sockets = new Set<Socket>();

  const isReady = () => forcedReady ?? Date.now() - startedAt >= (opts.readyAfterMs ?? 0);

  async function processFace(raw: Buffer, detail: Record<string, unknown>): Promise<Answer> {
    if (!isReady()) return json(503, { message: 'Service is starting' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8'));
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch {
      return json(400, { error: 'Request body must be JSON' });
    }
    detail.hashIdPresent = typeof body.hash_id === 'string';
    detail.hashIdValid = body.hash_id === hashId;
    if (body.hash_id !== hashId) return json(401, { message: 'Invalid credentials' });
    if (!body.selfie_image || !body.document_image) {
      return json(400, { error: 'Both selfie_image and document_image are required' });
    }
    const selfie = decodeImage(body.selfie_image);
    if (!selfie) return json(400, { error: 'Invalid or corrupt selfie image. Images must be in PNG, JPG, or JPEG format' });
    const document = decodeImage(body.document_image);
    if (!document) return json(400, { error: 'Invalid or corrupt document image. Images must be in PNG, JPG, or JPEG format' });
    detail.selfieSha256 = sha256(selfie);
    detail.documentSha256 = sha256(document);
    if (used >= (opts.requestLimit ?? Infinity)) return json(429, { message: 'Your request limit has been reached.' });
    used++;
    const s = await scorer(selfie, document);
    const similarity = s.noFace ? 0 : round4(s.similarity);
    const liveness = s.noFace === 'selfie' ? 0 : round4(s.liveness);
    return json(201, {
      face_similarity_result: { is_match: similarity >= matchThreshold ? 1 : 0, similarity_score: similarity },
      liveness_result: { is_live: liveness >= liveThreshold ? 1 : 0, liveness_score: liveness },
      message: 'Success',
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const detail: Record<string, unknown> = { remotePort: req.socket.remotePort };
    const call = recorder.record(`${req.method} ${path}`, detail);
    if (req.method === 'GET' && path === '/status_check') {
      const fault = faults.take('status_check');
      if (fault) detail.fault = fault.kind;
      call.status = await deliver(req, res, fault, async () =>
        isReady()
          ? { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Service is live' }
          : { status: 503, headers: { 'content-type': 'text/plain' }, body: 'Service is starting' },
      );
      return;
    }
    if (req.method === 'POST' && path === '/process_face') {
      const raw = await readBody(req);
      const fault = faults.take('process_face');
      if (fault) detail.fault = fault.kind;
      call.status = await deliver(req, res, fault, () => processFace(raw, detail));
      return;
    }
    const answer = json(404, { message: 'Not Found' });
    res.writeHead(answer.status, answer.headers).end(answer.body);
    call.status = 404;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `emulator error: ${(e as Error).message}` }));
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

  return {
    url: `http://127.0.0.1:${port}`,
    hashId,
    recorder,
    inject: (fault, o) => faults.inject(fault, o),
    clearFaults: () => faults.clear(),
    setReady: (r) => {
      forcedReady = r;
    },
    used: () => used,
    resetLimit: () => {
      used = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const round4 = (x: number) => Math.round(Math.min(1, Math.max(0, x)) * 1e4) / 1e4;
