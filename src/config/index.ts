/**
 * One zod schema over the environment (and an optional JSON file named by VERIGATE_CONFIG_FILE;
 * environment variables win). A bad value stops start-up with a message naming the variable.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { PROVIDER_NAMES } from '../../providers/types';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(4000).pipe(z.number().max(65535)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** PGlite data folder, used when DATABASE_URL is unset */
  VERIGATE_DATA_DIR: z.string().default('./data'),
  /** postgres://… switches the store to PostgreSQL */
  DATABASE_URL: optionalString.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  /** ensured at start-up as an admin key (at least 24 characters) */
  VERIGATE_BOOTSTRAP_ADMIN_KEY: optionalString.pipe(z.string().min(24, 'must be at least 24 characters').optional()),
  VERIGATE_DEFAULT_PROVIDER: z.enum(PROVIDER_NAMES).default('local'),
  /** comma-separated providers to initialise; default: local, plus facia/rekognition when configured */
  VERIGATE_PROVIDERS: optionalString,
  VERIGATE_PROVIDER_TIMEOUT_MS: int(20000, 1),
  /**
   * What this process does: `all` (the default: API and checks), `api` (GraphQL only: every check
   * goes to the shared queue) or `worker` (runs queued checks; the local engine loads only here)
   */
  VERIGATE_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  /** where queued checks wait: `memory` (this process) or `redis` (BullMQ, shared by processes) */
  VERIGATE_QUEUE: z.enum(['memory', 'redis']).default('memory'),
  /** checks a process runs at once from the queue (default: two per core) */
  VERIGATE_QUEUE_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  /** base64 of 32 bytes: the AES-256-GCM key of images waiting in Redis for a worker (required in production with VERIGATE_QUEUE=redis) */
  VERIGATE_IMAGE_KEY: optionalString,
  /** hosts and CIDRs webhooks may be delivered to although private or local (comma-separated; e.g. 10.0.0.0/8,hooks.internal) */
  VERIGATE_WEBHOOK_ALLOW: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean)),
  /** the wait before a failed webhook delivery's second attempt (then ×3 each time, at most an hour, for 24 h) */
  VERIGATE_WEBHOOK_RETRY_MS: int(10_000, 10),
  /** GraphQL subscriptions over WebSocket: sockets per API key, subscriptions per socket */
  VERIGATE_WS_CONNECTIONS_PER_KEY: int(20, 1),
  VERIGATE_WS_SUBSCRIPTIONS_PER_CONNECTION: int(50, 1),
  /** how often this process says it is alive and the sweeper ends checks no process will finish, and how long past their deadline */
  VERIGATE_SWEEP_INTERVAL_MS: int(2000, 100),
  VERIGATE_SWEEP_GRACE_MS: int(2000, 0),
  VERIGATE_MAX_BODY_BYTES: int(30 * 1024 * 1024, 1024),
  /**
   * Decode every JPEG's pixels at the edge, before a check is accepted (PNGs always are). Off by
   * default: the local engine decodes in its worker anyway and remote providers refuse corrupt
   * images themselves (BAD_IMAGE either way); on, a corrupt JPEG never reaches a provider.
   */
  VERIGATE_EDGE_DECODE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  VERIGATE_MODEL_PACK: z.string().default('faceplugin'),
  /** a folder of measured calibration tables (verigate calibrate --out): each maps the scores it names instead of the committed default */
  VERIGATE_CALIBRATION_DIR: optionalString,
  VERIGATE_MODEL_CACHE: optionalString,
  /**
   * CSCA certificates trusted for chips' passive authentication: a folder of PEM/DER certificates
   * and ICAO master lists. Unset: no chip is trusted (CHIP_UNTRUSTED_ISSUER, its face not used).
   */
  VERIGATE_CSCA_DIR: optionalString,
  /** inference worker threads (default: one per core) */
  VERIGATE_WORKERS: z.coerce.number().int().min(1).optional(),
  FACIA_URL: optionalString.pipe(z.string().url().optional()),
  FACIA_HASH_ID: optionalString,
  FACIA_TIMEOUT_MS: int(15000, 1),
  /** enables the rekognition provider (credentials from the standard AWS chain) */
  REKOGNITION_REGION: optionalString,
  REKOGNITION_QUALITY_FILTER: z.enum(['NONE', 'AUTO', 'LOW', 'MEDIUM', 'HIGH']).default('AUTO'),
  /** GraphQL hardening (src/api/hardening.ts) and slow-client timeouts (src/server.ts) */
  VERIGATE_MAX_QUERY_DEPTH: int(10, 2),
  VERIGATE_MAX_QUERY_COST: int(10000, 10),
  VERIGATE_MAX_ALIASES: int(15, 0),
  VERIGATE_MAX_ROOT_FIELDS: int(5, 1),
  VERIGATE_MAX_QUERY_TOKENS: int(2000, 100),
  VERIGATE_HEADERS_TIMEOUT_MS: int(10000, 100),
  VERIGATE_REQUEST_TIMEOUT_MS: int(60000, 100),
  /** abuse limits (src/limits): defaults per tenant and per key; admins override per tenant */
  VERIGATE_LIMITS_STORE: z.enum(['memory', 'redis']).optional(),
  REDIS_URL: optionalString.pipe(z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional()),
  /** prefix of the keys Verigate keeps in Redis besides the limits (circuit breakers), for several deployments on one Redis */
  VERIGATE_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ - (at most 64)').default('verigate:'),
  VERIGATE_TENANT_RATE_PER_MINUTE: int(60000, 1),
  VERIGATE_TENANT_BURST: int(2000, 1),
  VERIGATE_KEY_RATE_PER_MINUTE: int(60000, 1),
  VERIGATE_KEY_BURST: int(2000, 1),
  VERIGATE_MUTATION_COST: int(10, 1),
  VERIGATE_TENANT_CHECKS_PER_DAY: z.coerce.number().int().min(1).optional(),
  VERIGATE_LIMITS_CACHE_MS: int(5000, 0),
  /** failed API key lookups per client address per minute before the address is refused without a lookup (0: off) */
  VERIGATE_AUTH_FAILURES_PER_MINUTE: int(30, 0),
  /** privacy (src/privacy): checks older than this many days are purged (unset: kept) */
  VERIGATE_RETENTION_DAYS: z.coerce.number().int().min(1).optional(),
  VERIGATE_PURGE_INTERVAL_MS: int(3_600_000, 0),
  /**
   * the price of one call to each provider, for the usage report's estimated cost: a JSON object
   * such as {"rekognition":0.001,"facia":0.002} (in the file: the object itself). The local engine
   * costs 0 unless priced; a provider without a price leaves the cost of its calls unknown (null).
   */
  VERIGATE_PRICE_PER_CALL: z
    .preprocess((v, ctx) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object such as {"rekognition":0.001}' });
        return z.NEVER;
      }
    }, z.partialRecord(z.enum(PROVIDER_NAMES), z.number().min(0).max(1000)))
    .default({}),
}).superRefine((c, ctx) => {
  if (c.VERIGATE_LIMITS_STORE === 'redis' && !c.REDIS_URL) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when VERIGATE_LIMITS_STORE=redis' });
  if (c.VERIGATE_QUEUE === 'redis' && !c.REDIS_URL) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when VERIGATE_QUEUE=redis' });
  if (c.VERIGATE_ROLE !== 'all' && !c.DATABASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: `is required when VERIGATE_ROLE=${c.VERIGATE_ROLE}: API and worker processes share one PostgreSQL (an embedded PGlite folder belongs to one process)` });
  }
  if (c.VERIGATE_ROLE !== 'all' && c.VERIGATE_QUEUE !== 'redis') {
    ctx.addIssue({ code: 'custom', path: ['VERIGATE_QUEUE'], message: `must be redis when VERIGATE_ROLE=${c.VERIGATE_ROLE}: API and worker processes meet only through the shared queue` });
  }
  if (c.NODE_ENV === 'production' && c.VERIGATE_QUEUE === 'redis' && !c.VERIGATE_IMAGE_KEY) {
    ctx.addIssue({ code: 'custom', path: ['VERIGATE_IMAGE_KEY'], message: 'is required in production with VERIGATE_QUEUE=redis: images waiting for a worker are encrypted with it (openssl rand -base64 32)' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fileValues: Record<string, unknown> = {};
  if (env.VERIGATE_CONFIG_FILE) {
    const path = resolve(env.VERIGATE_CONFIG_FILE);
    try {
      fileValues = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ConfigError(`VERIGATE_CONFIG_FILE: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const relevant = Object.fromEntries(
    Object.keys(ConfigSchema.shape).flatMap((k) => (env[k] !== undefined ? [[k, env[k]]] : [])),
  );
  const parsed = ConfigSchema.safeParse({ ...fileValues, ...relevant });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
