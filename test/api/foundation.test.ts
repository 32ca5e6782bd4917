/**
 * The service foundation over real HTTP, against both stores: auth and roles, the verify
 * mutations, idempotency, timeouts and failures that still leave a check, paging with a constant
 * number of queries, and tenant isolation by id, filter and cursor.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../../providers/types';
import type { Db } from '../../src/store/db';
import {
  CheckDocument,
  ChecksDocument,
  CompareFacesDocument,
  CheckLivenessDocument,
  CreateApiKeyDocument,
  CreateTenantDocument,
  RevokeApiKeyDocument,
  SetTenantProviderDocument,
  TenantsDocument,
  VerifyIdentityDocument,
} from '../generated/graphql';
import { faceBase64, faceBytes, faceDataUri } from '../support/faces';
import { ADMIN_KEY, postRaw, startHarness, type Harness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'idenfy-documents/BarackHusseinObama.jpg';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describeEachStore('service foundation', (store) => {
  let db: Db;
  let h: Harness;
  const local = scriptedProvider('local');
  const facia = scriptedProvider('facia');
  let a: { id: string; key: string };
  let b: { id: string; key: string };

  beforeAll(async () => {
    db = await store.open();
    h = await startHarness({ db, providers: [local, facia], calibration: scriptedCalibration(), env: { VERIGATE_PROVIDER_TIMEOUT_MS: '400' } });
    a = await h.tenant('tenant-a');
    b = await h.tenant('tenant-b');
  });
  afterAll(async () => {
    await h.close();
    await store.dispose(db);
  });
  beforeEach(() => {
    local.calls.length = 0;
    local.behave(async (req) => outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined, { scripted: true }));
  });

  const verify = (key: string, extra: Record<string, string> = {}) =>
    h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceDataUri(DOCUMENT), ...extra } }, key);

  describe('HTTP endpoints', () => {
    const base = () => h.url.replace(/\/graphql$/, '');
    it('answers /healthz, /readyz and /metrics', async () => {
      expect((await fetch(`${base()}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base()}/readyz`);
      expect(ready.status).toBe(200);
      await verify(a.key);
      const metrics = await (await fetch(`${base()}/metrics`)).text();
      expect(metrics).toMatch(/verigate_checks_total\{kind="VERIFY_IDENTITY",provider="local",status="ACCEPTED"\} \d+/);
      expect(metrics).toContain('verigate_http_request_duration_seconds_bucket');
    });

    it('sets security headers and a request id', async () => {
      const res = await fetch(`${base()}/healthz`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('refuses malformed JSON, batches and oversize bodies with typed errors', async () => {
      const bad = await postRaw(h.url, '{"query": ', { authorization: `Bearer ${a.key}` });
      expect(bad.status).toBe(400);
      expect(bad.json.errors[0].extensions.code).toBe('BAD_REQUEST');
      const batch = await postRaw(h.url, JSON.stringify([{ query: '{ tenants { id } }' }]), { authorization: `Bearer ${ADMIN_KEY}` });
      expect(batch.json.errors[0].extensions.code).toBe('BAD_REQUEST');
      const max = h.app.services.config.VERIGATE_MAX_BODY_BYTES;
      const huge = await postRaw(h.url, JSON.stringify({ query: 'x'.repeat(max + 10) }), { authorization: `Bearer ${a.key}` });
      expect(huge.status).toBe(413);
      expect(huge.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('looks the API key up while the body is still uploading', async () => {
      const lookups = jest.spyOn(h.app.services.store.keys, 'findActive');
      const body = JSON.stringify({ query: '{ checks(first: 1) { edges { cursor } } }', padding: 'x'.repeat(2000) });
      const { hostname: host, port } = new URL(h.url);
      const socket = connect(Number(port), host);
      try {
        await once(socket, 'connect');
        socket.write(
          `POST /graphql HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nauthorization: Bearer ${a.key}\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body.slice(0, 1000)}`,
        );
        // half the body is in: the lookup has started (before this change it waited for the rest)
        for (const until = Date.now() + 2000; lookups.mock.calls.length === 0 && Date.now() < until; ) await sleep(10);
        expect(lookups).toHaveBeenCalledTimes(1);
        const answer: Buffer[] = [];
        socket.on('data', (c: Buffer) => answer.push(c));
        // not end(): a client's half-close makes node's server drop the request; `connection: close` ends it after the answer
        socket.write(body.slice(1000));
        await once(socket, 'close');
        const text = Buffer.concat(answer).toString();
        expect(text).toMatch(/^HTTP\/1\.1 200/);
        expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).data.checks.edges).toBeDefined();
      } finally {
        socket.destroy();
        lookups.mockRestore();
      }
    });
  });

  describe('keys and roles', () => {
    it('requires a key, and rejects unknown ones with 401', async () => {
      const none = await verify(null as never);
      expect(none.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const wrong = await verify('vg_tnt_not-a-real-key');
      expect(wrong.status).toBe(401);
      expect(wrong.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('keeps admin operations for admin keys', async () => {
      const res = await h.gql(TenantsDocument, {}, a.key);
      expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const admin = await h.gql(TenantsDocument, {});
      expect(admin.data?.tenants.map((t) => t.name)).toEqual(expect.arrayContaining(['tenant-a', 'tenant-b']));
      const adminVerify = await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } });
      expect(adminVerify.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('stores keys only as hashes, shows them once, and honours revocation', async () => {
      const created = await h.gql(CreateApiKeyDocument, { role: 'tenant', tenantId: a.id, label: 'temp' });
      const { secret, apiKey } = created.data!.createApiKey;
      const stored = await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [apiKey.id]);
      expect(stored[0].key_hash).toBe(sha(Buffer.from(secret)));
      expect(JSON.stringify(await db.query('SELECT * FROM api_keys'))).not.toContain(secret);
      expect((await verify(secret)).data?.verifyIdentity.status).toBe('ACCEPTED');
      expect((await h.gql(RevokeApiKeyDocument, { id: apiKey.id })).data?.revokeApiKey.revokedAt).toBeTruthy();
      expect((await verify(secret)).status).toBe(401);
    });

    it('rejects a duplicate tenant name and an unknown tenant id', async () => {
      expect((await h.gql(CreateTenantDocument, { name: 'tenant-a' })).errors?.[0].extensions?.code).toBe('CONFLICT');
      const k = await h.gql(CreateApiKeyDocument, { role: 'tenant', tenantId: '6f1c2d7e-0000-4000-8000-000000000000' });
      expect(k.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('accepts X-API-Key as well as Bearer', async () => {
      const res = await postRaw(
        h.url,
        JSON.stringify({ query: 'query($id: ID!) { check(id: $id) { id } }', variables: { id: '6f1c2d7e-0000-4000-8000-000000000000' } }),
        { 'x-api-key': a.key },
      );
      expect(res.status).toBe(200);
      expect(res.json.data.check).toBeNull();
    });
  });

  describe('verify mutations', () => {
    it('returns a unified result and keeps only image digests', async () => {
      const res = await verify(a.key, { referenceId: 'person-1' });
      const r = res.data!.verifyIdentity;
      expect(r).toMatchObject({ status: 'ACCEPTED', kind: 'VERIFY_IDENTITY', provider: 'local', referenceId: 'person-1', tenantId: a.id, reasons: [] });
      expect(r.faceMatch).toMatchObject({ matched: true, matchLevel: 8, threshold: 1e-5 });
      expect(r.faceMatch!.fmr).toBeCloseTo(1e-7, 9);
      expect(r.liveness).toEqual({ provider: 'local', live: true, score: 0.97, threshold: 0.5, apcer: null, maxApcer: null });
      expect(r.imageDigests).toMatchObject({ selfie: sha(faceBytes(SELFIE)), document: sha(faceBytes(DOCUMENT)) });
      expect(r.attempts).toEqual([expect.objectContaining({ provider: 'local', role: 'primary', outcome: 'OK', raw: null })]);
      expect(local.calls[0]).toMatchObject({ match: true, liveness: true });

      const asAdmin = await h.gql(CheckDocument, { id: r.id });
      // the provider's raw record, plus the calibration table that mapped its score
      expect(asAdmin.data?.check?.attempts[0].raw).toEqual({ scripted: true, calibrationTable: 'scripted/unit' });
      const row = JSON.stringify(await db.query('SELECT * FROM checks WHERE id = $1', [r.id]));
      expect(row).not.toContain(faceBase64(SELFIE).slice(0, 64));
    });

    it('rejects a mismatch, and flags weak matches as inconclusive', async () => {
      local.behave(async () => outcome(0.05, 0.9));
      expect((await verify(a.key)).data?.verifyIdentity).toMatchObject({ status: 'REJECTED', reasons: ['FACE_MISMATCH'] });
      local.behave(async () => outcome(0.45, 0.9)); // FMR ≈ 2.4e-4
      expect((await verify(a.key)).data?.verifyIdentity).toMatchObject({ status: 'INCONCLUSIVE', reasons: ['MATCH_INCONCLUSIVE'] });
      local.behave(async () => outcome(0.99, 0.1));
      expect((await verify(a.key)).data?.verifyIdentity).toMatchObject({ status: 'REJECTED', reasons: ['LIVENESS_FAILED'] });
    });

    it('runs checkLiveness and compareFaces with only the checks they name', async () => {
      const live = await h.gql(CheckLivenessDocument, { input: { selfie: faceBase64(SELFIE) } }, a.key);
      expect(live.data?.checkLiveness).toMatchObject({ kind: 'LIVENESS', status: 'ACCEPTED', faceMatch: null });
      const cmp = await h.gql(CompareFacesDocument, { input: { source: faceBase64(SELFIE), target: faceBase64(DOCUMENT) } }, a.key);
      expect(cmp.data?.compareFaces).toMatchObject({ kind: 'FACE_MATCH', status: 'ACCEPTED', liveness: null });
      expect(local.calls.map((c) => [c.match, c.liveness])).toEqual([
        [false, true],
        [true, false],
      ]);
    });

    it('answers a repeated idempotencyKey within 24 h with the stored result and one provider call', async () => {
      local.behave(async (req) => {
        await new Promise((r) => setTimeout(r, 100));
        return outcome(req.match ? 0.99 : undefined, 0.97);
      });
      const [r1, r2] = await Promise.all([verify(a.key, { idempotencyKey: 'idem-1' }), verify(a.key, { idempotencyKey: 'idem-1' })]);
      const r3 = await verify(a.key, { idempotencyKey: 'idem-1' });
      expect(r1.data?.verifyIdentity.id).toBeDefined();
      expect(new Set([r1, r2, r3].map((r) => r.data?.verifyIdentity.id)).size).toBe(1);
      expect(r2.data?.verifyIdentity.status).toBe('ACCEPTED');
      expect(local.calls).toHaveLength(1);
      // the same key in another tenant is another check
      expect((await verify(b.key, { idempotencyKey: 'idem-1' })).data?.verifyIdentity.id).not.toBe(r1.data?.verifyIdentity.id);
      // after 24 h the key starts a new check (and the old one keeps its result)
      await db.query("UPDATE checks SET created_at = created_at - interval '25 hours' WHERE id = $1", [r1.data!.verifyIdentity.id]);
      const later = await verify(a.key, { idempotencyKey: 'idem-1' });
      expect(later.data?.verifyIdentity.id).not.toBe(r1.data?.verifyIdentity.id);
      expect(local.calls).toHaveLength(3); // tenant A, tenant B, tenant A after 24 h
      expect((await h.gql(CheckDocument, { id: r1.data!.verifyIdentity.id }, a.key)).data?.check?.status).toBe('ACCEPTED');
    });

    it('ends a provider that never answers as ERROR/TIMEOUT within the deadline', async () => {
      local.behave(() => new Promise(() => undefined));
      const res = await verify(a.key);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', reasons: ['TIMEOUT'] });
      const check = await h.gql(CheckDocument, { id: res.errors![0].extensions!.checkId }, a.key);
      expect(check.data?.check).toMatchObject({ status: 'ERROR', reasons: ['TIMEOUT'] });
      expect(check.data?.check?.attempts[0]).toMatchObject({ outcome: 'TIMEOUT', errorCode: 'TIMEOUT' });
      expect(check.data?.check?.attempts[0].latencyMs).toBeGreaterThanOrEqual(390);
    });

    it('turns classified provider failures into typed errors that name the stored check', async () => {
      local.behave(async () => {
        throw new ProviderError('local', 'BadInput', 'NO_FACE', 'no face found in the selfie');
      });
      const res = await verify(a.key);
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'NO_FACE', reasons: ['NO_FACE'] });
      const check = await h.gql(CheckDocument, { id: res.errors![0].extensions!.checkId }, a.key);
      expect(check.data?.check).toMatchObject({ status: 'ERROR', reasons: ['NO_FACE'] });

      local.behave(async () => {
        throw new ProviderError('local', 'BadInput', 'MULTIPLE_FACES', 'several faces in the selfie');
      });
      expect((await verify(a.key)).errors?.[0].extensions?.code).toBe('MULTIPLE_FACES');
    });

    it('masks unexpected errors but still ends the check as ERROR', async () => {
      local.behave(async () => ({ ...outcome(0.9, 0.9), match: { score: 0.9, scale: 'unit' as const, calibration: 'no/such-table' } }));
      const before = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM checks WHERE status = 'ERROR' AND 'INTERNAL_ERROR' = ANY(reasons)");
      const res = await verify(a.key);
      expect(res.errors?.[0]).toEqual(expect.objectContaining({ message: 'Unexpected error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }));
      expect(JSON.stringify(res.errors)).not.toContain('no/such-table');
      const after = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM checks WHERE status = 'ERROR' AND 'INTERNAL_ERROR' = ANY(reasons)");
      expect(after[0].n).toBe(before[0].n + 1);
      expect(await db.query("SELECT id FROM checks WHERE status = 'PENDING'")).toEqual([]);
    });

    it('validates its text inputs', async () => {
      const res = await verify(a.key, { referenceId: 'x'.repeat(300) });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'referenceId' });
      const missing = await h.gql(VerifyIdentityDocument, { input: { document: faceBase64(DOCUMENT) } }, a.key);
      expect(missing.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'selfie' });
    });
  });

  describe('provider per tenant', () => {
    it('routes a tenant to the provider an admin sets, and refuses unconfigured ones', async () => {
      const t = await h.tenant('tenant-switch');
      await h.gql(SetTenantProviderDocument, { tenantId: t.id, provider: 'facia' });
      expect((await verify(t.key)).data?.verifyIdentity.provider).toBe('facia');
      await h.gql(SetTenantProviderDocument, { tenantId: t.id, provider: null });
      expect((await verify(t.key)).data?.verifyIdentity.provider).toBe('local');
      const bad = await h.gql(SetTenantProviderDocument, { tenantId: t.id, provider: 'rekognition' });
      expect(bad.errors?.[0].extensions?.code).toBe('PROVIDER_UNAVAILABLE');
      const audit = await db.query<{ action: string }>("SELECT action FROM audit_log WHERE action = 'tenant.setProvider' AND tenant_id = $1", [t.id]);
      expect(audit).toHaveLength(2);
    });
  });

  describe('queries, paging and isolation', () => {
    let paging: { id: string; key: string };
    const ids: string[] = [];
    beforeAll(async () => {
      paging = await h.tenant('tenant-paging');
      for (let i = 0; i < 55; i++) {
        const r = await verify(paging.key, { referenceId: `subject-${i % 5}` });
        ids.push(r.data!.verifyIdentity.id);
      }
    });

    it('pages newest first with cursors, and filters', async () => {
      const seen: string[] = [];
      let after: string | null | undefined;
      do {
        const page = await h.gql(ChecksDocument, { first: 20, after }, paging.key);
        seen.push(...page.data!.checks.edges.map((e) => e.node.id));
        after = page.data!.checks.pageInfo.hasNextPage ? page.data!.checks.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual([...ids].reverse());
      const filtered = await h.gql(ChecksDocument, { filter: { referenceId: 'subject-3' }, first: 100 }, paging.key);
      expect(filtered.data!.checks.edges).toHaveLength(11);
      const none = await h.gql(ChecksDocument, { filter: { status: 'REJECTED' }, first: 100 }, paging.key);
      expect(none.data!.checks.edges).toHaveLength(0);
      const future = await h.gql(ChecksDocument, { filter: { from: new Date(Date.now() + 60_000).toISOString() } }, paging.key);
      expect(future.data!.checks.edges).toHaveLength(0);
      const bad = await h.gql(ChecksDocument, { after: 'not-a-cursor' }, paging.key);
      expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('loads attempts and tenants for a page in a constant number of queries', async () => {
      const cost = async (first: number) => {
        const before = db.queries;
        const res = await h.gql(ChecksDocument, { first, filter: { tenantId: paging.id } });
        expect(res.data!.checks.edges).toHaveLength(first);
        expect(res.data!.checks.edges.every((e) => e.node.attempts.length === 1 && e.node.tenant?.id === paging.id)).toBe(true);
        return db.queries - before;
      };
      const small = await cost(2);
      const large = await cost(50);
      expect(large).toBe(small);
      expect(large).toBeLessThanOrEqual(4); // key lookup, page, attempts batch, tenants batch
    });

    it('never shows one tenant another tenant’s checks: by id, filter or cursor', async () => {
      const mine = await h.gql(CheckDocument, { id: ids[0] }, paging.key);
      expect(mine.data?.check?.id).toBe(ids[0]);
      expect((await h.gql(CheckDocument, { id: ids[0] }, b.key)).data?.check).toBeNull();

      const byFilter = await h.gql(ChecksDocument, { filter: { tenantId: paging.id }, first: 100 }, b.key);
      expect(byFilter.data!.checks.edges).toHaveLength(0);
      const byRef = await h.gql(ChecksDocument, { filter: { referenceId: 'subject-1' }, first: 100 }, b.key);
      expect(byRef.data!.checks.edges).toHaveLength(0);

      const page = await h.gql(ChecksDocument, { first: 10 }, paging.key);
      const cursor = page.data!.checks.pageInfo.endCursor!;
      const withCursor = await h.gql(ChecksDocument, { first: 100, after: cursor }, b.key);
      expect(withCursor.data!.checks.edges.every((e) => e.node.tenantId === b.id)).toBe(true);
      expect(withCursor.data!.checks.edges.map((e) => e.node.id)).not.toEqual(expect.arrayContaining([ids[0]]));

      const all = await h.gql(ChecksDocument, { first: 100 }, b.key);
      expect(all.data!.checks.edges.length).toBeGreaterThan(0);
      expect(all.data!.checks.edges.every((e) => e.node.tenantId === b.id)).toBe(true);
    });
  });
});
