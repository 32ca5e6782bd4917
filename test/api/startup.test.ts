/**
 * The first hour with the real CLI (`node dist/src/main.js`), as a user meets it:
 *  - one process per PGlite folder: a second server, or `keys create` while a server runs, is
 *    refused with the holder's pid and what to do instead; once the server stops, the CLI's key
 *    works on the next start (it used to be overwritten by the running server's copy);
 *  - start-up errors fail fast, as one JSON log line, with a non-zero exit: port in use (before
 *    the store is touched), a data folder that cannot be used, a bad variable;
 *  - a server with no admin key says so, and how to make one; `verigate` alone prints its usage.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCommand, startProcess, type Proc } from '../support/process';

const KEY = 'first-hour-bootstrap-admin-key-0123456789';

/** every line a server process writes is a JSON log line */
const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as { level: number; msg: string; [k: string]: unknown };
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });

describe('the real CLI at start-up', () => {
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'vg-startup-'));
    dirs.push(d);
    return d;
  };
  const stop = async (p: Proc) => {
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  };
  const adminCall = async (p: Proc, key: string) =>
    (await fetch(`${p.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: '{"query":"{ tenants { id } }"}' })).status;

  beforeAll(() => ensureBuilt(), 240_000);
  afterAll(() => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('one process per data folder: a second server and a writing CLI command are refused; the key made after the server stops is accepted', async () => {
    const dataDir = tmp();
    const first = await startProcess({ VERIGATE_DATA_DIR: dataDir });
    procs.push(first);
    const pid = first.child.pid!;
    // no admin key yet: said once at start-up, with how to make one
    const warning = jsonLines(first.log()).find((l) => /no admin API key exists/.test(l.msg));
    expect(warning).toMatchObject({ level: 40 });
    expect(warning!.msg).toMatch(/Stop this server, run `node bin\/verigate\.js keys create --admin`/);

    const second = await runCommand(['serve'], { VERIGATE_DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    const [fatal] = jsonLines(second.stdout + second.stderr).filter((l) => l.level === 60);
    expect(fatal.msg).toMatch(new RegExp(`^cannot start: data folder .* is in use by verigate serve \\(pid ${pid} on .*\\); PGlite allows one process per data folder\\. Stop that process first`));

    for (const args of [['keys', 'create', '--admin'], ['migrate'], ['purge']]) {
      const refused = await runCommand(args, { VERIGATE_DATA_DIR: dataDir });
      expect({ args, code: refused.code, stdout: refused.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(refused.stderr).toMatch(new RegExp(`^verigate ${args[0]}: data folder .* is in use by verigate serve \\(pid ${pid} on `));
      expect(refused.stderr).toMatch(new RegExp(`Stop it first \\(Ctrl-C in its terminal, or kill ${pid}\\), run this command, then start it again`));
    }
    expect(await adminCall(first, KEY)).toBe(401); // the server is untouched and still has no admin

    await stop(first);
    const made = await runCommand(['keys', 'create', '--admin'], { VERIGATE_DATA_DIR: dataDir });
    expect(made.code).toBe(0);
    const secret = made.stdout.trim();
    expect(secret).toMatch(/^vg_adm_/);
    const next = await startProcess({ VERIGATE_DATA_DIR: dataDir });
    procs.push(next);
    expect(await adminCall(next, secret)).toBe(200);
    expect(next.log()).not.toMatch(/no admin API key exists/);
    await stop(next);
  }, 180_000);

  it('a port in use fails in moments, as one JSON line, before the data folder is touched', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(tmp(), 'data');
    try {
      const r = await runCommand(['serve'], { VERIGATE_DATA_DIR: dataDir, PORT: String(port) }, 30_000);
      expect(r.code).toBe(1);
      expect(jsonLines(r.stdout + r.stderr)).toEqual([
        expect.objectContaining({ level: 60, msg: `cannot start: 127.0.0.1:${port} is already in use (another Verigate, or another program): stop it, or set PORT` }),
      ]);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a data folder that cannot be used, or a bad variable, exits non-zero with one JSON line saying why', async () => {
    const file = join(tmp(), 'not-a-folder');
    writeFileSync(file, 'x');
    const unusable = await runCommand(['serve'], { VERIGATE_DATA_DIR: join(file, 'data') }, 30_000);
    expect(unusable.code).toBe(1);
    const lines = jsonLines(unusable.stdout + unusable.stderr);
    expect(lines[lines.length - 1]).toMatchObject({ level: 60, msg: expect.stringMatching(/^cannot start: data folder .*not-a-folder\/data cannot be used: ENOTDIR/) });

    const badPort = await runCommand(['serve'], { PORT: 'eighty' }, 30_000);
    expect(badPort.code).toBe(78);
    expect(jsonLines(badPort.stdout + badPort.stderr)).toEqual([
      expect.objectContaining({ level: 60, msg: expect.stringMatching(/^cannot start: invalid configuration:\n {2}PORT: /) }),
    ]);
  }, 60_000);

  it('`verigate` with no command prints its usage and exits 2 instead of starting a server', async () => {
    const r = await runCommand([], { VERIGATE_DATA_DIR: join(tmp(), 'data') }, 30_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^verigate needs a command\nusage: verigate <command>\n {2}serve /);
    const help = await runCommand(['help'], {}, 30_000);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: verigate <command>/);
  }, 60_000);
});
