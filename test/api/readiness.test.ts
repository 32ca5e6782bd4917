/**
 * /healthz answers at once; /readyz says whether this replica can serve, and if not, why: still
 * warming up, the store not answering, a provider failing its health check or refusing its
 * credentials. Redis down is reported but leaves the replica ready (limits fail open).
 */
import { createFaciaProvider } from '../../providers/facia';
import { createRekognitionProvider } from '../../providers/rekognition';
import { ProviderError, type Provider } from '../../providers/types';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { startServer } from '../../src/server';
import { VerifyIdentityDocument } from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { startRekognitionEmulator } from '../fakes/rekognition-emulator';
import { faceBase64 } from '../support/faces';
import { startHarness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { PGLITE } from '../support/stores';

const SELFIE = 'idenfy-documents/TheresaMayFace.jpg';
const DOCUMENT = 'idenfy-documents/TheresaMay.jpg';

const readyz = async (url: string) => {
  const res = await fetch(`${url.replace(/\/graphql$/, '')}/readyz`);
  return { status: res.status, body: (await res.json()) as any };
};

it('answers health at once and readiness only after warm-up', async () => {
  let finishWarmUp!: () => void;
  const slow: Provider = { ...scriptedProvider('local'), init: () => new Promise<void>((r) => (finishWarmUp = r)) };
  const db = await PGLITE.open();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const app = await createApp(config, { db, providers: [slow], logger: createLogger('silent'), warmUpInBackground: true });
  const server = await startServer(app, '127.0.0.1', 0);
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await readyz(server.url)).toEqual({ status: 503, body: { status: 'starting' } });
    const gql = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(gql.status).toBe(503);
    expect(((await gql.json()) as any).errors[0].extensions.code).toBe('NOT_READY');

    finishWarmUp();
    await app.warmUp;
    await new Promise((r) => setImmediate(r));
    expect(await readyz(server.url)).toEqual({ status: 200, body: { status: 'ready', store: { ok: true }, providers: { local: { ok: true } } } });
  } finally {
    await server.close();
    await PGLITE.dispose(db);
  }
});

describe('readiness after start-up', () => {
  const lines: string[] = [];
  const logDestination = { write: (s: string) => void lines.push(s) };
  const logged = (pattern: RegExp) => lines.map((l) => JSON.parse(l)).filter((l) => pattern.test(l.msg));
  beforeEach(() => {
    lines.length = 0;
  });

  it('is lost with the store, on the next probe', async () => {
    const db = await PGLITE.open();
    const h = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration() });
    try {
      expect((await readyz(h.url)).status).toBe(200);
      await db.close(); // the store is gone under the running app
      const r = await readyz(h.url);
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ status: 'unready', store: { ok: false, detail: expect.stringMatching(/^pglite: /) }, providers: { local: { ok: true } } });
    } finally {
      await h.close().catch(() => undefined);
    }
  });

  it('names a provider whose health check fails and why (degraded, still 200: fallbacks and breakers handle an outage), logs it once, and asks it at most once per interval', async () => {
    const db = await PGLITE.open();
    const facia = scriptedProvider('facia');
    let healthCalls = 0;
    facia.health = async () => {
      healthCalls++;
      return { ok: false, detail: 'status_check answered HTTP 503: Service is starting' };
    };
    const h = await startHarness({ db, providers: [scriptedProvider('local'), facia], calibration: scriptedCalibration(), logDestination });
    try {
      const probes = await Promise.all(Array.from({ length: 5 }, () => readyz(h.url)));
      for (const r of probes) {
        expect(r).toEqual({
          status: 200,
          body: {
            status: 'degraded',
            store: { ok: true },
            providers: { local: { ok: true }, facia: { ok: false, detail: 'status_check answered HTTP 503: Service is starting' } },
          },
        });
      }
      expect(healthCalls).toBe(1); // at warm-up; the probes within 10 s read that answer
      expect(logged(/^provider facia is unhealthy/)).toEqual([expect.objectContaining({ level: 50, provider: 'facia', detail: 'status_check answered HTTP 503: Service is starting' })]);
    } finally {
      await h.close();
      await PGLITE.dispose(db);
    }
  });

  describe('credentials refused', () => {
    let emu: FaciaEmulator;
    beforeAll(async () => {
      emu = await startFaciaEmulator({ scorer: async () => ({ similarity: 0.99, liveness: 0.97 }) });
    });
    afterAll(() => emu?.close());

    it('the real Facia adapter with a wrong hash_id: refused when the server warms up, /readyz 503 naming facia before any check', async () => {
      const db = await PGLITE.open();
      const facia = createFaciaProvider({ url: emu.url, hashId: 'not-the-emulators-hash-id', timeoutMs: 2000 });
      const h = await startHarness({ db, providers: [facia], logDestination });
      try {
        const r = await readyz(h.url);
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ status: 'unready', providers: { facia: { ok: false, detail: 'credentials refused (PROVIDER_UNAUTHORIZED)' } } });
        expect(JSON.stringify(r.body)).not.toContain('not-the-emulators-hash-id');
        expect(logged(/^provider facia refused its credentials/)).toHaveLength(1);
        // checks are refused the same way, and it stays unready
        const { key } = await h.tenant('wrong-hash', 'facia');
        const check = await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, key);
        expect(check.errors?.[0].extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', reasons: ['PROVIDER_UNAUTHORIZED'] });
        expect((await readyz(h.url)).status).toBe(503);
      } finally {
        await h.close();
        await PGLITE.dispose(db);
      }
    });

    it('the real Facia and Rekognition adapters with good credentials: ready, nothing processed', async () => {
      const db = await PGLITE.open();
      const rek = await startRekognitionEmulator();
      try {
        const providers = [
          createFaciaProvider({ url: emu.url, hashId: emu.hashId, timeoutMs: 2000 }),
          createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: rek.credentials }),
        ];
        const h = await startHarness({ db, providers });
        try {
          expect(await readyz(h.url)).toMatchObject({ status: 200, body: { status: 'ready', providers: { facia: { ok: true }, rekognition: { ok: true } } } });
        } finally {
          await h.close();
        }
        // and with a wrong AWS secret, Rekognition is refused at warm-up
        const wrong = createRekognitionProvider({ region: rek.region, endpoint: rek.url, credentials: { ...rek.credentials, secretAccessKey: 'not-the-secret' } });
        const h2 = await startHarness({ db, providers: [wrong] });
        try {
          const r = await readyz(h2.url);
          expect(r.status).toBe(503);
          expect(r.body.providers.rekognition).toEqual({ ok: false, detail: 'credentials refused (PROVIDER_UNAUTHORIZED)' });
        } finally {
          await h2.close();
        }
      } finally {
        await rek.close();
        await PGLITE.dispose(db);
      }
    });

    it('ready again once a check of that provider succeeds', async () => {
      const db = await PGLITE.open();
      const local = scriptedProvider('local');
      let refuse = true;
      local.behave(async (req) => {
        if (refuse) throw new ProviderError('local', 'Unauthorized', 'PROVIDER_UNAUTHORIZED', 'the key was revoked: secret-sent-0123');
        return outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined);
      });
      const h = await startHarness({ db, providers: [local], calibration: scriptedCalibration(), logDestination });
      try {
        const { key } = await h.tenant('flaky-key', 'local');
        const input = { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } };
        await h.gql(VerifyIdentityDocument, input, key);
        // the reason code, never the provider's own text (which may echo what it was sent)
        expect((await readyz(h.url)).body.providers.local).toEqual({ ok: false, detail: 'credentials refused (PROVIDER_UNAUTHORIZED)' });
        expect(lines.join('\n')).not.toContain('secret-sent-0123');
        refuse = false;
        expect((await h.gql(VerifyIdentityDocument, input, key)).data?.verifyIdentity.status).toBe('ACCEPTED');
        expect(await readyz(h.url)).toMatchObject({ status: 200, body: { status: 'ready', providers: { local: { ok: true } } } });
        expect(logged(/accepted its credentials again/)).toHaveLength(1);
      } finally {
        await h.close();
        await PGLITE.dispose(db);
      }
    });
  });

  it('reports Redis when the limits live there: up is ready, down is "degraded" but still 200 (limits fail open)', async () => {
    for (const [url, expected] of [
      ['redis://127.0.0.1:6379', { status: 200, body: { status: 'ready', redis: { ok: true } } }],
      ['redis://127.0.0.1:1', { status: 200, body: { status: 'degraded', redis: { ok: false, detail: expect.stringMatching(/rate limits and quotas are not enforced meanwhile/) } } }],
    ] as const) {
      const db = await PGLITE.open();
      const h = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env: { REDIS_URL: url } });
      try {
        let r = await readyz(h.url);
        // a first probe may race the connection being made: the answer settles within a few probes
        for (let i = 0; i < 50 && r.body.redis?.ok !== expected.body.redis.ok; i++) r = await readyz(h.url);
        expect(r).toMatchObject(expected);
      } finally {
        await h.close();
        await PGLITE.dispose(db);
      }
    }
  });
});

