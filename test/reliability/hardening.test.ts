/**
 * GraphQL and HTTP hardening over real HTTP: query depth, aliases, root fields, fragment fan-out,
 * cost and token limits; batching, CSRF, introspection in production, slow clients, and errors
 * that never leak stack traces, SQL or secrets.
 */
import { connect } from 'node:net';
import { print } from 'graphql';
import { operationCost } from '../../src/api/hardening';
import { buildVerigateSchema } from '../../src/api/schema';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/store/db';
import { ChecksDocument, VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, postRaw, startHarness, type Harness } from '../support/harness';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { describeEachStore } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'idenfy-documents/BarackHusseinObama.jpg';
const NO_ID = '6f1c2d7e-0000-4000-8000-000000000000';
const SECRET = 'hunter2-db-password';

/** what a leak would look like in a response body */
const LEAKS = [/\s+at [\w.<>$]+ \(/, /node_modules/, /\.[jt]s:\d+/, /stacktrace/i, /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b/, /invalid byte sequence/i, new RegExp(SECRET)];
const expectNoLeak = (text: string) => {
  for (const re of LEAKS) expect(text).not.toMatch(re);
};

/** Opens a raw socket, sends `head`, then `drip` every `everyMs` until the server hangs up. */
function dribble(url: string, head: string, drip: string, everyMs: number): Promise<{ ms: number; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(head));
    const timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - started, answer });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('server never cut the slow client off'));
    }, 10_000).unref();
  });
}

describeEachStore('GraphQL and HTTP hardening', (store) => {
  let db: Db;
  let h: Harness;
  let prod: Harness;
  let t: { id: string; key: string };
  const local = scriptedProvider('local');
  const auth = () => ({ authorization: `Bearer ${t.key}` });
  const query = (q: string, variables?: unknown, headers: Record<string, string> = auth(), url = h.url) =>
    postRaw(url, JSON.stringify({ query: q, variables }), headers);

  beforeAll(async () => {
    db = await store.open();
    h = await startHarness({
      db,
      providers: [local],
      calibration: scriptedCalibration(),
      env: {
        NODE_ENV: 'development',
        VERIGATE_MAX_QUERY_DEPTH: '4',
        VERIGATE_MAX_QUERY_COST: '600',
        VERIGATE_MAX_ALIASES: '3',
        VERIGATE_MAX_ROOT_FIELDS: '3',
        VERIGATE_MAX_QUERY_TOKENS: '500',
        VERIGATE_HEADERS_TIMEOUT_MS: '600',
        VERIGATE_REQUEST_TIMEOUT_MS: '1500',
      },
    });
    prod = await startHarness({ db, providers: [local], calibration: scriptedCalibration(), env: { NODE_ENV: 'production' } });
    t = await h.tenant('hardening');
  });
  afterAll(async () => {
    await prod.close();
    await h.close();
    await store.dispose(db);
  });

  const refusedFor = (res: Awaited<ReturnType<typeof query>>, limit: string) => {
    expect(res.status).toBe(400);
    expect(res.json.data).toBeUndefined();
    expect(res.json.errors[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit });
    expectNoLeak(res.text);
    return res.json.errors[0].extensions as { max: number; actual: number };
  };

  describe('query shape and cost', () => {
    it('refuses a query deeper than VERIGATE_MAX_QUERY_DEPTH, counting through fragments', async () => {
      expect((await query('{ checks(first: 1) { edges { node { id } } } }')).status).toBe(200);
      expect(refusedFor(await query('{ checks(first: 1) { edges { node { faceMatch { fmr } } } } }'), 'depth')).toMatchObject({ max: 4, actual: 5 });
      const viaFragment = await query('{ checks(first: 1) { edges { ...E } } } fragment E on CheckEdge { node { tenant { id } } }');
      expect(refusedFor(viaFragment, 'depth')).toMatchObject({ max: 4, actual: 5 });
    });

    it('refuses too many aliases and too many root fields', async () => {
      const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: check(id: "${NO_ID}") { id }`).join(' ')} }`;
      expect((await query(aliased(3))).status).toBe(200);
      expect(refusedFor(await query(aliased(4)), 'aliases')).toMatchObject({ max: 3, actual: 4 });
      // aliases hidden in a fragment spread twice still count twice
      const spread = await query(`{ check(id: "${NO_ID}") { ...F ...F } } fragment F on VerificationResult { x: id y: status }`);
      expect(refusedFor(spread, 'aliases')).toMatchObject({ actual: 4 });
      const roots = await query(`{ check(id: "${NO_ID}") { id } checks(first: 1) { pageInfo { hasNextPage } } ...R } fragment R on Query { c2: check(id: "${NO_ID}") { id } c3: check(id: "${NO_ID}") { id } }`);
      expect(refusedFor(roots, 'rootFields')).toMatchObject({ max: 3, actual: 4 });
    });

    it('refuses fragment fan-out (10^6 expansions) at once', async () => {
      const levels = 6;
      const frags = Array.from({ length: levels }, (_, i) =>
        i === levels - 1 ? `fragment F${i} on VerificationResult { id }` : `fragment F${i} on VerificationResult { ${`...F${i + 1} `.repeat(10)} }`,
      );
      const started = performance.now();
      const res = await postRaw(h.url, JSON.stringify({ query: `{ check(id: "${NO_ID}") { ...F0 } } ${frags.join(' ')}` }), auth());
      const ms = performance.now() - started;
      expect([400]).toContain(res.status);
      expect(res.json.errors.some((e: any) => e.extensions.limit === 'nodes' || e.extensions.code === 'GRAPHQL_PARSE_FAILED')).toBe(true);
      expect(ms).toBeLessThan(2000);
    });

    it('refuses an operation whose cost (paginated selections × first) exceeds VERIGATE_MAX_QUERY_COST, with the variables it runs with', async () => {
      const q = 'query($n: Int!) { checks(first: $n) { edges { node { id status reasons provider kind createdAt } } } }';
      expect((await query(q, { n: 10 })).status).toBe(200);
      const res = await query(q, { n: 100 });
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', max: 600 });
      expect(res.json.errors[0].extensions.actual).toBeGreaterThan(600);
    });

    it('keeps the largest page of the largest shipped query within the default cost', async () => {
      const schema = await buildVerigateSchema();
      const cost = operationCost(schema, ChecksDocument, { first: 100 }, 'Checks');
      expect(cost).toBeLessThanOrEqual(loadConfig({}).VERIGATE_MAX_QUERY_COST);
      expect(cost).toBeGreaterThan(100 * 20); // the page really is priced per item
    });

    it('refuses a document with more tokens than VERIGATE_MAX_QUERY_TOKENS before parsing it', async () => {
      const res = await query(`{ ${'__typename '.repeat(600)} }`);
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(res.json.errors[0].message).toMatch(/tokens/);
    });
  });

  describe('HTTP', () => {
    it('refuses batched requests', async () => {
      const res = await postRaw(h.url, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]), auth());
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    });

    it('refuses CSRF-able requests: a GET or a simple POST without a preflight-forcing header', async () => {
      const get = await fetch(`${h.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: auth() });
      expect(get.status).toBe(400);
      expect(await get.text()).toMatch(/CSRF/);
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const post = await fetch(h.url, { method: 'POST', headers: { 'content-type': type, ...auth() }, body: JSON.stringify({ query: '{ __typename }' }) });
        expect(post.status).toBe(400);
      }
      // what a browser can only send after a CORS preflight goes through
      const preflighted = await fetch(`${h.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'apollo-require-preflight': 'true', ...auth() } });
      expect(preflighted.status).toBe(200);
      // and a GET never mutates
      const mutation = `mutation { purgeExpiredChecks { checks } }`;
      const viaGet = await fetch(`${h.url}?query=${encodeURIComponent(mutation)}`, { headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${ADMIN_KEY}` } });
      expect(viaGet.status).toBe(405);
    });

    it('turns introspection off in production, and keeps it in development', async () => {
      const q = '{ __schema { queryType { name } } }';
      const dev = await query(q);
      expect(dev.json.data.__schema.queryType.name).toBe('Query');
      const res = await query(q, undefined, auth(), prod.url);
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.json.errors[0].message).toMatch(/introspection/i);
    });

    it('cuts off a client that dribbles its headers (VERIGATE_HEADERS_TIMEOUT_MS)', async () => {
      const { ms, answer } = await dribble(h.url, 'POST /graphql HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n', 100);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeGreaterThanOrEqual(500);
      expect(ms).toBeLessThan(2500);
    });

    it('cuts off a client that dribbles its body (VERIGATE_REQUEST_TIMEOUT_MS), and keeps serving others', async () => {
      const head = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nAuthorization: Bearer ${t.key}\r\n\r\n{"query":"`;
      const { ms } = await dribble(h.url, head, 'a', 100);
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(4000);
      expect((await query('{ __typename }')).status).toBe(200);
    });
  });

  describe('errors', () => {
    it('masks an unexpected failure (message with SQL and a password) as "Unexpected error", in development too', async () => {
      local.behave(async () => {
        throw new Error(`connection to postgres://verigate:${SECRET}@db failed during SELECT * FROM api_keys`);
      });
      const res = await postRaw(h.url, JSON.stringify({ query: print(VerifyIdentityDocument), variables: { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } } }), auth());
      expect(res.json.errors[0].extensions.code).toMatch(/INTERNAL_SERVER_ERROR|PROVIDER_UNAVAILABLE/);
      expectNoLeak(res.text);
      expect(res.text).not.toContain(faceBase64(SELFIE).slice(0, 40));
    });

    it('never answers a database error with SQL or the driver message', async () => {
      // PostgreSQL refuses NUL in text: the driver error must not reach the client
      const res = await query('query($r: String) { checks(first: 1, filter: { referenceId: $r }) { edges { cursor } } }', { r: 'a\u0000b' });
      expectNoLeak(res.text);
      if (res.json.errors) expect(res.json.errors[0].extensions.code).toMatch(/INTERNAL_SERVER_ERROR|BAD_USER_INPUT/);
    });

    it('answers malformed input with typed errors and no stack trace', async () => {
      for (const body of ['{"query": "{ checks(first: ) }"}', '{"query": "{ nope }"}', '{"query": 42}', '{"variables": {}}', '{"query": "{ __typename }", "variables": "x"}']) {
        const res = await postRaw(h.url, body, auth());
        expect(res.status).toBe(400);
        expect(typeof res.json.errors[0].extensions.code).toBe('string');
        expectNoLeak(res.text);
      }
      const badKey = await postRaw(h.url, '{"query": "{ __typename }"}', { authorization: 'Bearer vg_tnt_guessed-secret-value' });
      expect(badKey.status).toBe(401);
      expect(badKey.text).not.toContain('guessed-secret-value');
    });
  });
});
