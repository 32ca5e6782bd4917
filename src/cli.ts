/** `verigate serve | worker | migrate | keys | schema | eval | calibrate | emulate` */
import { parseArgs } from 'node:util';
import { printVerigateSchema } from './api/schema';
import { createApp, type App } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './observability/logger';
import { purgeExpired } from './privacy';
import { listen, type ListeningServer } from './server';
import { openDb, StoreOpenError } from './store/db';
import { DataDirLocked } from './store/lock';
import { migrate } from './store/migrations';
import { createStore } from './store/repositories';

const USAGE = `usage: verigate <command>
  serve                         start the GraphQL server (VERIGATE_ROLE: all, the default, also runs
                                checks; api hands every check to the shared queue)
  worker                        run queued checks (VERIGATE_QUEUE=redis): the local engine loads here
  migrate                       apply database migrations and exit
  keys create --admin [--label L]
  keys create --tenant ID [--label L]
                                create an API key and print it (shown once)
  purge                         delete checks past each tenant's retention (the server also runs this hourly)
  schema                        print the GraphQL SDL
  eval --pairs FILE [--json]    face-match accuracy of the local engine on labelled pairs
  eval --liveness FILE          liveness accuracy on labelled images
  calibrate --pairs FILE [--provider local|facia|rekognition] [--out table.json]
  calibrate --liveness FILE [--degraded] [--out table.json]
                                liveness score → APCER/BPCER table of the local engine
  emulate facia [--port N] [--hash-id ID]
  emulate rekognition [--port N] [--region R]
                                run a provider emulator for local development; prints the
                                environment (URL and credentials) to start Verigate with`;

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function runCli(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve();
      case 'worker':
        return await worker();
      case 'migrate':
        return await withStore('migrate', async (store) => {
          const applied = await migrate(store.db);
          out(applied.length ? `applied migrations ${applied.join(', ')} (${store.db.kind})` : `up to date (${store.db.kind})`);
          return 0;
        });
      case 'keys':
        return await keys(rest);
      case 'purge':
        return await withStore('purge', async (store) => {
          await migrate(store.db);
          const days = loadConfig().VERIGATE_RETENTION_DAYS ?? null;
          const r = await purgeExpired(store.db, store.audit, { defaultDays: days, actor: 'cli' });
          out(`purged ${r.checks} checks and ${r.attempts} attempts of ${r.tenants} tenants past their retention`);
          return 0;
        });
      case 'schema':
        process.stdout.write(await printVerigateSchema());
        return 0;
      case 'eval':
        return await (await import('./eval')).runEval(rest, out);
      case 'calibrate':
        return await (await import('./eval')).runCalibrate(rest, out);
      case 'emulate':
        return await emulate(rest);
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return 0;
      default:
        // no command is a usage error too: `verigate` alone must not quietly start a server
        process.stderr.write(`${command === undefined ? 'verigate needs a command' : `unknown command '${command}'`}\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 78;
    }
    throw e;
  }
}

async function serve(): Promise<number | undefined> {
  // every line the server writes is JSON, start-up failures included
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    createLogger('info').fatal(`cannot start: ${e.message}`);
    return 78;
  }
  const log = createLogger(config.LOG_LEVEL);
  let running: ListeningServer | undefined;
  let app: App;
  try {
    // the port first: in use, it fails before the store is opened or a model is loaded
    running = await listen(config, config.HOST, config.PORT);
    log.info({ url: `${running.url}/graphql` }, 'verigate is listening; opening the store');
    app = await createApp(config, { logger: log, warmUpInBackground: true });
    running.attach(app);
  } catch (e) {
    const known = startupFailure(e, config);
    log.fatal(known ? {} : { err: e }, `cannot start: ${known ?? (e as Error).message}`);
    await running?.close().catch(() => undefined);
    return e instanceof ConfigError ? 78 : 1;
  }
  const server = running;
  log.info({ store: app.services.store.db.kind }, 'store open; warming up the providers');
  app.warmUp.then(
    () => log.info('verigate is ready'),
    (err) => {
      log.fatal({ err }, 'a provider could not start');
      void server.close().finally(() => process.exit(1));
    },
  );
  stopOnSignal(log, 'draining in-flight requests, then stopping', () => server.close());
  return undefined;
}

/** A process that only runs queued checks: no HTTP, stops on SIGTERM/SIGINT once its running checks end. */
async function worker(): Promise<number | undefined> {
  let config: Config;
  try {
    config = loadConfig({ ...process.env, VERIGATE_ROLE: 'worker' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    createLogger('info').fatal(`cannot start: ${e.message}`);
    return 78;
  }
  const log = createLogger(config.LOG_LEVEL);
  let app: App;
  try {
    app = await createApp(config, { logger: log });
  } catch (e) {
    const known = startupFailure(e, config);
    log.fatal(known ? {} : { err: e }, `cannot start: ${known ?? (e as Error).message}`);
    return e instanceof ConfigError ? 78 : 1;
  }
  log.info({ processId: app.processId, store: app.services.store.db.kind, queue: config.VERIGATE_QUEUE }, 'verigate worker is running queued checks');
  stopOnSignal(log, 'finishing the running checks, then stopping', () => app.close());
  return undefined;
}

/** On the first SIGTERM or SIGINT: say what happens, run `close`, exit 0 (1 when it fails). */
function stopOnSignal(log: Logger, what: string, close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, what);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The start-up failures a user causes and can fix, in words that say how; undefined: unexpected (logged with its stack). */
function startupFailure(e: unknown, config: Config): string | undefined {
  if (e instanceof DataDirLocked) return `${e.message}. Stop that process first, or give this server its own VERIGATE_DATA_DIR (or share PostgreSQL: DATABASE_URL).`;
  if (e instanceof StoreOpenError || e instanceof ConfigError) return e.message;
  const { code, syscall } = e as NodeJS.ErrnoException;
  if (syscall !== 'listen' && syscall !== 'getaddrinfo') return undefined;
  const where = `${config.HOST}:${config.PORT}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where} is already in use (another Verigate, or another program): stop it, or set PORT`;
    case 'EACCES':
      return `no permission to listen on ${where} (ports below 1024 need privileges): set PORT`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `HOST ${config.HOST} is not an address of this machine: set HOST`;
  }
  return undefined;
}

/** What to do instead when a CLI command finds the data folder held by a running server. */
const WHILE_SERVER_RUNS: Record<string, string> = {
  keys: 'or, while it runs, create the key through its GraphQL API with an admin key (mutation { createApiKey(role: admin) { secret } }, or role: tenant with tenantId)',
  migrate: 'the server applies every migration itself when it starts',
  purge: 'or, while it runs, let it purge: it does every VERIGATE_PURGE_INTERVAL_MS, and an admin can run mutation { purgeExpiredChecks { checks attempts tenants } }',
};

/** Opens the configured store for one CLI command; with PGlite, refuses (exit 1) while a server holds the folder. */
async function withStore(command: string, fn: (store: ReturnType<typeof createStore>) => Promise<number>): Promise<number> {
  const config = loadConfig();
  let db;
  try {
    db = await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.VERIGATE_DATA_DIR, holder: `verigate ${command}` });
  } catch (e) {
    if (e instanceof DataDirLocked) {
      const pid = e.holder ? ` (Ctrl-C in its terminal, or kill ${e.holder.pid})` : '';
      console.error(
        `verigate ${command}: ${e.message}, and a second process's writes would be lost or corrupt it.\n` +
          `Stop it first${pid}, run this command, then start it again; ${WHILE_SERVER_RUNS[command]}.\n` +
          'With PostgreSQL (DATABASE_URL) the server and the CLI can run together.',
      );
      return 1;
    }
    if (e instanceof StoreOpenError) {
      console.error(`verigate ${command}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  try {
    return await fn(createStore(db));
  } finally {
    await db.close();
  }
}

async function keys(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { admin: { type: 'boolean' }, tenant: { type: 'string' }, label: { type: 'string' } },
  });
  if (positionals[0] !== 'create' || Boolean(values.admin) === Boolean(values.tenant)) {
    out('usage: verigate keys create --admin | --tenant ID [--label L]');
    return 2;
  }
  return withStore('keys', async (store) => {
    await migrate(store.db);
    if (values.tenant && !(await store.tenants.get(values.tenant))) {
      console.error(`no tenant ${values.tenant}`);
      return 1;
    }
    const { apiKey, secret } = await store.keys.create(values.admin ? 'admin' : 'tenant', values.tenant ?? null, values.label ?? 'cli');
    await store.audit.record('cli', 'apiKey.create', apiKey.tenantId, apiKey.id, { role: apiKey.role });
    out(secret);
    console.error(`created ${apiKey.role} key ${apiKey.id} (shown once; only its hash is stored)`);
    return 0;
  });
}

/** The emulators are test kit (test/fakes), loaded only by this command. */
async function emulate(args: string[]): Promise<undefined | number> {
  const { runEmulator } = await import('../test/fakes/run');
  return runEmulator(args, out, (line) => process.stderr.write(`${line}\n`));
}
