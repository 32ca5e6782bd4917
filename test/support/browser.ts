/**
 * A real browser for the console's tests: Debian's Chromium (`/usr/bin/chromium`, or
 * VERIGATE_CHROMIUM) driven by playwright-core, with the flags this machine's closed network needs
 * (no background connections, no component updates, no sync), and the console built from its
 * sources when dist/console is missing or older than them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/paths';

export const CHROMIUM = process.env.VERIGATE_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = () => existsSync(CHROMIUM);

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

function newestIn(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestIn(p) : st.mtimeMs);
  }
  return newest;
}

/** dist/console as the gateway serves it: built here (about a second) when missing or older than console/. */
export function ensureConsoleBuilt(): void {
  const index = statSync(join(PROJECT_ROOT, 'dist', 'console', 'index.html'), { throwIfNoEntry: false });
  if (index && index.mtimeMs >= newestIn(join(PROJECT_ROOT, 'console'))) return;
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-console.mjs')], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`console build failed: ${r.stdout}${r.stderr}`);
}
