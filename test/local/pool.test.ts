/**
 * The worker pool with two jobs in flight per worker: answers go back to the job that asked,
 * however the workers interleave them, and a worker that dies fails only its own jobs and is
 * replaced.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createLocalEngine, type FaceReport, type LocalEngine } from '../../providers/local';
import { FACES } from './support';

const FILES = ['deepface/img1.jpg', 'deepface/img20.jpg', 'silent-face/image_T1.jpg', 'idenfy-documents/BarackHusseinObama.jpg', 'nvlong21-antispoof/real/0001_00_00_01_0.jpg'];
const bytesOf = (f: string) => readFileSync(join(FACES, f));
const REQUEST = { role: 'reference', embed: true, liveness: true } as const;

let engine: LocalEngine;
beforeAll(async () => {
  engine = createLocalEngine({ workers: 2 });
  await engine.init();
});
afterAll(() => engine.close());

const sameFace = (a: FaceReport, b: FaceReport) => {
  let dot = 0;
  for (let i = 0; i < a.embedding!.length; i++) dot += a.embedding![i] * b.embedding![i];
  return dot > 0.9999 && Math.abs(a.box.x1 - b.box.x1) < 1e-3 && a.liveness === b.liveness;
};

describe('worker pool', () => {
  it('routes every answer to its own job when workers hold several at once', async () => {
    const files = FILES;
    const alone: FaceReport[] = [];
    for (const f of files) alone.push(await engine.analyse(bytesOf(f), REQUEST));
    // three rounds of every image at once: 15 jobs over 2 workers, 2 in flight each
    const order = [...files, ...[...files].reverse(), ...files];
    const together = await Promise.all(order.map((f) => engine.analyse(bytesOf(f), REQUEST)));
    together.forEach((r, i) => expect(sameFace(r, alone[files.indexOf(order[i])])).toBe(true));
    expect(engine.pool.busy).toBe(0);
  });

  it('fails the jobs of a worker that dies, replaces it, and keeps answering', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) => engine.analyse(bytesOf(FILES[i % 4]), REQUEST).then(() => 'ok', (e: Error) => e.message));
    const victim = (engine.pool as unknown as { slots: Array<{ worker: Worker }> }).slots[0].worker;
    await victim.terminate();
    const outcomes = await Promise.all(jobs);
    expect(outcomes.filter((o) => o !== 'ok').every((o) => /worker exited/.test(o))).toBe(true);
    expect(outcomes).toContain('ok');
    await new Promise((r) => setTimeout(r, 3000)); // the replacement loads and warms up its models
    expect(engine.pool.alive).toBe(2);
    const after = await Promise.all(FILES.slice(0, 4).map((f) => engine.analyse(bytesOf(f), REQUEST)));
    expect(after.every((r) => r.embedding?.length === 512)).toBe(true);
  });
});
