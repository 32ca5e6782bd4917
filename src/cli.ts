/** `verigate serve | migrate | keys | schema | eval | calibrate | emulate` */
import { parseArgs } from 'node:util';
import { printVerigateSchema } from './api/schema';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './observability/logger';
import { purgeExpired } from './privacy';
import { startServer } from './server';
import { openDb } from './store/db';
import { migrate } from './store/migrations';
import { createStore } from './store/repositories';

const USAGE = `usage: verigate <command>
  serve                         start the GraphQL server (default)
  migrate                       apply database migrations and exit
  keys create --admin [--label L]
  keys create --tenant ID [--label L]
                                create an API key and print it (shown once)
  purge                         delete checks past each tenant's retention (the server also runs this hourly)
  schema                        print the GraphQL SDL
  eval --pairs FILE [--json]    face-match accuracy of the local engine on labelled pairs
  eval --liveness FILE          liveness accuracy on labelled images
  calibrate --pairs FILE [--provider local|facia|rekognition] [--out table.json]
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
      case 'migrate':
        return await withStore(async (store) => {
          const applied = await migrate(store.db);
          out(applied.length ? `applied migrations ${applied.join(', ')} (${store.db.kind})` : `up to date (${store.db.kind})`);
          return 0;
        });
      case 'keys':
        return await keys(rest);
      case 'purge':
        return await withStore(async (store) => {
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
      default:
        out(USAGE);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 78;
    }
    throw e;
  }
}

async function serve(): Promise<undefined> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const app = await createApp(config, { logger: log, warmUpInBackground: true });
  const running = await startServer(app, config.HOST, config.PORT);
  log.info({ url: `${running.url}/graphql`, store: app.services.store.db.kind }, 'verigate is listening; warming up');
  app.warmUp.then(
    () => log.info('verigate is ready'),
    (err) => {
      log.fatal({ err }, 'a provider could not start');
      void running.close().finally(() => process.exit(1));
    },
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining in-flight requests, then stopping');
    running.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return undefined;
}

async function withStore<T>(fn: (store: ReturnType<typeof createStore>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.VERIGATE_DATA_DIR });
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
  return withStore(async (store) => {
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
