/**
 * The Facia adapter against the Facia emulator (test/fakes/facia-emulator): real undici client,
 * real HTTP, every documented response and the transport faults.
 */
import { classifyResponse, redactor } from '../../providers/facia/classify';
import { createFaciaProvider, type FaciaConfig } from '../../providers/facia';
import { isProviderError, ProviderError, type CallContext, type ImageInput, type Provider } from '../../providers/types';
import { failureThroughCaller } from '../support/caller';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { FACES, imageFromBytes, loadFace } from '../fakes/images';
import { uprightDuty } from '../support/faces';
import { cosineToUnit, fallbackScorer, type Scorer } from '../fakes/scorer';

const HASH = 'hash-5f2c9e1a7b3d4c6e8f00-secret';
const obama = loadFace(FACES.obama);
const obama2 = loadFace(FACES.obama2);
const biden = loadFace(FACES.biden);
const alexPng = loadFace(FACES.alexPng);

const ctx = (signal: AbortSignal = new AbortController().signal): CallContext => ({ signal, requestId: 'req-1', tenantId: 't1' });

/** scores keyed by the pair's digests, so a test can tell the adapter passed the right images */
const fixedScorer = (table: Record<string, { similarity: number; liveness: number }>): Scorer => async (s, d) => {
  const key = `${imageFromBytes(s).sha256.slice(0, 8)}:${imageFromBytes(d).sha256.slice(0, 8)}`;
  const hit = table[key];
  if (!hit) throw new Error(`unexpected pair ${key}`);
  return hit;
};
const pair = (a: ImageInput, b: ImageInput) => `${a.sha256.slice(0, 8)}:${b.sha256.slice(0, 8)}`;

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (isProviderError(e)) return e;
    throw new Error(`expected a ProviderError, got ${String(e)}`);
  }
  throw new Error('expected the call to fail');
}

/** nothing the adapter hands back may contain the hash_id */
function expectNoSecret(x: unknown, secret = HASH) {
  const e = x as ProviderError;
  const text = JSON.stringify({ message: e.message, raw: e.raw, stack: e.stack, cause: String((e as { cause?: unknown }).cause ?? '') });
  expect(text).not.toContain(secret);
}

describe('Facia adapter ↔ Facia emulator', () => {
  let emu: FaciaEmulator;
  let facia: Provider;
  const providers: Provider[] = [];
  const make = (over: Partial<FaciaConfig> = {}) => {
    const p = createFaciaProvider({ url: emu.url, hashId: HASH, timeoutMs: 2000, ...over });
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    emu = await startFaciaEmulator({
      hashId: HASH,
      scorer: fixedScorer({
        [pair(obama2, obama)]: { similarity: 0.9312, liveness: 0.8841 },
        [pair(biden, obama)]: { similarity: 0.1204, liveness: 0.3127 },
        [pair(alexPng, obama)]: { similarity: 0.0512, liveness: 0.9603 },
      }),
    });
    facia = make();
  });
  afterEach(() => {
    emu.clearFaults();
    emu.setReady(true);
    emu.resetLimit();
    emu.recorder.clear();
  });
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close?.()));
    await emu.close();
  });

  describe('happy paths', () => {
    it('returns Facia’s own similarity and liveness numbers, with its yes/no, for a same-person pair', async () => {
      const out = await facia.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx());
      expect(out.match).toEqual({ score: 0.9312, scale: 'unit', calibration: 'facia/default', providerMatched: true });
      expect(out.liveness).toEqual({ score: 0.8841, scale: 'unit', calibration: 'facia/default', providerLive: true });
      expect(out.quality).toEqual([]);
      expect(out.raw).toMatchObject({
        status: 201,
        message: 'Success',
        face_similarity_result: { is_match: 1, similarity_score: 0.9312 },
        liveness_result: { is_live: 1, liveness_score: 0.8841 },
      });
      // the selfie went as selfie_image and the document as document_image
      const call = emu.recorder.last('/process_face')!;
      expect(call.detail).toMatchObject({ selfieSha256: obama2.sha256, documentSha256: obama.sha256, hashIdValid: true });
      expectNoSecret({ raw: out.raw });
    });

    it('reports a different person with is_match 0 and a failed liveness with is_live 0', async () => {
      const out = await facia.check({ probe: biden, reference: obama, match: true, liveness: true }, ctx());
      expect(out.match).toMatchObject({ score: 0.1204, providerMatched: false });
      expect(out.liveness).toMatchObject({ score: 0.3127, providerLive: false });
    });

    it('sends PNG images as data:image/png and returns only what was asked', async () => {
      const out = await facia.check({ probe: alexPng, reference: obama, match: true, liveness: false }, ctx());
      expect(out.match?.score).toBe(0.0512);
      expect(out.liveness).toBeUndefined();
      expect(emu.recorder.last('/process_face')!.detail.selfieSha256).toBe(alexPng.sha256);
    });

    it('reuses keep-alive connections across calls', async () => {
      for (let i = 0; i < 6; i++) await facia.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx());
      const ports = emu.recorder.of('/process_face').map((c) => c.detail.remotePort);
      expect(ports).toHaveLength(6);
      // sequential calls share a couple of pooled sockets instead of opening one each
      expect(new Set(ports).size).toBeLessThanOrEqual(2);
    });
  });

  describe('documented failures', () => {
    it('wrong hash_id → Unauthorized, and neither hash_id appears anywhere in the error', async () => {
      const wrong = 'wrong-hash-0123456789abcdef';
      const e = await failure(make({ hashId: wrong }).check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['Unauthorized', 'PROVIDER_UNAUTHORIZED']);
      expect(e.raw).toMatchObject({ status: 401, faciaMessage: 'Invalid credentials' });
      expectNoSecret(e, wrong);
      expectNoSecret(e, HASH);
      expect(e.retryable).toBe(false);
    });

    it('corrupt selfie → BadInput BAD_IMAGE with Facia’s explanation', async () => {
      const corrupt: ImageInput = { ...obama2, bytes: Buffer.from('definitely not a jpeg') };
      const e = await failure(facia.check({ probe: corrupt, reference: obama, match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
      expect(e.message).toMatch(/Invalid or corrupt selfie image/);
      expect(e.raw.status).toBe(400);
    });

    it('corrupt document → BadInput BAD_IMAGE', async () => {
      const corrupt: ImageInput = { ...obama, format: 'png', bytes: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) };
      const e = await failure(facia.check({ probe: obama2, reference: corrupt, match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
      expect(e.message).toMatch(/document image/);
    });

    it('the emulator answers a request without a document as Facia documents, and that body classifies as BadInput', async () => {
      const res = await fetch(`${emu.url}/process_face`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hash_id: HASH, selfie_image: `data:image/jpeg;base64,${obama.bytes.toString('base64')}` }),
      });
      const body = await res.json();
      expect(res.status).toBe(400);
      expect(body).toEqual({ error: 'Both selfie_image and document_image are required' });
      const e = classifyResponse(res.status, body, redactor(HASH));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
    });

    it('sends a photo tagged with an EXIF orientation with its pixels turned upright', async () => {
      const duty = uprightDuty();
      const capturing = await startFaciaEmulator({ hashId: HASH, scorer: duty.scorer });
      const p = createFaciaProvider({ url: capturing.url, hashId: HASH, timeoutMs: 2000 });
      try {
        const tagged = await duty.tagged();
        await p.check({ probe: tagged, reference: obama, match: true, liveness: true }, ctx());
        await duty.expectSentUpright(tagged, obama);
      } finally {
        await p.close?.();
        await capturing.close();
      }
    });

    it('demo request limit → QuotaExceeded once the limit is used up', async () => {
      const limited = await startFaciaEmulator({ hashId: HASH, requestLimit: 1, scorer: fallbackScorer });
      const p = createFaciaProvider({ url: limited.url, hashId: HASH, timeoutMs: 2000 });
      try {
        await p.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx());
        const e = await failure(p.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
        expect([e.kind, e.reason]).toEqual(['QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED']);
        expect(e.raw).toMatchObject({ status: 429, faciaMessage: 'Your request limit has been reached.' });
      } finally {
        await p.close?.();
        await limited.close();
      }
    });

    it.each([
      // documented bodies under other statuses than the emulator's: the body decides
      [200, { message: 'Your request limit has been reached.' }, 'QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED'],
      [403, { message: 'Invalid credentials' }, 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      [200, { message: 'Invalid credentials' }, 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      [422, { error: 'Invalid or corrupt selfie image. Images must be in PNG, JPG, or JPEG format' }, 'BadInput', 'BAD_IMAGE'],
      [500, { error: 'Both selfie_image and document_image are required' }, 'BadInput', 'BAD_IMAGE'],
      // undocumented bodies: the status decides
      [429, { detail: 'slow down' }, 'QuotaExceeded', 'PROVIDER_QUOTA_EXCEEDED'],
      [401, {}, 'Unauthorized', 'PROVIDER_UNAUTHORIZED'],
      [502, { message: 'Bad Gateway' }, 'Transient', 'PROVIDER_UNAVAILABLE'],
      [404, { message: 'Not Found' }, 'Unavailable', 'PROVIDER_UNAVAILABLE'],
      [201, { message: 'Success' }, 'Transient', 'PROVIDER_ERROR'],
      [201, { face_similarity_result: { is_match: 1, similarity_score: 93 }, liveness_result: { is_live: 1, liveness_score: 0.9 } }, 'Transient', 'PROVIDER_ERROR'],
    ])('HTTP %i %j → %s %s', async (status, body, kind, reason) => {
      emu.inject({ kind: 'status', status, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const e = await failure(facia.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual([kind, reason]);
      expectNoSecret(e);
    });

    it('redacts the hash_id if Facia echoes it back', async () => {
      emu.inject({ kind: 'status', status: 400, body: JSON.stringify({ error: `unknown hash_id ${HASH}` }) });
      const e = await failure(facia.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
      expect(e.kind).toBe('BadInput');
      expect(e.message).toContain('[redacted]');
      expectNoSecret(e);
    });
  });

  describe('what Facia cannot do', () => {
    it('refuses a liveness-only check (no document) without calling Facia', async () => {
      const e = await failure(facia.check({ probe: obama2, match: false, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'BAD_IMAGE']);
      expect(e.message).toMatch(/requires both a selfie and a document/);
      expect(emu.recorder.count('/process_face')).toBe(0);
    });

    it('refuses a Rekognition liveness session', async () => {
      const e = await failure(facia.check({ probe: obama2, reference: obama, livenessSessionId: 'abc', match: true, liveness: true }, ctx()));
      expect([e.kind, e.reason]).toEqual(['BadInput', 'PROVIDER_ERROR']);
      expect(emu.recorder.count()).toBe(0);
    });
  });

  describe('readiness', () => {
    it('/status_check is not live until readyAfterMs, and a check before that is Transient', async () => {
      const slow = await startFaciaEmulator({ hashId: HASH, readyAfterMs: 400, scorer: fallbackScorer });
      const p = createFaciaProvider({ url: slow.url, hashId: HASH, timeoutMs: 2000 });
      try {
        expect(await p.health(ctx())).toMatchObject({ ok: false });
        const e = await failure(p.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx()));
        expect([e.kind, e.reason, e.raw.status]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE', 503]);
        await new Promise((r) => setTimeout(r, 450));
        expect(await p.health(ctx())).toEqual({ ok: true });
        const out = await p.check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx());
        expect(out.match?.score).toBeGreaterThan(0);
      } finally {
        await p.close?.();
        await slow.close();
      }
    });

    it('health is not ok when the server cannot be reached', async () => {
      const p = createFaciaProvider({ url: 'http://127.0.0.1:9', hashId: HASH, timeoutMs: 1000 });
      const h = await p.health(ctx());
      expect(h.ok).toBe(false);
      expect(h.detail).not.toContain(HASH);
      await p.close?.();
    });
  });

  describe('transport faults', () => {
    const req = { probe: obama2, reference: obama, match: true, liveness: true } as const;

    it('HTTP 500 → Transient, retryable', async () => {
      emu.inject({ kind: 'status', status: 500, body: '{"message":"Internal Server Error"}' });
      const e = await failure(facia.check(req, ctx()));
      expect([e.kind, e.reason, e.retryable]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE', true]);
    });

    it('connection reset → Transient PROVIDER_UNAVAILABLE', async () => {
      emu.inject({ kind: 'reset' });
      const e = await failure(facia.check(req, ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE']);
    });

    it('connection refused → Transient PROVIDER_UNAVAILABLE', async () => {
      const p = make({ url: 'http://127.0.0.1:9' });
      const e = await failure(p.check(req, ctx()));
      expect([e.kind, e.reason]).toEqual(['Transient', 'PROVIDER_UNAVAILABLE']);
      expectNoSecret(e);
    });

    it('malformed JSON on a 201 → Transient PROVIDER_ERROR', async () => {
      emu.inject({ kind: 'malformed' });
      const e = await failure(facia.check(req, ctx()));
      expect([e.kind, e.reason, e.raw.status]).toEqual(['Transient', 'PROVIDER_ERROR', 201]);
    });

    it('latency within the deadline is just slow', async () => {
      emu.inject({ kind: 'latency', ms: 300 });
      const t0 = Date.now();
      const out = await facia.check(req, ctx());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(out.match?.score).toBe(0.9312);
    });

    it.each([
      ['latency beyond the deadline', { kind: 'latency', ms: 5000 } as const],
      ['a server that never answers', { kind: 'hang' } as const],
      ['a body dripped one byte per 100 ms', { kind: 'drip', intervalMs: 100 } as const],
    ])('%s → Transient TIMEOUT at the provider caller’s deadline (the adapter’s timeoutMs)', async (_, fault) => {
      const p = make({ timeoutMs: 500 });
      emu.inject(fault);
      const t0 = Date.now();
      const e = await failureThroughCaller(p, req);
      const elapsed = Date.now() - t0;
      expect([e.kind, e.reason]).toEqual(['Transient', 'TIMEOUT']);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(1500);
      expectNoSecret(e);
    });

    it('the caller’s signal cancels a call in flight → Transient INTERRUPTED', async () => {
      emu.inject({ kind: 'hang' });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('client went away')), 150);
      const t0 = Date.now();
      const e = await failure(facia.check(req, ctx(ac.signal)));
      expect([e.kind, e.reason]).toEqual(['Transient', 'INTERRUPTED']);
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('an already-aborted signal makes no call', async () => {
      const ac = new AbortController();
      ac.abort();
      const e = await failure(facia.check(req, ctx(ac.signal)));
      expect(e.reason).toBe('INTERRUPTED');
      expect(emu.recorder.count()).toBe(0);
    });
  });
});

describe('emulator scorers', () => {
  it('fallback: identical images score high, different ones low, deterministically', async () => {
    const same = await fallbackScorer(obama.bytes, obama.bytes);
    const diff = await fallbackScorer(obama.bytes, biden.bytes);
    expect(same.similarity).toBeGreaterThan(0.9);
    expect(diff.similarity).toBeLessThan(0.4);
    expect(await fallbackScorer(biden.bytes, obama.bytes)).toEqual(diff);
  });

  it('cosine → unit map is monotone and centred at 0.3', () => {
    expect(cosineToUnit(0.3)).toBeCloseTo(0.5);
    expect(cosineToUnit(0.7)).toBeGreaterThan(0.99);
    expect(cosineToUnit(0.05)).toBeLessThan(0.05);
  });
});
