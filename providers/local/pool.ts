/**
 * A pool of worker threads running the engine (one per core by default). Requests queue in the
 * main thread and go to the least busy worker, up to PER_WORKER in flight each; an aborted request
 * that has not been sent is dropped.
 *
 * Worker entry: from the compiled build, dist/providers/local/worker.js; from TypeScript sources
 * (jest, ts scripts) this file is worker.ts's sibling pool.ts, so the pool starts ts-worker.js,
 * a plain-JS bootstrap that compiles the .ts files with @swc/core as they are required.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AnalyseRequest, FaceReport } from './engine';
import type { WorkerData, WorkerReply, WorkerRequest } from './protocol';

const WORKER_ENTRY = __filename.endsWith('.ts') ? join(__dirname, 'ts-worker.js') : join(__dirname, 'worker.js');

/** An analysis the worker refused because of the image (reason set) or failed on (no reason). */
export class AnalyseFailure extends Error {
  constructor(
    message: string,
    readonly reason?: Extract<WorkerReply, { type: 'failure' }>['reason'],
  ) {
    super(message);
  }
}

interface Job {
  id: number;
  bytes: Uint8Array;
  request: AnalyseRequest;
  resolve(r: FaceReport): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  /** sent and not yet answered, by id (at most PER_WORKER) */
  jobs: Map<number, Job>;
}

/**
 * Jobs in flight per worker. Two: while one image's pixels are decoded on the worker's libvips
 * thread, the other's models run on its JS thread, and a finished job's successor is already
 * waiting in the worker's message queue instead of a round trip through the main thread away.
 */
const PER_WORKER = 2;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  models: Record<string, string> = {};

  constructor(
    private readonly size: number,
    private readonly data: WorkerData,
  ) {}

  /** Starts every worker and resolves when all have loaded and warmed up their models. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
  }

  get busy(): number {
    return this.slots.reduce((n, s) => n + s.jobs.size, 0) + this.queue.length;
  }

  get alive(): number {
    return this.slots.length;
  }

  analyse(bytes: Uint8Array, request: AnalyseRequest, signal?: AbortSignal): Promise<FaceReport> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => this.drop(job, signal?.reason);
      const done = () => signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.nextId++,
        bytes,
        request,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('worker pool closed'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = new Worker(WORKER_ENTRY, { workerData: this.data });
    const slot: Slot = { worker, jobs: new Map() };
    return new Promise((resolve, reject) => {
      worker.once('message', (msg: WorkerReply) => {
        if (msg.type !== 'ready') {
          void worker.terminate();
          return reject(new Error(msg.type === 'fatal' ? msg.message : `unexpected first message ${msg.type}`));
        }
        this.models = msg.models;
        this.slots.push(slot);
        worker.on('message', (m: WorkerReply) => this.settle(slot, m));
        this.dispatch();
        resolve();
      });
      worker.once('error', reject);
      worker.on('exit', (code) => this.onExit(slot, code));
    });
  }

  private settle(slot: Slot, msg: WorkerReply): void {
    const job = 'id' in msg ? slot.jobs.get(msg.id) : undefined;
    if (job) slot.jobs.delete(job.id);
    if (job && msg.type === 'result') job.resolve(msg.report);
    else if (job && msg.type === 'failure') job.reject(new AnalyseFailure(msg.message, msg.reason));
    this.dispatch();
  }

  /** A worker that dies fails its job and is replaced (unless the pool is closing). */
  private onExit(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    for (const job of slot.jobs.values()) job.reject(new Error(`face engine worker exited with code ${code}`));
    if (!this.closed) void this.spawn().catch(() => undefined);
  }

  private drop(job: Job, reason: unknown): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    job.reject(reason instanceof Error ? reason : new Error('aborted'));
  }

  /** Fills the least busy workers first, so a lone check's two images go to two workers. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.reduce<Slot | undefined>((best, s) => (s.jobs.size < PER_WORKER && (!best || s.jobs.size < best.jobs.size) ? s : best), undefined);
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.jobs.set(job.id, job);
      slot.worker.postMessage({ id: job.id, bytes: job.bytes, request: job.request } satisfies WorkerRequest);
    }
  }
}
