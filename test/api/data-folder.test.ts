/**
 * One process per PGlite data folder (src/store/lock.ts): a second opener is refused with the
 * holder's pid and host, a dead holder's lock is taken over, closing releases it, and a folder
 * that cannot be used says why. Across real processes: test/api/startup.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, StoreOpenError } from '../../src/store/db';
import { DataDirLocked, LOCK_FILE, lockDataDir } from '../../src/store/lock';

describe('the data folder lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** a pid that is certainly not running: a child that has already exited */
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;
  const writeLock = (holder: object) => writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder));

  it('names its holder, refuses a second opener with that holder, and is gone once released', () => {
    const release = lockDataDir(dir, 'verigate serve');
    const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'verigate serve' });
    let refusal: unknown;
    try {
      lockDataDir(dir, 'verigate keys');
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(DataDirLocked);
    expect((refusal as DataDirLocked).holder).toMatchObject({ pid: process.pid, command: 'verigate serve' });
    expect((refusal as Error).message).toMatch(new RegExp(`in use by verigate serve \\(pid ${process.pid} on ${hostname()}, since .*\\); PGlite allows one process per data folder`));
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir, 'verigate keys')();
  });

  it('takes over the lock of a holder that died on this host', () => {
    writeLock({ pid: deadPid(), host: hostname(), command: 'verigate serve', since: '2020-01-01T00:00:00.000Z' });
    const release = lockDataDir(dir, 'verigate serve');
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    release();
  });

  it('refuses a lock held on another host (its pid cannot be checked from here), and an unreadable one', () => {
    writeLock({ pid: deadPid(), host: 'some-other-host', command: 'verigate serve', since: '2020-01-01T00:00:00.000Z' });
    expect(() => lockDataDir(dir, 'verigate serve')).toThrow(/in use by verigate serve \(pid \d+ on some-other-host/);
    writeFileSync(join(dir, LOCK_FILE), 'not json');
    expect(() => lockDataDir(dir, 'verigate serve')).toThrow(/cannot be read; if no Verigate process uses this folder, delete that file/);
  });

  it('does not remove a lock that another process has taken since (release checks it is still its own)', () => {
    const release = lockDataDir(dir, 'verigate serve');
    const other = { pid: process.pid, host: hostname(), command: 'verigate serve', since: 'later' };
    writeLock(other);
    release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toEqual(other);
  });

  it('openDb holds the lock while open: a second openDb is refused until the first closes', async () => {
    const db = await openDb({ dataDir: dir, holder: 'verigate serve' });
    try {
      await expect(openDb({ dataDir: dir, holder: 'verigate keys' })).rejects.toThrow(DataDirLocked);
      expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]); // the refused opener did not disturb it
    } finally {
      await db.close();
    }
    const again = await openDb({ dataDir: dir });
    await again.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a folder that cannot be created, or holds no PGlite database, is a StoreOpenError that says which and why', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(openDb({ dataDir: join(file, 'data') })).rejects.toThrow(StoreOpenError);
    await expect(openDb({ dataDir: join(file, 'data') })).rejects.toThrow(/^data folder .*a-file\/data cannot be used: ENOTDIR/);

    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'pglite'), { recursive: true });
    writeFileSync(join(broken, 'pglite', 'PG_VERSION'), 'garbage\n');
    await expect(openDb({ dataDir: broken })).rejects.toThrow(/^data folder .*broken holds no database this PGlite can open \(.+\); is .*broken\/pglite a PGlite folder/);
    expect(existsSync(join(broken, LOCK_FILE))).toBe(false); // a failed open leaves no lock behind
  });
});
