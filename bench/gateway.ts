/**
 * What a request costs in the gateway itself: the median of a `check(id)` query over HTTP
 * (auth, GraphQL parse/validate/execute, store read, JSON) against the same store read called
 * directly. Embedded store (PGlite in memory) so no network hop is counted.
 *
 *   npm run build && node dist/bench/gateway.js [--n 2000]
 */
import { parseArgs } from 'node:util';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { startServer } from '../src/server';
import { openDb } from '../src/store/db';
import { ms, summarise, writeReport } from './report';
import type { Provider } from '../providers/types';

const ADMIN = 'vg_bench_admin_key_0123456789abcdef';

async function main() {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
  const n = Number(values.n);
  const db = await openDb({ dataDir: 'memory://' });
  const nothing: Provider[] = [];
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN });
  const app = await createApp(config, { db, providers: nothing, logger: createLogger('silent') });
  const server = await startServer(app, '127.0.0.1', 0);
  const store = app.services.store;

  const tenant = await store.tenants.create('bench');
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
  const path = writeReport('gateway', { benchmark: 'check query overhead', n, viaGateway: h, storeOnly: s, overheadP50Ms: overhead });
  console.log(`report: ${path}`);
  await server.close();
  await db.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
