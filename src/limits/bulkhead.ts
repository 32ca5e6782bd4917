/**
 * The heavy lane: a bulkhead for images that take seconds of CPU to decode. A request whose images
 * decode to HEAVY_BYTES or more (a 16-bit RGBA PNG of 40 Mpx is 320 MB of pixels, ~1.2 s to
 * decode here; a 12 Mpx phone JPEG is 36 MB and not heavy) holds a place in the lane from its first
 * heavy image until its check is answered: one place per tenant, `places` in all, tenants served
 * in turn. On a 2-core machine one place keeps a core free for everyone else's ordinary checks,
 * however many heavy images a tenant sends. A tenant with `maxWaiting` heavy requests already
 * waiting is refused at once (RATE_LIMITED, nothing stored), and none waits longer than `maxWaitMs`.
 * Light images never wait here.
 */
import { HEAVY_BYTES } from '../../providers/types';
import { VerigateError } from '../errors';

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

export interface LaneOptions {
  /** heavy requests decoding at once, all tenants together */
  places: number;
  /** heavy requests a tenant may have waiting */
  maxWaiting: number;
  /** longest wait for a place */
  maxWaitMs: number;
}

export const DEFAULT_LANE: LaneOptions = { places: 1, maxWaiting: 4, maxWaitMs: 30_000 };

export class HeavyLane {
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly inside = new Set<string>();

  constructor(private readonly opts: LaneOptions = DEFAULT_LANE) {}

  /** Waits for the tenant's place; resolves to the function that gives it back. */
  enter(tenant: string): Promise<() => void> {
    const queue = this.waiting.get(tenant) ?? [];
    if (queue.length >= this.opts.maxWaiting) return Promise.reject(busy(`${queue.length} large images of this tenant are already waiting to be decoded`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          this.inside.add(tenant);
          let left = false;
          resolve(() => {
            if (left) return;
            left = true;
            this.inside.delete(tenant);
            this.next();
          });
        },
        timer: setTimeout(() => {
          this.remove(tenant, waiter);
          reject(busy(`no place to decode a large image came free within ${Math.round(this.opts.maxWaitMs / 1000)} s`));
        }, this.opts.maxWaitMs),
      };
      queue.push(waiter);
      this.waiting.set(tenant, queue);
      this.next();
    });
  }

  /** Admits waiting tenants in turn while there is room: a tenant goes to the back once served. */
  private next(): void {
    for (const [tenant, queue] of this.waiting) {
      if (this.inside.size >= this.opts.places) return;
      if (this.inside.has(tenant)) continue;
      const waiter = queue.shift()!;
      this.waiting.delete(tenant);
      if (queue.length) this.waiting.set(tenant, queue); // re-inserted: behind the others
      waiter.admit();
    }
  }

  private remove(tenant: string, waiter: Waiter): void {
    const queue = this.waiting.get(tenant);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.waiting.delete(tenant);
  }
}

const busy = (why: string) => new VerigateError('RATE_LIMITED', `Too many large images at once: ${why}; send them one after another, or smaller`, { limit: 'largeImages', retryAfterSeconds: 5, http: { status: 429 } });

/**
 * One request's admission: the first heavy image takes the tenant's place in the lane, later ones
 * share it; `release` gives it back (call it once the check is answered, whatever happened).
 */
export class Admission {
  private ticket?: Promise<() => void>;

  constructor(
    private readonly lane: HeavyLane,
    private readonly tenant: string,
  ) {}

  admit = async (decodedBytes: number): Promise<void> => {
    if (decodedBytes < HEAVY_BYTES) return;
    this.ticket ??= this.lane.enter(this.tenant);
    await this.ticket;
  };

  async release(): Promise<void> {
    const leave = await this.ticket?.catch(() => undefined);
    leave?.();
  }
}
