/**
 * Signed webhooks over real HTTP: a receiver on loopback (allowed by VERIGATE_WEBHOOK_ALLOW, as an
 * operator would) gets check.completed / check.failed for a tenant's checks, each verified the way
 * the README tells receivers to; failures are tried again, deliveries are listed and can be sent
 * again with the same event id; the secret is shown once and rotates; endpoints belong to their
 * tenant; private, loopback and link-local URLs are refused without the allow-list.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../../src/store/db';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  RedeliverWebhookDocument,
  ReviewCheckDocument,
  RotateWebhookSecretDocument,
  VerifyIdentityDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointsDocument,
} from '../generated/graphql';
import { faceBase64 } from '../support/faces';
import { readmeVerifyWebhook } from '../support/readme';
import { startHarness, type Harness } from '../support/harness';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { PGLITE } from '../support/stores';
import { ProviderError } from '../../providers/types';

const SELFIE = 'face_recognition/examples/knn_examples/test/obama1.jpg';
const DOCUMENT = 'face_recognition/examples/knn_examples/train/obama/obama.jpg';

interface Received {
  eventId: string;
  signature: string;
  body: string;
  json: any;
}

/** The README's receiver check: HMAC-SHA256 of "<t>.<raw body>", compared in constant time, `t` not older than 5 minutes. */
/** the receiver's check, exactly as README.md shows it */
const verify = readmeVerifyWebhook();

describe('webhooks', () => {
  let db: Db;
  let h: Harness;
  let receiver: Server;
  let url: string;
  const received: Received[] = [];
  let answer = 200;
  const waiters: Array<() => void> = [];
  const local = scriptedProvider('local');

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ eventId: String(req.headers['verigate-event-id']), signature: String(req.headers['verigate-signature']), body, json: JSON.parse(body) });
        res.statusCode = answer;
        res.end();
        for (const w of waiters.splice(0)) w();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [local], calibration: scriptedCalibration(), env: { VERIGATE_WEBHOOK_ALLOW: '127.0.0.1', VERIGATE_WEBHOOK_RETRY_MS: '200' } });
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
    await new Promise((r) => receiver.close(r));
  });
  beforeEach(() => {
    answer = 200;
  });

  /** waits for the n-th request at the receiver */
  const nth = async (n: number) => {
    while (received.length < n) await new Promise<void>((r) => waiters.push(r));
    return received[n - 1];
  };
  const check = (key: string) => h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, key);

  it('sends each completed check to the tenant’s endpoint, signed, with the unified result and no raw numbers', async () => {
    const t = await h.tenant('hooked');
    const made = (await h.gql(CreateWebhookEndpointDocument, { input: { url, events: ['CHECK_COMPLETED', 'CHECK_FAILED'], description: 'backend' } }, t.key)).data!.createWebhookEndpoint;
    expect(made.secret).toMatch(/^whsec_/);
    expect(made.endpoint).toMatchObject({ tenantId: t.id, url, events: ['CHECK_COMPLETED', 'CHECK_FAILED'] });
    // shown once: the list has no secret field at all
    expect(JSON.stringify((await h.gql(WebhookEndpointsDocument, {}, t.key)).data)).not.toContain(made.secret);

    const before = received.length;
    const r = (await check(t.key)).data!.verifyIdentity;
    const got = await nth(before + 1);
    expect(verify(got.signature, got.body, made.secret)).toBe(true);
    expect(verify(got.signature, got.body.replace('ACCEPTED', 'REJECTED'), made.secret)).toBe(false);
    // a replay: the same body correctly signed ten minutes ago
    const old = Math.floor(Date.now() / 1000) - 600;
    expect(verify(`t=${old},v1=${createHmac('sha256', made.secret).update(`${old}.${got.body}`).digest('hex')}`, got.body, made.secret)).toBe(false);
    expect(got.json).toMatchObject({ id: got.eventId, type: 'check.completed', data: { check: { id: r.id, tenantId: t.id, status: 'ACCEPTED', faceMatch: { provider: 'local' } } } });
    expect(got.body).not.toMatch(/"raw"|"attempts"|"evidence"|"scripted":/);

    // a provider failure: check.failed
    local.behave(async () => {
      throw new ProviderError('local', 'Transient', 'PROVIDER_UNAVAILABLE', 'down');
    });
    await check(t.key);
    local.behave(async (req) => ({ match: req.match ? { score: 0.99, scale: 'unit', calibration: 'scripted/unit' } : undefined, liveness: req.liveness ? { score: 0.97, scale: 'unit', calibration: 'scripted/unit' } : undefined, quality: [], raw: {} }));
    const failed = await nth(before + 2);
    expect(failed.json).toMatchObject({ type: 'check.failed', data: { check: { status: 'ERROR', reasons: ['PROVIDER_UNAVAILABLE'] } } });
  });

  it('sends check.reviewed when a person decides an INCONCLUSIVE check, with the decision and not the note', async () => {
    const t = await h.tenant('reviewed');
    const made = (await h.gql(CreateWebhookEndpointDocument, { input: { url, events: ['CHECK_REVIEWED'] } }, t.key)).data!.createWebhookEndpoint;
    local.behave(async (req) => ({ match: req.match ? { score: 0.5, scale: 'unit', calibration: 'scripted/unit' } : undefined, liveness: req.liveness ? { score: 0.97, scale: 'unit', calibration: 'scripted/unit' } : undefined, quality: [], raw: {} }));
    const before = received.length;
    try {
      const r = (await check(t.key)).data!.verifyIdentity;
      expect(r.status).toBe('INCONCLUSIVE');
      // the endpoint takes only reviews: the completion sent nothing
      const reviewed = await h.gql(ReviewCheckDocument, { id: r.id, decision: 'REJECT', note: 'selfie is a photo of a screen, seen on inspection' });
      expect(reviewed.errors).toBeUndefined();
      const got = await nth(before + 1);
      expect(got.json).toMatchObject({ type: 'check.reviewed', data: { check: { id: r.id, status: 'INCONCLUSIVE', finalStatus: 'REJECTED', review: { decision: 'REJECT' } } } });
      expect(got.body).not.toContain('screen');
      expect(verify(got.signature, got.body, made.secret)).toBe(true);
    } finally {
      local.behave(async (req) => ({ match: req.match ? { score: 0.99, scale: 'unit', calibration: 'scripted/unit' } : undefined, liveness: req.liveness ? { score: 0.97, scale: 'unit', calibration: 'scripted/unit' } : undefined, quality: [], raw: {} }));
    }
  });

  it('tries a refused delivery again with the same event id, lists deliveries, and sends one again on request', async () => {
    const t = await h.tenant('retried');
    const made = (await h.gql(CreateWebhookEndpointDocument, { input: { url, events: ['CHECK_COMPLETED'] } }, t.key)).data!.createWebhookEndpoint;
    answer = 503;
    const before = received.length;
    await check(t.key);
    const first = await nth(before + 1);
    answer = 200;
    const second = await nth(before + 2); // after the 200 ms backoff
    expect(second.eventId).toBe(first.eventId);
    const list = async () => (await h.gql(WebhookDeliveriesDocument, { endpointId: made.endpoint.id }, t.key)).data!.webhookDeliveries.edges.map((e) => e.node);
    let deliveries = await list();
    while (deliveries[0]?.status !== 'DELIVERED') deliveries = await list(); // settled right after the answer
    expect(deliveries).toEqual([expect.objectContaining({ status: 'DELIVERED', attempts: 2, lastStatusCode: 200, eventId: first.eventId, eventType: 'CHECK_COMPLETED' })]);

    const again = (await h.gql(RedeliverWebhookDocument, { deliveryId: deliveries[0].id }, t.key)).data!.redeliverWebhook;
    expect(again.status).toBe('PENDING');
    expect((await nth(before + 3)).eventId).toBe(first.eventId);

    // another tenant sees none of it
    const other = await h.tenant('not-hooked');
    expect((await h.gql(WebhookDeliveriesDocument, { endpointId: made.endpoint.id }, other.key)).data!.webhookDeliveries.edges).toEqual([]);
    expect((await h.gql(RedeliverWebhookDocument, { deliveryId: deliveries[0].id }, other.key)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await h.gql(DeleteWebhookEndpointDocument, { id: made.endpoint.id }, other.key)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await h.gql(WebhookEndpointsDocument, {}, other.key)).data!.webhookEndpoints).toEqual([]);
  });

  it('signs with a rotated secret at once, and sends nothing to a deleted endpoint', async () => {
    const t = await h.tenant('rotated');
    const made = (await h.gql(CreateWebhookEndpointDocument, { input: { url, events: ['CHECK_COMPLETED'] } }, t.key)).data!.createWebhookEndpoint;
    const rotated = (await h.gql(RotateWebhookSecretDocument, { id: made.endpoint.id }, t.key)).data!.rotateWebhookSecret;
    expect(rotated.secret).not.toBe(made.secret);
    const before = received.length;
    await check(t.key);
    const got = await nth(before + 1);
    expect(verify(got.signature, got.body, rotated.secret)).toBe(true);
    expect(verify(got.signature, got.body, made.secret)).toBe(false);

    await h.gql(DeleteWebhookEndpointDocument, { id: made.endpoint.id }, t.key);
    const r = (await check(t.key)).data!.verifyIdentity;
    const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_deliveries WHERE check_id = $1', [r.id]);
    expect(n).toBe(0);
  });

  it('refuses private, loopback and link-local URLs without the allow-list, and other schemes', async () => {
    const strict = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration() });
    try {
      const t = await strict.tenant('ssrf');
      for (const target of ['http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://192.168.0.10/x', 'ftp://example.com/x', 'http://user:pw@127.0.0.1/x']) {
        const res = await strict.gql(CreateWebhookEndpointDocument, { input: { url: target, events: ['CHECK_COMPLETED'] } }, t.key);
        expect([target, res.errors?.[0].extensions]).toEqual([target, expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'url' })]);
      }
    } finally {
      await strict.close();
    }
  });
});
