/**
 * Every store test runs against both stores: PGlite (in memory, one per test file) and the real
 * PostgreSQL named by TEST_DATABASE_URL (a fresh schema per test file, dropped afterwards).
 * Without TEST_DATABASE_URL the PostgreSQL variant is reported as skipped; .ci/run always sets it.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { openDb, type Db } from '../../src/store/db';

export interface StoreKind {
  name: 'pglite' | 'postgres';
  open(): Promise<Db>;
  /** drop what open() created */
  dispose(db: Db): Promise<void>;
  /** a second connection pool on the same database (another replica); PostgreSQL only */
  reopen?(db: Db): Promise<Db>;
}

const pgUrl = process.env.TEST_DATABASE_URL;

export const PGLITE: StoreKind = {
  name: 'pglite',
  open: () => openDb({ dataDir: 'memory://' }),
  dispose: (db) => db.close(),
};

const schemas = new WeakMap<Db, string>();
export const POSTGRES: StoreKind = {
  name: 'postgres',
  async open() {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db = await openDb({ databaseUrl: pgUrl!, schema, poolSize: 5 });
    schemas.set(db, schema);
    return db;
  },
  reopen: (db) => openDb({ databaseUrl: pgUrl!, schema: schemas.get(db)!, poolSize: 2 }),
  async dispose(db) {
    await db.close();
    const pool = new Pool({ connectionString: pgUrl, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${schemas.get(db)} CASCADE`).finally(() => pool.end());
  },
};

/** describe() once per store; the PostgreSQL block is skipped, visibly, when no server is given. */
export function describeEachStore(title: string, body: (kind: StoreKind) => void): void {
  describe(`${title} [pglite]`, () => body(PGLITE));
  if (pgUrl) describe(`${title} [postgres]`, () => body(POSTGRES));
  else describe.skip(`${title} [postgres] (skipped: TEST_DATABASE_URL not set)`, () => body(POSTGRES));
}
