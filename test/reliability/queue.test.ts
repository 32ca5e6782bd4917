/**
 * The queue of checks, both kinds: in this process (MemoryQueue) and BullMQ on the real Redis.
 * One tenant's backlog does not delay another's first check; each job runs once; a job's failure
 * is retried (BullMQ) and a worker that stops mid-job leaves it to another (stalled-job recovery).
 */
import { randomUUID } from 'node:crypto';
import { BullQueue, MemoryQueue, type CheckJob, type CheckQueue } from '../../src/queue/check-queue';
import { RedisStash } from '../../src/queue/image-stash';
import { RedisFeed } from '../../src/queue/check-feed';
import type { CheckRecord } from '../../src/verification/types';
import { eventually } from '../support/eventually';
import Redis from 'ioredis';
import { parseImageInput } from '../../src/images';
import { faceBase64, faceBytes } from '../support/faces';
import { createLogger } from '../../src/observability/logger';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger('silent');
const job = (tenantId: string, i: number): CheckJob => ({ kind: 'check', checkId: randomUUID(), tenantId, requestId: `r${i}` });

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

const kinds: Array<[string, () => CheckQueue]> = [
  ['memory', () => new MemoryQueue(log)],
  ['BullMQ on Redis', () => new BullQueue({ redisUrl: REDIS_URL, name: `test-${randomUUID()}`, lockDurationMs: 2000 }, log)],
];

describe.each(kinds)('check queue (%s)', (_name, make) => {
  it('runs another tenant’s first job before the rest of one tenant’s backlog, each job once', async () => {
    const q = make();
    try {
      const g = gate();
      const started: string[] = [];
      const seen = new Set<string>();
      const done = new Promise<void>((resolve) => {
        q.consume(async (j) => {
          if (seen.has(j.checkId)) throw new Error('a job ran twice');
          seen.add(j.checkId);
          started.push(j.tenantId);
          await g.opened;
          if (seen.size === 13) resolve();
        }, 2);
      });
      // A's twelve: two start and wait at the gate, ten wait in the queue; then B's one
      for (let i = 0; i < 12; i++) await q.enqueue(job('A', i), async () => i);
      while (started.length < 2) await new Promise((r) => setTimeout(r, 10));
      await q.enqueue(job('B', 0), async () => 0);
      g.open();
      await done;
      expect(started.length).toBe(13);
      // B goes with the next free place, not after A's ten waiting jobs
      expect(started.indexOf('B')).toBeLessThanOrEqual(3);
      await q.drain();
      expect(await q.depth()).toBe(0);
    } finally {
      await q.close();
    }
  }, 30_000);
});

describe('BullMQ on Redis: failures and stopped workers', () => {
  it('tries a failed job again, and a job whose worker stopped mid-run is taken by another', async () => {
    const name = `test-${randomUUID()}`;
    const producer = new BullQueue({ redisUrl: REDIS_URL, name, lockDurationMs: 1000 }, log);
    const first = new BullQueue({ redisUrl: REDIS_URL, name, lockDurationMs: 1000 }, log);
    const second = new BullQueue({ redisUrl: REDIS_URL, name, lockDurationMs: 1000 }, log);
    try {
      // a job that throws once is tried again
      let tries = 0;
      let takenByFirst!: () => void;
      const taken = new Promise<void>((r) => (takenByFirst = r));
      const retried = new Promise<void>((resolve) =>
        first.consume(async (j) => {
          if (j.requestId === 'flaky' && ++tries === 1) throw new Error('transient');
          if (j.requestId === 'flaky') resolve();
          if (j.requestId !== 'stuck') return;
          takenByFirst();
          await new Promise(() => undefined); // this worker "dies" holding it
        }, 1),
      );
      await producer.enqueue({ kind: 'check', checkId: randomUUID(), tenantId: 'T', requestId: 'flaky' }, async () => 0);
      await retried;
      expect(tries).toBe(2);

      await producer.enqueue({ kind: 'check', checkId: randomUUID(), tenantId: 'T', requestId: 'stuck' }, async () => 0);
      await taken; // by `first`, which never finishes it
      // `first` stops renewing its lock (its process is gone); `second` takes the job once the lock lapses
      await (first as unknown as { worker: { close(force: boolean): Promise<void> } }).worker.close(true);
      const recovered = new Promise<string>((resolve) => second.consume(async (j) => resolve(j.requestId), 1));
      expect(await recovered).toBe('stuck');
    } finally {
      await Promise.all([producer.close(), first.close(), second.close()]);
    }
  }, 60_000);
});

describe('images in flight on Redis (RedisStash)', () => {
  const key = Buffer.alloc(32, 7);
  const prefix = `test-${randomUUID()}:images:`;

  it('gives back the exact images, encrypted at rest, bound to their check, and deletes them', async () => {
    const stash = new RedisStash(REDIS_URL, key, prefix);
    const other = new RedisStash(REDIS_URL, Buffer.alloc(32, 8), prefix);
    try {
      const bytes = faceBytes('face_recognition/examples/knn_examples/test/obama1.jpg');
      const probe = await parseImageInput(bytes.toString('base64'), 'selfie');
      const id = randomUUID();
      await stash.put(id, { probe }, 60_000);
      expect(await stash.get(id)).toEqual({ probe, reference: undefined });
      expect(await stash.size()).toBe(1);

      // at rest: neither the JPEG nor its base64 is readable in Redis
      const raw = (await (stash as unknown as { redis: { getBuffer(k: string): Promise<Buffer> } }).redis.getBuffer(prefix + id))!;
      expect(raw.includes(bytes.subarray(0, 64))).toBe(false);
      expect(raw.toString('latin1')).not.toContain(bytes.subarray(0, 48).toString('base64'));
      // another key cannot open it, nor can the blob pass for another check's
      await expect(other.get(id)).rejects.toThrow();
      const elsewhere = randomUUID();
      await (stash as unknown as { redis: { set(k: string, v: Buffer): Promise<unknown> } }).redis.set(prefix + elsewhere, raw);
      await expect(stash.get(elsewhere)).rejects.toThrow();

      await stash.delete([id, elsewhere]);
      expect(await stash.get(id)).toBeNull();
      expect(await stash.size()).toBe(0);
    } finally {
      await Promise.all([stash.close(), other.close()]);
    }
  });

  it("carries a check's document data (applicant, chip result) and its chip face, sealed like the images", async () => {
    const stash = new RedisStash(REDIS_URL, key, prefix);
    try {
      const reference = await parseImageInput(faceBase64('idenfy-documents/BasanavicieneBirute.jpg'), 'document');
      const chipFace = await parseImageInput(faceBase64('deepface/img2.jpg'), 'chip.dg2');
      const document = {
        applicant: { surname: 'Basanavičienė', dateOfBirth: '1990-03-11' },
        chip: { verified: true, reasons: ['CHIP_VERIFIED' as const], dg1Mrz: ['P<LTUBASANAVICIENE<<BIRUTE<<<<<<<<<<<<<<<<<<', '00000000<0LTU9003118F290102049003111045<<<86'] },
        chipFace,
      };
      const id = randomUUID();
      await stash.put(id, { reference, document }, 60_000);
      expect(await stash.get(id)).toEqual({ probe: undefined, reference, document });
      const raw = (await (stash as unknown as { redis: { getBuffer(k: string): Promise<Buffer> } }).redis.getBuffer(prefix + id))!;
      expect(raw.toString('latin1')).not.toMatch(/BASANAVICIENE|Basanavi/);
      await stash.delete([id]);
    } finally {
      await stash.close();
    }
  });
});

describe('the live feed on Redis (RedisFeed)', () => {
  it("passes an ended check to every process, its document's personal data sealed on the way; a message it cannot open is dropped", async () => {
    const key = Buffer.alloc(32, 7);
    const channel = `test-${randomUUID()}:checks-ended`;
    const sender = new RedisFeed(REDIS_URL, channel, key);
    const receiver = new RedisFeed(REDIS_URL, channel, key);
    const spy = new Redis(REDIS_URL);
    const raw = new Redis(REDIS_URL);
    try {
      const seen: Buffer[] = [];
      await spy.subscribe(channel);
      spy.on('messageBuffer', (_c: Buffer, m: Buffer) => seen.push(m));
      await Promise.all([sender.whenSubscribed(), receiver.whenSubscribed()]);
      const got: CheckRecord[] = [];
      const second = new Promise<void>((resolve) => receiver.subscribe((c) => got.push(c) === 2 && resolve()));

      const check = { id: randomUUID(), tenantId: randomUUID(), status: 'ACCEPTED', createdAt: new Date(), completedAt: new Date(), document: { surname: 'BASANAVICIENE', dateOfBirth: '1990-03-11' } } as unknown as CheckRecord;
      // first what is not sealed with the deployment's key (ignored), then two checks, from one connection: in order
      await raw.publish(channel, JSON.stringify(check));
      await sender.publish({ ...check, id: 'first' });
      await sender.publish(check);
      await second;
      await eventually('the spy saw all three messages', () => seen.length >= 3, 5_000);
      expect(got.map((c) => c.id)).toEqual(['first', check.id]);
      expect(got[1]).toEqual(check); // dates as dates, the document as it was
      expect(seen.length).toBeGreaterThanOrEqual(3);
      for (const m of seen.slice(1)) expect(m.toString('latin1')).not.toMatch(/BASANAVICIENE|1990-03-11|ACCEPTED/);
    } finally {
      spy.disconnect();
      raw.disconnect();
      await Promise.all([sender.close(), receiver.close()]);
    }
  });
});
