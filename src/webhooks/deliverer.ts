/**
 * Webhook delivery: the outbox (written with each check's result) sent to the tenants' endpoints,
 * at least once.
 *
 *   - Woken when a statement writes a delivery to the outbox (its NOTIFY on WEBHOOK_DUE_CHANNEL,
 *     sent only then: a completion for a tenant without endpoints wakes nothing) and every
 *     `pollMs` (retries, and leases of a process that died); each due delivery is leased to one
 *     process (SKIP LOCKED), so replicas share the work without sending an event twice at once.
 *   - Signed as Stripe signs: `Verigate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 *     "<t>.<raw body>")>`; a receiver checks the HMAC and rejects old `t` (replays).
 *   - A 2xx answer delivers it; anything else is tried again with exponential backoff (10 s, 30 s,
 *     1.5 min … capped at 1 h) for 24 h after the event, then the delivery is FAILED.
 *   - SSRF guard: the URL's host is resolved and every address checked, then the connection goes
 *     to the address that was checked (no second lookup to rebind): loopback, private, link-local,
 *     unique-local, multicast and unspecified addresses are refused unless the operator's
 *     allow-list (VERIGATE_WEBHOOK_ALLOW: hosts or CIDRs) names them.
 */
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { Logger } from '../observability/logger';
import type { Db } from '../store/db';
import { WEBHOOK_DUE_CHANNEL } from '../store/repositories';
import type { DueDelivery, WebhookRepo } from '../store/webhooks';

export interface DelivererOptions {
  /** hosts (exact) and CIDRs allowed even though private or local */
  allow: readonly string[];
  pollMs: number;
  /** one attempt's deadline */
  timeoutMs: number;
  /** how long deliveries are tried before FAILED */
  giveUpAfterMs: number;
  /** the wait after a first failed attempt (then ×3 per attempt, at most an hour) */
  retryBaseMs: number;
}

export const DEFAULT_DELIVERER: Omit<DelivererOptions, 'allow'> = { pollMs: 1000, timeoutMs: 10_000, giveUpAfterMs: 24 * 3600_000, retryBaseMs: 10_000 };

const BATCH = 20;

/** The signature header of a body sent at `t` (unix seconds). */
export function signature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Backoff after the n-th failed attempt: base · 3^(n−1) (10 s, 30 s, 1.5 min, …), at most an hour. */
export const backoffMs = (attempts: number, baseMs = 10_000) => Math.min(3600_000, baseMs * 3 ** Math.max(0, attempts - 1));

const FORBIDDEN = new BlockList();
for (const [net, bits, kind] of [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
] as const) {
  FORBIDDEN.addSubnet(net, bits, kind);
}

/** The operator's allow-list: exact host names, and CIDRs (or single addresses). */
export function allowList(entries: readonly string[]): { hosts: Set<string>; nets: BlockList } {
  const hosts = new Set<string>();
  const nets = new BlockList();
  for (const e of entries.map((x) => x.trim()).filter(Boolean)) {
    const [addr, bits] = e.split('/');
    const kind = isIP(addr);
    if (kind === 0) hosts.add(e.toLowerCase());
    else nets.addSubnet(addr, bits ? Number(bits) : kind === 4 ? 32 : 128, kind === 4 ? 'ipv4' : 'ipv6');
  }
  return { hosts, nets };
}

export class WebhookRefused extends Error {}

/**
 * Where a URL may be delivered: the address to connect to, resolved now and checked. Throws
 * WebhookRefused for a scheme other than http(s), or a private/local address not allowed.
 */
export async function resolveTarget(url: string, allowed: ReturnType<typeof allowList>): Promise<{ address: string; family: 4 | 6 }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebhookRefused('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WebhookRefused('only http and https URLs take webhooks');
  if (u.username || u.password) throw new WebhookRefused('credentials in the URL are not allowed');
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) as 4 | 6 }] : await lookup(host, { all: true, verbatim: true }).catch(() => {
    throw new WebhookRefused(`host ${host} does not resolve`);
  });
  if (addresses.length === 0) throw new WebhookRefused(`host ${host} does not resolve`);
  for (const a of addresses) {
    const kind = a.family === 6 ? 'ipv6' : 'ipv4';
    const ok = !FORBIDDEN.check(a.address, kind) || allowed.hosts.has(host) || allowed.nets.check(a.address, kind);
    if (!ok) throw new WebhookRefused(`${host} resolves to ${a.address}, a private, loopback or link-local address (allow it with VERIGATE_WEBHOOK_ALLOW)`);
  }
  return { address: addresses[0].address, family: addresses[0].family as 4 | 6 };
}

export class WebhookDeliverer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopListening?: () => Promise<void>;
  private readonly allowed: ReturnType<typeof allowList>;
  private stopped = false;

  constructor(
    private readonly repo: WebhookRepo,
    private readonly db: Db,
    private readonly opts: DelivererOptions,
    private readonly log: Logger,
  ) {
    this.allowed = allowList(opts.allow);
  }

  async start(): Promise<void> {
    this.stopListening = await this.db.listen(WEBHOOK_DUE_CHANNEL, () => this.wake());
    this.timer = setInterval(() => this.wake(), this.opts.pollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.stopListening?.();
    await this.running;
  }

  /** Runs a round now (or right after the one running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((err: unknown) => this.log.error({ err }, 'webhook delivery round failed; the next one retries'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async round(): Promise<void> {
    for (;;) {
      // leased for two attempts' deadlines: a process that died mid-attempt gives its deliveries back soon
      const due = await this.repo.claimDue(BATCH, 2 * this.opts.timeoutMs);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.deliver(d)));
      if (due.length < BATCH) return;
    }
  }

  /** One attempt of one delivery, and its settlement. */
  async deliver(d: DueDelivery): Promise<void> {
    const body = JSON.stringify(d.payload);
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const target = await resolveTarget(d.url, this.allowed);
      // connect to the address checked above, whatever the name resolves to a moment later
      const dispatcher = new Agent({
        connect: {
          lookup: ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) =>
            options.all ? cb(null, [{ address: target.address, family: target.family }]) : cb(null, target.address, target.family)) as never,
        },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      try {
        const res = await request(d.url, {
          method: 'POST',
          dispatcher,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Verigate-Webhooks/1',
            'verigate-event-id': d.eventId,
            'verigate-signature': signature(d.secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        statusCode = res.statusCode;
        await res.body.dump();
        if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
      } finally {
        void dispatcher.close();
      }
    } catch (e) {
      error = e instanceof WebhookRefused ? e.message : `${(e as { code?: string }).code ?? (e as Error).name}: ${(e as Error).message}`.slice(0, 300);
    }
    const latencyMs = performance.now() - started;
    const ok = error === null;
    const giveUp = Date.now() - d.createdAt.getTime() > this.opts.giveUpAfterMs;
    const retryAt = ok || giveUp ? null : new Date(Date.now() + backoffMs(d.attempts, this.opts.retryBaseMs));
    await this.repo.settle(d.id, { ok, statusCode, error, latencyMs, retryAt });
    if (!ok) this.log.warn({ deliveryId: d.id, endpointId: d.endpointId, attempts: d.attempts, statusCode, error, final: !retryAt }, 'webhook delivery failed');
  }
}
