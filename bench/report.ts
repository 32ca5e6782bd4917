/** Shared by the benchmarks: percentiles, the machine they ran on, and the JSON report. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarise(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), min: s[0], max: s[s.length - 1] };
}

export function machine() {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function writeReport(name: string, body: Record<string, unknown>): string {
  const dir = join(PROJECT_ROOT, 'bench', 'reports');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ ...body, machine: machine(), command: process.argv.slice(1).join(' '), at: new Date().toISOString() }, null, 2)}\n`);
  return path;
}

export const ms = (x: number) => `${x.toFixed(2)} ms`;
