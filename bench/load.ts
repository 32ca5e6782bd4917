/**
 * Sustained load over loopback HTTP: the gateway in-process on PGlite (memory) with the local ONNX
 * engine, N concurrent clients each sending `verifyIdentity` (a real same-person JPEG pair from
 * ../shared/faces) back to back for a bounded time. Per phase: throughput, p50/p99 latency, answers
 * by status and error code, 5xx count (must be zero), RSS sampled every second (after warm-up vs
 * at the end), and a row count proving no check was lost or left PENDING.
 *
 * Phases: `clean` (tenant on the local engine) and `faults` (tenant on a fallback policy
 * facia → local, with the Facia emulator failing `--fault-rate` of its calls: HTTP 500, connection
 * reset, or an answer slower than the 500 ms step timeout, in turn).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/load.js [--seconds 60] [--clients 4]
 *        [--fault-rate 0.5] [--phase all|clean|faults] [--warmup 5] [--workers N] [--short] [--report NAME]
 *
 * `--short` = 10 s per phase and 2 s warm-up (CI). Writes bench/reports/load.json (load-short.json
 * with --short; `--report NAME` for bench/reports/NAME.json, e.g. a long soak: `--phase clean --seconds 300
 * --report load-soak`). Exit code 1 on any 5xx or lost check. The tenant limits are raised for the run
 * (the benchmark measures the gateway, not its rate limiter). Never prints images.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createFaciaProvider } from '../providers/facia';
import { createLocalProvider } from '../providers/local';
import type { Provider } from '../providers/types';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { PROJECT_ROOT } from '../src/paths';
import { startServer } from '../src/server';
import { openDb } from '../src/store/db';
import { startFaciaEmulator, type FaciaEmulator } from '../test/fakes/facia-emulator';
import type { Fault } from '../test/fakes/faults';
import { ms, summarise, writeReport } from './report';

const ADMIN = 'vg_bench_admin_key_0123456789abcdef';
const FACES = resolve(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');
const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
const MAX_SECONDS = 600;
const FACIA_STEP_TIMEOUT_MS = 500;

const VERIFY = 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status provider attempts { provider outcome } } }';

interface PhaseResult {
  phase: string;
  seconds: number;
  clients: number;
  faultRate: number;
  requests: number;
  throughputPerSec: number;
  latencyMs: ReturnType<typeof summarise>;
  byStatus: Record<string, number>;
  byErrorCode: Record<string, number>;
  byProvider: Record<string, number>;
  http5xx: number;
  transportErrors: number;
  checks: { answered: number; rows: number; lost: number; pending: number };
  rssMb: { afterWarmup: number; end: number; max: number; growth: number; samples: number[] };
  /** JS heap of the process (gateway + clients + emulator); RSS also holds PGlite's WASM memory and the ONNX workers */
  heapUsedMb: { afterWarmup: number; end: number; samples: number[] };
  facia?: { calls: number; faultsInjected: number; fallbacks: number };
}

const rssMb = () => Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;
const heapMb = () => Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      clients: { type: 'string', default: '4' },
      'fault-rate': { type: 'string', default: '0.5' },
      phase: { type: 'string', default: 'all' },
      warmup: { type: 'string' },
      workers: { type: 'string' },
      short: { type: 'boolean', default: false },
      report: { type: 'string' },
    },
  });
  const seconds = Math.min(MAX_SECONDS, Math.max(1, Number(values.seconds ?? (values.short ? 10 : 60))));
  const warmup = Math.min(60, Math.max(0, Number(values.warmup ?? (values.short ? 2 : 5))));
  const clients = Math.min(256, Math.max(1, Number(values.clients)));
  const faultRate = Math.min(1, Math.max(0, Number(values['fault-rate'])));
  const phases = values.phase === 'all' ? ['clean', 'faults'] : [values.phase!];
  if (!phases.every((p) => p === 'clean' || p === 'faults')) throw new Error('--phase must be all, clean or faults');
  if ([seconds, clients, faultRate, warmup].some(Number.isNaN)) throw new Error('numeric options must be numbers');

  const selfie = readFileSync(join(FACES, SELFIE)).toString('base64');
  const document = readFileSync(join(FACES, DOCUMENT)).toString('base64');

  // Facia emulator with fixed scores (no second engine competing for the cores)
  const facia = await startFaciaEmulator({ scorer: async () => ({ similarity: 0.99, liveness: 0.97 }) });
  const db = await openDb({ dataDir: 'memory://' });
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN,
    VERIGATE_TENANT_RATE_PER_MINUTE: '100000000',
    VERIGATE_TENANT_BURST: '100000000',
    VERIGATE_KEY_RATE_PER_MINUTE: '100000000',
    VERIGATE_KEY_BURST: '100000000',
  });
  const local = createLocalProvider({ workers: values.workers ? Number(values.workers) : undefined });
  const providers: Provider[] = [local, createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 5000 })];
  const app = await createApp(config, { db, providers, logger: createLogger('silent') });
  const server = await startServer(app, '127.0.0.1', 0);
  const url = `${server.url}/graphql`;
  console.log(`load: ${clients} clients, ${seconds} s per phase (+${warmup} s warm-up), phases ${phases.join(', ')}, fault rate ${faultRate}`);

  const admin = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ query, variables }) });
    const json = (await res.json()) as { data?: any; errors?: unknown };
    if (!json.data) throw new Error(`admin call failed: ${JSON.stringify(json.errors)}`);
    return json.data;
  };
  const tenant = async (name: string) => {
    const t = await admin('mutation($n: String!) { createTenant(name: $n) { id } }', { n: name });
    const k = await admin('mutation($t: ID!) { createApiKey(role: tenant, tenantId: $t) { secret } }', { t: t.createTenant.id });
    return { id: t.createTenant.id as string, key: k.createApiKey.secret as string };
  };

  const results: PhaseResult[] = [];
  let failed = false;
  for (const phase of phases) {
    const t = await tenant(`load-${phase}`);
    let feeder: NodeJS.Timeout | undefined;
    let faciaCalls = 0;
    if (phase === 'faults') {
      await admin('mutation($t: ID!, $p: JSONObject!) { setTenantPolicy(tenantId: $t, policy: $p) { version } }', {
        t: t.id,
        p: { strategy: { type: 'fallback', providers: [{ provider: 'facia', timeoutMs: FACIA_STEP_TIMEOUT_MS }, { provider: 'local' }] } },
      });
      // keep the emulator's fault queue ahead of the calls: slot i fails when ⌊(i+1)·rate⌋ > ⌊i·rate⌋
      // (rate 0.5: every other call), the failures cycling through 500, reset and a too-slow answer
      const kinds: Fault[] = [
        { kind: 'status', status: 500, body: '{"message":"Internal Server Error"}' },
        { kind: 'reset' },
        { kind: 'latency', ms: FACIA_STEP_TIMEOUT_MS * 2 },
      ];
      let slot = 0;
      let failures = 0;
      const feed = () => {
        faciaCalls += facia.recorder.count('process_face');
        facia.recorder.clear(); // the recorder would otherwise grow with the run
        while (slot - faciaCalls < 200) {
          const fail = Math.floor((slot + 1) * faultRate) > Math.floor(slot * faultRate);
          facia.inject(fail ? kinds[failures++ % kinds.length] : { kind: 'latency', ms: 0 }, { op: 'process_face' });
          slot++;
        }
      };
      feed();
      feeder = setInterval(feed, 100);
    }
    const body = JSON.stringify({ query: VERIFY, variables: { i: { selfie, document } } });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.key}` };

    const latencies: number[] = [];
    const byStatus: Record<string, number> = {};
    const byErrorCode: Record<string, number> = {};
    const byProvider: Record<string, number> = {};
    let http5xx = 0;
    let transportErrors = 0;
    let answered = 0;
    let fallbacks = 0;
    let measuring = false;
    let stop = false;
    const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

    const client = async () => {
      while (!stop) {
        const started = performance.now();
        const counted = measuring;
        try {
          const res = await fetch(url, { method: 'POST', headers, body });
          const json = (await res.json().catch(() => undefined)) as { data?: any; errors?: Array<{ extensions?: Record<string, any> }> } | undefined;
          const elapsed = performance.now() - started;
          const r = json?.data?.verifyIdentity;
          const err = json?.errors?.[0]?.extensions;
          if (r || err?.checkId) answered++; // a stored check, whatever the phase
          if (!counted) continue;
          latencies.push(elapsed);
          if (res.status >= 500) http5xx++;
          if (r) {
            bump(byStatus, r.status);
            bump(byProvider, r.provider ?? 'none');
            if (r.attempts.some((a: { provider: string; outcome: string }) => a.provider === 'facia' && a.outcome !== 'OK')) fallbacks++;
          } else {
            bump(byStatus, 'error');
            bump(byErrorCode, `${res.status}:${err?.code ?? 'no-code'}`);
          }
        } catch {
          if (counted) transportErrors++;
        }
      }
    };

    const running = Array.from({ length: clients }, () => client());
    if (warmup) await sleep(warmup * 1000);
    measuring = true;
    const rss: number[] = [rssMb()];
    const heap: number[] = [heapMb()];
    const measureStart = performance.now();
    const sampler = setInterval(() => {
      rss.push(rssMb());
      heap.push(heapMb());
    }, 1000);
    await sleep(seconds * 1000);
    stop = true;
    measuring = false;
    const elapsed = (performance.now() - measureStart) / 1000;
    clearInterval(sampler);
    rss.push(rssMb());
    heap.push(heapMb());
    await Promise.all(running);
    if (feeder) clearInterval(feeder);
    faciaCalls += facia.recorder.count('process_face');
    facia.recorder.clear();
    facia.clearFaults();

    const [{ n: rows }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1', [t.id]);
    const [{ n: pending }] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM checks WHERE tenant_id = $1 AND status = 'PENDING'", [t.id]);
    const lat = summarise(latencies);
    const result: PhaseResult = {
      phase,
      seconds: Math.round(elapsed * 10) / 10,
      clients,
      faultRate: phase === 'faults' ? faultRate : 0,
      requests: latencies.length,
      throughputPerSec: Math.round((latencies.length / elapsed) * 100) / 100,
      latencyMs: lat,
      byStatus,
      byErrorCode,
      byProvider,
      http5xx,
      transportErrors,
      checks: { answered, rows, lost: answered - rows, pending },
      rssMb: { afterWarmup: rss[0], end: rss[rss.length - 1], max: Math.max(...rss), growth: Math.round((rss[rss.length - 1] - rss[0]) * 10) / 10, samples: rss },
      heapUsedMb: { afterWarmup: heap[0], end: heap[heap.length - 1], samples: heap },
      ...(phase === 'faults' ? { facia: { calls: faciaCalls, faultsInjected: Math.floor(faciaCalls * faultRate), fallbacks } } : {}),
    };
    results.push(result);
    if (http5xx > 0 || transportErrors > 0 || result.checks.lost !== 0 || pending > 0) failed = true;
  }

  console.log('');
  console.log('phase   | req    | req/s  | p50        | p99        | 5xx | errors by code                 | RSS after warm-up → end (growth)');
  for (const r of results) {
    const codes = Object.entries(r.byErrorCode).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
    console.log(
      `${r.phase.padEnd(7)} | ${String(r.requests).padEnd(6)} | ${r.throughputPerSec.toFixed(2).padEnd(6)} | ${ms(r.latencyMs.p50).padEnd(10)} | ${ms(r.latencyMs.p99).padEnd(10)} | ${String(r.http5xx).padEnd(3)} | ${codes.padEnd(30)} | ${r.rssMb.afterWarmup} → ${r.rssMb.end} MB (${r.rssMb.growth >= 0 ? '+' : ''}${r.rssMb.growth} MB)`,
    );
    console.log(`          statuses ${JSON.stringify(r.byStatus)}, providers ${JSON.stringify(r.byProvider)}, checks ${JSON.stringify(r.checks)}${r.facia ? `, facia ${JSON.stringify(r.facia)}` : ''}`);
  }
  const path = writeReport(values.report ?? (values.short ? 'load-short' : 'load'), {
    benchmark: 'sustained verifyIdentity over loopback HTTP (PGlite memory, local engine)',
    pair: { selfie: SELFIE, document: DOCUMENT },
    settings: { seconds, warmup, clients, faultRate, faciaStepTimeoutMs: FACIA_STEP_TIMEOUT_MS, workers: values.workers ?? 'one per core' },
    phases: results,
    pass: !failed,
  });
  console.log(`report: ${path}${failed ? '  (FAILED: 5xx, transport errors, lost or PENDING checks)' : ''}`);
  await server.close();
  await facia.close();
  await db.close();
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
