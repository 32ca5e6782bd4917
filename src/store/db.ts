/**
 * The SQL seam: PGlite (embedded PostgreSQL, default) or PostgreSQL by URL, behind one tiny
 * interface. One dialect, one migration set. `queries` counts statements so tests can prove
 * that batched loading costs a constant number of queries.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite, parse, protocol } from '@electric-sql/pglite';
import { Client, Pool, type PoolConfig } from 'pg';
import { DataDirLocked, lockDataDir } from './lock';

const { parseResults, parseDescribeStatementResults } = parse;
const concat = (parts: Uint8Array[]) => Buffer.concat(parts);

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** statements run so far (for tests and metrics) */
  readonly queries: number;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `fn` with the payload of every NOTIFY on `channel` (from any process on the same
   * database) until the returned function is called.
   */
  listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Distinct statement texts PGliteDb keeps prepared; others run unnamed (SQL built per call stays bounded). */
const MAX_PREPARED = 64;

class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  queries = 0;
  /**
   * Statements run as named prepared statements, by SQL text: PGlite's `query` parses, analyses
   * and plans every statement again, on the event loop (PostgreSQL's executor runs in this thread);
   * a named one is parsed once and its plan reused. Measured on the PENDING-row statement: 1.5 →
   * 0.5 ms of CPU. A text is prepared on its second use, at most MAX_PREPARED of them.
   */
  private readonly prepared = new Map<string, { name: string; types: number[] }>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly pg: PGlite,
    private readonly unlock: () => void,
  ) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.queries++;
    if (!this.preparable(sql)) return (await this.pg.query<T>(sql, params)).rows;
    // as PGlite's own query: after any transaction, then alone, then the files synced (on disk)
    return this.pg._runExclusiveTransaction(async () => {
      const rows = await this.pg._runExclusiveQuery(() => this.runPrepared<T>(sql, params));
      await this.pg.syncToFs();
      return rows;
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) =>
      fn({
        query: async <R>(sql: string, params: unknown[] = []) => {
          this.queries++;
          if (!this.preparable(sql)) return (await tx.query<R>(sql, params)).rows;
          // inside the transaction's turn; COMMIT syncs the files
          return this.pg._runExclusiveQuery(() => this.runPrepared<R>(sql, params));
        },
      }),
    );
  }

  /** Whether `sql` runs prepared: seen before, and room for it (or already prepared). */
  private preparable(sql: string): boolean {
    if (this.prepared.has(sql)) return true;
    if (this.prepared.size >= MAX_PREPARED) return false;
    if (this.seen.has(sql)) return true;
    this.seen.add(sql);
    return false;
  }

  /**
   * Bind, describe, execute and sync the named statement for `sql` (parsed first if new), each in
   * one call into PGlite: PostgreSQL skips to the Sync after an error, so the session is ready
   * again whether or not it throws. Call with PGlite's query lock held.
   */
  private async runPrepared<T>(sql: string, params: unknown[]): Promise<T[]> {
    const { serialize } = protocol;
    let statement = this.prepared.get(sql);
    if (!statement) {
      const name = `vg_${this.prepared.size + 1}`;
      const described = await this.pg.execProtocolStream(concat([serialize.parse({ name, text: sql, types: [] }), serialize.describe({ type: 'S', name }), serialize.sync()]), { syncToFs: false });
      statement = { name, types: parseDescribeStatementResults(described) };
      this.prepared.set(sql, statement);
    }
    const types = statement.types;
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = this.pg.serializers[types[i]];
      return serializer ? serializer(v) : String(v);
    });
    const messages = await this.pg.execProtocolStream(concat([serialize.bind({ statement: statement.name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]), { syncToFs: false });
    return (parseResults(messages, this.pg.parsers)[0]?.rows ?? []) as T[];
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    const stop = await this.pg.listen(channel, fn);
    return () => stop();
  }

  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.unlock();
    }
  }
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  queries = 0;
  /** one connection for LISTEN, opened on first use (a pooled one would be handed to others) */
  private listener?: Promise<Client>;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();

  constructor(
    private readonly pool: Pool,
    private readonly config: PoolConfig,
  ) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.queries++;
    return (await this.pool.query(sql, params)).rows as T[];
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params: unknown[] = []) => {
          this.queries++;
          return (await client.query(sql, params)).rows as R[];
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    const client = await (this.listener ??= this.connectListener());
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await client.query(`LISTEN ${quoteIdent(channel)}`);
    }
    set.add(fn);
    return async () => {
      set.delete(fn);
    };
  }

  private async connectListener(): Promise<Client> {
    const client = new Client(this.config);
    client.on('notification', (n) => {
      for (const fn of this.handlers.get(n.channel) ?? []) fn(n.payload ?? '');
    });
    // a lost listener connection is reported by the pool's own queries; waiters fall back to their deadline
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await listener.then((c) => c.end()).catch(() => undefined);
    await this.pool.end();
  }
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * PGlite runs PostgreSQL inside this process, so its shared buffers are this process's memory.
 * 16 MB instead of PostgreSQL's 128 MB: the server's RSS measured 542 → 430 MB on a restart and
 * 723 → 618 MB after 400 checks, with the same statement times (createPending 0.76 / 0.79 ms,
 * complete 0.85 / 0.88 ms); pages beyond them come from the OS file cache. A database that outgrows
 * this belongs on PostgreSQL (DATABASE_URL), where shared_buffers is the server's own setting.
 */
const PGLITE_START = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

export interface OpenOptions {
  /** postgres://… ; when absent, PGlite under dataDir */
  databaseUrl?: string;
  dataDir?: string;
  /** PostgreSQL only: a schema to use (created if missing) — lets test files share one database */
  schema?: string;
  poolSize?: number;
  /** PGlite: who takes the data folder's lock (src/store/lock.ts), e.g. "verigate serve" */
  holder?: string;
}

/** The store cannot be opened: PostgreSQL unreachable, a data folder not creatable or not a PGlite database, … (the message says which). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

export async function openDb(opts: OpenOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const config: PoolConfig = { connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 };
    if (opts.schema) {
      if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`bad schema name ${opts.schema}`);
      const admin = new Pool({ connectionString: opts.databaseUrl, max: 1 });
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`).finally(() => admin.end());
      config.options = `-c search_path=${opts.schema}`;
    }
    const pool = new Pool(config);
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new StoreOpenError(`DATABASE_URL: cannot reach PostgreSQL (${(e as Error).message})`, { cause: e });
    }
    return new PostgresDb(pool, config);
  }
  // PGlite keeps one folder per database; 'memory://' gives a throw-away one
  const dir = opts.dataDir ?? './data';
  if (dir.startsWith('memory://')) {
    const pg = new PGlite(dir, { startParams: PGLITE_START });
    await pg.waitReady;
    return new PGliteDb(pg, () => undefined);
  }
  const pgDir = resolve(dir, 'pglite');
  let unlock: () => void;
  try {
    mkdirSync(pgDir, { recursive: true });
    unlock = lockDataDir(dir, opts.holder ?? 'a Verigate process');
  } catch (e) {
    if (e instanceof DataDirLocked) throw e;
    throw new StoreOpenError(`data folder ${dir} cannot be used: ${(e as Error).message}`, { cause: e });
  }
  try {
    const pg = new PGlite(pgDir, { startParams: PGLITE_START });
    await pg.waitReady;
    return new PGliteDb(pg, unlock);
  } catch (e) {
    unlock();
    throw new StoreOpenError(
      `data folder ${dir} holds no database this PGlite can open (${(e as Error).message}); is ${pgDir} a PGlite folder written by this version?`,
      { cause: e },
    );
  }
}
