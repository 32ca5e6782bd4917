/**
 * The Rekognition adapter, with the real AWS SDK client, against the AWS-protocol emulator
 * (test/fakes/rekognition-emulator): SigV4 verified, AWS JSON 1.1 errors, faults, Face Liveness.
 */
import { RekognitionClient } from '@aws-sdk/client-rekognition';
import { createRekognitionProvider, type RekognitionConfig, type RekognitionProvider } from '../../providers/rekognition';
import { isProviderError, ProviderError, type CallContext, type ImageInput } from '../../providers/types';
import { DEFAULT_FACE, startRekognitionEmulator, type EmulatedFace, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { failureThroughCaller } from '../support/caller';
import { FACES, imageFromBytes, loadFace } from '../fakes/images';
import { uprightDuty } from '../support/faces';
import { sha256, type Scorer } from '../fakes/scorer';

const obama = loadFace(FACES.obama);
const obama2 = loadFace(FACES.obama2);
const biden = loadFace(FACES.biden);
const twoPeople = loadFace(FACES.twoPeople);

const ctx = (signal: AbortSignal = new AbortController().signal, requestId = 'req-1'): CallContext => ({ signal, requestId, tenantId: 't1' });

const SCORES: Record<string, { similarity: number; liveness: number }> = {
  [`${obama2.sha256}:${obama.sha256}`]: { similarity: 0.9712, liveness: 0.95 },
  [`${biden.sha256}:${obama.sha256}`]: { similarity: 0.0831, liveness: 0.95 },
  [`${twoPeople.sha256}:${obama.sha256}`]: { similarity: 0.5, liveness: 0.95 },
};
const scorer: Scorer = async (s, d) => SCORES[`${sha256(s)}:${sha256(d)}`] ?? { similarity: 0.01, liveness: 0.9 };

/** faces per image digest (tests change it); default: one good face */
const facesOf = new Map<string, EmulatedFace[]>();
const faces = async (img: Buffer) => facesOf.get(sha256(img)) ?? [DEFAULT_FACE];

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (isProviderError(e)) return e;
    throw new Error(`expected a ProviderError, got ${String((e as Error)?.stack ?? e)}`);
  }
  throw new Error('expected the call to fail');
}

describe('Rekognition adapter ↔ AWS-protocol emulator', () => {
  let emu: RekognitionEmulator;
  let rek: RekognitionProvider;
  const made: RekognitionProvider[] = [];
  const make = (over: Partial<RekognitionConfig> = {}) => {
    const p = createRekognitionProvider({ region: emu.region, endpoint: emu.url, credentials: emu.credentials, timeoutMs: 2000, ...over });
    made.push(p);
    return p;
  };
  const match = (probe: ImageInput, reference: ImageInput) => ({ probe, reference, match: true, liveness: false }) as const;

  beforeAll(async () => {
    emu = await startRekognitionEmulator({ scorer, faces });
    rek = make();
  });
  afterEach(() => {
    emu.clearFaults();
    emu.recorder.clear();
    facesOf.clear();
  });
  afterAll(async () => {
    await Promise.all(made.map((p) => p.close?.()));
    await emu.close();
  });

  describe('CompareFaces', () => {
    it('sends a photo tagged with an EXIF orientation with its pixels turned upright', async () => {
      const duty = uprightDuty();
      const capturing = await startRekognitionEmulator({ scorer: duty.scorer, faces });
      const p = createRekognitionProvider({ region: capturing.region, endpoint: capturing.url, credentials: capturing.credentials, timeoutMs: 2000 });
      try {
        const tagged = await duty.tagged();
        await p.check(match(tagged, obama), ctx());
        await duty.expectSentUpright(tagged, obama);
      } finally {
        await p.close?.();
        await capturing.close();
      }
    });

    it('returns Rekognition’s Similarity in percent, asking with threshold 0 and the configured QualityFilter', async () => {
      const out = await rek.check(match(obama2, obama), ctx());
      expect(out.match).toEqual({ score: 97.12, scale: 'percent', calibration: 'rekognition/default' });
      expect(out.liveness).toBeUndefined();
      expect(out.quality).toEqual([]);
      expect(out.raw.compareFaces).toMatchObject({ similarity: 97.12, qualityFilter: 'AUTO', similarityThreshold: 0, unmatchedFaces: 0 });
      const call = emu.recorder.last('CompareFaces')!;
      expect(call.status).toBe(200);
      expect(call.detail).toMatchObject({
        signed: true,
        similarityThreshold: 0,
        qualityFilter: 'AUTO',
        SourceImageSha256: obama2.sha256,
        TargetImageSha256: obama.sha256,
      });
      expect(emu.recorder.count('DetectFaces')).toBe(0);
    });

    it('a different person comes back with a low similarity (not dropped by a threshold)', async () => {
      const out = await rek.check(match(biden, obama), ctx());
      expect(out.match?.score).toBeCloseTo(8.31, 6);
    });

    it('passes QualityFilter through', async () => {
      await make({ qualityFilter: 'HIGH' }).check(match(obama2, obama), ctx());
      expect(emu.recorder.last('CompareFaces')!.detail.qualityFilter).toBe('HIGH');
    });

    it('several faces in the document (ghost image): takes the best match', async () => {
      facesOf.set(obama.sha256, [
        { ...DEFAULT_FACE, similarity: 91.5 },
        { ...DEFAULT_FACE, box: { Width: 0.1, Height: 0.12, Left: 0.8, Top: 0.1 }, similarity: 96.25 },
        { ...DEFAULT_FACE, box: { Width: 0.08, Height: 0.1, Left: 0.05, Top: 0.8 }, similarity: 3.5 },
      ]);
      const out = await rek.check(match(obama2, obama), ctx());
      expect(out.match?.score).toBe(96.25);
      expect((out.raw.compareFaces as { faceMatches: unknown[] }).faceMatches).toHaveLength(3);
    });

    it('FaceMatches empty with UnmatchedFaces → similarity 0 (Rekognition withheld it)', async () => {
      const body = JSON.stringify({
        SourceImageFace: { BoundingBox: DEFAULT_FACE.box, Confidence: 99.9 },
        FaceMatches: [],
        UnmatchedFaces: [{ BoundingBox: DEFAULT_FACE.box, Confidence: 99.8 }],
      });
      emu.inject({ kind: 'status', status: 200, body, headers: { 'content-type': 'application/x-amz-json-1.1' } }, { op: 'CompareFaces' });
      const out = await rek.check(match(obama2, obama), ctx());
      expect(out.match?.score).toBe(0);
      expect(out.raw.compareFaces).toMatchObject({ unmatchedFaces: 1, faceMatches: [] });
    });

    it('no face in the selfie → InvalidParameterException → BadInput NO_FACE', async () => {
      facesOf.set(biden.sha256, []);
      const e = await failure(rek.check(match(biden, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'NO_FACE']);
      expect(e.raw).toMatchObject({ op: 'CompareFaces', awsError: 'InvalidParameterException', httpStatus: 400 });
      expect(e.retryable).toBe(false);
    });

    it('the only document face filtered out by QualityFilter → BadInput NO_FACE', async () => {
      facesOf.set(obama.sha256, [{ ...DEFAULT_FACE, sharpness: 4 }]);
      const e = await failure(rek.check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'NO_FACE']);
      expect(e.message).toMatch(/QualityFilter AUTO/);
      // with NONE the same face is compared
      const out = await make({ qualityFilter: 'NONE' }).check(match(obama2, obama), ctx());
      expect(out.match?.score).toBe(97.12);
    });

    it('a corrupt image → the emulator’s InvalidImageFormatException → BadInput BAD_IMAGE', async () => {
      const corrupt: ImageInput = { ...obama2, bytes: Buffer.from('GIF89a not a face') };
      const e = await failure(rek.check(match(corrupt, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
      expect(e.raw.awsError).toBe('InvalidImageFormatException');
    });

    it('an image over 5 MB is refused before any call', async () => {
      const big = imageFromBytes(Buffer.concat([obama.bytes, Buffer.alloc(5 * 1024 * 1024)]));
      const e = await failure(rek.check(match(obama2, big), ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
      expect(emu.recorder.count()).toBe(0);
    });
  });

  describe('DetectFaces (detectFaces: true)', () => {
    let det: RekognitionProvider;
    beforeAll(() => {
      // LOW: CompareFaces keeps a moderately blurry selfie, so DetectFaces' BLURRY finding shows
      det = make({ detectFaces: true, qualityFilter: 'LOW' });
    });

    it('advertises the quality capability and calls DetectFaces on the selfie only', async () => {
      expect(det.capabilities.has('quality')).toBe(true);
      expect(rek.capabilities.has('quality')).toBe(false);
      const out = await det.check(match(obama2, obama), ctx());
      expect(out.quality).toEqual([]);
      expect(emu.recorder.last('DetectFaces')!.detail.ImageSha256).toBe(obama2.sha256);
      expect(out.raw.detectFaces).toMatchObject({ faceCount: 1, dominantFaces: 1, sharpness: DEFAULT_FACE.sharpness });
    });

    it('two faces of similar size in the selfie → BadInput MULTIPLE_FACES', async () => {
      facesOf.set(twoPeople.sha256, [
        { ...DEFAULT_FACE, box: { Width: 0.2, Height: 0.3, Left: 0.1, Top: 0.2 } },
        { ...DEFAULT_FACE, box: { Width: 0.18, Height: 0.28, Left: 0.6, Top: 0.2 } },
      ]);
      const e = await failure(det.check(match(twoPeople, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'MULTIPLE_FACES']);
    });

    it('a small face in the background is not a second person', async () => {
      facesOf.set(obama2.sha256, [DEFAULT_FACE, { ...DEFAULT_FACE, box: { Width: 0.05, Height: 0.06, Left: 0.9, Top: 0.05 } }]);
      const out = await det.check(match(obama2, obama), ctx());
      expect(out.raw.detectFaces).toMatchObject({ faceCount: 2, dominantFaces: 1 });
    });

    it('a selfie too blurry for the QualityFilter → CompareFaces refuses it → BadInput NO_FACE', async () => {
      facesOf.set(obama2.sha256, [{ ...DEFAULT_FACE, sharpness: 5 }]);
      const e = await failure(det.check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason, e.raw.op]).toEqual(['BadInput', 'NO_FACE', 'CompareFaces']);
    });

    it('no face in the selfie → BadInput NO_FACE from DetectFaces', async () => {
      facesOf.set(biden.sha256, []);
      const e = await failure(det.check(match(biden, obama), ctx()));
      expect([e.kind, e.reason, e.raw.op]).toEqual(['BadInput', 'NO_FACE', 'DetectFaces']);
    });

    it.each([
      ['BLURRY', { sharpness: 15 }],
      ['EXTREME_POSE', { pose: { Yaw: 62, Pitch: 0, Roll: 0 } }],
      ['EXTREME_POSE', { pose: { Yaw: 0, Pitch: -40, Roll: 0 } }],
      ['FACE_TOO_SMALL', { box: { Width: 0.05, Height: 0.05, Left: 0.4, Top: 0.4 } }],
    ] as const)('%s from Quality/Pose/BoundingBox is a quality finding, the check goes on', async (reason, over) => {
      facesOf.set(obama2.sha256, [{ ...DEFAULT_FACE, ...over }]);
      const out = await det.check(match(obama2, obama), ctx());
      expect(out.quality).toEqual([reason]);
      expect(out.match?.score).toBe(97.12);
    });
  });

  describe('errors', () => {
    it.each([
      ['InvalidParameterException', 'DetectFaces', 'BadInput', 'BAD_IMAGE'],
      ['InvalidImageFormatException', 'CompareFaces', 'BadInput', 'BAD_IMAGE'],
      ['ImageTooLargeException', 'CompareFaces', 'BadInput', 'BAD_IMAGE'],
      ['ThrottlingException', 'CompareFaces', 'Transient', 'PROVIDER_UNAVAILABLE'],
      ['ProvisionedThroughputExceededException', 'CompareFaces', 'Transient', 'PROVIDER_UNAVAILABLE'],
      ['InternalServerError', 'CompareFaces', 'Transient', 'PROVIDER_UNAVAILABLE'],
      ['AccessDeniedException', 'CompareFaces', 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      ['UnrecognizedClientException', 'CompareFaces', 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      ['InvalidSignatureException', 'DetectFaces', 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      ['LimitExceededException', 'CompareFaces', 'QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED'],
    ] as const)('%s on %s → %s %s', async (type, op, kind, reason) => {
      emu.injectError(type, { op });
      const e = await failure(make({ detectFaces: true }).check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual([kind, reason]);
      expect(e.raw).toMatchObject({ op, awsError: type });
      expect(e.retryable).toBe(kind === 'Transient');
    });

    it('a 503 with no AWS error type → Transient', async () => {
      emu.inject({ kind: 'status', status: 503, body: '<html>Service Unavailable</html>' }, { op: 'CompareFaces' });
      const e = await failure(rek.check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE']);
    });

    it('malformed JSON on a 200 → Transient PROVIDER_ERROR', async () => {
      emu.inject({ kind: 'malformed' }, { op: 'CompareFaces' });
      const e = await failure(rek.check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_ERROR']);
    });

    it('connection reset → Transient PROVIDER_UNAVAILABLE', async () => {
      emu.inject({ kind: 'reset' }, { op: 'CompareFaces' });
      const e = await failure(rek.check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE']);
    });

    it('connection refused → Transient PROVIDER_UNAVAILABLE', async () => {
      const e = await failure(make({ endpoint: 'http://127.0.0.1:9' }).check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE']);
    });

    it.each([
      ['latency beyond the deadline', { kind: 'latency', ms: 5000 } as const],
      ['a server that never answers', { kind: 'hang' } as const],
      ['a body dripped one byte per 100 ms', { kind: 'drip', intervalMs: 100 } as const],
    ])('%s → Transient TIMEOUT at the provider caller’s deadline (the adapter’s timeoutMs)', async (_, fault) => {
      const p = make({ timeoutMs: 500 });
      emu.inject(fault, { op: 'CompareFaces' });
      const t0 = Date.now();
      const e = await failureThroughCaller(p, match(obama2, obama));
      const elapsed = Date.now() - t0;
      expect([e.kind, e.reason]).toEqual(['Transient', 'TIMEOUT']);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1500);
    });

    it('the deadline covers the whole check, not each call', async () => {
      const p = make({ timeoutMs: 600, detectFaces: true });
      emu.inject({ kind: 'latency', ms: 400 }, { op: 'GetFaceLivenessSessionResults' });
      const { sessionId } = await p.createLivenessSession(ctx());
      await emu.completeSession(sessionId, { referenceImage: obama2.bytes, confidence: 90 });
      emu.inject({ kind: 'latency', ms: 400 }, { op: 'CompareFaces' });
      const t0 = Date.now();
      const e = await failureThroughCaller(p, { livenessSessionId: sessionId, reference: obama, match: true, liveness: true });
      expect(e.reason).toBe('TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('the caller’s signal cancels a call in flight → Transient INTERRUPTED', async () => {
      emu.inject({ kind: 'hang' }, { op: 'CompareFaces' });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('client went away')), 150);
      const t0 = Date.now();
      const e = await failure(rek.check(match(obama2, obama), ctx(ac.signal)));
      expect([e.kind, e.reason]).toEqual(['Transient', 'INTERRUPTED']);
      expect(Date.now() - t0).toBeLessThan(1000);
    });
  });

  describe('SigV4', () => {
    it('the emulator rejects an unsigned request in AWS’s error shape', async () => {
      const res = await fetch(emu.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'RekognitionService.DetectFaces' },
        body: JSON.stringify({ Image: { Bytes: obama.bytes.toString('base64') } }),
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException/);
      expect(await res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    });

    const clientWith = (mutate: (headers: Record<string, string>) => void) => {
      const client = new RekognitionClient({ region: emu.region, endpoint: emu.url, credentials: emu.credentials, maxAttempts: 1 });
      client.middlewareStack.add(
        (next) => async (args) => {
          mutate((args.request as { headers: Record<string, string> }).headers);
          return next(args);
        },
        { step: 'deserialize', name: 'tamperAfterSigning' },
      );
      return client;
    };

    it('a request whose signature was stripped → Unauthorized', async () => {
      const client = clientWith((h) => {
        delete h.authorization;
      });
      const e = await failure(make({ client }).check(match(obama2, obama), ctx()));
      expect([e.kind, e.reason, e.raw.awsError]).toEqual(['Unauthorized', 'PROVIDER_UNAUTHORIZED', 'MissingAuthenticationTokenException']);
      client.destroy();
    });

    it('the signature is really verified: one changed hex digit → InvalidSignatureException → Unauthorized', async () => {
      const client = clientWith((h) => {
        h.authorization = h.authorization.replace(/Signature=([0-9a-f]{63})([0-9a-f])/, (_, a, b) => `Signature=${a}${b === '0' ? '1' : '0'}`);
      });
      const e = await failure(make({ client }).check(match(obama2, obama), ctx()));
      expect([e.kind, e.raw.awsError]).toEqual(['Unauthorized', 'InvalidSignatureException']);
      client.destroy();
    });

    it('a wrong secret key → InvalidSignatureException; an unknown key id → UnrecognizedClientException', async () => {
      const wrongSecret = await failure(make({ credentials: { ...emu.credentials, secretAccessKey: 'not-the-secret' } }).check(match(obama2, obama), ctx()));
      expect([wrongSecret.kind, wrongSecret.raw.awsError]).toEqual(['Unauthorized', 'InvalidSignatureException']);
      const unknown = await failure(make({ credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } }).check(match(obama2, obama), ctx()));
      expect([unknown.kind, unknown.raw.awsError]).toEqual(['Unauthorized', 'UnrecognizedClientException']);
      expect(JSON.stringify({ m: wrongSecret.message, r: wrongSecret.raw })).not.toContain('not-the-secret');
    });

    it('a request signed for another region is refused', async () => {
      const e = await failure(make({ region: 'eu-west-1' }).check(match(obama2, obama), ctx()));
      expect([e.kind, e.raw.awsError]).toEqual(['Unauthorized', 'InvalidSignatureException']);
    });
  });

  describe('endpoint and credentials from the standard AWS environment', () => {
    const KEYS = ['AWS_ENDPOINT_URL_REKOGNITION', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'] as const;
    let saved: Record<string, string | undefined>;
    beforeEach(() => {
      saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
      for (const k of KEYS) delete process.env[k];
      process.env.AWS_REGION = emu.region;
      process.env.AWS_ACCESS_KEY_ID = emu.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = emu.credentials.secretAccessKey;
    });
    afterEach(() => {
      for (const k of KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });

    it.each(['AWS_ENDPOINT_URL_REKOGNITION', 'AWS_ENDPOINT_URL'])('the SDK honours %s by itself', async (variable) => {
      process.env[variable] = emu.url;
      const p = createRekognitionProvider({ timeoutMs: 2000 });
      made.push(p);
      const out = await p.check(match(obama2, obama), ctx());
      expect(out.match?.score).toBe(97.12);
      expect(emu.recorder.last('CompareFaces')!.detail.signed).toBe(true);
      expect(await p.health(ctx())).toEqual({ ok: true, detail: `region ${emu.region}` });
    });
  });

  describe('Face Liveness', () => {
    it('creates a session, refuses it until completed, then uses its reference image as the selfie', async () => {
      const { sessionId } = await rek.createLivenessSession(ctx(undefined, 'req-live-1'));
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(emu.sessionStatus(sessionId)).toBe('CREATED');
      const req = { livenessSessionId: sessionId, reference: obama, match: true, liveness: true } as const;

      let e = await failure(rek.check(req, ctx()));
      expect([e.kind, e.raw.status]).toEqual(['BadInput', 'CREATED']);
      expect(e.message).toMatch(/not completed yet/);
      emu.startSession(sessionId);
      e = await failure(rek.check(req, ctx()));
      expect([e.kind, e.raw.status]).toEqual(['BadInput', 'IN_PROGRESS']);
      expect(emu.recorder.count('CompareFaces')).toBe(0);

      await emu.completeSession(sessionId, { referenceImage: obama2.bytes, confidence: 93.4 });
      const out = await rek.check(req, ctx());
      expect(out.liveness).toEqual({ score: 93.4, scale: 'percent', calibration: 'rekognition/default' });
      expect(out.match).toEqual({ score: 97.12, scale: 'percent', calibration: 'rekognition/default' });
      expect(emu.recorder.last('CompareFaces')!.detail.SourceImageSha256).toBe(obama2.sha256);
      expect(out.raw).toMatchObject({ probeSource: 'livenessSession', livenessSession: { sessionId, status: 'SUCCEEDED', confidence: 93.4 } });
    });

    it('a liveness-only check reads the session and compares nothing', async () => {
      const { sessionId } = await rek.createLivenessSession(ctx());
      await emu.completeSession(sessionId, { referenceImage: obama2.bytes, confidence: 71.25 });
      const out = await rek.check({ livenessSessionId: sessionId, match: false, liveness: true }, ctx());
      expect(out.liveness?.score).toBe(71.25);
      expect(out.match).toBeUndefined();
      expect(emu.recorder.count('CompareFaces')).toBe(0);
    });

    it('a FAILED session is a failed liveness (score 0), with no match attempted', async () => {
      const { sessionId } = await rek.createLivenessSession(ctx());
      await emu.completeSession(sessionId, { status: 'FAILED', confidence: 12.5 });
      const out = await rek.check({ livenessSessionId: sessionId, reference: obama, match: true, liveness: true }, ctx());
      expect(out.liveness).toEqual({ score: 0, scale: 'percent', calibration: 'rekognition/default', providerLive: false });
      expect(out.match).toBeUndefined();
      expect(out.raw.livenessSession).toMatchObject({ status: 'FAILED', confidence: 12.5 });
      expect(emu.recorder.count('CompareFaces')).toBe(0);
    });

    it('an expired session → BadInput LIVENESS_SESSION_EXPIRED saying sessions expire 3 minutes after creation', async () => {
      const short = await startRekognitionEmulator({ scorer, faces, sessionTtlMs: 200 });
      const p = createRekognitionProvider({ region: short.region, endpoint: short.url, credentials: short.credentials, timeoutMs: 2000 });
      try {
        const { sessionId } = await p.createLivenessSession(ctx());
        short.startSession(sessionId);
        await new Promise((r) => setTimeout(r, 250));
        const e = await failure(p.check({ livenessSessionId: sessionId, reference: obama, match: true, liveness: true }, ctx()));
        expect([e.kind, e.reason, e.raw.status]).toEqual(['BadInput', 'LIVENESS_SESSION_EXPIRED', 'EXPIRED']);
        expect(e.message).toMatch(/expire 3 minutes after creation/);
      } finally {
        await p.close?.();
        await short.close();
      }
    });

    it('an unknown session → SessionNotFoundException → BadInput LIVENESS_SESSION_EXPIRED', async () => {
      const e = await failure(rek.check({ livenessSessionId: '6f1c2a4e-9b8d-4c3e-a1f0-0123456789ab', match: false, liveness: true }, ctx()));
      expect([e.kind, e.reason, e.raw.awsError]).toEqual(['BadInput', 'LIVENESS_SESSION_EXPIRED', 'SessionNotFoundException']);
    });

    it('passive liveness without a session is refused without a call', async () => {
      const e = await failure(rek.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'PROVIDER_ERROR']);
      expect(emu.recorder.count()).toBe(0);
      expect(rek.capabilities.has('liveness-session')).toBe(true);
      expect(rek.capabilities.has('liveness')).toBe(false);
    });

    it('session creation is idempotent per request id and its errors are classified', async () => {
      const a = await rek.createLivenessSession(ctx(undefined, 'req-same'));
      const b = await rek.createLivenessSession(ctx(undefined, 'req-same'));
      expect(b.sessionId).toBe(a.sessionId);
      emu.injectError('AccessDeniedException', { op: 'CreateFaceLivenessSession' });
      const e = await failure(rek.createLivenessSession(ctx()));
      expect([e.kind, e.raw.op]).toEqual(['Unauthorized', 'CreateFaceLivenessSession']);
    });
  });

  describe('health', () => {
    it('ok when region and credentials resolve; not ok when credentials cannot', async () => {
      expect(await rek.health(ctx())).toEqual({ ok: true, detail: `region ${emu.region}` });
      const broken = make({
        credentials: async () => {
          throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
        },
      });
      const h = await broken.health(ctx());
      expect(h.ok).toBe(false);
      expect(h.detail).toMatch(/credentials/i);
    });
  });
});
