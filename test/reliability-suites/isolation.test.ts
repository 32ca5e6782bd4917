/**
 * Tenant isolation over real HTTP, on both stores: tenant B tries every query and mutation with
 * tenant A's check ids, referenceIds, idempotency keys and cursors. B sees and changes nothing of
 * A's: `check` answers null, `checks` (every filter, A's cursor) lists only B's own checks, attempts
 * come only with B's own checks, every admin operation is FORBIDDEN (and changed nothing), and the
 * same idempotency key or referenceId in two tenants makes two separate checks.
 */
import type { Db } from '../../src/store/db';
import { CheckDocument, ChecksDocument, CompareFacesDocument, VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness';
import { outcome, scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';
import { countRows, post } from './support';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'idenfy-documents/BarackHusseinObama.jpg';

describeEachStore('tenant isolation', (store) => {
  let db: Db;
  let h: Harness;
  const local = scriptedProvider('local');
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  /** A's checks, by what made them */
  const aIds: string[] = [];
  let aCursor: string;
  let aKeyId: string;
  const selfie = faceBase64(SELFIE);
  const document = faceBase64(DOCUMENT);
  const tried: Record<string, number> = {};

  const verify = (key: string, extra: Record<string, string> = {}) =>
    h.gql(VerifyIdentityDocument, { input: { selfie, document, ...extra } }, key);

  beforeAll(async () => {
    db = await store.open();
    h = await startHarness({ db, providers: [local], calibration: scriptedCalibration(), env: { VERIGATE_PROVIDER_TIMEOUT_MS: '400' } });
    a = await h.tenant('iso-a');
    b = await h.tenant('iso-b');
    // A: accepted, rejected, inconclusive and error checks, with referenceIds and idempotency keys
    const script: Array<[number | 'error', Record<string, string>]> = [
      [0.99, { referenceId: 'a-subject-1', idempotencyKey: 'shared-key-1' }],
      [0.05, { referenceId: 'a-subject-1' }],
      [0.45, { referenceId: 'a-subject-2', idempotencyKey: 'shared-key-2' }],
      ['error', { referenceId: 'a-subject-2' }],
      [0.99, { referenceId: 'shared-ref' }],
      [0.99, {}],
    ];
    for (const [score, extra] of script) {
      local.behave(async (req) => {
        if (score === 'error') return new Promise(() => undefined); // never answers: ERROR/TIMEOUT
        return outcome(req.match ? score : undefined, 0.97);
      });
      const r = await verify(a.key, extra);
      aIds.push(r.data?.verifyIdentity.id ?? r.errors![0].extensions!.checkId);
    }
    local.behave(async (req) => outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined));
    const page = await h.gql(ChecksDocument, { first: 2 }, a.key);
    aCursor = page.data!.checks.pageInfo.endCursor!;
    const keys = await db.query<{ id: string }>('SELECT id FROM api_keys WHERE tenant_id = $1', [a.id]);
    aKeyId = keys[0].id;
  }, 120_000);
  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`isolation [${store.name}]: ${JSON.stringify(tried)}`);
    await h?.close();
    await store.dispose(db);
  });

  it("made A's checks in every status (the fixture)", async () => {
    const rows = await db.query<{ status: string }>('SELECT status FROM checks WHERE tenant_id = $1', [a.id]);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR']));
    expect(aIds).toHaveLength(6);
  });

  it("answers null for each of A's check ids asked by B (and by a key-less caller: 401)", async () => {
    for (const id of aIds) {
      const res = await h.gql(CheckDocument, { id }, b.key);
      expect(res.errors).toBeUndefined();
      expect(res.data?.check).toBeNull();
      expect((await h.gql(CheckDocument, { id }, a.key)).data?.check?.id).toBe(id);
      expect((await h.gql(CheckDocument, { id }, null)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
    tried['check(id)'] = aIds.length;
  });

  it("lists only B's own checks, whatever the filter or cursor", async () => {
    const own = (await verify(b.key, { referenceId: 'b-subject' })).data!.verifyIdentity.id;
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const filters: Array<Record<string, unknown> | undefined> = [
      undefined,
      { tenantId: a.id },
      { tenantId: b.id },
      { referenceId: 'a-subject-1' },
      { referenceId: 'a-subject-2' },
      { referenceId: 'shared-ref' },
      { status: 'ACCEPTED' },
      { status: 'REJECTED' },
      { status: 'INCONCLUSIVE' },
      { status: 'ERROR' },
      { status: 'PENDING' },
      { provider: 'local' },
      { from: past, to: future },
      { from: past, to: future, tenantId: a.id, referenceId: 'a-subject-1', status: 'ACCEPTED', provider: 'local' },
    ];
    const leaks: string[] = [];
    let n = 0;
    for (const filter of filters) {
      for (const after of [undefined, aCursor]) {
        const res = await h.gql(ChecksDocument, { filter: filter as never, first: 100, after }, b.key);
        n++;
        if (res.errors) {
          leaks.push(`${JSON.stringify(filter)} after=${Boolean(after)}: ${res.errors[0].extensions?.code}`);
          continue;
        }
        for (const e of res.data!.checks.edges) {
          if (e.node.tenantId !== b.id || aIds.includes(e.node.id) || e.node.tenant?.id !== b.id) leaks.push(`${JSON.stringify(filter)}: ${e.node.id}`);
          if (e.node.attempts.some((at) => at.raw !== null)) leaks.push(`${JSON.stringify(filter)}: raw attempt data for a tenant`);
        }
      }
    }
    tried['checks(filter, after)'] = n;
    expect(leaks).toEqual([]);
    // B does see its own check through the unfiltered list
    const mine = await h.gql(ChecksDocument, { first: 100 }, b.key);
    expect(mine.data!.checks.edges.map((e) => e.node.id)).toContain(own);
    // while A (and the admin) still see A's checks with the same filters
    const aSees = await h.gql(ChecksDocument, { filter: { referenceId: 'a-subject-1' }, first: 100 }, a.key);
    expect(aSees.data!.checks.edges).toHaveLength(2);
    const adminSees = await h.gql(ChecksDocument, { filter: { tenantId: a.id }, first: 100 });
    expect(adminSees.data!.checks.edges).toHaveLength(aIds.length);
  });

  it("gives attempts only with B's own checks (no path to A's attempts)", async () => {
    const res = await post(
      h.url,
      {
        query: `{ ${aIds.map((_, i) => `c${i}: check(id: "${aIds[i]}") { id attempts { provider outcome raw } }`).slice(0, 5).join(' ')} }`,
      },
      { key: b.key },
    );
    // five aliases, each null: nothing of A's (including attempts) comes back
    expect(res.status).toBeLessThan(500);
    expect(Object.values(res.json?.data ?? {}).every((v) => v === null)).toBe(true);
    expect(res.text).not.toContain(aIds[0]);
    const attemptsOfA = await countRows(db, 'attempts', 'tenant_id = $1', [a.id]);
    expect(attemptsOfA).toBeGreaterThanOrEqual(aIds.length);
    tried['attempts via check'] = 5;
  });

  it('makes separate checks for the same idempotencyKey and referenceId in two tenants', async () => {
    const before = await countRows(db, 'checks', 'tenant_id = $1', [a.id]);
    const r1 = await verify(b.key, { idempotencyKey: 'shared-key-1', referenceId: 'shared-ref' });
    const b1 = r1.data!.verifyIdentity;
    expect(b1.tenantId).toBe(b.id);
    expect(aIds).not.toContain(b1.id);
    // a repeat in B gives B's check, a repeat in A still gives A's
    expect((await verify(b.key, { idempotencyKey: 'shared-key-1', referenceId: 'shared-ref' })).data!.verifyIdentity.id).toBe(b1.id);
    expect((await verify(a.key, { idempotencyKey: 'shared-key-1', referenceId: 'a-subject-1' })).data!.verifyIdentity.id).toBe(aIds[0]);
    // A used shared-key-2 for a verifyIdentity: in B it is free for another kind (no CONFLICT across tenants)
    const cmp = await h.gql(CompareFacesDocument, { input: { source: selfie, target: document, idempotencyKey: 'shared-key-2' } }, b.key);
    expect(cmp.errors).toBeUndefined();
    expect(cmp.data!.compareFaces).toMatchObject({ tenantId: b.id, kind: 'FACE_MATCH' });
    expect((await h.gql(CompareFacesDocument, { input: { source: selfie, target: document, idempotencyKey: 'shared-key-2' } }, a.key)).errors?.[0].extensions?.code).toBe('CONFLICT');
    // A's row count is unchanged by all of B's requests
    expect(await countRows(db, 'checks', 'tenant_id = $1', [a.id])).toBe(before);
    const refs = await db.query<{ tenant_id: string }>("SELECT tenant_id FROM checks WHERE reference_id = 'shared-ref'");
    expect(refs.map((r) => r.tenant_id).sort()).toEqual([a.id, b.id].sort());
    tried['idempotency/referenceId collisions'] = 5;
  });

  it('refuses every admin operation to tenant keys with FORBIDDEN, and none changed anything', async () => {
    const snapshot = async () => ({
      tenants: await countRows(db, 'checks', 'tenant_id = $1', [a.id]),
      keys: (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL'))[0].n,
      tenantRows: (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants'))[0].n,
      policies: (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM policies'))[0].n,
    });
    const before = await snapshot();
    const policy = { strategy: { type: 'single', provider: 'local' } };
    const ops: Array<[string, string, Record<string, unknown>]> = [
      ['tenants', '{ tenants { id name } }', {}],
      ['tenant', 'query($t: ID!) { tenant(id: $t) { id name } }', { t: a.id }],
      ['tenantPolicy', 'query($t: ID!) { tenantPolicy(tenantId: $t) { version policy } }', { t: a.id }],
      ['policyHistory', 'query($t: ID!) { policyHistory(tenantId: $t) { version } }', { t: a.id }],
      ['providers', '{ providers { name circuit } }', {}],
      ['providerAgreement', 'query($t: ID!, $f: DateTimeISO!, $to: DateTimeISO!) { providerAgreement(tenantId: $t, from: $f, to: $to) { checks } }', { t: a.id, f: new Date(0).toISOString(), to: new Date().toISOString() }],
      ['tenantLimits', 'query($t: ID!) { tenantLimits(tenantId: $t) { tenantId } }', { t: a.id }],
      ['setTenantPolicy', 'mutation($t: ID!, $p: JSONObject!) { setTenantPolicy(tenantId: $t, policy: $p) { version } }', { t: a.id, p: policy }],
      ['rollbackTenantPolicy', 'mutation($t: ID!) { rollbackTenantPolicy(tenantId: $t, version: 1) { version } }', { t: a.id }],
      ['createTenant', 'mutation { createTenant(name: "iso-evil") { id } }', {}],
      ['createApiKey (tenant A)', 'mutation($t: ID!) { createApiKey(role: tenant, tenantId: $t) { secret } }', { t: a.id }],
      ['createApiKey (admin)', 'mutation { createApiKey(role: admin) { secret } }', {}],
      ['revokeApiKey (A\'s key)', 'mutation($k: ID!) { revokeApiKey(id: $k) { id revokedAt } }', { k: aKeyId }],
      ['setTenantProvider', 'mutation($t: ID!) { setTenantProvider(tenantId: $t, provider: facia) { id } }', { t: a.id }],
      ['setTenantLimits', 'mutation($t: ID!) { setTenantLimits(tenantId: $t, limits: { ratePerMinute: 1 }) { tenantId } }', { t: a.id }],
      ['eraseSubject', 'mutation($t: ID!) { eraseSubject(tenantId: $t, referenceId: "a-subject-1") { checks } }', { t: a.id }],
      ['purgeExpiredChecks', 'mutation { purgeExpiredChecks { checks } }', {}],
    ];
    const wrong: string[] = [];
    for (const [name, query, variables] of ops) {
      const res = await post(h.url, { query, variables }, { key: b.key });
      const code = res.json?.errors?.[0]?.extensions?.code;
      if (code !== 'FORBIDDEN' || res.status >= 500) wrong.push(`${name}: HTTP ${res.status} ${code} ${res.text.slice(0, 160)}`);
      if (res.text.includes(a.id) && name !== 'never') wrong.push(`${name}: names tenant A in its answer`);
    }
    tried['admin operations'] = ops.length;
    expect(wrong).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // the same operations work for the admin (the refusals above were about the key, not the operation)
    const ok = await post(h.url, { query: 'query($t: ID!) { tenant(id: $t) { id } }', variables: { t: a.id } }, { key: ADMIN_KEY });
    expect(ok.json.data.tenant.id).toBe(a.id);
  });
});
