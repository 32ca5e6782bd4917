/**
 * Scale-out, as deployed: 2 API processes (`verigate serve`, VERIGATE_ROLE=api) and 2 workers
 * (`verigate worker`) on the real PostgreSQL (a fresh database) and Redis (a fresh prefix), the
 * provider the Facia emulator with a 400 ms answer. A mixed load of async and sync checks goes
 * through both API processes; a tenant subscribes on one and submits on the other; one worker is
 * killed (SIGKILL) while it holds checks. Then:
 *   - every check ends decided, or ERROR with a reason; none runs twice except those the dead
 *     worker held (the emulator counts the calls);
 *   - every ended check reaches its tenant's webhook endpoint with a valid signature, one event
 *     per check (delivery is at least once: a repeat carries the same event id);
 *   - the subscriptions on the first API process receive every check, those submitted on the
 *     second included, once each;
 *   - nothing is left in the image store, before any TTL could have emptied it.
 * Needs TEST_DATABASE_URL (skipped without it; .ci/run sets it) and Redis (TEST_REDIS_URL).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { CheckCompletedDocument, CompareFacesDocument, CreateWebhookEndpointDocument, VerifyIdentityDocument } from '../generated/graphql';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY } from '../support/harness';
import { readmeVerifyWebhook } from '../support/readme';
import { eventually } from '../support/eventually';
import { ensureBuilt, startProcess, startWorker, type Proc, type WorkerProc } from '../support/process';
import { post, sleep } from './support';

const PG_URL = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
const FACIA_MS = 400;
const TIMEOUT_MS = 20_000; // a check's deadline
const STASH_TTL_MS = TIMEOUT_MS + 30_000; // the image stash's TTL: deadline + the orchestrator's margin
const CHECKS = 32;

/** the receiver's check, exactly as README.md shows it */
const signatureValid = readmeVerifyWebhook();

interface Hook {
  eventId: string;
  signature: string;
  body: string;
  json: { id: string; type: string; data: { check: { id: string; tenantId: string; status: string; reasons: string[] } } };
}

interface Submitted {
  id: string;
  tenant: 'a' | 'b';
  via: 'api1' | 'api2';
  async: boolean;
  /** the status the mutation answered */
  answered: string;
}

const suite = PG_URL ? describe : describe.skip;

suite('scale-out: 2 API processes, 2 workers, one killed mid-run', () => {
  const dbName = `verigate_scale_${randomBytes(4).toString('hex')}`;
  const prefix = `vg-scale-${randomBytes(4).toString('hex')}:`;
  const dbUrl = PG_URL ? Object.assign(new URL(PG_URL), { pathname: `/${dbName}` }).toString() : '';
  let admin: PgClient;
  let db: PgClient;
  let redis: Redis;
  let facia: FaciaEmulator;
  let receiver: Server;
  let hookUrl: string;
  const hooks: Hook[] = [];
  let api1: Proc;
  let api2: Proc;
  let w1: WorkerProc;
  let w2: WorkerProc;
  const clients: Client[] = [];

  beforeAll(async () => {
    ensureBuilt();
    const client = new PgClient({ connectionString: PG_URL });
    await client.connect();
    admin = client; // only once connected: afterAll drops the database through it
    await admin.query(`CREATE DATABASE ${dbName}`);
    db = new PgClient({ connectionString: dbUrl });
    await db.connect();
    redis = new Redis(REDIS_URL);
    facia = await startFaciaEmulator({
      scorer: async () => {
        await sleep(FACIA_MS);
        return { similarity: 0.99, liveness: 0.97 };
      },
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hooks.push({ eventId: String(req.headers['verigate-event-id']), signature: String(req.headers['verigate-signature']), body, json: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

    const env = (role: 'api' | 'worker') => ({
      VERIGATE_ROLE: role,
      DATABASE_URL: dbUrl,
      VERIGATE_QUEUE: 'redis',
      REDIS_URL,
      VERIGATE_REDIS_PREFIX: prefix,
      VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
      VERIGATE_PROVIDERS: 'facia',
      VERIGATE_DEFAULT_PROVIDER: 'facia',
      FACIA_URL: facia.url,
      FACIA_HASH_ID: facia.hashId,
      VERIGATE_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      VERIGATE_QUEUE_CONCURRENCY: '3',
      VERIGATE_SWEEP_INTERVAL_MS: '500',
      VERIGATE_WEBHOOK_ALLOW: '127.0.0.1',
    });
    // the image key is one secret shared by every process of a deployment
    const shared = { VERIGATE_IMAGE_KEY: randomBytes(32).toString('base64') };
    // the first process applies the migrations; the others start on a migrated database
    api1 = await startProcess({ ...env('api'), ...shared });
    [api2, w1, w2] = await Promise.all([startProcess({ ...env('api'), ...shared }), startWorker({ ...env('worker'), ...shared }), startWorker({ ...env('worker'), ...shared })]);
  }, 240_000);

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    for (const p of [api1, api2, w1, w2]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all([api1, api2, w1, w2].filter(Boolean).map((p) => p.exited));
    await facia?.close();
    if (receiver) await new Promise((r) => receiver.close(r));
    await db?.end();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    if (redis) {
      const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`verigate:${prefix.replace(/:/g, '-')}*`))];
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  const gql = async (p: Proc, query: string, variables: Record<string, unknown>, key = ADMIN_KEY) => (await post(`${p.url}/graphql`, { query, variables }, { key })).json;
  const tenant = async (name: string) => {
    const t = await gql(api1, 'mutation($n: String!) { createTenant(name: $n) { id } }', { n: name });
    const k = await gql(api2, 'mutation($t: ID!) { createApiKey(role: tenant, tenantId: $t) { secret } }', { t: t.data.createTenant.id });
    const hook = await gql(api1, print(CreateWebhookEndpointDocument), { input: { url: hookUrl, events: ['CHECK_COMPLETED', 'CHECK_FAILED'] } }, k.data.createApiKey.secret);
    return { id: t.data.createTenant.id as string, key: k.data.createApiKey.secret as string, secret: hook.data.createWebhookEndpoint.secret as string };
  };

  /** A tenant's checkCompleted subscription on `p`: the checks it announced, in order. */
  const subscribe = (p: Proc, key: string) => {
    const events: Array<{ id: string; status: string }> = [];
    const errors: unknown[] = [];
    const client = createClient({ url: p.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` } });
    clients.push(client);
    let acked!: () => void;
    const ready = new Promise<void>((r) => (acked = r));
    client.on('connected', () => acked());
    client.subscribe<{ checkCompleted: { id: string; status: string } }>(
      { query: print(CheckCompletedDocument) },
      { next: (v) => (v.data ? events.push(v.data.checkCompleted) : errors.push(v.errors)), error: (e) => errors.push(e), complete: () => undefined },
    );
    return { events, errors, ready };
  };

  it('ends every check once, signs a webhook for each, crosses processes with subscriptions, and leaves no image behind', async () => {
    const a = await tenant('scale-a');
    const b = await tenant('scale-b');
    const subA = subscribe(api1, a.key);
    const subB = subscribe(api1, b.key);
    await Promise.all([subA.ready, subB.ready]);

    // the load: tenant a submits only on api2 (its subscription is on api1), b on both; async and sync mixed
    const warmUpCalls = facia.recorder.count('process_face'); // each worker proves its credentials at start-up
    const calls = () => facia.recorder.count('process_face') - warmUpCalls;
    const selfie = faceBase64(SELFIE);
    const document = faceBase64(DOCUMENT);
    const submitted: Submitted[] = [];
    let lastSubmittedAt = 0;
    const submit = async (i: number) => {
      const t = i % 2 === 0 ? 'a' : 'b';
      const via = t === 'a' || i % 4 === 1 ? 'api2' : 'api1';
      const isAsync = i % 3 !== 0;
      const compare = i % 5 === 4;
      const key = t === 'a' ? a.key : b.key;
      const api = via === 'api1' ? api1 : api2;
      const got = compare
        ? await gql(api, print(CompareFacesDocument), { input: { source: selfie, target: document, async: isAsync } }, key)
        : await gql(api, print(VerifyIdentityDocument), { input: { selfie, document, async: isAsync } }, key);
      lastSubmittedAt = Date.now();
      const answer = got.data?.[compare ? 'compareFaces' : 'verifyIdentity'];
      // a sync check that ended ERROR answers a typed error naming the stored check
      const id: string | undefined = answer?.id ?? got.errors?.[0]?.extensions?.checkId;
      if (!id) throw new Error(`check ${i} not accepted: ${JSON.stringify(got.errors)}`);
      submitted.push({ id, tenant: t, via, async: isAsync, answered: answer?.status ?? 'ERROR' });
    };
    const load = Promise.all(Array.from({ length: CHECKS }, (_, i) => submit(i)));

    // kill the first worker while it holds checks (claimed, not yet ended), with images in flight
    let held: string[] = [];
    await eventually(
      'the first worker holds two checks',
      async () => {
        held = (await db.query<{ id: string }>("SELECT id FROM checks WHERE owner = $1 AND status = 'PENDING'", [w1.processId])).rows.map((r) => r.id);
        return held.length >= 2;
      },
      60_000,
    );
    w1.child.kill('SIGKILL');
    await w1.exited;
    // it may have claimed more between that read and the kill: its lock (10 s) keeps them its own until reclaimed
    const heldAtDeath = (await db.query<{ id: string }>("SELECT id FROM checks WHERE owner = $1 AND status = 'PENDING'", [w1.processId])).rows.map((r) => r.id);
    held = [...new Set([...held, ...heldAtDeath])];
    expect((await redis.keys(`${prefix}images:*`)).length).toBeGreaterThan(0); // what the last assertion must see emptied

    await load;
    expect(submitted).toHaveLength(CHECKS);
    for (const s of submitted) {
      if (s.async) expect(s.answered).toBe('PENDING');
      else expect(s.answered).not.toBe('PENDING'); // a sync answer waits for the worker's verdict, across processes
    }

    // every check ends: decided, or ERROR with a reason
    const ids = submitted.map((s) => s.id);
    const ended = async () => (await db.query<{ id: string; status: string; reasons: string[]; owner: string | null }>('SELECT id, status, reasons, owner FROM checks WHERE id = ANY($1::uuid[])', [ids])).rows;
    await eventually('every check ended', async () => (await ended()).every((c) => c.status !== 'PENDING'), TIMEOUT_MS + 15_000);
    const rows = await ended();
    expect(rows).toHaveLength(CHECKS);
    for (const c of rows) {
      expect(['ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR']).toContain(c.status);
      if (c.status === 'ERROR') expect(c.reasons.length).toBeGreaterThan(0);
    }
    const status = new Map(rows.map((c) => [c.id, c]));
    for (const s of submitted.filter((x) => !x.async)) expect(status.get(s.id)!.status).toBe(s.answered);

    // nothing left in the image store, and not because a TTL ran out
    await eventually('the image store emptied', async () => (await redis.keys(`${prefix}images:*`)).length === 0, 5_000);
    expect(Date.now() - lastSubmittedAt).toBeLessThan(STASH_TTL_MS);

    // none ran twice but those the dead worker held (they may have been sent to Facia before it died)
    expect(calls()).toBeGreaterThanOrEqual(CHECKS - held.length);
    expect(calls()).toBeLessThanOrEqual(CHECKS + held.length);
    const rerun = held.filter((id) => status.get(id)!.owner === w2.processId && status.get(id)!.status !== 'ERROR');
    const interrupted = held.filter((id) => status.get(id)!.status === 'ERROR');
    expect(rerun.length + interrupted.length).toBe(held.length);

    // a signed webhook per check, one event each (a repeated delivery carries the same event id)
    const secrets = { [a.id]: a.secret, [b.id]: b.secret };
    await eventually('a webhook for every check', () => new Set(hooks.map((h) => h.json.data.check.id)).size === CHECKS, 30_000);
    const eventOf = new Map<string, Set<string>>();
    for (const h of hooks) {
      const check = h.json.data.check;
      expect(signatureValid(h.signature, h.body, secrets[check.tenantId])).toBe(true);
      expect(h.json.id).toBe(h.eventId);
      expect(h.json.type).toBe(check.status === 'ERROR' ? 'check.failed' : 'check.completed');
      expect(check.status).toBe(status.get(check.id)!.status);
      eventOf.set(check.id, (eventOf.get(check.id) ?? new Set()).add(h.eventId));
    }
    for (const id of ids) expect(eventOf.get(id)?.size).toBe(1);

    // the subscriptions on api1 saw every check of their tenant once, those submitted on api2 included
    const of = (t: 'a' | 'b') => submitted.filter((s) => s.tenant === t).map((s) => s.id).sort();
    await eventually('every subscription event', () => subA.events.length >= of('a').length && subB.events.length >= of('b').length, 10_000);
    expect(subA.errors).toEqual([]);
    expect(subB.errors).toEqual([]);
    expect(subA.events.map((e) => e.id).sort()).toEqual(of('a'));
    expect(subB.events.map((e) => e.id).sort()).toEqual(of('b'));
    expect(submitted.filter((s) => s.tenant === 'a' && s.via === 'api2').length).toBe(of('a').length);
    for (const e of [...subA.events, ...subB.events]) expect(e.status).toBe(status.get(e.id)!.status);

    process.stderr.write(
      `scale-out: ${CHECKS} checks (${submitted.filter((s) => s.async).length} async), ${held.length} held by the killed worker: ` +
        `${rerun.length} run again by the other worker, ${interrupted.length} ended ERROR (${interrupted.map((id) => status.get(id)!.reasons.join('+')).join(', ') || '-'}); ` +
        `${calls()} Facia calls, ${hooks.length} webhook deliveries\n`,
    );
  }, 180_000);
});
