/** The queue of checks and their images in flight, as configured (VERIGATE_QUEUE). */
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import { MemoryFeed, RedisFeed, type CheckFeed } from './check-feed';
import { BullQueue, MemoryQueue, type CheckQueue } from './check-queue';
import { imageKey, MemoryStash, RedisStash, type ImageStash } from './image-stash';

export function createQueue(config: Config, log: Logger): { queue: CheckQueue; images: ImageStash } {
  if (config.VERIGATE_QUEUE === 'memory') return { queue: new MemoryQueue(log), images: new MemoryStash() };
  const { key, development } = imageKey(config.VERIGATE_IMAGE_KEY);
  if (development) log.warn('VERIGATE_IMAGE_KEY is not set: images waiting in Redis are encrypted with the development key (never in production)');
  const prefix = `${config.VERIGATE_REDIS_PREFIX}`;
  return {
    queue: new BullQueue({ redisUrl: config.REDIS_URL!, name: `${prefix}checks`.replace(/:/g, '-') }, log),
    images: new RedisStash(config.REDIS_URL!, key, `${prefix}images:`),
  };
}

/** The live feed of ended checks: across processes through Redis when it is configured. */
export function createFeed(config: Config): CheckFeed {
  return config.REDIS_URL ? new RedisFeed(config.REDIS_URL, `${config.VERIGATE_REDIS_PREFIX}checks-ended`, imageKey(config.VERIGATE_IMAGE_KEY).key) : new MemoryFeed();
}
