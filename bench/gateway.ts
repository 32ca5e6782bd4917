/**
 * What a request costs in the gateway itself, on the embedded store (PGlite in memory):
 * 1. `check(id)` over HTTP (auth, GraphQL parse/validate/execute, store reads, JSON) against the
 *    same store reads called directly;
 * 2. `verifyIdentity` over HTTP with the local engine against the engine alone (provider.check on
 *    the same images), interleaved so machine noise hits both alike.
 *
 *   npm run build && node dist/bench/gateway.js [--n 2000] [--verify-n 200] [--database-url postgres://…]
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

const FACES = join(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');

const ADMIN = 'vg_bench_admin_key_0123456789abcdef';

async function main() {
  const { values } = parseArgs({
    options: { n: { type: 'string', default: '2000' }, 'verify-n': { type: 'string', default: '200' }, 'database-url': { type: 'string' } },
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

  const body = JSON.stringify({
    query: 'query($id: ID!) { check(id: $id) { id status reasons faceMatch { fmr matchLevel } liveness { live } attempts { provider outcome } createdAt } }',
    variables: { id: check.id },
  });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
  const viaHttp = async () => {
    const t = performance.now();
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body });
    const json = (await res.json()) as { data?: { check?: { id: string } } };
    if (json.data?.check?.id !== check.id) throw new Error(`unexpected answer ${JSON.stringify(json)}`);
    return performance.now() - t;
  };
  const direct = async () => {
    const t = performance.now();
    await store.keys.findActive(secret);
    await store.checks.get(scope, check.id);
    await store.checks.attemptsFor(scope, [check.id]);
    return performance.now() - t;
  };

  for (let i = 0; i < 200; i++) await viaHttp(); // warm-up (JIT, connection pool)
  const http: number[] = [];
  const store3: number[] = [];
  for (let i = 0; i < n; i++) {
    // interleaved, so drift on a shared machine hits both alike
    http.push(await viaHttp());
    store3.push(await direct());
  }
  const h = summarise(http);
  const s = summarise(store3);
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
  const [probe, reference] = await Promise.all([parseImageInput(selfie.toString('base64'), 'selfie'), parseImageInput(document.toString('base64'), 'document')]);
  const engineOnly = async () => {
    const t = performance.now();
    await local.check({ probe, reference, match: true, liveness: true }, { signal: new AbortController().signal, requestId: 'bench' });
    return performance.now() - t;
  };
  const verifyHttp = async () => {
    const t = performance.now();
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers, body: verifyBody });
    const json = (await res.json()) as { data?: { verifyIdentity?: { status: string } } };
    if (json.data?.verifyIdentity?.status !== 'ACCEPTED') throw new Error(`unexpected answer ${JSON.stringify(json)}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 10; i++) {
    await verifyHttp(); // warm-up
    await engineOnly();
  }
  const viaVerify: number[] = [];
  const engine: number[] = [];
  for (let i = 0; i < verifyN; i++) {
    viaVerify.push(await verifyHttp());
    engine.push(await engineOnly());
  }
  const v = summarise(viaVerify);
  const e = summarise(engine);
  console.log(`\nverifyIdentity (selfie + passport page, local engine), n=${verifyN}`);
  console.log(`  via gateway     p50 ${ms(v.p50)}  p95 ${ms(v.p95)}`);
  console.log(`  engine alone    p50 ${ms(e.p50)}  p95 ${ms(e.p95)}  (provider.check on pre-validated images)`);
  console.log(`  gateway adds (median difference) ${ms(v.p50 - e.p50)}`);

  const path = writeReport('gateway', {
    benchmark: 'gateway overhead',
    check: { n, viaGateway: h, storeOnly: s, overheadP50Ms: overhead },
    verifyIdentity: { n: verifyN, viaGateway: v, engineOnly: e, overheadP50Ms: v.p50 - e.p50 },
  });
  console.log(`report: ${path}`);
  await server.close();
  await db.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
