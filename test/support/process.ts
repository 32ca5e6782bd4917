/**
 * Verigate as a user runs it: `node dist/src/main.js <command>` in a child process, from a build
 * made here when dist/ is missing or older than the sources. For what only a real process shows:
 * exit codes, signals, log lines, locks held across processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';

export const MAIN = join(PROJECT_ROOT, 'dist', 'src', 'main.js');

/** A child process's environment: nothing inherited but PATH and HOME, production as deployed. */
export const processEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  // production, as deployed: NODE_ENV=test changes signal handling (Apollo stops itself on SIGTERM outside tests)
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  HOST: '127.0.0.1',
  PORT: '0',
  ...env,
});

/** A running `verigate serve`, its URL read from its start-up log. */
export interface Proc {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stdout and stderr so far */
  log: () => string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns `verigate <command>` and collects what it prints. */
function spawnVerigate(command: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, command], { cwd: PROJECT_ROOT, env: processEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, log: () => out };
}

/** Polls `found` on what the process printed until it answers, the process exits, or 60 s pass. */
async function waitFor<T>(p: { child: ChildProcess; log: () => string }, what: string, found: (out: string) => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const got = await found(p.log());
    if (got !== undefined) return got;
    if (p.child.exitCode !== null) throw new Error(`process exited (${p.child.exitCode}) before ${what}:\n${p.log().slice(-2000)}`);
    if (Date.now() > deadline) {
      p.child.kill('SIGKILL');
      throw new Error(`not ${what} within 60 s:\n${p.log().slice(-2000)}`);
    }
    await sleep(50);
  }
}

/** Starts `verigate serve`; resolves once it listens, and (by default) once /readyz answers 200. */
export async function startProcess(env: Record<string, string>, opts: { ready?: boolean } = {}): Promise<Proc> {
  const p = spawnVerigate('serve', env);
  const url = await waitFor(p, 'serving', (out) => /"url":"(http:\/\/127\.0\.0\.1:\d+)\/graphql"/.exec(out)?.[1]);
  // it listens before its store is open and its providers are warm: wait for /readyz
  if (opts.ready !== false) await waitFor(p, 'ready', async () => ((await freshConnection(url, '/readyz')).status === 200 ? true : undefined));
  return { ...p, url };
}

/** A running `verigate worker`, and the process id its checks are owned by (checks.owner). */
export interface WorkerProc extends Omit<Proc, 'url'> {
  processId: string;
}

/** Starts `verigate worker`; resolves once it runs queued checks (its providers are warm). */
export async function startWorker(env: Record<string, string>): Promise<WorkerProc> {
  const p = spawnVerigate('worker', env);
  const processId = await waitFor(p, 'running queued checks', (out) => /"processId":"([0-9a-f-]{36})"[^\n]*running queued checks/.exec(out)?.[1]);
  return { ...p, processId };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** wall time from spawn to exit */
  ms: number;
}

/** Runs `verigate <args>` to its end (killed after `timeoutMs`: a command that hangs fails the test with what it printed). */
export function runCommand(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: PROJECT_ROOT, env: processEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

/** One request on a fresh connection (no keep-alive pool): resolves its status, or the connection error code. */
export function freshConnection(url: string, path = '/healthz'): Promise<{ status?: number; error?: string; body?: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.end();
  });
}

/** Newest mtime of the TypeScript the build is made from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.ts')) newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const dir of ['src', 'providers', 'test/fakes']) walk(join(PROJECT_ROOT, dir));
  return newest;
}

/** dist/ as the real server runs it: built once here when missing or older than the sources. */
export function ensureBuilt(): void {
  const built = ['main.js', 'cli.js', 'app.js', 'server.js'].map((f) => statSync(join(PROJECT_ROOT, 'dist', 'src', f), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  if (Math.min(...built) >= newestSource()) return;
  // tsc emits even with type errors elsewhere in the tree; what matters is a fresh dist/src
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 180_000 });
  if (statSync(MAIN, { throwIfNoEntry: false }) === undefined) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}
