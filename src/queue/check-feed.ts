/**
 * The live feed of checks as they end, for GraphQL subscriptions: published by the process that
 * ended the check (its orchestrator, or the sweeper), received by every process that serves
 * subscribers. Through Redis pub/sub when REDIS_URL is set (replicas), in this process otherwise.
 * A live feed: a subscriber that is not connected when a check ends does not get it (webhooks,
 * from the outbox, are the at-least-once channel).
 */
import { EventEmitter } from 'node:events';
import Redis from 'ioredis';
import type { CheckRecord } from '../verification/types';
import { closeRedis } from '../redis';
import { seal, unseal } from './image-stash';

export type FeedListener = (check: CheckRecord) => void;

export interface CheckFeed {
  readonly kind: 'memory' | 'redis';
  publish(check: CheckRecord): Promise<void>;
  subscribe(fn: FeedListener): () => void;
  close(): Promise<void>;
}

export class MemoryFeed implements CheckFeed {
  readonly kind = 'memory' as const;
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(check: CheckRecord): Promise<void> {
    this.emitter.emit('check', check);
  }

  subscribe(fn: FeedListener): () => void {
    this.emitter.on('check', fn);
    return () => this.emitter.off('check', fn);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

const DATES = ['createdAt', 'completedAt', 'deadlineAt'] as const;

export class RedisFeed implements CheckFeed {
  readonly kind = 'redis' as const;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly local = new MemoryFeed();
  private readonly ready: Promise<unknown>;

  /** `key`: the deployment's image key — a check may carry the document's personal data, so it crosses Redis sealed */
  constructor(
    url: string,
    private readonly channel: string,
    private readonly key: Buffer,
  ) {
    this.pub = new Redis(url, { maxRetriesPerRequest: 2 });
    this.sub = new Redis(url);
    for (const c of [this.pub, this.sub]) c.on('error', () => undefined);
    this.ready = this.sub.subscribe(channel).catch(() => undefined);
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      let check: CheckRecord;
      try {
        check = JSON.parse(unseal(this.key, this.channel, message).toString('utf8')) as CheckRecord;
      } catch {
        return; // not sealed with this deployment's key: not ours to pass on
      }
      for (const k of DATES) if (check[k]) (check as unknown as Record<string, Date>)[k] = new Date(check[k] as unknown as string);
      void this.local.publish(check);
    });
  }

  async publish(check: CheckRecord): Promise<void> {
    await this.pub.publish(this.channel, seal(this.key, this.channel, Buffer.from(JSON.stringify(check))));
  }

  subscribe(fn: FeedListener): () => void {
    return this.local.subscribe(fn);
  }

  /** Resolves once this process receives what others publish. */
  whenSubscribed(): Promise<unknown> {
    return this.ready;
  }

  async close(): Promise<void> {
    await this.local.close();
    await Promise.all([this.pub, this.sub].map(closeRedis));
  }
}
