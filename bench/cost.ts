/**
 * Cost per verification (issue 19), in one run on one machine:
 *
 * 1. The engine's stage split: one verification (probe with liveness + reference) analysed by the
 *    engine in this thread, ORT and libvips on one thread each, so the process's CPU clock read
 *    around each stage is that stage's CPU. Wall and CPU per stage, medians over `--stages` runs.
 * 2. Engine alone against `verifyIdentity` over HTTP on the same images: the engine is the local
 *    provider's `check` on images already validated (as bench/gateway.ts), the HTTP side is the
 *    whole gateway (PGlite in memory, API key, GraphQL, image checks, durable writes) called by a
 *    client in its own process (bench/http-client.ts), images as multipart file parts. c=1 is
 *    interleaved (engine, HTTP small, HTTP phone, …, one of each per round) so machine noise hits
 *    all alike; c=4 is a burst of each in turn. CPU per verification is this process's (main
 *    thread, engine workers, libvips) over the c=4 burst; the client's own CPU is reported apart.
 * 3. @vladmandic/face-api (bench/peer.ts) at c=1 on the small capture: the ratio of its p50 to the
 *    engine's.
 *
 *   npm run build && node dist/bench/cost.js [--stages 100] [--n 200] [--burst 200] [--peer-requests 20]
 *
 * Writes bench/reports/cost.json (`--report NAME`: bench/reports/NAME.json).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createLocalProvider, loadPack, STAGES } from '../providers/local';
import { createEngine, type FaceReport } from '../providers/local/engine';
import { swapsSides, type ImageInput } from '../providers/types';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { parseImageInput } from '../src/images';
import { createLogger } from '../src/observability/logger';
import { PROJECT_ROOT } from '../src/paths';
import { startServer } from '../src/server';
import { openDb } from '../src/store/db';
import { multipartVerify, startClient, type BenchClient } from './client';
import { faceApi } from './peer';
import { machine, summarise, writeReport } from './report';

const FACES = join(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');
const ADMIN = 'vg_bench_admin_key_0123456789abcdef';
const QUERY = 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status } }';

/** the images of each workload: [selfie (probe, with liveness), document (reference)] */
const WORKLOADS = {
  /** a 480×640 selfie (stored 640×480, EXIF orientation 6) and a 537×376 passport page: bench/engine.ts's typical verification */
  small: ['silent-face/image_T1.jpg', 'idenfy-documents/BarackHusseinObama.jpg'],
  /** the "phone photos": 910×1137 and 626×1200 baseline JPEGs (4:4:4) */
  phone: ['face_recognition/tests/test_images/obama.jpg', 'face_recognition/tests/test_images/obama2.jpg'],
  /** a real phone-sized photo: 3061×4600 (14 Mpx) progressive JPEG, against the passport page */
  large: ['deepface/img40.jpg', 'idenfy-documents/BarackHusseinObama.jpg'],
} as const;
type Workload = keyof typeof WORKLOADS;

const r1 = (v: number) => Number(v.toFixed(1));
const load = () => Number(loadavg()[0].toFixed(2));
const median = (xs: number[]) => summarise(xs).p50;

async function main() {
  const { values } = parseArgs({
    options: {
      stages: { type: 'string', default: '100' },
      n: { type: 'string', default: '200' },
      'large-n': { type: 'string', default: '20' },
      burst: { type: 'string', default: '200' },
      'peer-requests': { type: 'string', default: '20' },
      report: { type: 'string', default: 'cost' },
    },
  });
  const n = Number(values.n);
  const loadBefore = load();
  const bytes = Object.fromEntries(Object.entries(WORKLOADS).map(([k, files]) => [k, files.map((f) => readFileSync(join(FACES, f)))])) as Record<Workload, Buffer[]>;
  const inputs = Object.fromEntries(
    await Promise.all(Object.entries(bytes).map(async ([k, [s, d]]) => [k, [await parseImageInput(s.toString('base64'), 'selfie'), await parseImageInput(d.toString('base64'), 'document')]])),
  ) as Record<Workload, ImageInput[]>;

  const hw = machine();
  console.log(`cost per verification — ${hw.cpu} × ${hw.cores}, Node ${hw.node}, ${hw.platform}, load average ${loadBefore} (1 min) at the start`);

  // 1. stage split, in this thread
  const stages = { small: await stageSplit(inputs.small, Number(values.stages)), phone: await stageSplit(inputs.phone, Number(values.stages)) };
  printStages('small capture', stages.small);
  printStages('phone photos', stages.phone);

  // 2. engine alone vs over HTTP
  const db = await openDb({ dataDir: 'memory://' });
  const local = createLocalProvider({});
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN });
  const app = await createApp(config, { db, providers: [local], logger: createLogger('silent') });
  const server = await startServer(app, '127.0.0.1', 0);
  const tenant = await app.services.store.tenants.create(`cost-${Date.now()}`);
  const { secret } = await app.services.store.keys.create('tenant', tenant.id);
  const client = await startClient();
  const ctx = { signal: new AbortController().signal, requestId: 'bench' };
  const engine = (w: Workload) => () => local.check({ probe: inputs[w][0], reference: inputs[w][1], match: true, liveness: true }, ctx);
  for (const w of Object.keys(WORKLOADS) as Workload[]) await defineHttp(client, `${server.url}/graphql`, secret, w, bytes[w]);

  const timed = (run: () => Promise<unknown>) => async () => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  const c1Timers: Array<[string, () => Promise<number>]> = [
    ['engine small', timed(engine('small'))],
    ['http small', () => client.time('small')],
    ['engine phone', timed(engine('phone'))],
    ['http phone', () => client.time('phone')],
  ];
  const c1 = await interleaved(n, 10, c1Timers);
  const large = await interleaved(Number(values['large-n']), 2, [
    ['engine large', timed(engine('large'))],
    ['http large', () => client.time('large')],
  ]);
  const burstN = Number(values.burst);
  const c4 = {
    engine: await burst(burstN, 4, async () => {
      const times: number[] = [];
      const t0 = performance.now();
      let started = 0;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (started < burstN) {
          started++;
          times.push(await timed(engine('small'))());
        }
      }));
      return { wallMs: performance.now() - t0, times, clientCpuMs: 0 };
    }),
    http: await burst(burstN, 4, async () => {
      const r = await client.burst('small', burstN, 4);
      return { wallMs: r.wallMs, times: r.ms, clientCpuMs: r.clientCpuMs };
    }),
  };
  // CPU per verification at c=1 for the phone photos: a short burst at c=1, engine then HTTP
  const phoneCpu = {
    engine: await burst(40, 1, async () => {
      const t0 = performance.now();
      const times = [];
      for (let i = 0; i < 40; i++) times.push(await timed(engine('phone'))());
      return { wallMs: performance.now() - t0, times, clientCpuMs: 0 };
    }),
    http: await burst(40, 1, async () => {
      const r = await client.burst('phone', 40, 1);
      return { wallMs: r.wallMs, times: r.ms, clientCpuMs: r.clientCpuMs };
    }),
  };
  client.close();
  await server.close();
  await app.close();
  await db.close();

  // 3. the peer, on the small capture, after the engine's workers are gone
  const peer = await faceApi(bytes.small[0], bytes.small[1], Number(values['peer-requests']));

  const get = (name: string) => c1[name] ?? large[name];
  const table = {
    small: { engine: get('engine small'), http: get('http small') },
    phone: { engine: get('engine phone'), http: get('http phone') },
    large: { engine: get('engine large'), http: get('http large') },
    c4,
    phoneCpu,
  };
  const speedup = peer.ok ? r1(peer.p50Ms / table.small.engine.p50) : undefined;
  const targets = [
    { target: 'engine CPU per verification ≤ 30 ms (small capture, c=4)', measured: `${r1(c4.engine.cpuMsPerVerification)} ms`, met: c4.engine.cpuMsPerVerification <= 30 },
    { target: 'HTTP c=4 throughput ≥ 90% of the engine alone', measured: `${r1((100 * c4.http.perSecond) / c4.engine.perSecond)}%`, met: c4.http.perSecond >= 0.9 * c4.engine.perSecond },
    { target: 'HTTP c=1 p50 ≤ engine p50 + 8 ms (small capture)', measured: `+${r1(table.small.http.p50 - table.small.engine.p50)} ms`, met: table.small.http.p50 - table.small.engine.p50 <= 8 },
    { target: 'phone photos p50 ≤ small capture p50 + 10 ms (HTTP)', measured: `+${r1(table.phone.http.p50 - table.small.http.p50)} ms`, met: table.phone.http.p50 - table.small.http.p50 <= 10 },
    { target: '≥ 40× @vladmandic/face-api at c=1', measured: speedup ? `${speedup}×` : 'peer did not run', met: (speedup ?? 0) >= 40 },
  ];
  const loadAfter = load();
  printTable(table, peer, speedup);
  console.log(`load average ${loadBefore} → ${loadAfter} (1 min; the machine is shared, other work inflates the numbers)`);
  console.log('targets');
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'MISSED '} ${t.target}: ${t.measured}`);
  const path = writeReport(values.report!, {
    benchmark: 'cost per verification',
    loadAverage: { before: loadBefore, after: loadAfter },
    workloads: WORKLOADS,
    transport: 'multipart (GraphQL multipart request), client in its own process',
    stages,
    table,
    peer: peer.ok ? { ...peer, speedup } : peer,
    targets,
  });
  console.log(`report: ${path}`);
}

/** Wall and CPU per stage, medians over `runs` verifications of a workload, the engine in this thread. */
async function stageSplit([probe, reference]: ImageInput[], runs: number) {
  const previous = sharp.concurrency();
  sharp.concurrency(1);
  const engine = await createEngine(loadPack({}), { threads: 1, cpuTimings: true });
  const header = ({ width, height, orientation }: ImageInput) => (swapsSides(orientation) ? { width: height, height: width, orientation } : { width, height, orientation });
  const once = async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const p = await engine.analyse(probe.bytes, { role: 'probe', embed: true, liveness: true, header: header(probe) });
    const r = await engine.analyse(reference.bytes, { role: 'reference', embed: true, liveness: false, header: header(reference) });
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { p, r, wall, cpu: (c.user + c.system) / 1000 };
  };
  for (let i = 0; i < 10; i++) await once();
  const samples: Array<Awaited<ReturnType<typeof once>>> = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  sharp.concurrency(previous);
  const sum = (f: FaceReport, key: 'timings' | 'cpu', s: string) => (f[key]?.[s as keyof FaceReport['timings']] ?? 0);
  const rows = STAGES.map((s) => ({
    stage: s,
    wallMs: median(samples.map((x) => sum(x.p, 'timings', s) + sum(x.r, 'timings', s))),
    cpuMs: median(samples.map((x) => sum(x.p, 'cpu', s) + sum(x.r, 'cpu', s))),
    probeMs: median(samples.map((x) => sum(x.p, 'timings', s))),
    referenceMs: median(samples.map((x) => sum(x.r, 'timings', s))),
  })).filter((r) => r.wallMs > 0 || r.cpuMs > 0);
  return { runs, rows, totalWallMs: median(samples.map((x) => x.wall)), totalCpuMs: median(samples.map((x) => x.cpu)) };
}

async function defineHttp(client: BenchClient, url: string, secret: string, name: string, [selfie, document]: Buffer[]) {
  const body = await multipartVerify(QUERY, selfie, document);
  const headers = { authorization: `Bearer ${secret}`, 'content-type': body.contentType };
  // the status this pair gets (whatever it is, every timed answer must repeat it)
  const res = await fetch(url, { method: 'POST', headers, body: body.bytes });
  const json = (await res.json()) as { data?: { verifyIdentity?: { status?: string } }; errors?: unknown };
  const status = json.data?.verifyIdentity?.status;
  if (!status) throw new Error(`verifyIdentity on ${name} failed: ${JSON.stringify(json).slice(0, 500)}`);
  await client.define({ name, url, headers, body: body.bytes, expect: { path: 'data.verifyIdentity.status', equals: status } });
}

/** Each timer in turn, `n` rounds after `warm` untimed ones; each one's summary by name. */
async function interleaved(n: number, warm: number, timers: Array<[string, () => Promise<number>]>) {
  for (let i = 0; i < warm; i++) for (const [, time] of timers) await time();
  const samples = timers.map(() => [] as number[]);
  for (let i = 0; i < n; i++) for (const [k, [, time]] of timers.entries()) samples[k].push(await time());
  return Object.fromEntries(timers.map(([name], k) => [name, summarise(samples[k])]));
}

/** Runs `run` (which makes `count` verifications) and measures this process's CPU over it. */
async function burst(count: number, concurrency: number, run: () => Promise<{ wallMs: number; times: number[]; clientCpuMs: number }>) {
  const c0 = process.cpuUsage();
  const r = await run();
  const c = process.cpuUsage(c0);
  return {
    concurrency,
    count,
    perSecond: r1((count / r.wallMs) * 1000),
    p50: summarise(r.times).p50,
    /** this process: main thread, engine workers, libvips */
    cpuMsPerVerification: (c.user + c.system) / 1000 / count,
    /** the HTTP client's process (0 for the engine alone) */
    clientCpuMsPerVerification: r.clientCpuMs / count,
  };
}

function printStages(workload: string, s: Awaited<ReturnType<typeof stageSplit>>) {
  console.log(`\nengine stage split (${workload}, probe with liveness + reference; engine in one thread, ORT and libvips 1 thread; medians of ${s.runs})`);
  console.log('  stage          wall ms   CPU ms   (probe wall / reference wall)');
  for (const r of s.rows) console.log(`  ${r.stage.padEnd(12)} ${r.wallMs.toFixed(2).padStart(9)} ${r.cpuMs.toFixed(2).padStart(8)}   (${r.probeMs.toFixed(2)} / ${r.referenceMs.toFixed(2)})`);
  const staged = s.rows.reduce((a, r) => a + r.cpuMs, 0);
  console.log(`  whole verification ${s.totalWallMs.toFixed(2)} ms wall, ${s.totalCpuMs.toFixed(2)} ms CPU (stages: ${staged.toFixed(2)} ms CPU)`);
}

function printTable(t: any, peer: Awaited<ReturnType<typeof faceApi>>, speedup?: number) {
  const f = (v: number) => v.toFixed(1).padStart(8);
  console.log('\nengine alone vs verifyIdentity over HTTP (multipart), p50 ms at c=1 unless said');
  console.log('                                               engine      HTTP    HTTP−engine');
  const row = (label: string, e: number, h: number) => console.log(`  ${label.padEnd(44)} ${f(e)}  ${f(h)}  ${f(h - e)}`);
  row('small capture, c=1 p50', t.small.engine.p50, t.small.http.p50);
  row('phone photos (obama + obama2), c=1 p50', t.phone.engine.p50, t.phone.http.p50);
  row('14 Mpx photo + passport page, c=1 p50', t.large.engine.p50, t.large.http.p50);
  console.log(`  ${'small capture, c=4 verifications/s'.padEnd(44)} ${f(t.c4.engine.perSecond)}  ${f(t.c4.http.perSecond)}  (${((100 * t.c4.http.perSecond) / t.c4.engine.perSecond).toFixed(0)}%)`);
  row('small capture, c=4: CPU ms per verification', t.c4.engine.cpuMsPerVerification, t.c4.http.cpuMsPerVerification);
  row('phone photos, c=1: CPU ms per verification', t.phoneCpu.engine.cpuMsPerVerification, t.phoneCpu.http.cpuMsPerVerification);
  console.log(`  (the HTTP client's own CPU, not above: ${t.c4.http.clientCpuMsPerVerification.toFixed(1)} ms per verification at c=4)`);
  console.log(`  phone − small (HTTP, c=1 p50): ${(t.phone.http.p50 - t.small.http.p50).toFixed(1)} ms; 14 Mpx − small: ${(t.large.http.p50 - t.small.http.p50).toFixed(1)} ms`);
  console.log(peer.ok ? `peer @vladmandic/face-api (${peer.backend}): p50 ${peer.p50Ms} ms (${peer.note}); the engine is ${speedup}× faster at c=1` : `peer: ${peer.error}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
