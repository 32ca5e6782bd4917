/**
 * Async checks (issue 18), three figures:
 *
 * 1. Submit: `verifyIdentity(async: true)`, the server's time from the request body's last byte to
 *    the answer written (stamped on the server's own request/response), JSON (images in base64)
 *    and multipart (file parts) reported apart, on
 *      a. PGlite, the in-process queue (the embedded default);
 *      b. PostgreSQL, the in-process queue;
 *      c. PostgreSQL, an API-only process handing checks to 2 `verigate worker` processes by Redis.
 *    One submit at a time, the next once the previous check has ended, so the engine's work is
 *    never under the timer (it runs after the answer, here or in a worker).
 * 2. Webhook delivery: a receiver on loopback notes when each check's `check.completed` arrives,
 *    against the check's `completedAt` in the event (one clock: the same machine); idle (1.a, 1.b,
 *    1.c) and under the load of 3.
 * 3. Throughput: N async checks at once through c.'s API process and its 2 workers, from the first
 *    submit to the last check ended, against the engine alone in this process (provider.check at
 *    2 × its threads in flight, so it never idles) before and after; the ratio to their mean.
 *
 *   npm run build && node dist/bench/async.js [--n 60] [--throughput-n 60]
 *     [--database-url postgres://postgres@127.0.0.1:5432/verigate_test] [--redis-url redis://127.0.0.1:6379] [--report async]
 *
 * Writes bench/reports/async.json. PostgreSQL: a fresh database, dropped at the end; Redis: a fresh prefix, deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import { createLocalProvider } from '../providers/local';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { parseImageInput } from '../src/images';
import { createLogger } from '../src/observability/logger';
import { PROJECT_ROOT } from '../src/paths';
import { startServer } from '../src/server';
import { multipartVerify } from './client';
import { ms, summarise, writeReport } from './report';

const FACES = join(process.env.VERIGATE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'), 'faces');
const ADMIN = 'vg_bench_admin_key_0123456789abcdef';
const QUERY = 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status } }';
const MAIN = join(PROJECT_ROOT, 'dist', 'src', 'main.js');

type Summary = ReturnType<typeof summarise>;

async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '60' },
      'throughput-n': { type: 'string', default: '60' },
      'database-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/verigate_test' },
      'redis-url': { type: 'string', default: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
      report: { type: 'string', default: 'async' },
    },
  });
  const n = Number(values.n);
  const throughputN = Number(values['throughput-n']);
  const selfie = readFileSync(join(FACES, 'idenfy-documents/TheresaMayFace.jpg'));
  const document = readFileSync(join(FACES, 'idenfy-documents/TheresaMay.jpg'));
  const bodies = {
    json: { body: JSON.stringify({ query: QUERY, variables: { i: { selfie: selfie.toString('base64'), document: document.toString('base64'), async: true } } }), contentType: 'application/json' },
    multipart: await multipartAsync(selfie, document),
  };
  const receiver = await startReceiver();

  // a fresh PostgreSQL database for b. and c.
  const pgAdmin = new PgClient({ connectionString: values['database-url'] });
  await pgAdmin.connect();
  const dbName = `verigate_bench_${randomBytes(4).toString('hex')}`;
  await pgAdmin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = Object.assign(new URL(values['database-url']!), { pathname: `/${dbName}` }).toString();
  const prefix = `vg-bench-${randomBytes(4).toString('hex')}:`;
  const base = { NODE_ENV: 'production', LOG_LEVEL: 'silent', VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN, VERIGATE_WEBHOOK_ALLOW: '127.0.0.1' };
  const workers: ChildProcess[] = [];
  try {
    // 1.a and 1.b: one process runs everything
    const submit: Record<string, { json: Summary; multipart: Summary; webhook: Summary }> = {};
    for (const [label, env] of [
      ['PGlite, in-process queue', { ...base, VERIGATE_DATA_DIR: 'memory://' }],
      ['PostgreSQL, in-process queue', { ...base, DATABASE_URL: databaseUrl }],
    ] as const) {
      const served = await serve(env);
      submit[label] = await submitLatency(served, bodies, receiver, n);
      await served.close(); // and the app
    }

    // c.: this process serves the API only; 2 worker processes run the checks
    const shared = { ...base, DATABASE_URL: databaseUrl, VERIGATE_QUEUE: 'redis', REDIS_URL: values['redis-url']!, VERIGATE_REDIS_PREFIX: prefix, VERIGATE_IMAGE_KEY: randomBytes(32).toString('base64') };
    const api = await serve({ ...shared, VERIGATE_ROLE: 'api' });
    // one engine thread per core across the two workers (each would default to one per core)
    const threads = String(Math.max(1, Math.floor(availableParallelism() / 2)));
    for (let i = 0; i < 2; i++) workers.push(await startWorker({ ...shared, VERIGATE_WORKERS: threads }));
    submit['PostgreSQL, API process + 2 workers by Redis'] = await submitLatency(api, bodies, receiver, n);

    // 3. throughput: the engine alone, the deployment, the engine alone again
    const engine = await engineAlone(selfie, document, throughputN);
    const deployed = await deploymentThroughput(api, bodies.json, receiver, throughputN, workers);
    const engineAfter = await engineAlone(selfie, document, throughputN);
    await api.close();
    const engineRate = (engine.perSecond + engineAfter.perSecond) / 2;
    const ratio = deployed.perSecond / engineRate;

    console.log(`async submit: server time from the body's last byte to the answer, one at a time, n=${n} each`);
    for (const [label, s] of Object.entries(submit)) {
      console.log(`  ${label}`);
      console.log(`    JSON       p50 ${ms(s.json.p50)}  p95 ${ms(s.json.p95)}`);
      console.log(`    multipart  p50 ${ms(s.multipart.p50)}  p95 ${ms(s.multipart.p95)}`);
      console.log(`    webhook after completion (idle)  p50 ${ms(s.webhook.p50)}  p95 ${ms(s.webhook.p95)}`);
    }
    console.log(`\nthroughput, ${throughputN} checks (selfie + passport page, local engine), ${availableParallelism()} cores`);
    console.log(`  engine alone, in this process   ${engine.perSecond.toFixed(2)} checks/s before, ${engineAfter.perSecond.toFixed(2)} after`);
    console.log(`  API process + 2 workers         ${deployed.perSecond.toFixed(2)} checks/s (first submit to last check ended)`);
    console.log(`  ratio ${ratio.toFixed(3)}`);
    console.log(`  CPU per check: engine alone ${engine.cpuMsPerCheck} ms; deployed ${Object.entries(deployed.cpuMsPerCheck).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
    console.log(`  webhook after completion under this load  p50 ${ms(deployed.webhook.p50)}  p95 ${ms(deployed.webhook.p95)}`);

    const webhookP95 = Math.max(deployed.webhook.p95, ...Object.values(submit).map((s) => s.webhook.p95));
    const targets = [
      ...Object.entries(submit).flatMap(([label, s]) =>
        (['json', 'multipart'] as const).map((t) => ({ target: `async submit ≤ 5 ms p50 (${label}, ${t})`, measured: ms(s[t].p50), met: s[t].p50 <= 5 })),
      ),
      { target: 'throughput with 2 workers ≥ 90% of the engine alone', measured: ratio.toFixed(3), met: ratio >= 0.9 },
      { target: 'webhook delivery p95 ≤ 250 ms after completion (worst of idle and loaded)', measured: ms(webhookP95), met: webhookP95 <= 250 },
    ];
    for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'MISSED '} ${t.target}: ${t.measured}`);
    const path = writeReport(values.report!, {
      benchmark: 'async checks: submit, webhook delivery, throughput with worker processes',
      submit,
      throughput: { n: throughputN, engineAlone: [engine, engineAfter], deployed, ratio },
      bodyBytes: { json: bodies.json.body.length, multipart: bodies.multipart.body.length },
      targets,
    });
    console.log(`report: ${path}`);
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    receiver.close();
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await pgAdmin.end();
    const redis = new Redis(values['redis-url']!);
    const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`verigate:${prefix.replace(/:/g, '-')}*`))];
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

/** The multipart twin of the JSON body. */
async function multipartAsync(selfie: Buffer, document: Buffer) {
  const m = await multipartVerify(QUERY, selfie, document, { async: true });
  return { body: Buffer.from(m.bytes), contentType: m.contentType };
}

interface Receiver {
  /** ms from each check's completedAt to its webhook's arrival, by check id */
  latency: Map<string, number>;
  url: string;
  close(): void;
}

async function startReceiver(): Promise<Receiver> {
  const latency = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const arrived = Date.now();
      const { data } = JSON.parse(body) as { data: { check: { id: string; completedAt: string } } };
      latency.set(data.check.id, arrived - Date.parse(data.check.completedAt));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { latency, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, close: () => server.close() };
}

type Served = Awaited<ReturnType<typeof startServer>> & { app: App };

/** An app from `env`, warm, and its HTTP server (closing the server closes the app). */
async function serve(env: Record<string, string>): Promise<Served> {
  const app = await createApp(loadConfig(env), { logger: createLogger('silent') });
  await app.warmUp;
  return Object.assign(await startServer(app, '127.0.0.1', 0), { app });
}

/** A tenant with a key and a webhook endpoint on `app`'s store. */
async function tenantOn(app: App, receiver: Receiver) {
  const store = app.services.store;
  const tenant = await store.tenants.create(`bench-${randomBytes(3).toString('hex')}`);
  const { secret } = await store.keys.create('tenant', tenant.id);
  await store.webhooks.create({ tenantId: tenant.id, url: receiver.url, events: ['check.completed', 'check.failed'], description: null, createdBy: 'bench' });
  return secret;
}

/** Resolves each check's end as the app's feed announces it (its own checks, or its workers'). */
function endings(app: App) {
  const ended = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const off = app.services.feed.subscribe((c) => {
    ended.set(c.id, performance.now());
    waiters.get(c.id)?.();
  });
  return {
    ended,
    until: (id: string) => (ended.has(id) ? Promise.resolve() : new Promise<void>((r) => waiters.set(id, r))),
    off,
  };
}

/** Stamps the server's time from a request's last body byte to its answer written. */
function stampServer(server: Server) {
  const times: number[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let bodyEnd = 0;
    req.once('end', () => (bodyEnd = performance.now()));
    const end = res.end.bind(res) as (...a: unknown[]) => unknown;
    res.end = ((...a: unknown[]) => {
      if (bodyEnd) times.push(performance.now() - bodyEnd);
      return end(...a);
    }) as typeof res.end;
  };
  server.prependListener('request', onRequest);
  return { times, stop: () => server.off('request', onRequest) };
}

type Body = { body: string | Buffer; contentType: string };

async function post(url: string, key: string, b: Body): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': b.contentType }, body: b.body });
  const json = (await res.json()) as { data?: { verifyIdentity?: { id: string; status: string } }; errors?: unknown };
  const r = json.data?.verifyIdentity;
  if (r?.status !== 'PENDING') throw new Error(`async submit answered ${JSON.stringify(json).slice(0, 300)}`);
  return r.id;
}

/** 1.: one async submit at a time, JSON and multipart alternating, each after the previous check ended. */
async function submitLatency({ app, ...server }: Served, bodies: { json: Body; multipart: Body }, receiver: Receiver, n: number) {
  const key = await tenantOn(app, receiver);
  const feed = endings(app);
  const url = `${server.url}/graphql`;
  const samples = { json: [] as number[], multipart: [] as number[] };
  const ids: string[] = [];
  const warm = 5;
  for (let i = 0; i < warm + n; i++) {
    for (const kind of ['json', 'multipart'] as const) {
      const stamps = stampServer(server.server);
      const id = await post(url, key, bodies[kind]);
      stamps.stop();
      await feed.until(id);
      if (i >= warm) {
        samples[kind].push(stamps.times[0]);
        ids.push(id);
      }
    }
  }
  await until(() => ids.every((id) => receiver.latency.has(id)));
  feed.off();
  return { json: summarise(samples.json), multipart: summarise(samples.multipart), webhook: summarise(ids.map((id) => receiver.latency.get(id)!)) };
}

/** 3.: `count` async checks submitted at once (8 in flight), until the last one ended. */
async function deploymentThroughput({ app, ...server }: Served, body: Body, receiver: Receiver, count: number, workers: ChildProcess[]) {
  const key = await tenantOn(app, receiver);
  const feed = endings(app);
  const url = `${server.url}/graphql`;
  const ids: string[] = [];
  const cpu0 = cpuNow(workers);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (ids.length < count) {
        ids.push('');
        const slot = ids.length - 1;
        ids[slot] = await post(url, key, body);
      }
    }),
  );
  await Promise.all(ids.map((id) => feed.until(id)));
  const wallMs = Math.max(...ids.map((id) => feed.ended.get(id)!)) - t0;
  await until(() => ids.every((id) => receiver.latency.has(id)));
  const cpu1 = cpuNow(workers);
  feed.off();
  // CPU per check, by process (this one serves the API; Linux /proc clock ticks for the others)
  const perCheck = Object.fromEntries(Object.keys(cpu1).map((k) => [k, Number(((cpu1[k] - cpu0[k]) / count).toFixed(1))]));
  return { wallMs, perSecond: (count / wallMs) * 1000, webhook: summarise(ids.map((id) => receiver.latency.get(id)!)), cpuMsPerCheck: perCheck };
}

/** The engine alone: provider.check on pre-validated images, 2 × its threads in flight. */
async function engineAlone(selfie: Buffer, document: Buffer, count: number) {
  const local = createLocalProvider({});
  await local.init?.();
  const [probe, reference] = await Promise.all([parseImageInput(selfie.toString('base64'), 'selfie'), parseImageInput(document.toString('base64'), 'document')]);
  const one = () => local.check({ probe, reference, match: true, liveness: true }, { signal: new AbortController().signal, requestId: 'bench' });
  for (let i = 0; i < 4; i++) await one();
  let started = 0;
  const cpu0 = process.cpuUsage(); // the engine's worker threads are this process's
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 2 * availableParallelism() }, async () => {
      while (started < count) {
        started++;
        await one();
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await local.close?.();
  return { wallMs, perSecond: (count / wallMs) * 1000, cpuMsPerCheck: Number(((cpu.user + cpu.system) / 1000 / count).toFixed(1)) };
}

/** CPU ms used so far by this process (the API), each worker, and the PostgreSQL and Redis servers on this machine. */
function cpuNow(workers: ChildProcess[]): Record<string, number> {
  const tick = 10; // ms per clock tick (USER_HZ = 100 on Linux)
  const of = (pid: number) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) * tick; // utime, stime
    } catch {
      return 0; // gone
    }
  };
  const named = (name: string) =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name;
        } catch {
          return false;
        }
      })
      .reduce((sum, d) => sum + of(Number(d)), 0);
  const self = process.cpuUsage();
  return {
    api: (self.user + self.system) / 1000,
    workers: workers.reduce((sum, w) => sum + of(w.pid!), 0),
    postgres: named('postgres'),
    redis: named('redis-server'),
  };
}

/** `verigate worker` in a process of its own; resolves once it runs queued checks. */
async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, 'worker'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const read = (c: Buffer) => {
      out += c.toString('utf8');
      if (!out.includes('running queued checks')) return;
      child.stdout!.off('data', read).resume(); // its later log is not kept
      resolve();
    };
    child.stdout!.on('data', read);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${out.slice(-2000)}`)));
  });
  return child;
}

async function until(ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('webhooks did not all arrive within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
