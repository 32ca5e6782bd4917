/**
 * A statement run again and again (on PGlite: a named prepared statement from its second run,
 * src/store/db.ts) answers exactly as on its first run, on both stores: the same rows for the same
 * parameter types (dates, JSON, arrays, nulls, booleans), the database's error code on a
 * violation with the connection still usable after it, a rollback of a failed transaction, and
 * its NOTIFY delivered.
 */
import type { Db } from '../../src/store/db';
import { describeEachStore } from '../support/stores';

describeEachStore('a repeated statement', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await kind.open();
    await db.query('CREATE TABLE IF NOT EXISTS repeated (id int PRIMARY KEY, at timestamptz, doc jsonb, tags text[], note text, ok boolean)');
  });
  afterAll(async () => {
    await db.query('DROP TABLE IF EXISTS repeated');
    await kind.dispose(db);
  });

  const INSERT = 'INSERT INTO repeated (id, at, doc, tags, note, ok) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *';

  it('answers every run as its first, whatever the parameters', async () => {
    const at = new Date('2026-12-03T10:11:12.345Z');
    const rows = [];
    for (let id = 1; id <= 5; id++) {
      const doc = { id, nested: { list: [id, 'x'] }, quote: `it's "${id}"` };
      const [row] = await db.query(INSERT, [id, at, JSON.stringify(doc), [`t${id}`, 'b,c'], id % 2 ? null : `note ${id}`, id % 2 === 0]);
      rows.push(row);
      expect(row).toEqual({ id, at, doc, tags: [`t${id}`, 'b,c'], note: id % 2 ? null : `note ${id}`, ok: id % 2 === 0 });
    }
    const read = 'SELECT * FROM repeated WHERE id = ANY($1::int[]) ORDER BY id';
    const first = await db.query(read, [[1, 2, 3, 4, 5]]);
    for (let i = 0; i < 3; i++) expect(await db.query(read, [[1, 2, 3, 4, 5]])).toEqual(first);
    expect(first).toEqual(rows);
  });

  it('fails with the database error code, and the next statements still run', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(db.query(INSERT, [1, new Date(), '{}', [], null, true])).rejects.toMatchObject({ code: '23505' });
      expect(await db.query('SELECT count(*)::int AS n FROM repeated WHERE id = $1', [1])).toEqual([{ n: 1 }]);
    }
  });

  it('rolls back with its transaction', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(INSERT, [100 + i, new Date(), '{}', [], null, true]);
          await tx.query(INSERT, [100 + i, new Date(), '{}', [], null, true]); // duplicate: the transaction fails
        }),
      ).rejects.toMatchObject({ code: '23505' });
    }
    expect(await db.query('SELECT count(*)::int AS n FROM repeated WHERE id >= $1', [100])).toEqual([{ n: 0 }]);
    await db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.query(INSERT, [200 + i, new Date(), '{}', [], null, true]);
    });
    expect(await db.query('SELECT count(*)::int AS n FROM repeated WHERE id >= $1', [200])).toEqual([{ n: 3 }]);
  });

  it('delivers its NOTIFY on every run', async () => {
    const got: string[] = [];
    const stop = await db.listen('repeated_channel', (payload) => got.push(payload));
    try {
      for (let i = 0; i < 4; i++) await db.query("SELECT pg_notify('repeated_channel', $1::text) AS sent", [`n${i}`]);
      const deadline = Date.now() + 5000;
      while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(got).toEqual(['n0', 'n1', 'n2', 'n3']);
    } finally {
      await stop();
    }
  });
});
