/** What every Redis client of Verigate shares (limits, circuits, the queue's images and feed). */
import type Redis from 'ioredis';

/**
 * Ends a connection: with QUIT when it is up (replies in flight are kept); at once when it is not,
 * since QUIT on a client still trying to connect waits for a connection that may never come.
 */
export async function closeRedis(c: Redis): Promise<void> {
  if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
  else c.disconnect();
}
