/**
 * Abuse limits over real HTTP, on both stores: per-tenant and per-key token buckets, the daily
 * check quota, mutations costing more than queries, `RATE_LIMITED` / `QUOTA_EXCEEDED` with
 * `retryAfterSeconds` and `Retry-After`, admin-set limits (stored, audited). Then the same limits
 * shared by two app instances through one real Redis (no mocks), and what happens when Redis is down.
 */
import Redis from 'ioredis';
import { loadConfig } from '../../src/config';
import { createLimitStore, MemoryLimitStore, RedisLimitStore, type Charge } from '../../src/limits';
import type { Db } from '../../src/store/db';
import {
  CheckLivenessDocument,
  ChecksDocument,
  CreateApiKeyDocument,
  SetTenantLimitsDocument,
  TenantLimitsDocument,
  VerifyIdentityDocument,
  type TenantLimitsInput,
} from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { startHarness, type GqlResponse, type Harness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'idenfy-documents/BarackHusseinObama.jpg';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DAY = 86_400;

const secondsToUtcMidnight = () => DAY - (Math.floor(Date.now() / 1000) % DAY);

async function postGql(h: Harness, key: string, query: string) {
  const res = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
  return { status: res.status, json: (await res.json()) as { data?: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> } };
}

function expectRefused(res: GqlResponse<unknown>, code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED', limit?: string) {
  expect(res.status).toBe(429);
  const ext = res.errors?.[0].extensions ?? {};
  expect(ext.code).toBe(code);
  if (limit) expect(ext.limit).toBe(limit);
  expect(Number.isInteger(ext.retryAfterSeconds) && ext.retryAfterSeconds >= 1).toBe(true);
  expect(res.headers.get('retry-after')).toBe(String(ext.retryAfterSeconds));
  expect(ext.http).toBeUndefined();
  return ext.retryAfterSeconds as number;
}

describe('limits configuration', () => {
  it('chooses the store from config, and names a bad variable', async () => {
    expect(createLimitStore(loadConfig({})).kind).toBe('memory');
    const shared = createLimitStore(loadConfig({ REDIS_URL }));
    expect(shared.kind).toBe('redis');
    await shared.close();
    expect(() => loadConfig({ VERIGATE_LIMITS_STORE: 'redis' })).toThrow(/REDIS_URL: is required when VERIGATE_LIMITS_STORE=redis/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ VERIGATE_TENANT_BURST: '0' })).toThrow(/VERIGATE_TENANT_BURST/);
    expect(() => loadConfig({ VERIGATE_MAX_QUERY_DEPTH: 'deep' })).toThrow(/VERIGATE_MAX_QUERY_DEPTH/);
  });
});

describeEachStore('abuse limits', (store) => {
  let db: Db;
  let h: Harness;
  const local = scriptedProvider('local');
  const start = (env: Record<string, string> = {}, logDestination?: { write(s: string): void }) =>
    startHarness({ db, providers: [local], calibration: scriptedCalibration(), env: { VERIGATE_LIMITS_CACHE_MS: '0', ...env }, logDestination });

  const verify = (hh: Harness, key: string) =>
    hh.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, key);
  const list = (hh: Harness, key: string) => hh.gql(ChecksDocument, { first: 1 }, key);
  const limited = async (hh: Harness, name: string, limits: TenantLimitsInput) => {
    const t = await hh.tenant(name);
    const set = await hh.gql(SetTenantLimitsDocument, { tenantId: t.id, limits });
    if (!set.data) throw new Error(JSON.stringify(set.errors));
    return t;
  };
  const checksOf = async (tenantId: string) =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1', [tenantId]))[0].n;

  beforeAll(async () => {
    db = await store.open();
    h = await start();
  });
  afterAll(async () => {
    await h.close();
    await store.dispose(db);
  });

  describe('admin-set limits', () => {
    it('stores, shows and audits a tenant’s limits; fields left out fall back to the server defaults', async () => {
      const t = await h.tenant('limits-admin');
      const before = await h.gql(TenantLimitsDocument, { tenantId: t.id });
      expect(before.data?.tenantLimits).toMatchObject({ tenantId: t.id, burst: null, checksPerDay: null, updatedAt: null });
      expect(before.data?.tenantLimits.effective).toEqual({
        ratePerMinute: 60000,
        burst: 2000,
        keyRatePerMinute: 60000,
        keyBurst: 2000,
        checksPerDay: null,
        retentionDays: null,
      });

      const set = await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits: { ratePerMinute: 120, burst: 30, checksPerDay: 500, retentionDays: 90 } });
      expect(set.data?.setTenantLimits).toMatchObject({ ratePerMinute: 120, burst: 30, keyBurst: null, checksPerDay: 500, retentionDays: 90 });
      expect(set.data?.setTenantLimits.effective).toMatchObject({ ratePerMinute: 120, burst: 30, keyBurst: 2000, checksPerDay: 500, retentionDays: 90 });
      expect(set.data?.setTenantLimits.updatedAt).toBeTruthy();

      const replaced = await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits: { burst: 40 } });
      expect(replaced.data?.setTenantLimits).toMatchObject({ ratePerMinute: null, burst: 40, checksPerDay: null, retentionDays: null });
      expect((await h.gql(TenantLimitsDocument, { tenantId: t.id })).data?.tenantLimits.effective).toMatchObject({ ratePerMinute: 60000, burst: 40 });

      const audit = await db.query<{ actor: string; detail: Record<string, unknown> }>(
        "SELECT actor, detail FROM audit_log WHERE action = 'tenant.setLimits' AND tenant_id = $1 ORDER BY at",
        [t.id],
      );
      expect(audit).toHaveLength(2);
      expect(audit[0].actor).toMatch(/^key:/);
      expect(audit[0].detail).toMatchObject({ burst: 30, checksPerDay: 500, retentionDays: 90 });
    });

    it('answers bad limits, unknown tenants and tenant keys with typed errors, and stores nothing', async () => {
      const t = await h.tenant('limits-bad');
      for (const [limits, field] of [
        [{ burst: 0 }, 'burst'],
        [{ ratePerMinute: -5 }, 'ratePerMinute'],
        [{ checksPerDay: 2_000_000_000 }, 'checksPerDay'],
        [{ retentionDays: 0 }, 'retentionDays'],
      ] as const) {
        const res = await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits });
        expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      }
      const wrongType = await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits: { burst: 1.5 as never } });
      expect(wrongType.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      const unknown = await h.gql(SetTenantLimitsDocument, { tenantId: '6f1c2d7e-0000-4000-8000-000000000000', limits: { burst: 5 } });
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await h.gql(TenantLimitsDocument, { tenantId: 'not-a-uuid' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const asTenant = await h.gql(SetTenantLimitsDocument, { tenantId: t.id, limits: { burst: 1_000_000 } }, t.key);
      expect(asTenant.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await db.query('SELECT * FROM tenant_limits WHERE tenant_id = $1', [t.id])).toHaveLength(0);
    });
  });

  describe('token buckets (in memory)', () => {
    it('charges a mutation more than a query, refuses with RATE_LIMITED, Retry-After, and no check', async () => {
      // 25 tokens, refilled at 6 per minute (0.1/s): two verifies (10 each) leave 5 — enough for queries, not for a third verify
      const t = await limited(h, 'bucket-cost', { burst: 25, ratePerMinute: 6 });
      expect((await verify(h, t.key)).data?.verifyIdentity.status).toBe('ACCEPTED');
      expect((await verify(h, t.key)).data?.verifyIdentity.status).toBe('ACCEPTED');
      local.calls.length = 0;
      const third = await verify(h, t.key);
      const retry = expectRefused(third, 'RATE_LIMITED', 'tenant');
      expect(retry).toBeGreaterThanOrEqual(45); // ≥ 5 missing tokens at 0.1/s
      expect(retry).toBeLessThanOrEqual(51);
      expect(local.calls).toHaveLength(0);
      expect(await checksOf(t.id)).toBe(2);
      // queries cost 1: the five tokens left serve five more
      for (let i = 0; i < 5; i++) expect((await list(h, t.key)).status).toBe(200);
      expectRefused(await list(h, t.key), 'RATE_LIMITED');
    });

    it('keeps one bucket per API key inside the tenant’s', async () => {
      const t = await limited(h, 'bucket-keys', { keyBurst: 3, keyRatePerMinute: 1 });
      const other = (await h.gql(CreateApiKeyDocument, { role: 'tenant', tenantId: t.id })).data!.createApiKey.secret;
      for (let i = 0; i < 3; i++) expect((await list(h, t.key)).status).toBe(200);
      const retry = expectRefused(await list(h, t.key), 'RATE_LIMITED', 'key');
      expect(retry).toBeGreaterThanOrEqual(59);
      expect((await list(h, other)).status).toBe(200);
    });

    it('caps checks per UTC day with QUOTA_EXCEEDED until midnight; queries still pass', async () => {
      const t = await limited(h, 'quota-day', { checksPerDay: 2 });
      expect((await verify(h, t.key)).status).toBe(200);
      const live = await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(SELFIE) } }, t.key);
      expect(live.data?.checkLiveness.status).toBeDefined();
      const refused = await verify(h, t.key);
      const retry = expectRefused(refused, 'QUOTA_EXCEEDED', 'checksPerDay');
      expect(Math.abs(retry - secondsToUtcMidnight())).toBeLessThanOrEqual(5);
      expect(await checksOf(t.id)).toBe(2);
      expect((await list(h, t.key)).status).toBe(200);
    });

    it('charges only stored checks: refused images never, a provider failure yes, repeats and CONFLICTs never', async () => {
      const t = await limited(h, 'quota-stored', { checksPerDay: 2 });
      const notAnImage = Buffer.from('plain text, not a picture').toString('base64');
      for (const selfie of [notAnImage, 'not base64 at all!', notAnImage]) {
        const res = await h.gql(VerifyIdentityDocument, { input: { selfie, document: faceBase64(DOCUMENT) } }, t.key);
        expect(res.errors?.[0].extensions?.code).toMatch(/^(BAD_USER_INPUT|UNSUPPORTED_IMAGE_FORMAT)$/);
      }
      // a provider that fails still stored a check (ERROR, named in the error): it counts
      local.behave(async () => {
        throw new Error('scripted crash');
      });
      const failed = await verify(h, t.key);
      local.behave(async (req) => outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined));
      expect(failed.errors?.[0].extensions?.checkId).toEqual(expect.any(String));
      const keyed = { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT), idempotencyKey: 'once' };
      expect((await h.gql(VerifyIdentityDocument, { input: keyed }, t.key)).data?.verifyIdentity.status).toBe('ACCEPTED');
      // the quota is used up, but a repeat is the stored result (free), and a CONFLICT costs nothing
      for (let i = 0; i < 3; i++) expect((await h.gql(VerifyIdentityDocument, { input: keyed }, t.key)).data?.verifyIdentity.status).toBe('ACCEPTED');
      const conflict = await h.gql(VerifyIdentityDocument, { input: { ...keyed, referenceId: 'someone else' } }, t.key);
      expect(conflict.errors?.[0].extensions?.code).toBe('CONFLICT');
      expectRefused(await verify(h, t.key), 'QUOTA_EXCEEDED', 'checksPerDay');
      expect(await checksOf(t.id)).toBe(2);
      expect(await h.app.services.store.checks.quotaUsed(t.id)).toBe(2);
    });

    it('is never exceeded by the shape of a request: one verification per request, every root field paid in full', async () => {
      const t = await limited(h, 'quota-shapes', { checksPerDay: 2, burst: 45 });
      const good = `{selfie: "${faceBase64(SELFIE)}", document: "${faceBase64(DOCUMENT)}"}`;
      const bad = `{selfie: "bm90IGFuIGltYWdl", document: "${faceBase64(DOCUMENT)}"}`;
      // a good verification beside a bad one was stored while the response had no data (the quota refunded)
      const two = await postGql(h, t.key, `mutation { a: verifyIdentity(input: ${good}) { id } b: verifyIdentity(input: ${bad}) { id } }`);
      expect(two.status).toBe(400);
      expect(two.json.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(two.json.errors[0].message).toMatch(/only root field/);
      expect(await checksOf(t.id)).toBe(0);
      // five mutation root fields cost 50 tokens: more than the burst of 45 ever holds, whatever the bucket
      const five = await postGql(h, t.key, `mutation { ${[1, 2, 3, 4, 5].map((i) => `k${i}: createLivenessSession { sessionId }`).join(' ')} }`);
      expect(five.json.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(five.json.errors[0].message).toMatch(/costs 50 tokens/);
      for (let i = 0; i < 2; i++) expect((await verify(h, t.key)).status).toBe(200);
      expectRefused(await verify(h, t.key), 'QUOTA_EXCEEDED');
      expect(await checksOf(t.id)).toBe(2);
    });

    it('keeps the daily quota across a restart, without Redis (it lives in the store)', async () => {
      const t = await limited(h, 'quota-restart', { checksPerDay: 1 });
      expect((await verify(h, t.key)).status).toBe(200);
      const restarted = await start();
      try {
        expectRefused(await verify(restarted, t.key), 'QUOTA_EXCEEDED');
      } finally {
        await restarted.close();
      }
    });

    it('refuses an address after too many unknown keys, before any lookup, for the rest of the minute', async () => {
      const hh = await start({ VERIGATE_AUTH_FAILURES_PER_MINUTE: '5' });
      try {
        const t = await hh.tenant('auth-failures');
        for (let i = 0; i < 5; i++) {
          const res = await list(hh, `vg_wrong_key_${i}_0123456789abcdef`);
          expect([res.status, res.errors?.[0].extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
        }
        const refused = await list(hh, 'vg_wrong_key_6_0123456789abcdef');
        expect(refused.status).toBe(429);
        expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'authFailures' });
        const retry = refused.errors?.[0].extensions?.retryAfterSeconds as number;
        expect(retry >= 1 && retry <= 60).toBe(true);
        expect(refused.headers.get('retry-after')).toBe(String(retry));
        // the address is refused whatever key it sends now; another harness (another count) is not
        expect((await list(hh, t.key)).status).toBe(429);
        expect((await list(h, t.key)).status).toBe(200);
      } finally {
        await hh.close();
      }
    });

    it('counts only failures: valid keys from the same address never use up the allowance', async () => {
      const hh = await start({ VERIGATE_AUTH_FAILURES_PER_MINUTE: '2' });
      try {
        const t = await hh.tenant('auth-successes');
        for (let i = 0; i < 10; i++) expect((await list(hh, t.key)).status).toBe(200);
        expect((await list(hh, 'vg_wrong_key_0123456789abcdef')).status).toBe(401);
        expect((await list(hh, t.key)).status).toBe(200);
      } finally {
        await hh.close();
      }
    });

    it('does not meter admin keys', async () => {
      await limited(h, 'admin-not-metered', { burst: 1, keyBurst: 1 });
      for (let i = 0; i < 5; i++) expect((await h.gql(TenantLimitsDocument, { tenantId: (await h.tenant(`admin-${i}`)).id })).status).toBe(200);
    });

    it('refills continuously and charges all limits or none', async () => {
      let now = 1_000_000;
      const s = new MemoryLimitStore(() => now);
      const bucket = (cost: number): Charge => ({ kind: 'rate', key: 'b', capacity: 10, refillPerSecond: 2, cost });
      const quota = (cost: number): Charge => ({ kind: 'quota', key: 'q', limit: 3, windowSeconds: 60, cost });
      expect(await s.consume([bucket(10)])).toEqual({ allowed: true });
      expect(await s.consume([bucket(1)])).toEqual({ allowed: false, kind: 'rate', key: 'b', retryAfterSeconds: 1 });
      now += 2500; // +5 tokens
      expect(await s.consume([bucket(5)])).toEqual({ allowed: true });
      now += 5000; // full again
      expect(await s.consume([bucket(4), quota(3)])).toEqual({ allowed: true });
      // the quota refuses: the bucket keeps its 6 tokens
      expect(await s.consume([bucket(6), quota(1)])).toMatchObject({ allowed: false, kind: 'quota' });
      expect(await s.consume([bucket(6)])).toEqual({ allowed: true });
    });
  });

  describe('shared through Redis', () => {
    let r1: Harness;
    let r2: Harness;
    let m2: Harness;
    let redis: Redis;
    const env = { VERIGATE_LIMITS_STORE: 'redis', REDIS_URL };

    beforeAll(async () => {
      redis = new Redis(REDIS_URL);
      r1 = await start(env);
      r2 = await start(env);
      m2 = await start();
    });
    afterAll(async () => {
      await Promise.all([r1.close(), r2.close(), m2.close()]);
      redis.disconnect();
    });

    it('lets two instances share one tenant bucket (memory instances each keep their own)', async () => {
      const shared = await limited(r1, 'redis-shared', { burst: 10, ratePerMinute: 1 });
      let ok = 0;
      for (let i = 0; i < 16; i++) if ((await list(i % 2 ? r1 : r2, shared.key)).status === 200) ok++;
      expect(ok).toBe(10);
      expectRefused(await list(r1, shared.key), 'RATE_LIMITED');
      expectRefused(await list(r2, shared.key), 'RATE_LIMITED');

      const apart = await limited(h, 'memory-apart', { burst: 10, ratePerMinute: 1 });
      let okApart = 0;
      for (let i = 0; i < 24; i++) if ((await list(i % 2 ? h : m2, apart.key)).status === 200) okApart++;
      expect(okApart).toBe(20);
    });

    it('is atomic under concurrent requests from both instances', async () => {
      const t = await limited(r1, 'redis-race', { burst: 10, ratePerMinute: 1 });
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => list(i % 2 ? r1 : r2, t.key)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(10);
      expect(results.filter((r) => r.status === 429)).toHaveLength(30);
    });

    it('shares the daily quota between instances (it lives in their database), with the same typed refusal', async () => {
      const t = await limited(r1, 'shared-quota', { checksPerDay: 3 });
      expect((await verify(r1, t.key)).status).toBe(200);
      expect((await verify(r2, t.key)).status).toBe(200);
      expect((await verify(r1, t.key)).status).toBe(200);
      const retry = expectRefused(await verify(r2, t.key), 'QUOTA_EXCEEDED');
      expect(Math.abs(retry - secondsToUtcMidnight())).toBeLessThanOrEqual(5);
      expect(await checksOf(t.id)).toBe(3);
    });

    it('shares the count of failed key lookups between instances', async () => {
      await redis.del('verigate:limits:authfail:127.0.0.1', 'verigate:limits:authfail:::ffff:127.0.0.1');
      const env2 = { ...env, VERIGATE_AUTH_FAILURES_PER_MINUTE: '3' };
      const [a, b] = [await start(env2), await start(env2)];
      try {
        expect((await list(a, 'vg_wrong_key_a_0123456789abcdef')).status).toBe(401);
        expect((await list(b, 'vg_wrong_key_b_0123456789abcdef')).status).toBe(401);
        expect((await list(a, 'vg_wrong_key_c_0123456789abcdef')).status).toBe(401);
        const refused = await list(b, 'vg_wrong_key_d_0123456789abcdef');
        expect([refused.status, refused.errors?.[0].extensions?.code]).toEqual([429, 'RATE_LIMITED']);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await redis.del('verigate:limits:authfail:127.0.0.1', 'verigate:limits:authfail:::ffff:127.0.0.1');
      }
    });

    it('refills over Redis time and charges all limits or none', async () => {
      const s = new RedisLimitStore(REDIS_URL);
      const key = `unit:${Date.now()}:${Math.random()}`;
      const bucket = (cost: number): Charge => ({ kind: 'rate', key: `${key}:b`, capacity: 2, refillPerSecond: 20, cost });
      const quota = (cost: number): Charge => ({ kind: 'quota', key: `${key}:q`, limit: 1, windowSeconds: 3600, cost });
      try {
        expect(await s.consume([bucket(2), quota(1)])).toEqual({ allowed: true });
        expect(await s.consume([bucket(2)])).toMatchObject({ allowed: false, kind: 'rate', retryAfterSeconds: 1 });
        await new Promise((r) => setTimeout(r, 150)); // 3 tokens' worth, capped at 2
        expect(await s.consume([bucket(1), quota(1)])).toMatchObject({ allowed: false, kind: 'quota' });
        expect(await s.consume([bucket(2)])).toEqual({ allowed: true }); // the refused charge took nothing
      } finally {
        await s.close();
      }
    });

    it('lets requests through (and logs it) when Redis is unreachable', async () => {
      const lines: string[] = [];
      const down = await start({ VERIGATE_LIMITS_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' }, { write: (s) => void lines.push(s) });
      try {
        const t = await limited(down, 'redis-down', { burst: 1 });
        const started = performance.now();
        for (let i = 0; i < 3; i++) expect((await list(down, t.key)).status).toBe(200);
        expect(performance.now() - started).toBeLessThan(5000);
        expect(lines.join('\n')).toContain('limit store failed; request allowed');
      } finally {
        await down.close();
      }
    });
  });
});
