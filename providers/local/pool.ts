/**
 * A pool of worker threads running the engine (one per core by default), shared fairly by tenants.
 *
 * Requests queue in the main thread, one queue per tenant, and go to the least busy worker, up to
 * PER_WORKER in flight each. Which tenant's job goes next is start-time fair queuing on decode
 * cost (the bytes of pixels the image decodes to): each tenant's virtual time advances by the cost
 * of what it sends, and the tenant furthest behind is served first — so a tenant with a backlog
 * of heavy images cannot make another tenant's light ones wait behind it.
 *
 * Bulkhead: a tenant holds at most half the pool's places (SHARE) while another tenant waits, and
 * a heavy image (HEAVY_BYTES or more) takes its tenant's whole share; alone, a tenant may fill the
 * pool with light images. An aborted job that has not been sent is dropped; one already running
 * is abandoned — it keeps its tenant's place until it ends, and a worker still running it
 * RECYCLE_AFTER_MS after the abort is replaced (its other jobs are queued again).
 *
 * Worker entry: from the compiled build, dist/providers/local/worker.js; from TypeScript sources
 * (jest, ts scripts) this file is worker.ts's sibling pool.ts, so the pool starts ts-worker.js,
 * a plain-JS bootstrap that compiles the .ts files with @swc/core as they are required.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { HEAVY_BYTES } from '../types';
import type { AnalyseRequest, DocumentReport, DocumentRequest, FaceReport } from './engine';
import type { WorkerData, WorkerReply, WorkerRequest, WorkerTask } from './protocol';

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

/** Whose job it is and what it costs to decode (bytes of decoded pixels); unnamed jobs share one tenant. */
export interface JobShare {
  tenant: string;
  cost: number;
  /** called when the job leaves the queue for a worker */
  began?: () => void;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  task: WorkerTask;
  share: JobShare;
  /** places of its tenant's share it holds while in flight */
  units: number;
  /** set once it is sent to a worker */
  slot?: Slot;
  /** its caller gave up while it ran: the result is dropped when it comes */
  abandoned?: boolean;
  resolve(r: FaceReport | DocumentReport): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  /** sent and not yet answered, by id (at most PER_WORKER) */
  jobs: Map<number, Job>;
  recycleTimer?: NodeJS.Timeout;
}

interface Tenant {
  queue: Job[];
  /** places of the pool its jobs in flight hold */
  inFlight: number;
  /** start-time fair queuing: the virtual time of its next job */
  vtime: number;
}

/**
 * Jobs in flight per worker. Two: while one image's pixels are decoded on the worker's libvips
 * thread, the other's models run on its JS thread, and a finished job's successor is already
 * waiting in the worker's message queue instead of a round trip through the main thread away.
 */
const PER_WORKER = 2;
/** A tenant's share of the pool's places while others wait. */
const SHARE = 0.5;
/** How long an abandoned job may keep running before its worker is replaced. */
const RECYCLE_AFTER_MS = 5000;
const DEFAULT_SHARE: JobShare = { tenant: '', cost: 1 };

/**
 * The workers' first old-generation limit, in MB. V8 counts the engine's pixel buffers (a decoded
 * image, its mip levels, the model tensors: 2–9 MB an image, off the JS heap and dead within the
 * analysis) towards the old generation, whose first limit it sizes for the workers' ~10 MB heap:
 * each worker ran a full mark-compact every ~10 images, and their concurrent marking took ~15 %
 * of the machine under load. At 256 a worker ran 1 in 640 verifications; the scavenges still free
 * the buffers young (peak RSS unchanged). Measured in pairs of runs (engine alone, small capture,
 * c=4, 300 verifications): 33.5–35.4 → 31.3–33.1 ms of CPU each. V8 reads it when it makes an
 * isolate, so it is set before the first worker starts; an operator's own
 * `--initial-old-space-size` on the command line wins.
 */
const WORKER_INITIAL_OLD_SPACE_MB = 256;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly tenants = new Map<string, Tenant>();
  /** the virtual time of the last job sent: a tenant that was idle starts from here, not from its past */
  private vnow = 0;
  private queued = 0;
  private nextId = 1;
  private closed = false;
  models: Record<string, string> = {};

  constructor(
    private readonly size: number,
    private readonly data: WorkerData,
  ) {}

  /** Starts every worker and resolves when all have loaded and warmed up their models. */
  async start(): Promise<void> {
    if (!process.execArgv.some((a) => a.startsWith('--initial-old-space-size'))) {
      setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
    }
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
  }

  get busy(): number {
    return this.slots.reduce((n, s) => n + s.jobs.size, 0) + this.queued;
  }

  get alive(): number {
    return this.slots.length;
  }

  /** Places of the pool (workers × jobs in flight each) and a tenant's share of them while others wait. */
  private get capacity(): number {
    return Math.max(1, this.size * PER_WORKER);
  }

  private get share(): number {
    return Math.max(1, Math.floor(this.capacity * SHARE));
  }

  analyse(bytes: Uint8Array, request: AnalyseRequest, signal?: AbortSignal, share: JobShare = DEFAULT_SHARE): Promise<FaceReport> {
    return this.run(bytes, { kind: 'analyse', request }, signal, share) as Promise<FaceReport>;
  }

  /** A document page read for its MRZ alone, queued and shared as an analysis is. */
  readDocument(bytes: Uint8Array, request: DocumentRequest, signal?: AbortSignal, share: JobShare = DEFAULT_SHARE): Promise<DocumentReport> {
    return this.run(bytes, { kind: 'document', request }, signal, share) as Promise<DocumentReport>;
  }

  private run(bytes: Uint8Array, task: WorkerTask, signal?: AbortSignal, share: JobShare = DEFAULT_SHARE): Promise<FaceReport | DocumentReport> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const onAbort = () => this.abort(job, signal?.reason);
      const done = () => signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.nextId++,
        bytes,
        task,
        share,
        units: share.cost >= HEAVY_BYTES ? this.share : 1,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.enqueue(job);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.tenants.values()) for (const job of t.queue.splice(0)) job.reject(new Error('worker pool closed'));
    this.queued = 0;
    await Promise.all(this.slots.splice(0).map((s) => (clearTimeout(s.recycleTimer), s.worker.terminate())));
  }

  private tenant(name: string): Tenant {
    let t = this.tenants.get(name);
    if (!t) {
      t = { queue: [], inFlight: 0, vtime: this.vnow };
      this.tenants.set(name, t);
    }
    return t;
  }

  private enqueue(job: Job, front = false): void {
    const t = this.tenant(job.share.tenant);
    if (t.queue.length === 0 && t.inFlight === 0) t.vtime = Math.max(t.vtime, this.vnow);
    if (front) t.queue.unshift(job);
    else t.queue.push(job);
    this.queued++;
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

  private release(job: Job): void {
    const t = this.tenant(job.share.tenant);
    t.inFlight -= job.units;
    job.slot?.jobs.delete(job.id);
    job.slot = undefined;
  }

  private settle(slot: Slot, msg: WorkerReply): void {
    const job = 'id' in msg ? slot.jobs.get(msg.id) : undefined;
    if (job) {
      this.release(job);
      if (!job.abandoned && msg.type === 'result') job.resolve(msg.report);
      else if (!job.abandoned && msg.type === 'failure') job.reject(new AnalyseFailure(msg.message, msg.reason));
      if (![...slot.jobs.values()].some((j) => j.abandoned)) clearTimeout(slot.recycleTimer);
    }
    this.dispatch();
  }

  /** A worker that dies fails its jobs and is replaced (unless the pool is closing). */
  private onExit(slot: Slot, code: number): void {
    clearTimeout(slot.recycleTimer);
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    for (const job of [...slot.jobs.values()]) {
      this.release(job);
      if (!job.abandoned) job.reject(new Error(`face engine worker exited with code ${code}`));
    }
    if (!this.closed) void this.spawn().catch(() => undefined);
    this.dispatch();
  }

  private abort(job: Job, reason: unknown): void {
    const error = reason instanceof Error ? reason : new Error('aborted');
    const slot = job.slot;
    if (!slot) {
      const q = this.tenant(job.share.tenant).queue;
      const i = q.indexOf(job);
      if (i >= 0) {
        q.splice(i, 1);
        this.queued--;
      }
      job.reject(error);
      return;
    }
    // running: the caller is answered now; the job keeps its place until it ends, or its worker is replaced
    job.abandoned = true;
    job.reject(error);
    slot.recycleTimer ??= setTimeout(() => this.recycle(slot), RECYCLE_AFTER_MS);
  }

  /** Replaces a worker still running an abandoned job; its other jobs go back to the front of their queues. */
  private recycle(slot: Slot): void {
    slot.recycleTimer = undefined;
    if (!this.slots.includes(slot) || ![...slot.jobs.values()].some((j) => j.abandoned)) return;
    this.slots.splice(this.slots.indexOf(slot), 1);
    for (const job of [...slot.jobs.values()]) {
      this.release(job);
      if (!job.abandoned) this.enqueue(job, true);
    }
    void slot.worker.terminate();
    if (!this.closed) void this.spawn().catch(() => undefined);
    this.dispatch();
  }

  /** May this tenant send this job now? Within its share, or beyond it with a light job while nobody else waits. */
  private admits(t: Tenant, job: Job, othersWaiting: boolean): boolean {
    if (t.inFlight + job.units <= this.share) return true;
    return !othersWaiting && job.units === 1 && t.inFlight + 1 <= this.capacity;
  }

  /** Sends the fairest admissible job to the least busy worker, while a worker has room. */
  private dispatch(): void {
    while (this.queued > 0) {
      const slot = this.slots.reduce<Slot | undefined>((best, s) => (s.jobs.size < PER_WORKER && (!best || s.jobs.size < best.jobs.size) ? s : best), undefined);
      if (!slot) return;
      const waiting = [...this.tenants.values()].filter((t) => t.queue.length > 0);
      let pick: Tenant | undefined;
      for (const t of waiting) {
        if (this.admits(t, t.queue[0], waiting.length > 1) && (!pick || t.vtime < pick.vtime)) pick = t;
      }
      if (!pick) return;
      const job = pick.queue.shift()!;
      this.queued--;
      this.vnow = pick.vtime;
      pick.vtime += job.share.cost;
      pick.inFlight += job.units;
      job.slot = slot;
      slot.jobs.set(job.id, job);
      slot.worker.postMessage({ id: job.id, bytes: job.bytes, task: job.task } satisfies WorkerRequest);
      job.share.began?.();
    }
    // forget idle tenants (their virtual time restarts from vnow anyway)
    if (this.tenants.size > 1000) for (const [k, t] of this.tenants) if (t.queue.length === 0 && t.inFlight === 0) this.tenants.delete(k);
  }
}
