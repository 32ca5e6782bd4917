/**
 * Hostile input over real HTTP: every entry of the hostile image corpus as selfie and as document
 * of `verifyIdentity` (and a sample through `compareFaces` / `checkLiveness`), then GraphQL- and
 * HTTP-level junk. Each is answered with its typed error — never a 5xx, a stack trace or the input
 * echoed — and the server is healthy and verifies a valid pair afterwards.
 *
 * Runs twice, against the real local engine: with the default VERIGATE_EDGE_DECODE=false the edge
 * checks JPEG structure from headers (PNGs are always decoded there) and the engine decodes the
 * pixels, so a JPEG whose pixel data is corrupt may be accepted, then refused by the engine:
 * BAD_IMAGE, naming a check stored ERROR/BAD_IMAGE — the only acceptance allowed. Everything else,
 * and with VERIGATE_EDGE_DECODE=true everything, is refused before acceptance: no check row, no
 * provider call. Both kinds are counted (today: all 58 entries refused at the edge in both modes).
 */
import { createLocalProvider } from '../../providers/local';
import type { Provider } from '../../providers/types';
import type { Db } from '../../src/store/db';
import { buildHostileCorpus, type HostileCase } from '../corpus/hostile';
import { CheckLivenessDocument, CompareFacesDocument, VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';
import { countRows, echoProbe, op, post, refusalProblems } from './support';
import { readAnswer } from '../support/http';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';

/** The real local engine, counting the calls that reach it. */
function counted(p: Provider): Provider & { calls: number } {
  const c = {
    name: p.name,
    capabilities: p.capabilities,
    calls: 0,
    init: () => p.init?.() ?? Promise.resolve(),
    check: (req: Parameters<Provider['check']>[0], ctx: Parameters<Provider['check']>[1]) => {
      c.calls++;
      return p.check(req, ctx);
    },
    health: (ctx: Parameters<Provider['health']>[0]) => p.health(ctx),
    close: () => p.close?.() ?? Promise.resolve(),
  };
  return c;
}

const CONFIGS: Array<[string, boolean]> = [
  ['edge decode off (default)', false],
  ['VERIGATE_EDGE_DECODE=true', true],
];

describe.each(CONFIGS)('hostile input over HTTP, %s', (_title, edgeDecode) => {
  let db: Db;
  let h: Harness;
  let tenant: { id: string; key: string };
  let corpus: HostileCase[];
  let local: Provider & { calls: number };
  const selfie = faceBase64(SELFIE);
  const document = faceBase64(DOCUMENT);
  /** requests refused before acceptance (no check written), by suite part */
  const refused: Record<string, number> = {};
  /** requests accepted, then refused by the engine (a check stored ERROR), by suite part */
  const engineRefused: Record<string, string[]> = {};

  beforeAll(async () => {
    db = await PGLITE.open();
    local = counted(createLocalProvider({ workers: 1 }));
    h = await startHarness({ db, providers: [local], env: { VERIGATE_EDGE_DECODE: String(edgeDecode) } });
    tenant = await h.tenant('hostile-tenant');
    corpus = await buildHostileCorpus();
  }, 120_000);
  afterAll(async () => {
    const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    const engine = Object.fromEntries(Object.entries(engineRefused).map(([k, v]) => [k, v.length]));
    // eslint-disable-next-line no-console
    console.log(
      `hostile suite (${_title}): refused before acceptance ${JSON.stringify(refused)} = ${total(refused)}; ` +
        `accepted then refused by the engine ${JSON.stringify(engine)} = ${total(engine)} [${[...new Set(Object.values(engineRefused).flat())].join('; ')}]`,
    );
    await h?.close();
    await PGLITE.dispose(db);
  });

  const base = () => h.url.replace(/\/graphql$/, '');

  it('has the whole corpus (58 inputs)', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(58);
  });

  const asField = async (part: string, send: (c: HostileCase) => Promise<Awaited<ReturnType<typeof post>>>, field: string, cases: () => HostileCase[]) => {
    const checksBefore = await countRows(db, 'checks');
    const callsBefore = local.calls;
    const failures: string[] = [];
    const accepted: string[] = [];
    let n = 0;
    for (const c of cases()) {
      const answer = await send(c);
      const codes = c.bodyLimitMayApply ? [c.expectedCode, 'PAYLOAD_TOO_LARGE'] : [c.expectedCode];
      const problems = refusalProblems(answer, codes, echoProbe(c.value));
      const ext = answer.json?.errors?.[0]?.extensions;
      if (ext?.code !== 'PAYLOAD_TOO_LARGE' && ext?.field !== undefined && ext.field !== field) problems.push(`field ${ext.field}, wanted ${field}`);
      if (ext?.checkId) {
        // accepted, then refused by the engine: allowed only for pixel data, only without the edge decode
        accepted.push(c.name);
        if (edgeDecode || c.expectedCode !== 'BAD_IMAGE') problems.push('accepted (a check was written) instead of refused at the edge');
        const [row] = await db.query<{ status: string; reasons: string[] }>('SELECT status, reasons FROM checks WHERE id = $1', [ext.checkId]);
        if (row?.status !== 'ERROR' || !row.reasons.includes('BAD_IMAGE')) problems.push(`stored check ${JSON.stringify(row)}`);
      } else {
        n++;
      }
      if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
    }
    refused[part] = n;
    engineRefused[part] = accepted;
    expect(failures).toEqual([]);
    // one row per request accepted, none for the refused ones; the engine saw only the accepted ones
    expect(await countRows(db, 'checks')).toBe(checksBefore + accepted.length);
    expect(local.calls).toBe(callsBefore + accepted.length);
    expect(await countRows(db, 'checks', "status = 'PENDING'")).toBe(0);
  };

  it('answers every corpus entry sent as the verifyIdentity selfie with its typed error, a check only when the engine refused it', async () => {
    await asField(
      'verifyIdentity.selfie',
      (c) => post(h.url, op(VerifyIdentityDocument, { input: { selfie: c.value, document } }), { key: tenant.key }),
      'selfie',
      () => corpus,
    );
  }, 300_000);

  it('answers every corpus entry sent as the verifyIdentity document with its typed error, a check only when the engine refused it', async () => {
    await asField(
      'verifyIdentity.document',
      (c) => post(h.url, op(VerifyIdentityDocument, { input: { selfie, document: c.value } }), { key: tenant.key }),
      'document',
      () => corpus,
    );
  }, 300_000);

  // a sample across the categories (every 5th entry, and the huge ones) through the other two mutations
  const sample = () => corpus.filter((c, i) => i % 5 === 0 || c.bodyLimitMayApply);

  it('answers a sample through compareFaces (source and target) and checkLiveness', async () => {
    await asField(
      'compareFaces.source',
      (c) => post(h.url, op(CompareFacesDocument, { input: { source: c.value, target: document } }), { key: tenant.key }),
      'source',
      sample,
    );
    await asField(
      'compareFaces.target',
      (c) => post(h.url, op(CompareFacesDocument, { input: { source: selfie, target: c.value } }), { key: tenant.key }),
      'target',
      sample,
    );
    await asField(
      'checkLiveness.selfie',
      (c) => post(h.url, op(CheckLivenessDocument, { input: { selfie: c.value } }), { key: tenant.key }),
      'selfie',
      sample,
    );
  }, 300_000);

  it('refuses an image body over the HTTP limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const before = await countRows(db, 'checks');
    const max = h.app.services.config.VERIGATE_MAX_BODY_BYTES;
    const huge = 'A'.repeat(max + 1024);
    const a = await post(h.url, op(VerifyIdentityDocument, { input: { selfie: huge, document } }), { key: tenant.key });
    expect(a.status).toBe(413);
    expect(refusalProblems(a, ['PAYLOAD_TOO_LARGE'], echoProbe(huge))).toEqual([]);
    expect(await countRows(db, 'checks')).toBe(before);
    refused['body over limit'] = 1;
  });

  describe('GraphQL- and HTTP-level junk', () => {
    const VERIFY = 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status } }';
    const HUGE = `huge-${'0123456789abcdef'.repeat(64 * 1024)}`; // ≈ 1 MiB, recognisable
    type Junk = {
      name: string;
      send: () => Promise<Awaited<ReturnType<typeof post>>>;
      codes: string[];
      status?: number[];
      secret?: string;
    };
    const nested = (depth: number) => `{ ${'checks { edges { node { '.repeat(1)}${'tenant { '.repeat(depth)}id${' }'.repeat(depth)} } } } }`;
    const junk: Junk[] = [
      { name: 'deeply nested query (40 levels)', send: () => post(h.url, { query: nested(40) }, { key: tenant.key }), codes: ['GRAPHQL_VALIDATION_FAILED'], status: [400] },
      {
        name: 'deeply nested query (5000 levels, past the token limit)',
        send: () => post(h.url, { query: `{ ${'a { '.repeat(5000)}b${' }'.repeat(5000)} }` }, { key: tenant.key }),
        codes: ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED'],
        status: [400],
      },
      {
        name: 'alias flood (200 aliases of check)',
        send: () => post(h.url, { query: `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: check(id: "x") { id }`).join(' ')} }` }, { key: tenant.key }),
        codes: ['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'],
        status: [400],
      },
      { name: 'unknown field', send: () => post(h.url, { query: '{ checks { edges { node { id passportNumber } } } }' }, { key: tenant.key }), codes: ['GRAPHQL_VALIDATION_FAILED'], status: [400] },
      { name: 'unknown root mutation', send: () => post(h.url, { query: 'mutation { dropAllChecks }' }, { key: tenant.key }), codes: ['GRAPHQL_VALIDATION_FAILED'], status: [400] },
      { name: 'unknown input field beside an image', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document, isAdmin: true } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400], secret: selfie.slice(1000, 1065) },
      { name: 'selfie sent as an array', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie: [selfie], document } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400], secret: selfie.slice(1000, 1065) },
      { name: 'selfie sent as an object', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie: { data: selfie }, document } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400], secret: selfie.slice(1000, 1065) },
      ...(['referenceId', 'idempotencyKey'] as const).map((field) => ({
        name: `NUL in ${field}`,
        send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document, [field]: 'a\u0000b' } } }, { key: tenant.key }),
        codes: ['BAD_USER_INPUT'],
        status: [400],
      })),
      { name: 'lone surrogate in idempotencyKey', send: () => post(h.url, `{"query": ${JSON.stringify(VERIFY)}, "variables": {"i": {"selfie": "${selfie}", "document": "${document}", "idempotencyKey": "key-\\ud800"}}}`, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'NUL in a filter', send: () => post(h.url, { query: 'query($r: String) { checks(filter: {referenceId: $r}) { edges { cursor } } }', variables: { r: 'x\u0000' } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'NUL in a literal', send: () => post(h.url, { query: '{ checks(filter: {referenceId: "x\\u0000y"}) { edges { cursor } } }' }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'NUL in a tenant name', send: () => post(h.url, { query: 'mutation($n: String!) { createTenant(name: $n) { id } }', variables: { n: 'evil\u0000corp' } }, { key: ADMIN_KEY }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'NUL in a key label', send: () => post(h.url, { query: 'mutation($l: String) { createApiKey(role: admin, label: $l) { secret } }', variables: { l: 'a\u0000' } }, { key: ADMIN_KEY }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'a 10 MB key label', send: () => post(h.url, { query: 'mutation($l: String) { createApiKey(role: admin, label: $l) { secret } }', variables: { l: HUGE.repeat(10) } }, { key: ADMIN_KEY }), codes: ['BAD_USER_INPUT'], status: [400], secret: HUGE.slice(0, 65) },
      { name: 'a 1 MB livenessSessionId', send: () => post(h.url, { query: VERIFY, variables: { i: { livenessSessionId: HUGE, document } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400], secret: HUGE.slice(0, 65) },
      ...['0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z'].map((when) => ({
        name: `a filter date in the year ${when.slice(0, 7)}`,
        send: () => post(h.url, { query: 'query($f: DateTimeISO) { checks(filter: {from: $f}) { edges { cursor } } }', variables: { f: when } }, { key: tenant.key }),
        codes: ['BAD_USER_INPUT'],
      })),
      ...['0000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z'].map((when) => ({
        name: `a cursor dated ${when.slice(0, 7)}`,
        send: () => post(h.url, { query: 'query($a: String) { checks(after: $a) { edges { cursor } } }', variables: { a: Buffer.from(`${when}|6f1c2d7e-0000-4000-8000-000000000000`).toString('base64url') } }, { key: tenant.key }),
        codes: ['BAD_USER_INPUT'],
      })),
      {
        name: 'two verifications in one request',
        send: () => post(h.url, { query: 'mutation($i: VerifyIdentityInput!) { a: verifyIdentity(input: $i) { id } b: verifyIdentity(input: $i) { id } }', variables: { i: { selfie, document } } }, { key: tenant.key }),
        codes: ['BAD_REQUEST'],
        status: [400],
      },
      { name: 'wrong variable type (object for ID)', send: () => post(h.url, { query: 'query($id: ID!) { check(id: $id) { id } }', variables: { id: { $ne: null } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'wrong variable type (number for an image)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie: 12345, document } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'wrong variable type (string for the input object)', send: () => post(h.url, { query: VERIFY, variables: { i: 'selfie' } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'wrong variable type (first: "ten")', send: () => post(h.url, { query: 'query($f: Int) { checks(first: $f) { edges { cursor } } }', variables: { f: 'ten' } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'missing required input field (document)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'missing required variable', send: () => post(h.url, { query: VERIFY, variables: {} }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400] },
      { name: 'missing selfie (resolver check)', send: () => post(h.url, { query: VERIFY, variables: { i: { document } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'] },
      { name: 'huge string variable (1 MiB referenceId)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document, referenceId: HUGE } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], secret: HUGE.slice(0, 4096) },
      { name: 'huge string variable (1 MiB idempotencyKey)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document, idempotencyKey: HUGE } } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], secret: HUGE.slice(0, 4096) },
      { name: 'huge string as an ID', send: () => post(h.url, { query: 'query($id: ID!) { check(id: $id) { id } }', variables: { id: HUGE } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], status: [400], secret: HUGE.slice(0, 65) },
      { name: 'an ID that is no uuid', send: () => post(h.url, { query: 'query($id: ID!) { check(id: $id) { id } }', variables: { id: 'not-a-uuid' } }, { key: tenant.key }), codes: ['__null_check__'] },
      { name: 'huge string as a cursor', send: () => post(h.url, { query: 'query($a: String) { checks(after: $a) { edges { cursor } } }', variables: { a: HUGE } }, { key: tenant.key }), codes: ['BAD_USER_INPUT'], secret: HUGE.slice(0, 4096) },
      { name: 'invalid JSON', send: () => post(h.url, '{"query": "{ checks { edges { cursor } } }", ', { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'JSON that is not an object (number)', send: () => post(h.url, '42', { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'JSON null', send: () => post(h.url, 'null', { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'empty body', send: () => post(h.url, '', { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'no query', send: () => post(h.url, { variables: {} }, { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'query that is not a string', send: () => post(h.url, { query: { evil: true } }, { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'syntax error in the query', send: () => post(h.url, { query: 'mutation { verifyIdentity(input: { ' }, { key: tenant.key }), codes: ['GRAPHQL_PARSE_FAILED'], status: [400] },
      { name: 'batched request', send: () => post(h.url, [{ query: '{ checks { edges { cursor } } }' }], { key: tenant.key }), codes: ['BAD_REQUEST'], status: [400] },
      { name: 'unknown operationName', send: () => post(h.url, { query: 'query A { checks { edges { cursor } } }', operationName: 'B' }, { key: tenant.key }), codes: ['OPERATION_RESOLUTION_FAILURE', 'BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED'], status: [400] },
      {
        name: 'wrong content-type (text/plain)',
        send: () => post(h.url, JSON.stringify({ query: VERIFY, variables: { i: { selfie, document } } }), { key: tenant.key, headers: { 'content-type': 'text/plain' } }),
        codes: ['BAD_REQUEST'],
        status: [400, 415],
      },
      {
        name: 'wrong content-type (form-urlencoded)',
        send: () => post(h.url, 'query=mutation%7BcreateLivenessSession%7BsessionId%7D%7D', { key: tenant.key, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        codes: ['BAD_REQUEST'],
        status: [400, 415],
      },
      {
        name: 'wrong content-type (multipart upload)',
        send: () => post(h.url, '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--x--\r\n', { key: tenant.key, headers: { 'content-type': 'multipart/form-data; boundary=x' } }),
        codes: ['BAD_REQUEST'],
        status: [400, 415],
      },
      { name: 'mutation over GET', send: () => fetchAnswer(`${h.url}?query=${encodeURIComponent('mutation { createLivenessSession { sessionId } }')}`, tenant.key), codes: ['BAD_REQUEST'], status: [400, 405] },
      { name: 'PUT', send: () => post(h.url, { query: '{ checks { edges { cursor } } }' }, { key: tenant.key, method: 'PUT' }), codes: ['BAD_REQUEST'], status: [405] },
      { name: 'no key', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document } } }, { key: null }), codes: ['UNAUTHENTICATED'], status: [401] },
      { name: 'unknown key', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document } } }, { key: 'vg_tnt_this-key-was-never-issued-0000000' }), codes: ['UNAUTHENTICATED'], status: [401], secret: 'this-key-was-never-issued' },
      {
        name: 'malformed Authorization header',
        send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document } } }, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
        codes: ['UNAUTHENTICATED'],
        status: [401],
      },
      { name: 'huge key (64 KiB)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document } } }, { key: `vg_${'k'.repeat(64 * 1024)}` }), codes: ['UNAUTHENTICATED'], status: [401, 431] },
      { name: 'admin key on a tenant mutation (no tenant)', send: () => post(h.url, { query: VERIFY, variables: { i: { selfie, document } } }, { key: ADMIN_KEY }), codes: ['FORBIDDEN'], status: [403] },
      { name: 'tenant key on an admin mutation', send: () => post(h.url, { query: 'mutation { createTenant(name: "evil") { id } }' }, { key: tenant.key }), codes: ['FORBIDDEN'], status: [403] },
    ];

    const fetchAnswer = async (url: string, key: string) =>
      readAnswer(await fetch(url, { headers: { authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' } }));

    it('answers each with a typed 4xx error, no stack trace, no echo, no check row', async () => {
      const before = await countRows(db, 'checks');
      const failures: string[] = [];
      let n = 0;
      for (const j of junk) {
        const a = await j.send();
        n++;
        if (j.codes[0] === '__null_check__') {
          // an id that is no uuid is simply not found: data.check null, no error
          if (a.status !== 200 || a.json?.data?.check !== null || a.json?.errors) failures.push(`${j.name}: ${a.status} ${a.text.slice(0, 200)}`);
          if (j.secret && a.text.includes(j.secret)) failures.push(`${j.name}: echoed`);
          continue;
        }
        // Node's HTTP parser refuses headers over 16 KiB itself (431, no body): a refusal before any code runs
        if (a.status === 431 && j.status?.includes(431)) continue;
        const problems = refusalProblems(a, j.codes, j.secret);
        if (j.status && !j.status.includes(a.status)) problems.push(`HTTP ${a.status}, wanted ${j.status.join('|')}`);
        if (problems.length) failures.push(`${j.name}: ${problems.join('; ')}`);
      }
      refused['graphql/http junk'] = n;
      expect(failures).toEqual([]);
      expect(await countRows(db, 'checks')).toBe(before);
    }, 120_000);
  });

  it('is still healthy and verifies a valid pair afterwards', async () => {
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);
    expect((await fetch(`${base()}/readyz`)).status).toBe(200);
    const before = await countRows(db, 'checks');
    const res = await h.gql(VerifyIdentityDocument, { input: { selfie, document, referenceId: 'after-the-storm' } }, tenant.key);
    expect(res.errors).toBeUndefined();
    expect(res.data?.verifyIdentity).toMatchObject({ status: 'ACCEPTED', referenceId: 'after-the-storm' });
    expect(await countRows(db, 'checks')).toBe(before + 1);
    expect(await countRows(db, 'checks', "status = 'PENDING'")).toBe(0);
  });
});
