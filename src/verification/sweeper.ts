/**
 * The sweeper: the last safety net that no check stays PENDING. Every `intervalMs` this process
 * says it is alive (processes.seen_at) and, if no other replica is sweeping at that moment, ends
 * every check still PENDING `graceMs` past its own deadline — ERROR/INTERRUPTED when the process
 * that owned it is gone (not seen for three intervals: it crashed), ERROR/TIMEOUT when it is alive
 * but the check ran late. Idempotent repeats waiting on such a check are woken with that state.
 * It also runs once at start-up, before the server answers.
 */
import type { Logger } from '../observability/logger';
import type { Store } from '../store/repositories';

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
  ) {}

  /** One heartbeat and one sweep; resolves to the checks it ended. */
  async sweepOnce(now = new Date()): Promise<number> {
    await this.store.checks.heartbeat(this.processId, this.startedAt, now);
    const aliveSince = new Date(now.getTime() - 3 * this.opts.intervalMs);
    const swept = await this.store.checks.sweep(this.opts.graceMs, aliveSince, now);
    if (swept.length) {
      const by = (r: string) => swept.filter((s) => s.reason === r).length;
      this.log.warn({ interrupted: by('INTERRUPTED'), timedOut: by('TIMEOUT') }, 'checks past their deadline ended ERROR');
    }
    if (Math.random() < 0.01) await this.store.checks.forgetProcesses(new Date(now.getTime() - 86_400_000));
    return swept.length;
  }

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer) return;
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
