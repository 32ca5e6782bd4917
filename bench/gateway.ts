/**
 * What a request costs in the gateway itself, on the embedded store (PGlite in memory):
 * 1. `check(id)` over HTTP (auth, GraphQL parse/validate/execute, store reads, JSON) against the
 *    same store reads called directly;
 * 2. `verifyIdentity` over HTTP with the local engine against the engine alone (provider.check on
 *    the same images, already validated), interleaved so machine noise hits both alike; twice: the
 *    images in base64 inside JSON, and as binary file parts (GraphQL multipart request, ~465 KB).
 *
 * The HTTP client runs in a child process (bench/http-client.ts), as a real client would: a
 * request is timed there from `fetch()` to its parsed JSON answer — upload of the body (~620 KB of
 * base64 for verifyIdentity) over loopback, everything the server does, download and parse. The
 * engine-alone and store-only figures are timed in the server's process, which then has no client
 * in it. "Gateway adds" is the difference of the two medians: HTTP + JSON both ways, auth, GraphQL,
 * limits, image validation, the check's SQL statements, response; the engine's own work is the same
 * on both sides (the gateway calls the same provider on the same bytes).
 * 3. The transport floor, interleaved with 2.: the same client posting the same body to a bare
 *    node:http server in this process that reads it, JSON-parses it, base64-decodes both images and
 *    answers verify's JSON shape — what any JSON-over-HTTP gateway pays before doing anything.
 * 4. The durable writes, interleaved with 2.: the PENDING row and the result (ARCHITECTURE: a check
 *    is written before any provider runs and its result committed before the answer), called on
 *    the store directly with the payload of a real verifyIdentity.
 * 5. Where the JSON request's time goes, from the same requests as 2.: the server's steps are
 *    stamped in its process (request headers in, body read, GraphQL reaching the orchestrator with
 *    the images checked, PENDING row, engine, result, answer written) by wrapping the store, the
 *    orchestrator and the provider; "outside the server" is the client's time minus the server's
 *    (connection, the part of the upload before the headers are read, download, the client's parse).
 *
 *   npm run build && node dist/bench/gateway.js [--n 2000] [--verify-n 200] [--database-url postgres://…] [--report NAME]
 *
 * Writes bench/reports/gateway.json (`--report NAME`: bench/reports/NAME.json, e.g. for a run on a
 * busy machine that should not replace the committed figures).
 */
import { parseArgs } from 'node:util';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { startServer } from '../src/server';
import { openDb } from '../src/store/db';
import { ms, summarise, writeReport } from './report';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalProvider } from '../providers/local';
import { parseImageInput } from '../src/images';
import { PROJECT_ROOT } from '../src/paths';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from '../providers/types';
import type { Store } from '../src/store/repositories';
import type { Orchestrator } from '../src/verification/orchestrator';
import { multipartVerify, startClient } from './client';

const FACES = join(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');

const ADMIN = 'vg_bench_admin_key_0123456789abcdef';

async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '2000' },
      'verify-n': { type: 'string', default: '200' },
      'database-url': { type: 'string' },
      report: { type: 'string', default: 'gateway' },
    },
  });
  const n = Number(values.n);
  const verifyN = Number(values['verify-n']);
  // PGlite in memory by default; --database-url postgres://… measures against a PostgreSQL server
  const db = await openDb({ dataDir: 'memory://', databaseUrl: values['database-url'] });
  const local = createLocalProvider({});
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN });
  const app = await createApp(config, { db, providers: [local], logger: createLogger('silent') });
  const server = await startServer(app, '127.0.0.1', 0);
  const store = app.services.store;

  const tenant = await store.tenants.create(`bench-${Date.now()}`);
  const { secret } = await store.keys.create('tenant', tenant.id);
  const { check } = await store.checks.createPending({ tenantId: tenant.id, kind: 'VERIFY_IDENTITY', imageDigests: { selfie: 'a'.repeat(64) } });
  const scope = { role: 'tenant', tenantId: tenant.id } as const;

  const client = await startClient();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
  await client.define({
    name: 'check',
    url: `${server.url}/graphql`,
    headers,
    body: JSON.stringify({
      query: 'query($id: ID!) { check(id: $id) { id status reasons faceMatch { fmr matchLevel } liveness { live } attempts { provider outcome } createdAt } }',
      variables: { id: check.id },
    }),
    expect: { path: 'data.check.id', equals: check.id },
  });
  const viaHttp = () => client.time('check');
  const direct = async () => {
    const t = performance.now();
    await store.keys.findActive(secret);
    await store.checks.get(scope, check.id);
    await store.checks.attemptsFor(scope, [check.id]);
    return performance.now() - t;
  };

  const [h, s] = await interleaved(n, 200, [viaHttp, direct]);
  const overhead = h.p50 - s.p50;
  console.log(`check(id) over HTTP, n=${n}`);
  console.log(`  via gateway     p50 ${ms(h.p50)}  p95 ${ms(h.p95)}  p99 ${ms(h.p99)}`);
  console.log(`  store reads     p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  (the same 3 queries, called directly)`);
  console.log(`  gateway overhead (median difference) ${ms(overhead)}`);

  // 2. verifyIdentity through the gateway vs the engine alone
  const selfie = readFileSync(join(FACES, 'idenfy-documents/TheresaMayFace.jpg'));
  const document = readFileSync(join(FACES, 'idenfy-documents/TheresaMay.jpg'));
  const verifyBody = JSON.stringify({
    query: 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status faceMatch { fmr } liveness { live } } }',
    variables: { i: { selfie: selfie.toString('base64'), document: document.toString('base64') } },
  });
  const accepted = { path: 'data.verifyIdentity.status', equals: 'ACCEPTED' };
  await client.define({ name: 'verify', url: `${server.url}/graphql`, headers, body: verifyBody, expect: accepted });
  // the same request with the images as binary file parts (GraphQL multipart request spec)
  const multipart = await multipartVerify('mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status faceMatch { fmr } liveness { live } } }', selfie, document);
  await client.define({
    name: 'verify-multipart',
    url: `${server.url}/graphql`,
    headers: { authorization: headers.authorization, 'content-type': multipart.contentType },
    body: multipart.bytes,
    expect: accepted,
  });
  const [probe, reference] = await Promise.all([parseImageInput(selfie.toString('base64'), 'selfie'), parseImageInput(document.toString('base64'), 'document')]);
  const engineOnly = async () => {
    const t = performance.now();
    await local.check({ probe, reference, match: true, liveness: true }, { signal: new AbortController().signal, requestId: 'bench' });
    return performance.now() - t;
  };
  const trace = traceSteps(server.server, app.services.orchestrator, store, local);
  const steps: StepTimes[] = [];
  const verifyHttp = async () => {
    const total = await client.time('verify');
    const stamps = trace.take();
    if (stamps) steps.push(stepTimes(stamps, total));
    return total;
  };
  const verifyMultipart = () => client.time('verify-multipart');
  const floor = await startFloorServer();
  await client.define({ name: 'floor', url: floor.url, headers, body: verifyBody, expect: accepted });
  const floorHttp = () => client.time('floor');
  // the two statements a check commits before it answers (its PENDING row, then its result and
  // attempts), called directly with the payload of a real verifyIdentity, captured here
  const completions: Array<Parameters<typeof store.checks.complete>> = [];
  const complete = store.checks.complete.bind(store.checks);
  store.checks.complete = async (...args) => (completions.push(args), complete(...args));
  await verifyHttp();
  store.checks.complete = complete;
  const [, result, attempts] = completions[0];
  const durableWrites = async () => {
    const t = performance.now();
    const { check: pending } = await store.checks.createPending({ tenantId: tenant.id, kind: 'VERIFY_IDENTITY', imageDigests: { selfie: probe.sha256, document: reference.sha256 } });
    await store.checks.complete(pending, result, attempts);
    return performance.now() - t;
  };
  const [v, m, e, f, w] = await interleaved(verifyN, 10, [verifyHttp, verifyMultipart, engineOnly, floorHttp, durableWrites]);
  floor.close();
  trace.stop();
  const byStep = Object.fromEntries(STEPS.map(([key]) => [key, summarise(steps.slice(-verifyN).map((t) => t[key]))])) as Record<StepName, ReturnType<typeof summarise>>;
  console.log(`\nverifyIdentity (selfie + passport page, local engine), n=${verifyN}`);
  console.log(`  via gateway     p50 ${ms(v.p50)}  p95 ${ms(v.p95)}  (JSON, images in base64: ${kb(verifyBody.length)})`);
  console.log(`  multipart       p50 ${ms(m.p50)}  p95 ${ms(m.p95)}  (images as file parts: ${kb(multipart.bytes.length)})`);
  console.log(`  engine alone    p50 ${ms(e.p50)}  p95 ${ms(e.p95)}  (provider.check on pre-validated images)`);
  console.log(`  gateway adds (median difference) ${ms(v.p50 - e.p50)} with JSON, ${ms(m.p50 - e.p50)} with multipart`);
  console.log(`  transport floor p50 ${ms(f.p50)}  p95 ${ms(f.p95)}  (same client and JSON body, bare node:http: read, JSON.parse, base64 decode)`);
  console.log(`  gateway adds beyond the floor ${ms(v.p50 - e.p50 - f.p50)} (JSON)`);
  console.log(`  durable writes  p50 ${ms(w.p50)}  p95 ${ms(w.p95)}  (the PENDING row and the result: the two statements a check commits before it answers, called directly)`);
  console.log(`  floor + durable writes ${ms(f.p50 + w.p50)}: kept by any gateway that takes JSON over HTTP and commits before answering`);
  console.log(`  where a JSON request's time goes (medians of each step over the same ${verifyN} requests; they need not add up to the total)`);
  for (const [key, label] of STEPS) console.log(`    ${ms(byStep[key].p50).padStart(9)}  ${label}`);
  console.log(`    engine in the gateway ${ms(byStep.engine.p50)} against ${ms(e.p50)} alone: the rest, ${ms(v.p50 - byStep.engine.p50)}, is what the gateway adds around it`);
  const target = (transport: string, p50: number) => ({
    target: `verifyIdentity over HTTP adds ≤ 5 ms p50 over the engine alone (${transport})`,
    measured: ms(p50 - e.p50),
    met: p50 - e.p50 <= 5,
  });
  const targets = [target('JSON', v.p50), target('multipart', m.p50)];
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'MISSED '} ${t.target}: ${t.measured}`);

  const path = writeReport(values.report!, {
    benchmark: 'gateway overhead',
    client: 'separate process (bench/http-client.ts), timed from fetch() to the parsed answer',
    check: { n, viaGateway: h, storeOnly: s, overheadP50Ms: overhead },
    verifyIdentity: {
      n: verifyN,
      viaGateway: v,
      multipart: m,
      engineOnly: e,
      overheadP50Ms: v.p50 - e.p50,
      multipartOverheadP50Ms: m.p50 - e.p50,
      transportFloor: f,
      beyondFloorP50Ms: v.p50 - e.p50 - f.p50,
      durableWrites: w,
      steps: byStep,
      bodyBytes: { json: verifyBody.length, multipart: multipart.bytes.length },
    },
    targets,
  });
  console.log(`report: ${path}`);
  client.close();
  await server.close();
  await db.close();
}

/** A JSON verifyIdentity's steps, in order; `engine` is the provider call inside the gateway. */
const STEPS = [
  ['outside', 'outside the server: connection, upload until the headers are read, download, client parse'],
  ['body', 'reading the body'],
  ['graphql', 'JSON parse, API key, GraphQL parse/validate/limits, both images checked (src/images)'],
  ['pending', 'PENDING row written'],
  ['engine', 'engine (the local provider, called by the orchestrator)'],
  ['result', 'result and attempt committed'],
  ['answer', 'answer serialised and written'],
  ['glue', 'orchestrator between the steps (policy, plan, calibrate, decide)'],
] as const;
type StepName = (typeof STEPS)[number][0];
type StepTimes = Record<StepName, number>;

type Stamp = 'request' | 'body' | 'run' | 'pending0' | 'pending1' | 'engine0' | 'engine1' | 'result0' | 'result1' | 'answer';

function stepTimes(t: Record<Stamp, number>, clientMs: number): StepTimes {
  return {
    outside: clientMs - (t.answer - t.request),
    body: t.body - t.request,
    graphql: t.run - t.body,
    pending: t.pending1 - t.pending0,
    engine: t.engine1 - t.engine0,
    result: t.result1 - t.result0,
    answer: t.answer - t.result1,
    glue: t.pending0 - t.run + (t.engine0 - t.pending1) + (t.result0 - t.engine1),
  };
}

/**
 * Stamps the steps of the request in flight (one at a time here) by wrapping the orchestrator,
 * the store and the provider; calls made outside a JSON /graphql request (the engine-alone and
 * durable-write timers) are not stamped. `take()` hands over the last request's stamps.
 */
function traceSteps(server: Server, orchestrator: Orchestrator, store: Store, provider: Provider) {
  let current: Partial<Record<Stamp, number>> | null = null;
  let done: Record<Stamp, number> | null = null;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return;
    const t: Partial<Record<Stamp, number>> = { request: performance.now() };
    current = t;
    req.once('end', () => (t.body = performance.now()));
    const end = res.end.bind(res) as (...a: unknown[]) => unknown;
    res.end = ((...a: unknown[]) => {
      t.answer = performance.now();
      if (current === t) [done, current] = [t as Record<Stamp, number>, null];
      return end(...a);
    }) as typeof res.end;
  };
  server.prependListener('request', onRequest);
  const undo: Array<() => void> = [];
  const wrap = <T extends object>(obj: T, name: keyof T & string, before: Stamp, after?: Stamp) => {
    const original = obj[name] as (...a: unknown[]) => Promise<unknown>;
    (obj as Record<string, unknown>)[name] = async (...a: unknown[]) => {
      const t = current;
      if (t) t[before] = performance.now();
      try {
        return await original.apply(obj, a);
      } finally {
        if (t && after) t[after] = performance.now();
      }
    };
    undo.push(() => ((obj as Record<string, unknown>)[name] = original));
  };
  wrap(orchestrator, 'run', 'run');
  wrap(store.checks, 'createPending', 'pending0', 'pending1');
  wrap(provider, 'check', 'engine0', 'engine1');
  wrap(store.checks, 'complete', 'result0', 'result1');
  return {
    take(): Record<Stamp, number> | null {
      const t = done;
      done = null;
      return t;
    },
    stop() {
      server.off('request', onRequest);
      for (const u of undo) u();
    },
  };
}

/**
 * Times each of `timers` in turn, `n` rounds after `warm` untimed ones (JIT, connection pools), so
 * drift on a shared machine hits all of them alike; returns each one's summary.
 */
async function interleaved(n: number, warm: number, timers: ReadonlyArray<() => Promise<number>>) {
  for (let i = 0; i < warm; i++) for (const time of timers) await time();
  const samples = timers.map(() => [] as number[]);
  for (let i = 0; i < n; i++) for (const [k, time] of timers.entries()) samples[k].push(await time());
  return samples.map((xs) => summarise(xs));
}

/** The transport floor's server: reads the body, parses it, decodes both images, answers like verify. */
async function startFloorServer(): Promise<{ url: string; close(): void }> {
  const answer = JSON.stringify({ data: { verifyIdentity: { id: '00000000-0000-0000-0000-000000000000', status: 'ACCEPTED', faceMatch: { fmr: 1e-6 }, liveness: { live: true } } } });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      Buffer.from(variables.i.selfie, 'base64');
      Buffer.from(variables.i.document, 'base64');
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, close: () => server.close() };
}

const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
