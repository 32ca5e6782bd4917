/**
 * Wiring: config → store (migrated) → providers (initialised) → orchestrator → GraphQL.
 * `createApp` is what `verigate serve` and every HTTP test start.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Provider } from '../providers/types';
import type { Context } from './api/context';
import { errorLoggingPlugin, formatError } from './api/errors-plugin';
import { costLimitPlugin, queryShapeRule, shapeLimitsFrom } from './api/hardening';
import { inputTextPlugin } from './api/input-text';
import { buildVerigateSchema } from './api/schema';
import type { Services } from './api/services';
import type { Config } from './config';
import { DEFAULT_IMAGE_LIMITS } from './images';
import { createLogger, type Logger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { Readiness, type ReadinessReport } from './observability/readiness';
import { AuthFailureLimiter, createLimitStore, limitsPlugin, TenantLimitsCache } from './limits';
import { HeavyLane } from './limits/bulkhead';
import { purgeExpired, RetentionJob } from './privacy';
import { createProviders } from './providers';
import { openDb, type Db } from './store/db';
import { migrate } from './store/migrations';
import { createStore, outboxReviewed } from './store/repositories';
import { CalibrationRegistry } from './verification/calibration';
import { DEFAULT_BREAKER, HealthBook, MemoryCircuits, type BreakerOptions } from './verification/health';
import { RedisCircuits } from './verification/redis-circuits';
import { Orchestrator } from './verification/orchestrator';
import { Sweeper } from './verification/sweeper';
import { createFeed, createQueue } from './queue';
import { DEFAULT_DELIVERER, WebhookDeliverer } from './webhooks/deliverer';
import { ProviderRegistry } from './verification/registry';
import { loadTrustStore, trustStore } from '../providers/local/document/trust';

export interface AppOptions {
  logger?: Logger;
  /** use these providers instead of building them from config (tests: emulator-backed adapters) */
  providers?: Provider[];
  /** use this database instead of opening one from config (tests share one per file) */
  db?: Db;
  /** calibration tables (default: the committed ones in models/calibration, then VERIGATE_CALIBRATION_DIR's) */
  calibration?: CalibrationRegistry;
  /** return before the providers are warm (serve: listen at once, /readyz turns 200 later) */
  warmUpInBackground?: boolean;
  /** circuit-breaker settings; `now`: its clock (tests move it instead of waiting out a cool-down) */
  breaker?: Partial<BreakerOptions> & { now?: () => number };
}

export interface App {
  services: Services;
  /** this process, as the owner of the checks it runs (checks.owner; the sweeper's heartbeat id) */
  processId: string;
  /** the GraphQL schema (subscriptions are served from it over WebSocket) */
  schema: GraphQLSchema;
  apollo: ApolloServer<Context>;
  metrics: Metrics;
  /** providers initialised and warm: /graphql answers NOT_READY until then */
  isReady(): boolean;
  /** what /readyz answers: warm, the store answering, every provider healthy (src/observability/readiness.ts) */
  readiness(): Promise<ReadinessReport>;
  /** resolves when the providers are initialised; rejects if one cannot start (e.g. a model fails its sha256) */
  warmUp: Promise<void>;
  close(): Promise<void>;
}

/** What start-up logs when no admin key exists, by store: with PGlite the CLI must wait for the server to stop. */
const NO_ADMIN_HOW_TO = {
  pglite: 'Stop this server, run `node bin/verigate.js keys create --admin` (it prints the key once), then start it again; or set VERIGATE_BOOTSTRAP_ADMIN_KEY (at least 24 characters) and restart.',
  postgres: 'Run `node bin/verigate.js keys create --admin` (it prints the key once; the server may keep running), or set VERIGATE_BOOTSTRAP_ADMIN_KEY (at least 24 characters) and restart.',
} as const;

/**
 * How far V8 lets the JS heap grow past what the last full collection left, in percent (300: 4×,
 * the top of the range V8 chooses from by itself). Request bodies and image bytes live off the
 * heap but count towards it, and with V8's own choice for the gateway's ~7 MB heap it ran a full
 * mark-compact every ~14 verifications at c=4 (47 in 640); at 300, 11 in 640. Process-wide, read
 * at each collection; the engine workers' first limit is set in providers/local/pool.ts.
 */
const HEAP_GROWING_PERCENT = 300;

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const log = opts.logger ?? createLogger(config.LOG_LEVEL);
  // what start-up has opened so far, closed in reverse when a later step fails: a failed start
  // must not leave the data folder locked or worker threads keeping the process alive
  const opened: Array<() => Promise<unknown>> = [];
  try {
    return await assemble(config, opts, log, opened);
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw e;
  }
}

async function assemble(config: Config, opts: AppOptions, log: Logger, opened: Array<() => Promise<unknown>>): Promise<App> {
  const metrics = new Metrics();
  let ready = false;

  const db = opts.db ?? (await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.VERIGATE_DATA_DIR, holder: 'verigate serve' }));
  const ownsDb = !opts.db;
  if (ownsDb) opened.push(() => db.close());
  const applied = await migrate(db);
  if (applied.length) log.info({ applied, store: db.kind }, 'migrations applied');
  const store = createStore(db);
  // checks past their deadline, left PENDING by a crashed process (or a late one), end ERROR now and every few seconds
  const processId = randomUUID();
  // queued checks and their images in flight (src/queue): this process's, or shared through Redis
  const { queue, images } = createQueue(config, log);
  const feed = createFeed(config);
  opened.push(() => queue.close(), () => images.close(), () => feed.close());
  // checks the sweeper ends lose their images in flight and are announced like any other
  const swept = async (ids: string[]) => {
    await images.delete(ids);
    await Promise.allSettled((await store.checks.byIds(ids)).map((check) => feed.publish(check)));
  };
  const sweeper = new Sweeper(store, processId, { intervalMs: config.VERIGATE_SWEEP_INTERVAL_MS, graceMs: config.VERIGATE_SWEEP_GRACE_MS }, log, swept);
  await sweeper.sweepOnce();
  if (config.VERIGATE_BOOTSTRAP_ADMIN_KEY) await store.keys.ensureAdmin(config.VERIGATE_BOOTSTRAP_ADMIN_KEY);
  if ((await store.keys.activeAdmins()) === 0) log.warn({ howTo: NO_ADMIN_HOW_TO[db.kind] }, `no admin API key exists: nobody can create tenants or keys. ${NO_ADMIN_HOW_TO[db.kind]}`);

  // hardening (src/api/hardening.ts) and abuse limits (src/limits): checked before anything executes
  const limitStore = createLimitStore(config);
  opened.push(() => limitStore.close());
  const readiness = new Readiness({ db, log, redisUrl: limitStore.kind === 'redis' ? config.REDIS_URL : undefined });
  opened.push(() => readiness.close());
  const providers = new ProviderRegistry(opts.providers ?? (await createProviders(config)));
  readiness.watch(providers.all());
  // loading models and warming up takes seconds: `serve` listens meanwhile (healthz 200, readyz 503);
  // warm: every provider initialised (not in an API-only process: it runs no check), its credentials
  // proved (src/observability/readiness.ts)
  const runsChecks = config.VERIGATE_ROLE !== 'api';
  const warmUp = (runsChecks ? providers.init().then(() => log.info({ providers: providers.names() }, 'providers initialised')) : Promise.resolve()).then(() =>
    readiness.warmedUp(),
  );
  // closing providers while they load would race their init: close waits for it to settle
  opened.push(() => warmUp.catch(() => undefined).then(() => providers.close()));
  if (!opts.warmUpInBackground) await warmUp;

  const { now: breakerClock, ...breaker } = opts.breaker ?? {};
  // circuits are shared by the replicas through Redis when there is one
  const circuits = config.REDIS_URL ? new RedisCircuits(config.REDIS_URL, `${config.VERIGATE_REDIS_PREFIX}circuits:`) : new MemoryCircuits(breakerClock);
  const health = new HealthBook({ ...DEFAULT_BREAKER, ...breaker }, breakerClock, circuits, log);
  opened.push(() => health.close());
  const calibration = opts.calibration ?? CalibrationRegistry.load({ operatorDir: config.VERIGATE_CALIBRATION_DIR });
  // chips are verified at the edge (the API process), before a check is queued
  const trust = config.VERIGATE_CSCA_DIR ? loadTrustStore(config.VERIGATE_CSCA_DIR) : trustStore([]);
  const orchestrator = new Orchestrator(store, providers, calibration, queue, images, {
    defaultProvider: config.VERIGATE_DEFAULT_PROVIDER,
    runsChecks,
    processId,
    timeoutMs: config.VERIGATE_PROVIDER_TIMEOUT_MS,
    log,
    metrics,
    health,
    observe: (name, failure) => readiness.observe(name, failure),
    feed,
  });
  if (runsChecks) queue.consume((job) => orchestrator.execute(job), config.VERIGATE_QUEUE_CONCURRENCY ?? 2 * availableParallelism());
  const shape = shapeLimitsFrom(config);
  const authFailures = new AuthFailureLimiter(limitStore, config.VERIGATE_AUTH_FAILURES_PER_MINUTE, log);
  const heavyLane = new HeavyLane();
  const tenantLimits = new TenantLimitsCache(db, config, config.VERIGATE_LIMITS_CACHE_MS);
  // the webhook outbox, sent from every process (each delivery is leased to one at a time)
  const webhooks = new WebhookDeliverer(store.webhooks, db, { ...DEFAULT_DELIVERER, allow: config.VERIGATE_WEBHOOK_ALLOW, retryBaseMs: config.VERIGATE_WEBHOOK_RETRY_MS }, log);
  await webhooks.start();
  opened.push(() => webhooks.stop());
  const services: Services = {
    config,
    store,
    orchestrator,
    providers,
    trust,
    calibration,
    health,
    imageLimits: DEFAULT_IMAGE_LIMITS,
    heavyLane,
    tenantLimits,
    webhooks,
    feed,
    log,
    authFailures,
    // a review's webhook event commits with the review
    onCheckReviewed: (tx, check) => outboxReviewed(tx, check.id, check.review!.at),
  };

  const limits = limitsPlugin({ store: limitStore, limits: tenantLimits, mutationCost: config.VERIGATE_MUTATION_COST, log });
  const production = config.NODE_ENV === 'production';
  const schema = await buildVerigateSchema();
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    // the CLI owns SIGTERM/SIGINT (drain, then close everything); Apollo's own handler would stop
    // the server under it and leave app.close() waiting forever outside NODE_ENV=test
    stopOnTerminationSignals: false,
    formatError,
    parseOptions: { maxTokens: shape.maxTokens },
    validationRules: [queryShapeRule(shape)],
    plugins: [errorLoggingPlugin, inputTextPlugin, costLimitPlugin(shape), limits, ...(production ? [ApolloServerPluginLandingPageDisabled()] : [])],
  });
  await apollo.start();
  const retention = new RetentionJob(
    () => purgeExpired(db, store.audit, { defaultDays: config.VERIGATE_RETENTION_DAYS ?? null }),
    config.VERIGATE_PURGE_INTERVAL_MS,
    log,
  );
  retention.start();
  sweeper.start();
  void warmUp.then(
    () => (ready = true),
    () => undefined, // reported by whoever awaits app.warmUp
  );

  return {
    services,
    processId,
    schema,
    apollo,
    metrics,
    isReady: () => ready,
    readiness: () => readiness.report(),
    warmUp,
    async close() {
      ready = false;
      await readiness.close();
      await retention.stop();
      await apollo.stop();
      // this process's queue is finished (its checks were accepted); a shared one keeps its waiting jobs for the other workers
      if (queue.kind === 'memory') await queue.drain();
      await queue.close();
      await images.close();
      await feed.close();
      await webhooks.stop();
      await sweeper.stop();
      await limitStore.close();
      await health.close();
      await warmUp.catch(() => undefined);
      await providers.close();
      if (ownsDb) await db.close();
    },
  };
}
