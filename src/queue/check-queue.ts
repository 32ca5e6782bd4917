/**
 * The queue of checks to run: what an async check (and, in a deployment of separate API and worker
 * processes, every check) is handed to once its PENDING row is stored. The job is only the check's
 * id, tenant and request id; the row and the image stash hold the rest.
 *
 *   MemoryQueue  the embedded default (no Redis): the same job handler in this process.
 *   BullQueue    BullMQ on Redis (VERIGATE_QUEUE=redis): any worker process takes the next job;
 *                a job whose worker died is taken again once its lock lapses (stalled-job
 *                recovery); a job that failed is retried with exponential backoff.
 *
 * Both are fair across tenants: a tenant's k-th waiting job goes behind every other tenant's
 * (k−1)-th, so one tenant's backlog does not delay another's first check (MemoryQueue: round
 * robin over per-tenant queues; BullQueue: the job's priority is the number of the tenant's
 * checks already waiting when it was added, counted in the store — a count no crash can skew). The sweeper is the last safety net: a job that never runs leaves a check the sweeper ends
 * at its deadline.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from '../observability/logger';

export interface CheckJob {
  /** `check`: run a stored PENDING check; `shadows`: the shadow calls of a decided one */
  kind: 'check' | 'shadows';
  checkId: string;
  tenantId: string;
  requestId: string;
}

export type JobHandler = (job: CheckJob) => Promise<void>;

export interface CheckQueue {
  readonly kind: 'memory' | 'redis';
  /** `backlog`: counts the tenant's checks already waiting (its job's turn among the tenant's), when the queue needs it */
  enqueue(job: CheckJob, backlog: () => Promise<number>): Promise<void>;
  /** Runs `handler` on jobs, `concurrency` at a time (in the processes that run checks). */
  consume(handler: JobHandler, concurrency: number): void;
  /** jobs waiting or running (the benchmark's and the tests' view) */
  depth(): Promise<number>;
  /** Resolves once nothing is waiting or running (tests). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export class MemoryQueue implements CheckQueue {
  readonly kind = 'memory' as const;
  private readonly waiting = new Map<string, CheckJob[]>();
  private handler?: JobHandler;
  private concurrency = 1;
  private running = 0;
  private readonly idle = new Set<() => void>();

  constructor(private readonly log: Logger) {}

  async enqueue(job: CheckJob): Promise<void> {
    const q = this.waiting.get(job.tenantId) ?? [];
    q.push(job);
    this.waiting.set(job.tenantId, q);
    // started after the current turn of the event loop: the submit that enqueued it answers first
    setImmediate(() => this.pump());
  }

  consume(handler: JobHandler, concurrency: number): void {
    this.handler = handler;
    this.concurrency = Math.max(1, concurrency);
    this.pump();
  }

  async depth(): Promise<number> {
    return this.running + [...this.waiting.values()].reduce((n, q) => n + q.length, 0);
  }

  async drain(): Promise<void> {
    while ((await this.depth()) > 0) await new Promise<void>((r) => this.idle.add(r));
  }

  async close(): Promise<void> {
    this.handler = undefined;
    if (this.running > 0) await new Promise<void>((r) => this.idle.add(r));
  }

  /** Starts jobs while there is room: the tenant served longest ago first (a Map keeps insertion order). */
  private pump(): void {
    while (this.handler && this.running < this.concurrency && this.waiting.size > 0) {
      const [tenant, q] = this.waiting.entries().next().value as [string, CheckJob[]];
      const job = q.shift()!;
      this.waiting.delete(tenant);
      if (q.length) this.waiting.set(tenant, q); // to the back of the turn
      this.running++;
      const handler = this.handler;
      void handler(job)
        .catch((err: unknown) => this.log.error({ err, checkId: job.checkId }, 'queued check failed unexpectedly'))
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0) {
            for (const r of this.idle) r();
            this.idle.clear();
          }
        });
    }
  }
}

export interface BullQueueOptions {
  redisUrl: string;
  /** queue name (and key prefix): several deployments can share a Redis */
  name: string;
  /** tries of a job that failed (the check is left PENDING only by a crash; the handler ends it otherwise) */
  attempts?: number;
  /** how long a worker holds a job before another may take it, if it stops renewing (it died) */
  lockDurationMs?: number;
}

export class BullQueue implements CheckQueue {
  readonly kind = 'redis' as const;
  private readonly queue: Queue;
  private worker?: Worker;

  constructor(
    private readonly opts: BullQueueOptions,
    private readonly log: Logger,
  ) {
    const connection = { url: opts.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue(opts.name, { connection, prefix: 'verigate' });
  }

  async enqueue(job: CheckJob, backlog: () => Promise<number>): Promise<void> {
    const turn = await backlog();
    await this.queue.add('check', job, {
      jobId: `${job.kind}-${job.checkId}`, // one job per check (and one for its shadows), whoever enqueues it twice
      // fair across tenants: a tenant's k-th waiting job has priority k (1 runs first)
      priority: Math.min(2_097_152, Math.max(1, turn + 1)),
      attempts: this.opts.attempts ?? 3,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  consume(handler: JobHandler, concurrency: number): void {
    const connection = { url: this.opts.redisUrl, maxRetriesPerRequest: null };
    this.worker = new Worker<CheckJob>(
      this.opts.name,
      async (job: Job<CheckJob>) => handler(job.data),
      {
        connection,
        prefix: 'verigate',
        concurrency: Math.max(1, concurrency),
        lockDuration: this.opts.lockDurationMs ?? 10_000,
        stalledInterval: Math.round((this.opts.lockDurationMs ?? 10_000) / 2),
        maxStalledCount: 2,
      },
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'queue worker error'));
  }

  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async drain(): Promise<void> {
    while ((await this.depth()) > 0) await new Promise((r) => setTimeout(r, 50));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
