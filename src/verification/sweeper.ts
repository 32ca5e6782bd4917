/**
 * The sweeper: the last safety net that no check stays PENDING. Every `intervalMs` this process
 * says it is alive (processes.seen_at) and, if no other replica is sweeping at that moment, ends
 * the checks no process will finish: those of a process not seen for STALE_BEATS intervals (at
 * least 10 s: it crashed) at once, as ERROR/INTERRUPTED, and any check still PENDING `graceMs`
 * past its own deadline (ERROR/TIMEOUT if its process lives). Idempotent repeats waiting on such a
 * check are woken with that state. It also runs once at start-up, before the server answers.
 */
import type { Logger } from '../observability/logger';
import type { Store } from '../store/repositories';

/** Heartbeats a process may miss before it is taken for dead (its event loop may be busy for a while). */
const STALE_BEATS = 5;
const MIN_STALE_MS = 10_000;

export interface SweeperOptions {
  intervalMs: number;
  graceMs: number;
}

export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly startedAt = new Date();

  constructor(
    private readonly store: Store,
    private readonly processId: string,
    private readonly opts: SweeperOptions,
    private readonly log: Logger,
    /** the checks it ended (their images in flight are deleted) */
    private readonly onSwept: (ids: string[]) => Promise<void> = async () => undefined,
  ) {}

  /** One heartbeat and one sweep; resolves to the checks it ended. */
  async sweepOnce(now = new Date()): Promise<number> {
    await this.store.checks.heartbeat(this.processId, this.startedAt, now);
    const aliveSince = new Date(now.getTime() - Math.max(STALE_BEATS * this.opts.intervalMs, MIN_STALE_MS));
    const swept = await this.store.checks.sweep(this.opts.graceMs, aliveSince, now);
    if (swept.length) {
      await this.onSwept(swept.map((x) => x.id)).catch((err: unknown) => this.log.error({ err }, 'images of swept checks not deleted; their TTL will'));
      const by = (r: string) => swept.filter((s) => s.reason === r).length;
      this.log.warn({ interrupted: by('INTERRUPTED'), timedOut: by('TIMEOUT') }, 'checks no process will finish ended ERROR');
    }
    if (Math.random() < 0.01) await this.store.checks.forgetProcesses(new Date(now.getTime() - 86_400_000));
    return swept.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return; // the last sweep is still running (a slow store): skip a beat
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.log.error({ err }, 'sweep failed; the next one will retry'))
        .finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
