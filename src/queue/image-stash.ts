/**
 * Images in flight: a queued check's images, kept only until it completes. In one process (the
 * embedded default) they stay in this process's memory; with a shared queue they go to Redis,
 * encrypted with AES-256-GCM (VERIGATE_IMAGE_KEY; a random 96-bit nonce per image set, the check
 * id as additional data so a blob cannot be replayed under another check), with a TTL of the
 * check's deadline plus a margin. Taken by the worker that runs the check, and deleted when it
 * completes or fails, or when the sweeper ends it. Never logged.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { ImageInput } from '../../providers/types';
import type { DocumentInput } from '../verification/orchestrator';
import { closeRedis } from '../redis';

export interface CheckImages {
  probe?: ImageInput;
  reference?: ImageInput;
  /** what the request brought to the document check: applicant data, the chip as verified and its face */
  document?: DocumentInput;
}

export interface ImageStash {
  readonly kind: 'memory' | 'redis';
  put(checkId: string, images: CheckImages, ttlMs: number): Promise<void>;
  /** the images, or null when they are gone (completed, expired, or never stashed) */
  get(checkId: string): Promise<CheckImages | null>;
  delete(checkIds: readonly string[]): Promise<void>;
  /** image sets held now (tests: nothing may remain) */
  size(): Promise<number>;
  close(): Promise<void>;
}

export class MemoryStash implements ImageStash {
  readonly kind = 'memory' as const;
  private readonly held = new Map<string, { images: CheckImages; timer: NodeJS.Timeout }>();

  async put(checkId: string, images: CheckImages, ttlMs: number): Promise<void> {
    await this.delete([checkId]);
    const timer = setTimeout(() => this.held.delete(checkId), ttlMs);
    timer.unref();
    this.held.set(checkId, { images, timer });
  }

  async get(checkId: string): Promise<CheckImages | null> {
    return this.held.get(checkId)?.images ?? null;
  }

  async delete(checkIds: readonly string[]): Promise<void> {
    for (const id of checkIds) {
      clearTimeout(this.held.get(id)?.timer);
      this.held.delete(id);
    }
  }

  async size(): Promise<number> {
    return this.held.size;
  }

  async close(): Promise<void> {
    await this.delete([...this.held.keys()]);
  }
}

/** What the sealed blob's header says of each image: everything but its bytes, and their length; and the document's data (sealed too). */
type Description = (Omit<ImageInput, 'bytes'> & { length: number }) | undefined;
type Described = Record<'probe' | 'reference' | 'chipFace', Description> & { document?: Omit<DocumentInput, 'chipFace'> };

export class RedisStash implements ImageStash {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly key: Buffer;

  constructor(
    url: string,
    key: Buffer,
    private readonly prefix: string,
  ) {
    if (key.length !== 32) throw new Error('the image key must be 32 bytes (AES-256)');
    this.key = key;
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => undefined); // each command reports its own failure
  }

  async put(checkId: string, images: CheckImages, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + checkId, seal(this.key, checkId, frame(images)), 'PX', Math.max(1000, Math.round(ttlMs)));
  }

  async get(checkId: string): Promise<CheckImages | null> {
    const blob = await this.redis.getBuffer(this.prefix + checkId);
    if (!blob) return null;
    return unframe(unseal(this.key, checkId, blob));
  }

  async delete(checkIds: readonly string[]): Promise<void> {
    if (checkIds.length) await this.redis.del(...checkIds.map((id) => this.prefix + id));
  }

  async size(): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}

/** AES-256-GCM: [nonce 12][tag 16][ciphertext], bound to `context` (a check id, a channel) so a blob cannot stand in for another's. */
export function seal(key: Buffer, context: string, plain: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

/** The plain bytes of a `seal`ed blob; throws when the key, the context or any byte differs. */
export function unseal(key: Buffer, context: string, blob: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(blob.subarray(12, 28));
  return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
}

/** The images as one buffer, their bytes as they are (no base64): [header length u32][header JSON][probe][reference][chip face]. */
function frame(images: CheckImages): Buffer {
  const describe = (img?: ImageInput) => img && { format: img.format, width: img.width, height: img.height, orientation: img.orientation, sha256: img.sha256, decodedBytes: img.decodedBytes, length: img.bytes.length };
  const { chipFace, ...document } = images.document ?? {};
  const described: Described = { probe: describe(images.probe), reference: describe(images.reference), chipFace: describe(chipFace), ...(images.document ? { document } : {}) };
  const header = Buffer.from(JSON.stringify(described));
  const size = Buffer.alloc(4);
  size.writeUInt32BE(header.length);
  return Buffer.concat([size, header, ...[images.probe, images.reference, chipFace].flatMap((img) => (img ? [img.bytes] : []))]);
}

function unframe(plain: Buffer): CheckImages {
  const end = 4 + plain.readUInt32BE(0);
  const header = JSON.parse(plain.subarray(4, end).toString('utf8')) as Described;
  let at = end;
  const take = (d?: Omit<ImageInput, 'bytes'> & { length: number }): ImageInput | undefined => {
    if (!d) return undefined;
    const { length, ...meta } = d;
    at += length;
    return { ...meta, bytes: plain.subarray(at - length, at) };
  };
  const probe = take(header.probe);
  const reference = take(header.reference);
  const chipFace = take(header.chipFace);
  const document = header.document || chipFace ? { ...header.document, ...(chipFace ? { chipFace } : {}) } : undefined;
  return { probe, reference, ...(document ? { document } : {}) };
}

/**
 * The image key from config (base64 of 32 bytes). Without one, outside production, a key derived
 * from a fixed string: every process of a development setup shares it (and the caller warns).
 */
export function imageKey(configured: string | undefined): { key: Buffer; development: boolean } {
  if (configured) {
    const key = Buffer.from(configured, 'base64');
    if (key.length !== 32) throw new Error('VERIGATE_IMAGE_KEY must be the base64 of 32 random bytes (openssl rand -base64 32)');
    return { key, development: false };
  }
  return { key: createHash('sha256').update('verigate development image key: never use in production').digest(), development: true };
}
