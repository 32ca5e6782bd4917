/**
 * GraphQL subscriptions over a real WebSocket (graphql-ws client) on the server's /graphql: a
 * tenant's checks as they end, one check's verdict, authentication in connectionParams, the limits,
 * and — with Redis — events crossing from one replica to another.
 */
import { spawn } from 'node:child_process';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Db } from '../../src/store/db';
import { CheckCompletedDocument, CheckUpdatedDocument, VerifyIdentityDocument } from '../generated/graphql';
import { PROJECT_ROOT } from '../../src/paths';
import { faceBase64 } from '../support/faces';
import { readmeSnippet } from '../support/readme';
import { startHarness, type Harness } from '../support/harness';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { PGLITE } from '../support/stores';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const wsUrl = (h: Harness) => h.url.replace(/^http/, 'ws');

/** A connected client and what its subscriptions received. */
function connect(h: Harness, key: string | null) {
  const closed: number[] = [];
  const client: Client = createClient({
    url: wsUrl(h),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined, // a refused connection is what some tests expect; they read `closed`
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    on: { closed: (e) => void closed.push((e as { code: number }).code) },
  });
  return { client, closed };
}

/** Subscribes; resolves the events as they come, and the subscription's end. */
function subscribe<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.data) events.push(v.data as T);
          if (v.errors) errors.push(...v.errors);
          wake?.();
        },
        error: (e) => {
          errors.push(e);
          wake?.();
          resolve();
        },
        complete: () => resolve(),
      },
    );
  });
  const until = async (n: number) => {
    while (events.length < n && errors.length === 0) await new Promise<void>((r) => (wake = r));
    return events;
  };
  return { events, errors, ended, until };
}

describe('subscriptions over WebSocket', () => {
  let db: Db;
  let h: Harness;

  beforeAll(async () => {
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env: { VERIGATE_WS_CONNECTIONS_PER_KEY: '2', VERIGATE_WS_SUBSCRIPTIONS_PER_CONNECTION: '2' } });
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
  });

  const verify = (key: string, async = false) => h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT), async } as never }, key);

  it('streams a tenant’s checks as they end, and nothing of another tenant’s', async () => {
    const [a, b] = [await h.tenant('sub-a'), await h.tenant('sub-b')];
    const { client } = connect(h, a.key);
    try {
      const s = subscribe<{ checkCompleted: { id: string; tenantId: string; status: string } }>(client, print(CheckCompletedDocument));
      await new Promise((r) => setTimeout(r, 100)); // the subscription is registered before the checks start
      await verify(b.key);
      const mine = (await verify(a.key, true)).data!.verifyIdentity;
      const got = await s.until(1);
      expect(got).toEqual([{ checkCompleted: expect.objectContaining({ id: mine.id, tenantId: a.id, status: 'ACCEPTED' }) }]);
    } finally {
      await client.dispose();
    }
  });

  it('sends one check’s verdict when it ends (at once if it has), then completes', async () => {
    const t = await h.tenant('sub-one');
    const { client } = connect(h, t.key);
    try {
      const done = (await verify(t.key)).data!.verifyIdentity;
      const s = subscribe<{ checkUpdated: { id: string; status: string } }>(client, print(CheckUpdatedDocument), { id: done.id });
      await s.ended;
      expect(s.events).toEqual([{ checkUpdated: { id: done.id, status: 'ACCEPTED' } }]);
      const other = await h.tenant('sub-other');
      const foreign = subscribe(client, print(CheckUpdatedDocument), { id: (await verify(other.key)).data!.verifyIdentity.id });
      await foreign.ended;
      expect(JSON.stringify(foreign.errors)).toMatch(/not found/);
    } finally {
      await client.dispose();
    }
  });

  it('needs a key in connectionParams, and keeps to the limits of connections and subscriptions', async () => {
    const anonymous = connect(h, null);
    const noKey = subscribe(anonymous.client, print(CheckCompletedDocument));
    await noKey.ended;
    expect(anonymous.closed).toContain(4403);
    await anonymous.client.dispose();

    const t = await h.tenant('sub-limits');
    const [c1, c2, c3] = [connect(h, t.key), connect(h, t.key), connect(h, t.key)];
    try {
      const live = [subscribe(c1.client, print(CheckCompletedDocument)), subscribe(c2.client, print(CheckCompletedDocument))];
      const third = subscribe(c3.client, print(CheckCompletedDocument));
      await third.ended;
      expect(c3.closed).toContain(4403); // a third socket for the key
      const extra = [subscribe(c1.client, print(CheckCompletedDocument)), subscribe(c1.client, print(CheckCompletedDocument))];
      await extra[1].ended;
      expect(JSON.stringify(extra[1].errors)).toMatch(/at most 2 subscriptions/);
      const query = subscribe(c2.client, '{ checks { edges { cursor } } }');
      await query.ended;
      expect(JSON.stringify(query.errors)).toMatch(/only subscriptions/);
      expect(live.every((s) => s.errors.length === 0)).toBe(true);
    } finally {
      await Promise.all([c1, c2, c3].map((c) => c.client.dispose()));
    }
  });

  it('the README\u2019s client snippet, run as written, prints the tenant\u2019s verdicts', async () => {
    const t = await h.tenant('sub-readme');
    const code = readmeSnippet('// subscribe to a tenant').replace('ws://127.0.0.1:4000/graphql', wsUrl(h));
    const child = spawn(process.execPath, ['-e', code], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, KEY: t.key }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let wake: (() => void) | undefined;
    child.stdout.on('data', (c: Buffer) => ((out += c.toString('utf8')), wake?.()));
    child.stderr.on('data', (c: Buffer) => ((out += c.toString('utf8')), wake?.()));
    try {
      // its connection is not observable from here: checks are sent until one is printed (a
      // check ending before the subscription starts is not announced to it)
      const sent = new Set<string>();
      let printed: { id: string; status: string } | undefined;
      for (let i = 0; i < 50 && !printed; i++) {
        sent.add((await verify(t.key)).data!.verifyIdentity.id);
        const seen = new Promise<void>((r) => (wake = r));
        await Promise.race([seen, new Promise((r) => setTimeout(r, 200))]);
        printed = out.split('\n').slice(0, -1).map((l) => JSON.parse(l)).find((e) => sent.has(e.id)); // whole lines only
      }
      expect(printed).toMatchObject({ status: 'ACCEPTED', reasons: [], faceMatch: { matchLevel: expect.any(Number) } });
    } finally {
      child.kill();
    }
  });

  it('carries events from one replica to another through Redis', async () => {
    const env = { REDIS_URL, VERIGATE_REDIS_PREFIX: `test-${process.pid}-${Date.now()}:` };
    const [one, two] = [
      await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env }),
      await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env }),
    ];
    try {
      const t = await one.tenant('sub-replicas');
      await (one.app.services.feed as unknown as { whenSubscribed(): Promise<unknown> }).whenSubscribed();
      const { client } = connect(one, t.key);
      try {
        const s = subscribe<{ checkCompleted: { id: string } }>(client, print(CheckCompletedDocument));
        await new Promise((r) => setTimeout(r, 100));
        const made = (await two.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, t.key)).data!.verifyIdentity;
        expect((await s.until(1))[0].checkCompleted.id).toBe(made.id);
      } finally {
        await client.dispose();
      }
    } finally {
      await one.close();
      await two.close();
    }
  });
});
