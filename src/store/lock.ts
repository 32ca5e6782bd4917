/**
 * One process per PGlite folder. PGlite is PostgreSQL inside the process that opens it: a second
 * process on the same folder (a second server, a CLI command creating a key) works on its own copy
 * of the pages, and whichever writes last wins — a key the CLI created vanishes when the server
 * writes, and two writers can corrupt the files. `verigate.lock` in the data folder names the
 * holder (pid, host, command, since). A live holder refuses everyone else; the lock of a holder
 * that died without releasing it (same host, pid gone: SIGKILL, power loss) is taken over.
 * PostgreSQL needs none of this: any number of processes share it.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'verigate.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** what holds it, e.g. "verigate serve" */
  command: string;
  since: string;
}

export class DataDirLocked extends Error {
  override readonly name = 'DataDirLocked';
  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    /** null: the lock file exists but cannot be read as a lock */
    readonly holder: LockHolder | null,
  ) {
    super(
      holder
        ? `data folder ${dataDir} is in use by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); PGlite allows one process per data folder`
        : `data folder ${dataDir} is locked by ${lockPath}, which cannot be read; if no Verigate process uses this folder, delete that file`,
    );
  }
}

/** Takes the folder's lock for this process, or throws DataDirLocked. Returns the release function. */
export function lockDataDir(dataDir: string, command: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  const mine = JSON.stringify(me);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${mine}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(path);
    // a dead holder on this host: take over (once; a second EEXIST means someone else just did)
    if (attempt === 0 && holder && holder.host === me.host && holder.pid !== process.pid && !alive(holder.pid)) {
      removeIfUnchanged(path, holder);
      continue;
    }
    throw new DataDirLocked(dataDir, path, holder);
  }
  const release = () => {
    process.removeListener('exit', release);
    const now = readHolder(path);
    if (now && now.pid === me.pid && now.since === me.since) removeIfUnchanged(path, now);
  };
  // process.exit() without a close (a fatal start-up error, a signal handler) still frees the folder
  process.on('exit', release);
  return release;
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string'
      ? { pid: h.pid, host: h.host, command: String(h.command ?? 'a Verigate process'), since: String(h.since ?? 'an unknown time') }
      : null;
  } catch {
    return null;
  }
}

function removeIfUnchanged(path: string, holder: LockHolder): void {
  const now = readHolder(path);
  if (!now || now.pid !== holder.pid || now.since !== holder.since) return;
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Signal 0 tests that a process exists; EPERM means it does, under another user. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
